#!/bin/sh
# The Dzine site shows an error banner mid-generation: the render stops
# with panic_dzine_ui_failure (the run waits for the operator), the
# ledger records the failed paid render, and no browser is left.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
export DZINE_CREDITS_AVAILABLE=100
dz_site "error=1"
spec=$(make_spec RAY-DZ4)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
rid=$(run_id_of RAY-DZ4)
panicked() { [ "$(count_events "$rid" panic_dzine_ui_failure 2>/dev/null)" -ge 1 ]; }
wait_for 60 panicked && ok "panic_dzine_ui_failure" || fail "no panic_dzine_ui_failure"
ctl events --run "$rid" --json | json '[e["payload"]["detail"] for e in j if e["event_type"]=="alert" and e["reason_key"]=="panic_dzine_ui_failure"][0]' |
    grep -q "face could not be detected" && ok "the banner text is reported" ||
    fail "alert: $(ctl events --run "$rid" --json | json '[e["payload"] for e in j if e["event_type"]=="alert"]')"
wait_for 10 status_is RAY-DZ4 waiting_approval && ok "run waits for the operator" ||
    fail "run: $(run_status RAY-DZ4)"
st=$(sqlite3 "$RAYVAULT_STATE_DIR/rayvault.db" "SELECT state FROM credit_ledger WHERE run_id='$rid' AND segment_id='intro'")
[ "$st" = failed ] && ok "ledger: the paid render failed" || fail "ledger state '$st'"
[ "$(dz_stats 'len(s["presses"])')" -eq 1 ] || fail "presses: $(dz_stats 's["presses"]')"
[ -z "$(dz_browsers)" ] && ok "no browser process left" || fail "browsers left: $(dz_browsers)"
finish
