#!/bin/sh
# DZINE_CREDITS_AVAILABLE unset: the preflight reads the balance on the
# Dzine page; it is below the credits needed, so the run stops with
# NO_GO before generate is pressed (the site counts no press).
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
unset DZINE_CREDITS_AVAILABLE
export DZINE_CREDITS_PER_SEGMENT=3
dz_site "credits=5&cost=3"
spec=$(make_spec RAY-DZ6)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
rid=$(run_id_of RAY-DZ6)
nogo() { [ "$(count_events "$rid" panic_preflight_no_go 2>/dev/null)" -ge 1 ]; }
wait_for 60 nogo && ok "panic_preflight_no_go" || fail "no NO_GO"
ctl events --run "$rid" --json | json '[e["payload"]["detail"] for e in j if e["event_type"]=="alert"][0]' |
    grep -q "NO_GO: 2 segments to render need 6 credits, 5 available" &&
    ok "NO_GO names needed and available credits" ||
    fail "alert: $(ctl events --run "$rid" --json | json '[e["payload"] for e in j if e["event_type"]=="alert"]')"
[ "$(count_events "$rid" dzine_balance)" -eq 1 ] && ok "balance read on the page" ||
    fail "dzine_balance $(count_events "$rid" dzine_balance)"
[ "$(dz_stats 'len(s["presses"])')" -eq 0 ] && ok "generate never pressed" ||
    fail "presses: $(dz_stats 's["presses"]')"
[ "$(dz_stats 's["balance"]')" -eq 5 ] || fail "balance changed"
rows=$(sqlite3 "$RAYVAULT_STATE_DIR/rayvault.db" "SELECT COUNT(*) FROM credit_ledger")
[ "$rows" -eq 0 ] && ok "nothing booked in the ledger" || fail "$rows ledger rows"
[ -z "$(dz_browsers)" ] && ok "no browser process left" || fail "browsers left: $(dz_browsers)"
finish
