#!/bin/sh
# rvctl doctor on prepared stores: a stale worker (lease expired while
# active, or heartbeat older than 3 intervals), a gate 50 h and 3 days
# old, slow heartbeats, spool replay and set-aside events, a .env readable
# by others, a leftover child of a dead supervisor, an unreachable store
# (secrets never printed), colour only on a terminal and never with
# NO_COLOR.  Verdicts and exit codes 0 / 1 / 2.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
export RAYVAULT_LEASE_MINUTES=15 RAYVAULT_HEARTBEAT_INTERVAL_SEC=30
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=10
PREP="$TOOLS/rv_storeprep"
DB="$RAYVAULT_STATE_DIR/rayvault.db"
OUT="$T/doc.out"

# doc ARGS: run doctor, output in $OUT, exit code in $rc
doc() {
	rc=0
	ctl doctor "$@" >"$OUT" 2>&1 || rc=$?
}

expect() {	# expect RC PATTERN TEXT
	if [ "$rc" -eq "$1" ] && grep -q -- "$2" "$OUT"; then
		ok "$3"
	else
		fail "$3: exit $rc (want $1), output:"
		sed 's/^/    /' "$OUT"
	fi
}

ctl enqueue "$(make_spec RAY-D1)" >/dev/null
doc --no-replay
expect 0 "Next actions: nothing to do" "fresh store: OK, exit 0"

set -- $("$PREP" "$DB" claim far-worker)
run=$1 tok=$2
"$PREP" "$DB" age RAY-D1 lease_expires_at 600
doc --no-replay
expect 2 "^\[CRIT\] stale_worker: run RAY-D1: worker far-worker is marked active but its lease expired 10 min ago" \
    "expired lease while active: CRIT, exit 2"
grep -q "^  1\. Stale worker far-worker on RAY-D1: .*make worker WID=far-worker" "$OUT" &&
    ok "numbered next action names the worker" || fail "next action: $(cat "$OUT")"
[ "$(ctl doctor --no-replay --json | json 'j["verdict"]')" = critical ] &&
    ok "--json verdict critical" || fail "--json verdict"

"$PREP" "$DB" heartbeat "$run" far-worker "$tok" 120
"$PREP" "$DB" age RAY-D1 last_heartbeat_at 100
doc --no-replay
expect 2 "last heartbeat was 1 min ago (more than 3 x 30 s)" \
    "heartbeat older than 3 intervals: CRIT"

"$PREP" "$DB" heartbeat "$run" far-worker "$tok" 4000
doc --no-replay
expect 1 "^\[WARN\] latency: run RAY-D1: the last heartbeat took 4000 ms" \
    "latency 4000 ms: WARN, exit 1"
"$PREP" "$DB" heartbeat "$run" far-worker "$tok" 9000
doc --no-replay
expect 2 "^\[CRIT\] latency: run RAY-D1: the last heartbeat took 9000 ms" \
    "latency 9000 ms: CRIT, exit 2"
"$PREP" "$DB" heartbeat "$run" far-worker "$tok" 40
doc --no-replay
expect 0 "no stale worker, no old gate, heartbeats fast" "healthy again: exit 0"

"$PREP" "$DB" gate "$run" far-worker "$tok" "price conflict"
"$PREP" "$DB" age RAY-D1 gated_at 259300
doc --no-replay
expect 2 "^\[CRIT\] gate_age: run RAY-D1 has waited for approval for 3 d 0 h (over 72 h): price conflict" \
    "3-day-old gate: CRIT, exit 2"
grep -q "rvctl approve (or refetch, or abort) --run RAY-D1" "$OUT" &&
    ok "gate action says how to decide" || fail "gate action: $(cat "$OUT")"
"$PREP" "$DB" age RAY-D1 gated_at 180000
doc --no-replay
expect 1 "^\[WARN\] gate_age: .*(over 48 h)" "50-hour-old gate: WARN, exit 1"
"$PREP" "$DB" age RAY-D1 gated_at 3600
doc --no-replay
expect 0 "1 waiting for approval" "1-hour-old gate: OK"

# The spool: an event is replayed (and only then deleted); set-aside
# events are counted.
mkdir -p "$RAYVAULT_SPOOL_DIR/bad" "$RAYVAULT_SPOOL_DIR/quarantine"
ev=5b0c7f3e-2f4d-4c1a-9d7e-0a1b2c3d4e5f
cat >"$RAYVAULT_SPOOL_DIR/$ev.json" <<EOF
{"event_id":"$ev","run_id":"$run","event_type":"doctor_test","severity":"INFO",
 "reason_key":"t","source":"test","occurred_at":"2026-01-01T00:00:00Z","payload":{}}
EOF
doc --no-replay
expect 1 "^\[WARN\] spool: 1 events still wait .*not replayed" "--no-replay leaves the spool"
doc
expect 0 "the waiting events were replayed into the store" "doctor replays the spool"
[ ! -f "$RAYVAULT_SPOOL_DIR/$ev.json" ] && [ "$(count_events "$run" doctor_test)" -eq 1 ] &&
    ok "replayed event is in the store and gone from the spool" || fail "replay"
echo garbage >"$RAYVAULT_SPOOL_DIR/bad/x.json"
doc
expect 1 "^\[WARN\] spool_quarantine: 1 unreadable events in spool/bad" "set-aside events: WARN"
rm -f "$RAYVAULT_SPOOL_DIR/bad/x.json"

printf 'RAYVAULT_TTS=espeak\n' >"$T/.env"
chmod 644 "$T/.env"
doc --no-replay
expect 1 "^\[WARN\] env_file: .*/.env is readable by other users (mode 0644)" ".env 0644: WARN"
grep -q "chmod 600 .env" "$OUT" && ok "says chmod 600" || fail "no chmod advice"
chmod 600 "$T/.env"
doc --no-replay
expect 0 "^\[OK\] env_file: .*private" ".env 0600: OK"

# A child a dead supervisor left running.
sleep 60 &
kid=$!
st=$(awk '{print $22}' /proc/$kid/stat)
mkdir -p "$RAYVAULT_STATE_DIR/runtime"
printf '{"supervisor_pid": 999999, "children": [{"kind": "render", "pid": %s, "start_time": %s, "gen": 1}]}\n' \
    "$kid" "$st" >"$RAYVAULT_STATE_DIR/runtime/children.json"
doc --no-replay
expect 2 "^\[CRIT\] leftover_child: rvw-render (pid $kid) of supervisor 999999, which is gone, is still running" \
    "leftover child: CRIT"
kill "$kid" 2>/dev/null; wait "$kid" 2>/dev/null || true
doc --no-replay
expect 0 "no rvsup is running" "leftover gone: OK"

# Colour: never in a pipe; on a terminal unless NO_COLOR.
esc=$(printf '\033')
grep -q "$esc" "$OUT" && fail "colour codes in piped output" || ok "no colour when piped"
if command -v script >/dev/null 2>&1; then
	script -qec "$BIN/rvctl doctor --no-replay" /dev/null >"$T/tty.out" 2>&1 || true
	grep -q "$esc\[" "$T/tty.out" && ok "colour on a terminal" || fail "no colour on a terminal"
	NO_COLOR=1 script -qec "$BIN/rvctl doctor --no-replay" /dev/null >"$T/tty.out" 2>&1 || true
	grep -q "$esc\[" "$T/tty.out" && fail "colour despite NO_COLOR" || ok "NO_COLOR respected"
fi

# An unreachable store is critical, and a secret never shows.
rc=0
SUPABASE_URL=https://store.invalid SUPABASE_SERVICE_KEY=s3cr3t-service-key \
    "$BIN/rvctl" doctor --no-replay >"$OUT" 2>&1 || rc=$?
expect 2 "^\[CRIT\] store: unreachable: .*store.invalid" "unreachable store: CRIT"
grep -q s3cr3t-service-key "$OUT" && fail "secret printed" || ok "secret not printed"

# Offline: report and timeline fall back to the spec mirrors.
rc=0
SUPABASE_URL=https://store.invalid SUPABASE_SERVICE_KEY=s3cr3t-service-key \
    "$BIN/rvctl" report >"$OUT" 2>&1 || rc=$?
expect 1 "^store UNREACHABLE .*runs from the spec mirrors" "report offline: from the mirrors, WARN"
grep -q "^RAY-D1 .* unknown" "$OUT" && ok "offline report lists the run" || fail "offline report: $(cat "$OUT")"
rc=0
SUPABASE_URL=https://store.invalid SUPABASE_SERVICE_KEY=s3cr3t-service-key \
    "$BIN/rvctl" timeline --video RAY-D1 >"$OUT" 2>&1 || rc=$?
expect 1 "segments   2: 0 READY, 2 MISSING" "offline timeline from the spec mirror"

rc=0; ctl doctor --bogus >"$OUT" 2>&1 || rc=$?
expect 64 'unknown option "--bogus"' "unknown flag: exit 64"
finish
