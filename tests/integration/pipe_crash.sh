#!/bin/sh
# Crash through a run: kill -9 each child kind once while it is busy and
# the supervisor at 5 random moments, restarting it each time.  The run
# completes, render_done appears exactly once per segment, no .tmp file
# is left, and the index and checkpoint parse.
. tests/integration/lib.sh
# Each stage is slowed so the test can see it busy; the run is queued only
# once the supervisor answers, so a slow start (a loaded machine, a
# sanitizer build) cannot let the first stage pass unseen.
export RV_FAULT="slow:evidence:3000,slow:voice:3000,slow:render:3000,slow:probe:3000"
cp -r "$ROOT/examples/ray-demo" "$T/demo"
rnd() { echo "$(( $(od -An -N1 -tu1 /dev/urandom) % 25 + 5 ))"; }
crash_sup() {
	sleep "$(python3 -c "print($(rnd)/10)")"
	kill -9 "$SUP_PID" 2>/dev/null
	wait "$SUP_PID" 2>/dev/null
	echo "     supervisor killed"
	start_sup
}
start_sup
ctl enqueue "$T/demo/run.json" >/dev/null || fail "enqueue"
for k in evidence voice render probe; do
	if wait_for 40 child_state_is $k busy; then
		kill -9 "$(child_field $k pid)" 2>/dev/null && echo "     $k killed while busy"
	fi
	crash_sup
done
crash_sup
wait_for 180 status_is RAY-DEMO-1 done && ok "run completed through the crashes" ||
    fail "run: $(run_status RAY-DEMO-1)"
rid=$(run_id_of RAY-DEMO-1)
[ "$(count_events "$rid" render_done)" -eq 5 ] && ok "render_done exactly once per segment" ||
    fail "render_done count $(count_events "$rid" render_done)"
ctl events --run "$rid" --json | json '[e["payload"]["segment_id"] for e in j if e["event_type"]=="render_done"]' |
    python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if len(s)==len(set(s)) else 1)' ||
    fail "a segment has two render_done events"
S=$RAYVAULT_STATE_DIR
left=$(find "$S" -name '*.tmp*' | wc -l)
[ "$left" -eq 0 ] && ok "no .tmp files left" || fail "$(find "$S" -name '*.tmp*')"
python3 -c "import json; assert len(json.load(open('$S/video/index.json'))['items'])==5" &&
    ok "index parses with 5 entries" || fail "index"
python3 -c "
import json,glob
for f in glob.glob('$S/checkpoints/*.json'):
    c=json.load(open(f)); assert c['finished'] and all(v=='done' for v in c['stages'].values()), c
" && ok "checkpoint parses and is complete" || fail "checkpoint"
recov=$(ctl events --run "$rid" --json | json 'len([e for e in j if e["event_type"]=="run_claimed" and e["payload"].get("is_recovery")])')
[ "$recov" -ge 1 ] && ok "$recov recovery claims" || fail "no recovery claim"
finish
