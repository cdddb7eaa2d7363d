#!/bin/sh
# SIGTERM mid-run: exit 0 within the grace period, the claim is kept
# (the run stays locked by this worker, marked idle), and a restart
# completes the run.
. tests/integration/lib.sh
export RV_FAULT="slow:voice:3000"
spec=$(make_spec RAY-T6)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 60 child_state_is voice busy || fail "voice never busy"
kill -TERM "$SUP_PID"
t0=$(date +%s)
wait "$SUP_PID"; rc=$?
t1=$(date +%s)
[ $rc -eq 0 ] && ok "exit 0 after SIGTERM" || fail "exit $rc"
[ $((t1 - t0)) -le 21 ] && ok "within grace ($((t1 - t0)) s)" || fail "took $((t1 - t0)) s"
row=$(ctl runs --json | json "[r for r in j if r['video_id']=='RAY-T6'][0]")
echo "$row" | json 'j["locked"] and j["worker_id"]=="test-worker"' | grep -qx true &&
    ok "claim kept" || fail "claim not kept: $row"
echo "$row" | json 'j["status"]' | grep -qx running || fail "status changed: $row"
echo "$row" | json 'j["worker_state"]' | grep -qx idle && ok "worker idle" || fail "worker state: $row"
ck=$(ls "$RAYVAULT_STATE_DIR"/checkpoints/*.json)
python3 -c "import json; c=json.load(open('$ck')); assert c['stages']['voice']!='done' and not c['finished']" &&
    ok "checkpoint says voice not done" || fail "checkpoint wrong: $(cat "$ck")"
unset RV_FAULT
start_sup
wait_for 90 status_is RAY-T6 done && ok "restart completed the run" || fail "run: $(run_status RAY-T6)"
finish
