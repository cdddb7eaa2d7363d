#!/bin/sh
# SIGSTOP of a busy child: detected within 3.5 x the child heartbeat
# interval, its whole tree killed (including a setsid() escapee), the child
# restarted, and the lease heartbeats uninterrupted (measured in the store).
. tests/integration/lib.sh
export RV_FAULT="slow:voice:6000,escapee:voice"
spec=$(make_spec RAY-T3)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 60 child_state_is voice busy || fail "voice never busy"
wait_for 5 test -f "$RAYVAULT_STATE_DIR/runtime/escapee.voice" || fail "no escapee"
esc=$(cat "$RAYVAULT_STATE_DIR/runtime/escapee.voice")
pid=$(child_field voice pid)
kill -STOP "$pid"
t0=$(date +%s.%N)
gone() { ! alive "$pid"; }
wait_for 10 gone || fail "stopped child not killed"
t1=$(date +%s.%N)
lat=$(python3 -c "print(round($t1-$t0,2))")
python3 -c "import sys; sys.exit(0 if $t1-$t0 <= 3.5*0.5+0.5 else 1)" &&
    ok "frozen child killed after $lat s" || fail "detection took $lat s"
esc_gone() { ! alive "$esc"; }
wait_for 3 esc_gone && ok "setsid escapee killed" ||
    fail "escapee $esc survived"
wait_for 90 status_is RAY-T3 done && ok "run done" || fail "run: $(run_status RAY-T3)"
rid=$(run_id_of RAY-T3)
gap=$(ctl events --run "$rid" --json | python3 -c '
import json,sys,datetime
ev=[e for e in json.load(sys.stdin) if e["event_type"]=="lease_heartbeat"]
ts=[datetime.datetime.fromisoformat(e["occurred_at"].replace("Z","+00:00")).timestamp() for e in ev]
print(max([b-a for a,b in zip(ts,ts[1:])] or [0]))')
python3 -c "import sys; sys.exit(0 if $gap <= 2+1+0.5 else 1)" &&
    ok "max lease heartbeat gap $gap s" || fail "lease heartbeat gap $gap s"
finish
