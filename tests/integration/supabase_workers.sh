#!/bin/sh
# SPDX-License-Identifier: ISC
#
# supabase_workers.sh: several machines on one Supabase project.  Three
# supervisors (separate state dirs, separate worker ids) work one queue of
# 15 small runs through the PostgREST fixture and one private PostgreSQL
# (tests/lib/with_postgrest).  Checked in the database afterwards: every
# run done exactly once (one claim, epoch 1, one run_finished), no segment
# paid twice (one ledger row per segment; a second render_started only
# after a render child restart), every worker took part, and every final
# video exists once.
#
# Without SUPABASE_URL it re-runs itself under with_postgrest.
if [ -z "${SUPABASE_URL:-}" ]; then
	exec tests/lib/with_postgrest sh "$0" "$@"
fi
NRUNS=${RV_WORKERS_RUNS:-15}
NSUP=3
export RAYVAULT_LEASE_MINUTES=1 RAYVAULT_HEARTBEAT_INTERVAL_SEC=5
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=3 RAYVAULT_POLL_INTERVAL_SEC=1
. tests/integration/lib.sh

PIDS=""
stop_all() {
	for p in $PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	for p in $(pgrep -f "rvw-.*--state-dir $T/" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	cleanup
}
trap stop_all EXIT

sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

i=1
while [ $i -le "$NRUNS" ]; do
	spec=$(make_spec "RAY-MW$i")
	# Own texts per run (identical audio would, rightly, reuse videos),
	# with targets long enough for them (short audio is padded).
	sed -i "s/Hello and welcome\./Hello and welcome to run $i./;
	    s/boils fast\./boils fast, run $i./;
	    s/\"approx_duration_sec\": [0-9.]*/\"approx_duration_sec\": 3.5/" \
	    "$spec"
	ctl enqueue "$spec" >/dev/null || fail "enqueue RAY-MW$i"
	i=$((i + 1))
done

t0=$(date +%s)
i=1
while [ $i -le $NSUP ]; do
	mkdir -p "$T/w$i"
	RAYVAULT_STATE_DIR=$T/w$i/state RAYVAULT_SPOOL_DIR=$T/w$i/spool \
	    RAYVAULT_WORKER_ID=multi-worker-$i \
	    "$BIN/rvsup" start >"$T/w$i/sup.log" 2>&1 &
	PIDS="$PIDS $!"
	i=$((i + 1))
done

all_done() {
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE video_id LIKE
	    'RAY-MW%' AND status IN ('done', 'failed', 'aborted')")" = \
	    "$NRUNS" ]
}
if wait_for 300 all_done; then
	ok "$NRUNS runs finished by $NSUP workers in $(( $(date +%s) - t0 )) s"
else
	fail "runs not finished: $(sql "SELECT string_agg(video_id || ' ' ||
	    status, ', ') FROM pipeline_runs WHERE video_id LIKE 'RAY-MW%'
	    AND status NOT IN ('done')")"
fi
i=1
for p in $PIDS; do
	RAYVAULT_STATE_DIR=$T/w$i/state "$BIN/rvsup" stop --timeout 20 \
	    >/dev/null 2>&1 || fail "rvsup stop (worker $i)"
	wait "$p" || fail "worker $i exit status $?"
	i=$((i + 1))
done
PIDS=""

n=$(sql "SELECT count(*) FROM pipeline_runs WHERE video_id LIKE 'RAY-MW%'
    AND status = 'done' AND lease_epoch = 1")
[ "$n" = "$NRUNS" ] && ok "every run done in its first claim" ||
    fail "$n of $NRUNS runs done with lease epoch 1"
n=$(sql "SELECT count(*) FROM (SELECT r.run_id FROM pipeline_runs r
    LEFT JOIN run_events e ON e.run_id = r.run_id
    AND e.event_type IN ('run_claimed', 'run_finished')
    WHERE r.video_id LIKE 'RAY-MW%' GROUP BY r.run_id
    HAVING count(*) FILTER (WHERE e.event_type = 'run_claimed') <> 1
    OR count(*) FILTER (WHERE e.event_type = 'run_finished') <> 1) x")
[ "$n" = 0 ] && ok "one claim and one finish per run" ||
    fail "$n runs claimed or finished more than once"
n=$(sql "SELECT count(*) || ' ' || count(DISTINCT (e.run_id, e.reason_key))
    FROM run_events e JOIN pipeline_runs r USING (run_id)
    WHERE r.video_id LIKE 'RAY-MW%' AND e.event_type = 'render_started'")
# A render child killed (unresponsive, stuck) or dead while busy has its
# task re-dispatched, and the segment in flight is rendered again: that
# is the one render a crash may waste.  Every render beyond one per
# segment must be explained by such a restart; the ledger (below) shows
# nothing was paid twice.
restarts=$(cat "$T"/w*/sup.log | grep -Ec "started render \(pid [0-9]+, generation ([2-9]|[1-9][0-9]+)\)")
all=${n% *} distinct=${n#* }
if [ "$distinct" = "$((NRUNS * 2))" ] && [ "$all" -ge "$distinct" ] &&
    [ "$((all - distinct))" -le "$restarts" ]; then
	ok "every segment rendered ($all renders, $restarts render restarts)"
else
	fail "renders (all, distinct): $n with $restarts render restarts"
fi
[ "$restarts" -eq 0 ] || grep -h "killing render\|render (pid .*) \(died\|exited\)" \
    "$T"/w*/sup.log | sed 's/^/    /'
n=$(sql "SELECT count(*) FROM credit_ledger l JOIN pipeline_runs r
    USING (run_id) WHERE r.video_id LIKE 'RAY-MW%' AND l.state = 'done'")
[ "$n" = "$((NRUNS * 2))" ] && ok "one ledger row per segment" ||
    fail "$n ledger rows done, want $((NRUNS * 2))"
n=$(sql "SELECT count(DISTINCT worker_id) FROM pipeline_runs
    WHERE video_id LIKE 'RAY-MW%'")
[ "$n" = $NSUP ] && ok "all $NSUP workers took runs" ||
    fail "$n of $NSUP workers took runs"
n=$(ls "$T"/w*/state/video/final/*.mp4 2>/dev/null | wc -l)
u=$(ls "$T"/w*/state/video/final/*.mp4 2>/dev/null | xargs -n 1 basename |
    sort -u | wc -l)
[ "$n" -eq $((NRUNS * 2)) ] && [ "$u" -eq "$n" ] &&
    ok "$n final videos, each once" || fail "final videos: $n, unique $u"
if [ "$FAILS" -gt 0 ]; then
	echo "--- events of runs not done"
	sql "SELECT r.video_id || ' ' || e.event_type || ' ' ||
	    coalesce(e.reason_key, '') || ' ' || e.payload::text
	    FROM run_events e JOIN pipeline_runs r USING (run_id)
	    WHERE r.video_id LIKE 'RAY-MW%' AND r.status <> 'done'
	    ORDER BY e.id" | cut -c 1-300
	for i in 1 2 3; do
		echo "--- worker $i log (tail)"
		tail -15 "$T/w$i/sup.log"
	done
fi
finish
