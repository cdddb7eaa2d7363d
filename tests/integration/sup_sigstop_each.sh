#!/bin/sh
# SIGSTOP of each stage child while it is busy (evidence, voice, render,
# probe in turn): each is found silent within 3.5 x the child heartbeat
# interval, killed, restarted with a new generation and its task
# re-dispatched; the run completes once per segment and the supervisor
# never changes.  In the portable subset: the same detection and tree kill
# without a subreaper.
. tests/integration/lib.sh
export RV_FAULT="slow:evidence:3000,slow:voice:3000,slow:render:3000,slow:probe:3000"
spec=$(make_spec RAY-T5)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
hb=$(python3 -c "print($RAYVAULT_CHILD_HEARTBEAT_MS / 1000)")
gen_of() {
	ctl status --json | python3 -c "import json,sys
print([c['generation'] for c in json.load(sys.stdin)['children'] if c['kind']=='$1'][0])"
}
for k in evidence voice render probe; do
	if ! wait_for 60 child_state_is $k busy; then
		fail "$k never busy"
		continue
	fi
	pid=$(child_field $k pid)
	gen=$(child_field $k generation)
	kill -STOP "$pid"
	t0=$(date +%s.%N)
	gone() { ! alive "$pid"; }
	if ! wait_for 10 gone; then
		fail "stopped $k (pid $pid) not killed"
		kill -KILL "$pid" 2>/dev/null
		continue
	fi
	lat=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")
	python3 -c "import sys; sys.exit(0 if $lat <= 3.5 * $hb + 0.5 else 1)" &&
	    ok "stopped $k killed after $lat s" || fail "$k: detection took $lat s"
	newer() { [ "$(gen_of $k)" -gt "$gen" ]; }
	wait_for 10 newer && ok "$k restarted with a new generation" ||
	    fail "$k not restarted"
done
wait_for 120 status_is RAY-T5 done && ok "run done" || fail "run: $(run_status RAY-T5)"
sup_up && ok "supervisor pid unchanged" || fail "supervisor changed"
rid=$(run_id_of RAY-T5)
[ "$(count_events "$rid" render_done)" -eq 2 ] && ok "render_done once per segment" ||
    fail "render_done count $(count_events "$rid" render_done)"
finish
