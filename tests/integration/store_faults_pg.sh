#!/bin/sh
# SPDX-License-Identifier: ISC
#
# store_faults_pg.sh: the store-fault matrix of issue 10 on the supabase
# store backend, through the PostgREST fixture (tests/lib/
# postgrest_fixture.py) on a private PostgreSQL (tests/lib/pg_cluster).
# Proves the same as store_faults.sh: for each store call the supervisor
# makes (claim, heartbeat, gate, set worker state, event, ledger intent,
# ledger result, finish, release) and each network fault (5xx answers, a
# timeout whose request still runs in the database afterwards, connection
# refused, a slow answer under the timeout), a conflicting run never
# reaches voice without an operator decision recorded for its gate, no
# ledger key is paid twice, nothing is stored for an old epoch, no log
# line or alert claims a gate or decision the store does not hold, every
# run ends done or aborted (or gated with a next action in rvctl doctor),
# and a clean run completes.
#
# One cluster, one database and one fixture per session (fixture faults
# are global to a fixture), sessions side by side
# (tests/lib/storefault_session.sh); this script runs P1-P4,
# store_faults_pg_hooks.sh runs H1 and H2 (SF_SESSIONS) on a cluster of
# its own, so tests/run can start the two at once:
#
#   session  claim    C:gate   C:intent  C:finish  K:intent  K:finish
#   P1 (K C) 5xx      timeout  refused   slow      5xx       timeout
#   P2 (C K) timeout  refused  slow      5xx       timeout   refused
#   P3 (C K) refused  slow     5xx       timeout   refused   slow
#   P4 (K C) slow     5xx      timeout   refused   slow      5xx
# (a timed-out claim still runs in the database: it claims the oldest
# run, C, with a token rvsup never learns, so P2 drives C first)
#   H1/H2    the supervisor's store:<call> / store-lost:<call> hooks, with
#            a third run aborted at its gate (release)
# Faults are the fixture's switches (POST /_fixture/faults), set from
# outside the process; only H1/H2 use hooks.
set -u
# The matrix proves the run machine's decisions, not memory safety, and
# its sessions run side by side on budgets: the sanitizer pass (several
# times slower) skips it; the plain pass of make test runs it.
case "${BUILD:-build}" in
*asan*) echo "SKIP: store-fault matrix under the sanitizer build"; exit 0 ;;
esac
. tests/integration/lib.sh
LIB=$ROOT/tests/lib
O=$T
chmod 0711 "$O"
FX=""
# The sessions to run (tests/integration/store_faults_pg_hooks.sh: H1 H2).
SESSIONS=${SF_SESSIONS:-P1 P2 P3 P4}
at_exit 'for p in $FX; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
"$LIB/pg_cluster" remove "$O/pg" >/dev/null 2>&1'

out=$("$LIB/pg_cluster" start "$O/pg") || { fail "setup: no PostgreSQL"; finish; }
eval "$out"

H1="store:claim:1:2,store:heartbeat:4:3,store:gate:1:2,store:state:1:2"
H1="$H1,store:event:3:3,store:ledger_intent:1,store:ledger_result:1:2"
H1="$H1,store:finish:1:2,store:release:1"
H2="store-lost:claim:1,store-lost:heartbeat:4:2,store-lost:gate:1"
H2="$H2,store-lost:state:1,store-lost:event:3:2,store-lost:ledger_intent:1"
H2="$H2,store-lost:ledger_result:1,store-lost:finish:1,store-lost:release:1"

# fixture NAME: a database and a PostgREST fixture of its own
fixture() {
	db=rv_sf_$(echo "$1" | tr 'A-Z' 'a-z')
	"$LIB/pg_cluster" migrate "$O/pg" "$db" || return 1
	key=rvtest-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
	RV_FIXTURE_SERVICE_KEY=$key python3 "$LIB/postgrest_fixture.py" \
	    --db "$db" >"$O/fx-$1.out" 2>"$O/fx-$1.err" &
	FX="$FX $!"
	wait_for 10 test -s "$O/fx-$1.out" || return 1
	echo "SUPABASE_URL=http://127.0.0.1:$(head -n 1 "$O/fx-$1.out")" >"$O/env-$1"
	echo "SUPABASE_SERVICE_KEY=$key" >>"$O/env-$1"
	echo "PGDATABASE=$db" >>"$O/env-$1"
}

session() {
	name=$1
	shift
	case " $SESSIONS " in *" $name "*) ;; *) return ;; esac
	if ! fixture "$name"; then
		echo "FAIL setup: fixture for $name" >"$O/$name.out"
		echo 1 >"$O/$name.rc"
		return
	fi
	(
		cd "$ROOT" || exit 1
		set -a
		. "$O/env-$name"
		set +a
		export RV_STORE_BACKEND=supabase SF_NAME=$name "$@"
		RAYVAULT_WORKER_ID=sf-worker-$(echo "$name" | tr 'A-Z' 'a-z')
		export RAYVAULT_WORKER_ID
		sh tests/lib/storefault_session.sh >"$O/$name.out" 2>&1
		echo $? >"$O/$name.rc"
	) &
}

t0=$(date +%s)
session P1 SF_ORDER="K C" SF_CLAIM=5xx SF_C_GATE=timeout \
    SF_C_INTENT=refused SF_C_FINISH=slow SF_K_INTENT=5xx SF_K_FINISH=timeout
session P2 SF_ORDER="C K" SF_CLAIM=timeout SF_C_GATE=refused \
    SF_C_INTENT=slow SF_C_FINISH=5xx SF_K_INTENT=timeout SF_K_FINISH=refused
session P3 SF_ORDER="C K" SF_CLAIM=refused SF_C_GATE=slow \
    SF_C_INTENT=5xx SF_C_FINISH=timeout SF_K_INTENT=refused SF_K_FINISH=slow
session P4 SF_ORDER="K C" SF_CLAIM=slow SF_C_GATE=5xx \
    SF_C_INTENT=timeout SF_C_FINISH=refused SF_K_INTENT=slow SF_K_FINISH=5xx
session H1 SF_ORDER="C K A" SF_HOOKS="$H1"
session H2 SF_ORDER="C K A" SF_HOOKS="$H2"
# the fixtures are jobs too: wait for the sessions' exit files (each
# session ends within its own budget, SF_MAX)
for s in $SESSIONS; do
	wait_for "$(( ${SF_MAX:-420} + 60 ))" test -f "$O/$s.rc" ||
	    echo 1 >"$O/$s.rc"
done

for s in $SESSIONS; do
	sed "s/^/[$s] /" "$O/$s.out"
	r=$(cat "$O/$s.rc")
	[ "$r" = 0 ] || fail "session $s"
	echo "[$s] exit $r"
done
echo "store_faults_pg ($SESSIONS): $(( $(date +%s) - t0 )) s, $(cat "$O"/*.out | grep -c '^ok') ok, $(cat "$O"/*.out | grep -c '^FAIL') failed"
finish
