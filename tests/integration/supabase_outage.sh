#!/bin/sh
# SPDX-License-Identifier: ISC
#
# supabase_outage.sh: a store outage during a run, end to end through the
# PostgREST fixture.  A short outage: panic_heartbeat_uncertain, the run's
# children paused (SIGSTOP) and events spooled; when the store answers
# again the children resume, the run completes and every spooled event
# reaches the store exactly once.  A long outage: the supervisor kills the
# run's children before its lease expires (self-fencing); another worker
# claims the run after expiry (the first one held meanwhile, so it cannot
# renew first), and the first one, when it runs again, gets
# panic_lost_lock and never writes to that run again.
if [ -z "${SUPABASE_URL:-}" ]; then
	exec tests/lib/with_postgrest sh "$0" "$@"
fi
export RAYVAULT_LEASE_MINUTES=1 RAYVAULT_HEARTBEAT_INTERVAL_SEC=2
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=1
. tests/integration/lib.sh

faults() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    -H "apikey: $SUPABASE_SERVICE_KEY" \
	    -H "Authorization: Bearer $SUPABASE_SERVICE_KEY" \
	    -H 'Content-Type: application/json' -d "$1" \
	    "$SUPABASE_URL/_fixture/faults" | grep -q 200 || fail "fixture faults $1"
}
event_counts() {
	curl -s -H "apikey: $SUPABASE_SERVICE_KEY" \
	    -H "Authorization: Bearer $SUPABASE_SERVICE_KEY" \
	    "$SUPABASE_URL/_fixture/stats"
}
sql() { psql -X -q -A -t -c "$1"; }

# --- short outage ---
export RV_FAULT="slow:voice:15000"
spec=$(make_spec RAY-OUT1)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
wait_for 30 child_state_is voice busy || fail "voice never busy"
vpid=$(child_field voice pid)
faults '{"outage_sec": 12}'
stopped() { grep -q '^State:.*T' "/proc/$vpid/status" 2>/dev/null; }
wait_for 15 stopped && ok "outage: run's children paused" || fail "children not paused"
n=$(ls "$RAYVAULT_SPOOL_DIR"/*.json 2>/dev/null | wc -l)
[ "$n" -ge 1 ] && ok "outage: $n events spooled" || fail "nothing spooled during the outage"
resumed() { ! stopped; }
wait_for 20 resumed && ok "store back: children resumed" || fail "children still stopped"
wait_for 60 status_is RAY-OUT1 done && ok "run completed after the outage" || fail "run: $(run_status RAY-OUT1)"
wait_for 20 sh -c "[ -z \"\$(ls $RAYVAULT_SPOOL_DIR/*.json 2>/dev/null)\" ]" &&
    ok "spool drained" || fail "spool not drained"
dups=$(event_counts | python3 -c 'import json,sys
s=json.load(sys.stdin)
ev=s.get("events") or s.get("event_inserts") or {}
print(sum(1 for v in ev.values() if (v if isinstance(v,int) else 0) > 1))')
[ "$dups" = 0 ] && ok "every spooled event stored once" || fail "$dups events inserted twice"
rid=$(run_id_of RAY-OUT1)
[ "$(sql "select count(*) from run_events where run_id='$rid' and event_type='alert' and reason_key='panic_heartbeat_uncertain'")" -ge 1 ] &&
    ok "panic_heartbeat_uncertain recorded" || fail "no panic_heartbeat_uncertain event"
"$BIN/rvsup" stop >/dev/null; wait "$SUP_PID" 2>/dev/null

# --- long outage: self-fencing, then lost lock ---
export RV_FAULT="slow:voice:120000"
export RAYVAULT_STATE_DIR="$T/state2" RAYVAULT_SPOOL_DIR="$T/spool2"
spec=$(make_spec RAY-OUT2)
ctl enqueue "$spec" >/dev/null || fail "enqueue 2"
start_sup
wait_for 30 child_state_is voice busy || fail "voice never busy (2)"
vpid=$(child_field voice pid)
rid=$(run_id_of RAY-OUT2)
t0=$(date +%s)
faults '{"outage_sec": 75}'
fenced() { ! alive "$vpid"; }
wait_for 70 fenced
t1=$(date +%s)
expires=$((t0 + 60))
[ "$t1" -lt "$expires" ] && ok "children killed $((t1 - t0)) s into the outage, before the lease expired" ||
    fail "children not fenced before expiry ($((t1 - t0)) s)"
grep -q "killing the run's children before anyone else can claim it" "$T/sup.log" &&
    ok "self-fencing logged" || fail "no fencing message"
# The first worker is held (SIGSTOP) from its fence until another has
# claimed the run.  Once the store is back, whoever asks first gets the
# expired lease: a first worker that renews before anyone claimed keeps
# the run, rightly (nobody else holds it), and under a loaded machine
# (ASan) it did.  Held, it can only learn afterwards that the lock is gone.
kill -STOP "$SUP_PID"
# the store comes back; another worker claims the expired run
wait_for 30 sh -c "curl -s -o /dev/null $SUPABASE_URL/"
RAYVAULT_STATE_DIR="$T/state3" RAYVAULT_SPOOL_DIR="$T/spool3" RAYVAULT_WORKER_ID=worker-two \
    RV_FAULT="slow:voice:30000" "$BIN/rvsup" start >"$T/sup3.log" 2>&1 &
P3=$!
taken() { [ "$(sql "select worker_id from pipeline_runs where run_id='$rid'")" = worker-two ]; }
wait_for 40 taken && ok "another worker claimed the expired run" || fail "run not taken over"
kill -CONT "$SUP_PID"
lostlock() { grep -q "ALERT LOST LOCK" "$T/sup.log"; }
wait_for 20 lostlock && ok "the first worker got panic_lost_lock" || fail "no LOST LOCK on the first worker"
sleep 8
n_after=$(sql "select count(*) from run_events where run_id='$rid' and source='test-worker' and occurred_at > now() - interval '5 seconds'")
[ "$n_after" = 0 ] && ok "the fenced worker writes nothing more to the run" ||
    fail "first worker still wrote $n_after events"
kill -9 $P3 2>/dev/null
finish
