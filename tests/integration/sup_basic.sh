#!/bin/sh
# A run goes through every stage on real children; a supervisor starting
# while rvctl reads the pid file starts; a second supervisor on the same
# state dir refuses; status shape; rvsup stop.
. tests/integration/lib.sh

spec=$(make_spec RAY-T1)
ctl status --json | json 'j["supervisor"]' | grep -qx null ||
    fail "status without supervisor should say supervisor null"
ctl status >/dev/null 2>&1; [ $? -eq 3 ] || fail "status without supervisor must exit 3"
ctl enqueue "$spec" >/dev/null || fail "enqueue"
# rvctl learns whether a supervisor runs by taking the pid file's lock
# shared for an instant: a supervisor starting in that instant waits for
# it to go (here it is held 0.8 s) instead of refusing as if a rival ran.
pidf="$RAYVAULT_STATE_DIR/runtime/rvsup.pid"
(umask 077; mkdir -p "$RAYVAULT_STATE_DIR/runtime")
: >"$pidf"
flock -s "$pidf" sleep 0.8 &
held() { ! flock -n -x "$pidf" true; }
wait_for 5 held || fail "the shared lock was not taken"
start_sup
grep -q "refusing to start" "$T/sup.log" &&
    fail "the supervisor took a reader's lock for a rival: $(cat "$T/sup.log")" ||
    ok "a supervisor starting while the pid file is read starts"
# (a second that did not refuse would run on: 30 s, then it is a failure)
timeout 30 "$BIN/rvsup" start >"$T/second.log" 2>&1
rc=$?
[ $rc -eq 75 ] && grep -q "already running" "$T/second.log" &&
    ok "second supervisor refused" ||
    fail "second supervisor: rc $rc: $(cat "$T/second.log")"
sup_up && ok "first supervisor still answers" || fail "first supervisor lost its endpoint"
wait_for 90 status_is RAY-T1 done && ok "run done" || fail "run not done: $(run_status RAY-T1)"
n=$(ls "$RAYVAULT_STATE_DIR"/video/final/*.mp4 2>/dev/null | wc -l)
[ "$n" -eq 2 ] && ok "2 final videos" || fail "final videos: $n"
ls "$RAYVAULT_STATE_DIR"/timeline/timeline_RAY-T1_latest.csv >/dev/null 2>&1 &&
    ok "timeline written" || fail "no timeline"
st=$(ctl status --json)
echo "$st" | json 'sorted(j["supervisor"].keys())' | grep -q started_at || fail "status keys"
echo "$st" | json 'len(j["children"])' | grep -qx 5 || fail "status must list 5 children"
echo "$st" | json '[c["state"] for c in j["children"]]' | grep -q ready || fail "children ready"
"$BIN/rvsup" stop --timeout 20 >/dev/null || fail "rvsup stop"
kill -0 "$SUP_PID" 2>/dev/null && fail "supervisor still alive after stop" || ok "stopped"
wait "$SUP_PID"; rc=$?
[ $rc -eq 0 ] && ok "exit 0" || fail "exit status $rc"
sleep 0.5
left=$(pgrep -f "rvw-.*--state-dir $RAYVAULT_STATE_DIR" | wc -l)
[ "$left" -eq 0 ] && ok "no children left" || fail "$left children left"
finish
