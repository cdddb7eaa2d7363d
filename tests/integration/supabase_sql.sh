#!/bin/sh
# SPDX-License-Identifier: ISC
#
# supabase_sql.sh: the SQL tests of the Supabase migration on a private
# PostgreSQL cluster (tests/lib/pg_cluster) that has Supabase's roles
# before the migration runs: apply the migration, apply
# it again over a stale overload and a queued run (re-running must be
# harmless), run every pgTAP file in tests/sql/ with psql and check its
# TAP output (plan met, no "not ok", no SQL error), then the 8-client
# claim race (tests/sql/claim_race.sh).  Prints "FAIL <case>: <detail>"
# lines and "N passed, M failed"; exit 1 on any failure.
. tests/integration/lib.sh
LIB=$ROOT/tests/lib
chmod 0711 "$T"
pass=0
at_exit '"$LIB/pg_cluster" remove "$T/pg" 2>/dev/null'

# The roles exist before the migration, as on Supabase (with_postgrest
# covers a bare PostgreSQL, where the migration creates them).
out=$(RV_PG_ROLES=supabase "$LIB/pg_cluster" start "$T/pg") || exit 1
eval "$out"
DB=rv_tap
"$LIB/pg_cluster" migrate "$T/pg" "$DB" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE FUNCTION public.rpc_claim_next_run(p_worker_id text,
    p_lock_token text, p_lease_minutes integer, p_task_type text,
    p_prev_lock_token text) RETURNS void LANGUAGE sql AS '';
SELECT rpc_enqueue_run('CANARY-1');
SQL
if "$LIB/pg_cluster" migrate "$T/pg" "$DB"; then
	pass=$((pass + 1))
else
	fail "migration_rerun: applying the migration twice failed"
fi

for f in "$ROOT"/tests/sql/*.sql; do
	name=$(basename "$f" .sql)
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -A -t \
	    -v ON_ERROR_STOP=1 -d "$DB" -f "$f" >"$T/$name.tap" 2>&1
	rc=$?
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$T/$name.tap" | head -n 1)
	nok=$(grep -c '^ok ' "$T/$name.tap")
	nbad=$(grep -c '^not ok ' "$T/$name.tap")
	if [ $rc -ne 0 ] || [ -z "$plan" ] || [ "$nbad" -ne 0 ] ||
	    [ "$nok" -ne "$plan" ]; then
		fail "$name: psql status $rc, plan ${plan:-none}, $nok ok," \
		    "$nbad not ok"
		grep -E '^not ok |^# |ERROR:' "$T/$name.tap" |
		    head -n 30 | sed 's/^/      /'
	else
		pass=$((pass + 1))
		echo "ok   $name: $nok tests"
	fi
done

psql -X -q -d postgres -c "CREATE DATABASE rv_race" >/dev/null &&
    "$LIB/pg_cluster" migrate "$T/pg" rv_race || exit 1
if sh "$ROOT/tests/sql/claim_race.sh" rv_race >"$T/race.log" 2>&1; then
	pass=$((pass + 1))
	grep '^claim race' "$T/race.log" | sed 's/^/ok   /'
else
	fail "claim_race: see below"
	sed 's/^/      /' "$T/race.log"
fi
echo "$pass passed, $FAILS failed"
finish
