#!/bin/sh
# The Dzine export is a broken file: it is downloaded, then rejected by
# the probe stage, and the run stops with panic_dzine_ui_failure.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
export DZINE_CREDITS_AVAILABLE=100
dz_site "broken=1"
spec=$(make_spec RAY-DZ5)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
rid=$(run_id_of RAY-DZ5)
panicked() { [ "$(count_events "$rid" panic_dzine_ui_failure 2>/dev/null)" -ge 1 ]; }
wait_for 60 panicked && ok "panic_dzine_ui_failure" || fail "no panic_dzine_ui_failure"
[ "$(count_events "$rid" render_rejected)" -ge 1 ] && ok "probe rejected the export" ||
    fail "no render_rejected"
ctl events --run "$rid" --json | json '[e["payload"]["segment_id"] for e in j if e["event_type"]=="render_rejected"][0]' |
    grep -qx intro && ok "the broken segment is named" || fail "rejected segment"
ls "$RAYVAULT_STATE_DIR"/video/quarantine/V_*_intro_*.rejected >/dev/null 2>&1 &&
    ok "broken export moved aside" || fail "no quarantined export"
[ "$(dz_stats 's["exports"]')" -eq 2 ] || fail "exports: $(dz_stats 's["exports"]')"
[ -z "$(dz_browsers)" ] && ok "no browser process left" || fail "browsers left: $(dz_browsers)"
finish
