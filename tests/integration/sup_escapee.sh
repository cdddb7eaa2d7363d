#!/bin/sh
# kill -9 of a busy child that left a setsid() grandchild behind: the
# grandchild (another session and process group, reparented away from the
# dead child) is killed too, the child restarted and the run completes.
# Linux finds it as subreaper; macOS and make PORTABLE=1 have none and
# find it in the tree the supervisor noted at the child's last heartbeat.
. tests/integration/lib.sh
export RV_FAULT="slow:voice:6000,escapee:voice"
spec=$(make_spec RAY-T4)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
wait_for 60 child_state_is voice busy || fail "voice never busy"
wait_for 5 test -f "$RAYVAULT_STATE_DIR/runtime/escapee.voice" || fail "no escapee"
esc=$(cat "$RAYVAULT_STATE_DIR/runtime/escapee.voice")
pid=$(child_field voice pid)
gen=$(child_field voice generation)
[ "$(ps -o sid= -p "$esc" | tr -d ' ')" = "$esc" ] &&
    ok "the escapee $esc leads its own session" ||
    fail "escapee $esc is not in its own session"
# three child heartbeat intervals after the escapee exists
sleep "$(python3 -c "print(3 * $RAYVAULT_CHILD_HEARTBEAT_MS / 1000)")"
kill -9 "$pid"
esc_gone() { ! alive "$esc"; }
wait_for 3 esc_gone && ok "setsid escapee killed after its parent died" ||
    fail "escapee $esc survived (ppid $(ps -o ppid= -p "$esc"))"
wait_for 10 sh -c "[ \"\$(\"$BIN/rvctl\" status --json | python3 -c 'import json,sys; print([c[\"generation\"] for c in json.load(sys.stdin)[\"children\"] if c[\"kind\"]==\"voice\"][0])')\" -gt $gen ]" &&
    ok "voice restarted with a new generation" || fail "voice not restarted"
wait_for 90 status_is RAY-T4 done && ok "run done" || fail "run: $(run_status RAY-T4)"
grep -q "killing $esc" "$RAYVAULT_STATE_DIR/logs/rvsup.log" &&
    ok "the supervisor logged the kill" ||
    fail "no kill of $esc in the log: $(grep -i kill "$RAYVAULT_STATE_DIR/logs/rvsup.log" | tail -5)"
finish
