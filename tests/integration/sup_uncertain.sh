#!/bin/sh
# Three failed lease renewals: panic_heartbeat_uncertain pauses the run's
# children (SIGSTOP); the next confirmed renewal resumes them and the run
# completes.
. tests/integration/lib.sh
export RV_FAULT="hb-fail:1:3,slow:voice:20000"
spec=$(make_spec RAY-T11)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 30 child_state_is voice busy || fail "voice never busy"
vpid=$(child_field voice pid)
stopped() { grep -q '^State:.*T' "/proc/$vpid/status" 2>/dev/null; }
wait_for 20 stopped && ok "children paused while the lease is uncertain" || fail "voice not paused"
resumed() { ! stopped; }
wait_for 20 resumed && ok "children resumed after a confirmed renewal" || fail "voice still stopped"
alive "$vpid" && ok "paused child was not judged frozen" || fail "paused child was killed"
rid=$(run_id_of RAY-T11)
wait_for 60 status_is RAY-T11 done && ok "run done" || fail "run: $(run_status RAY-T11)"
ctl events --run "$rid" --json | grep -q panic_heartbeat_uncertain && ok "uncertain alert recorded" ||
    fail "no panic_heartbeat_uncertain alert"
finish
