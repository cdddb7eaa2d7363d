#!/bin/sh
# A renderer that heartbeats without progress past its stall budget is
# panic_browser_frozen: its tree is killed, the lease is kept, and after
# the quarantine the render resumes and the run completes.
. tests/integration/lib.sh
export RAYVAULT_BROWSER_STALL_SEC=2 RAYVAULT_QUARANTINE_SEC=3
export RV_FAULT="stall:render:300"
spec=$(make_spec RAY-T4)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 60 child_state_is render busy || fail "render never busy"
rpid=$(child_field render pid)
r_gone() { ! alive "$rpid"; }
wait_for 8 r_gone && ok "stalled renderer killed" ||
    fail "stalled renderer alive"
panic_state() { [ "$(ctl status --json | json 'j["run"]["worker_state"] if j["run"] else ""')" = panic ]; }
wait_for 3 panic_state &&
    ok "worker state panic during quarantine" || fail "no panic state"
wait_for 90 status_is RAY-T4 done && ok "run done after quarantine" ||
    fail "run: $(run_status RAY-T4)"
rid=$(run_id_of RAY-T4)
[ "$(count_events "$rid" panic_browser_frozen)" -eq 1 ] && ok "one panic_browser_frozen" ||
    fail "panic events: $(count_events "$rid" panic_browser_frozen)"
[ "$(count_events "$rid" lost_lock)" -eq 0 ] || fail "lease lost"
sup_up && ok "supervisor kept running" || fail "supervisor gone"
finish
