#!/bin/sh
# kill -9 of each stage child while it is busy: restarted with a new
# generation, its task re-dispatched, the run completes, supervisor pid
# unchanged.
. tests/integration/lib.sh
export RV_FAULT="slow:evidence:2500,slow:voice:2500,slow:render:2500,slow:probe:2500"
spec=$(make_spec RAY-T2)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
for k in evidence voice render probe; do
	if ! wait_for 60 child_state_is $k busy; then
		fail "$k never busy"
		continue
	fi
	pid=$(child_field $k pid)
	gen=$(child_field $k generation)
	kill -9 "$pid"
	if wait_for 10 sh -c "[ \"\$($BIN/rvctl status --json | python3 -c 'import json,sys; print([c[\"generation\"] for c in json.load(sys.stdin)[\"children\"] if c[\"kind\"]==\"$k\"][0])')\" -gt $gen ]"; then
		ok "$k restarted with a new generation"
	else
		fail "$k not restarted"
	fi
done
wait_for 120 status_is RAY-T2 done && ok "run done" || fail "run: $(run_status RAY-T2)"
sup_up && ok "supervisor pid unchanged" || fail "supervisor changed"
rid=$(run_id_of RAY-T2)
[ "$(count_events "$rid" render_done)" -eq 2 ] && ok "render_done once per segment" ||
    fail "render_done count $(count_events "$rid" render_done)"
finish
