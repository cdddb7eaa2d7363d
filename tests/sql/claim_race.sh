#!/bin/sh
# SPDX-License-Identifier: ISC
#
# claim_race.sh: 8 parallel clients claim from 2 000 queued runs through
# rpc_claim_next_run (FOR UPDATE SKIP LOCKED), each as service_role in its
# own psql session, committing every claim and every finish separately, as
# workers do.  Every claim is logged; the check: 2 000 claims, no run
# claimed twice, every run done with lease epoch 1, every client claimed.
#
# Usage: claim_race.sh DB   (PGHOST/PGPORT/PGUSER from the environment;
# DB must have the migration applied).  Prints "FAIL <case>: <detail>"
# lines and "N passed, M failed"; exit 1 on failure.
set -u
DB=$1
NRUNS=${RV_RACE_RUNS:-2000}
NCLIENTS=${RV_RACE_CLIENTS:-8}
PSQL="psql -X -q -A -t -v ON_ERROR_STOP=1 -d $DB"
pass=0
failed=0

check() {
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $1: got $2, want $3"
	fi
}

$PSQL <<SQL || exit 1
CREATE TABLE claim_log (run_id uuid NOT NULL, worker text NOT NULL,
    epoch bigint NOT NULL);
GRANT INSERT ON claim_log TO service_role;
SELECT count(rpc_enqueue_run('RACE-' || i, 'race'))
FROM generate_series(1, $NRUNS) AS i;
SQL

t0=$(date +%s.%N)
i=1
pids=""
while [ $i -le "$NCLIENTS" ]; do
	$PSQL <<SQL >/dev/null &
SET ROLE service_role;
DO \$\$
DECLARE
	r record;
	tok text;
BEGIN
	LOOP
		tok := gen_random_uuid()::text;
		SELECT * INTO r FROM rpc_claim_next_run('race-worker-$i',
		    tok, 30, 'race');
		EXIT WHEN NOT FOUND;
		INSERT INTO claim_log VALUES (r.run_id, 'race-worker-$i',
		    r.lease_epoch);
		COMMIT;
		IF NOT rpc_finish_run(r.run_id::text, 'race-worker-$i', tok,
		    'done') THEN
			RAISE EXCEPTION 'finish of % refused', r.run_id;
		END IF;
		COMMIT;
	END LOOP;
END
\$\$;
SQL
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do
	wait "$p" || bad=$((bad + 1))
done
t1=$(date +%s.%N)
check "clients" "$bad" 0

res=$($PSQL -c "SELECT count(*) || ' ' || count(DISTINCT run_id) || ' ' ||
    count(DISTINCT worker) FROM claim_log")
set -- $res
check "claims" "$1" "$NRUNS"
check "claimed_twice" "$(( $1 - $2 ))" 0
check "clients_claimed" "$3" "$NCLIENTS"
check "runs_done_once" "$($PSQL -c "SELECT count(*) FROM pipeline_runs
    WHERE task_type = 'race' AND status = 'done' AND lease_epoch = 1
    AND lock_token IS NULL")" "$NRUNS"
check "claim_events" "$($PSQL -c "SELECT count(*) FROM run_events e
    JOIN pipeline_runs r USING (run_id)
    WHERE r.task_type = 'race' AND e.event_type = 'run_claimed'")" "$NRUNS"
echo "claim race: $NRUNS runs, $NCLIENTS clients, $(echo "$t0 $t1" |
    awk -v n="$NRUNS" '{ printf "%.1f s, %.0f claims/s (claim + finish)",
    $2 - $1, n / ($2 - $1) }')"
echo "$pass passed, $failed failed"
[ $failed -eq 0 ]
