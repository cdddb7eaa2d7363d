#!/bin/sh
# A renderer that heartbeats without progress past its stall budget, while
# no browser session is open (the local ffmpeg renderer), is a lost child,
# not a frozen browser: its tree is killed, the loss is booked as
# child_lost, the child is restarted and its task re-dispatched, the lease
# is kept and the run completes without any panic_browser_frozen or
# quarantine (SPEC section 4; dzine_freeze.sh covers the browser case).
. tests/integration/lib.sh
# The stall budget bounds the wait for the kill below; a render on a
# loaded machine must progress within it.
STALL=5
export RAYVAULT_BROWSER_STALL_SEC=$STALL RAYVAULT_QUARANTINE_SEC=3
export RV_FAULT="stall:render:300"
spec=$(make_spec RAY-T4)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 60 child_state_is render busy || fail "render never busy"
rpid=$(child_field render pid)
r_gone() { ! alive "$rpid"; }
wait_for $((STALL + 6)) r_gone && ok "stalled renderer killed" ||
    fail "stalled renderer alive"
wait_for 90 status_is RAY-T4 done && ok "run done after the restart" ||
    fail "run: $(run_status RAY-T4)"
rid=$(run_id_of RAY-T4)
[ "$(count_events "$rid" panic_browser_frozen)" -eq 0 ] &&
    ok "no panic_browser_frozen without a browser" ||
    fail "panic events: $(count_events "$rid" panic_browser_frozen)"
[ "$(count_events "$rid" child_lost)" -ge 1 ] && ok "booked as child_lost" ||
    fail "child_lost events: $(count_events "$rid" child_lost)"
grep -q "quarantine" "$T/sup.log" && fail "quarantine entered" ||
    ok "no quarantine"
[ "$(count_events "$rid" lost_lock)" -eq 0 ] || fail "lease lost"
sup_up && ok "supervisor kept running" || fail "supervisor gone"
finish
