#!/bin/sh
# Gate decisions from rvctl name their gate, on a prepared store (no
# rvsup): approve prints the gate it decided and a repeat is "already
# applied"; a decision for a replaced gate (--gate with the old nonce
# prefix) is "no longer possible", exit 1, and changes nothing in the
# store; refetch decides the new gate; with no open gate approve is not
# possible while abort still stops the run; doctor says nothing about the
# aborted run (its lock, its worker state).  Then rvctl status against a
# stand-in supervisor (rv_ctlstub): the run state machine's state and the
# gate prefix are shown, and a store the supervisor calls unusable is
# "store: unusable (<why>)" with exit 69.
. tests/integration/lib.sh
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
export RAYVAULT_LEASE_MINUTES=15 RAYVAULT_HEARTBEAT_INTERVAL_SEC=30
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=10
PREP="$TOOLS/rv_storeprep"
DB="$RAYVAULT_STATE_DIR/rayvault.db"
STUB=""
trap '[ -n "$STUB" ] && kill "$STUB" 2>/dev/null; cleanup' EXIT

field() {	# field VIDEO KEY: a column of ctl runs --json
	ctl runs --json | json "[r['$2'] for r in j if r['video_id']=='$1'][0]"
}
act() {		# act ARGS...: rvctl ARGS, output in $out, exit code in $rc
	rc=0
	out=$(ctl "$@" 2>&1) || rc=$?
}

ctl enqueue "$(make_spec RAY-GT)" >/dev/null || fail "enqueue"
set -- $("$PREP" "$DB" claim gate-worker)
run=$1 tok=$2
"$PREP" "$DB" gate "$run" gate-worker "$tok" "price conflict" || fail "gate 1"
n1=$(field RAY-GT gate_nonce)
g1=$(echo "$n1" | cut -c1-8)
[ ${#n1} -eq 36 ] || fail "no gate nonce in ctl runs --json: '$n1'"

act approve --run RAY-GT --operator night-op
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^approved run RAY-GT gate $g1 (price conflict): applied" &&
    ok "approve prints the gate it decided" || fail "approve: rc $rc $out"
[ "$(field RAY-GT status)" = approved ] && [ "$(field RAY-GT decided_nonce)" = "$n1" ] &&
    [ "$(field RAY-GT decision)" = approve ] && ok "the store records which gate was decided, and how" ||
    fail "after approve: $(ctl runs --json)"
act approve --run RAY-GT --operator night-op
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^approve run RAY-GT gate $g1: already applied" &&
    ok "approve again: already applied, same gate" || fail "repeat: rc $rc $out"
act refetch --run RAY-GT --operator night-op
[ "$rc" -eq 1 ] && echo "$out" | grep -q "^refetch run RAY-GT (no open gate): not possible" &&
    ok "refetch with no open gate: not possible, exit 1" || fail "refetch without gate: rc $rc $out"

# A new gate replaces the decided one; a decision naming the old one.
"$PREP" "$DB" gate "$run" gate-worker "$tok" "voltage conflict" || fail "gate 2"
n2=$(field RAY-GT gate_nonce)
g2=$(echo "$n2" | cut -c1-8)
[ -n "$n2" ] && [ "$n2" != "$n1" ] || fail "second gate nonce '$n2'"
acts=$(count_events "$run" operator_action)
act refetch --run RAY-GT --operator night-op --gate "$g1"
[ "$rc" -eq 1 ] && echo "$out" | grep -q "^refetch run RAY-GT gate $g1: no longer possible" &&
    ok "refetch --gate of the replaced gate: no longer possible, exit 1" || fail "stale --gate: rc $rc $out"
[ "$(field RAY-GT status)" = waiting_approval ] && [ "$(field RAY-GT gate_nonce)" = "$n2" ] &&
    [ "$(count_events "$run" operator_action)" -eq "$acts" ] &&
    ok "the stale decision changed nothing in the store" || fail "store changed: $(ctl runs --json)"
act approve --run RAY-GT --operator night-op --gate zz12
[ "$rc" -eq 64 ] && echo "$out" | grep -q "not 8 hex digits" && ok "a malformed --gate is a usage error" ||
    fail "bad --gate: rc $rc $out"
act refetch --run RAY-GT --operator night-op --gate "$(echo "$g2" | tr a-f A-F)"
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^refetch requested for run RAY-GT gate $g2 (voltage conflict): applied" &&
    ok "refetch --gate of the open gate (any case): applied" || fail "refetch: rc $rc $out"
[ "$(field RAY-GT status)" = running ] && [ "$(field RAY-GT decided_nonce)" = "$n2" ] ||
    fail "after refetch: $(ctl runs --json)"
act approve --run RAY-GT --operator night-op
[ "$rc" -eq 1 ] && echo "$out" | grep -q "not possible: nothing to decide (status running)" &&
    ok "approve with no open gate: not possible" || fail "approve without gate: rc $rc $out"
act --json approve --run RAY-GT --operator night-op
[ "$rc" -eq 1 ] && [ "$(echo "$out" | json 'j["result"]+" "+j["gate"]')" = "not_possible " ] ||
    fail "approve --json: rc $rc $out"

# Abort without a gate; the run was left in panic with an expired lease,
# which doctor would call a stale worker if the run were not finished.
"$PREP" "$DB" heartbeat "$run" gate-worker "$tok" 20 panic || fail "panic state"
act abort --run RAY-GT --operator night-op
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^aborted run RAY-GT (no open gate): applied" &&
    ok "abort with no open gate: applied" || fail "abort: rc $rc $out"
[ "$(field RAY-GT status)" = aborted ] || fail "status $(field RAY-GT status)"
act abort --run RAY-GT --operator night-op
[ "$rc" -eq 0 ] && echo "$out" | grep -q "already applied" && ok "abort again: already applied" ||
    fail "abort again: rc $rc $out"
"$PREP" "$DB" age RAY-GT lease_expires_at 600
"$PREP" "$DB" age RAY-GT last_heartbeat_at 600
rc=0
ctl doctor --no-replay >"$T/doc.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && ! grep -q "RAY-GT" "$T/doc.out" &&
    ok "doctor says nothing about the aborted run" || { fail "doctor: exit $rc"; sed 's/^/    /' "$T/doc.out"; }

# rvctl status against a stand-in supervisor.
S2="$T/state-stub"
status_file() {	# STORE ERROR GATE [STORE_STATE]
	cat >"$T/st.json" <<EOF
{"supervisor": {"pid": 4242, "worker_id": "stub-worker", "state": "running",
  "started_at": "2026-01-01T00:00:00Z", "store": "$1", "store_error": "$2",
  "store_state": "${4:-}"},
 "run": {"run_id": "$run", "video_id": "RAY-GT", "stage": "evidence",
  "status": "waiting_approval", "machine_state": "gated", "gate_nonce": "$3",
  "lease_epoch": 3, "last_heartbeat_latency_ms": 12},
 "children": []}
EOF
}
status_file unusable "attempt to write a readonly database" "$n2"
"$TOOLS/rv_ctlstub" "$S2" "$T/st.json" >"$T/stub.out" 2>&1 &
STUB=$!
stub_ready() { grep -q ready "$T/stub.out"; }
wait_for 5 stub_ready || fail "rv_ctlstub did not start: $(cat "$T/stub.out")"
rc=0
RAYVAULT_STATE_DIR="$S2" ctl status >"$T/st.out" 2>&1 || rc=$?
[ "$rc" -eq 69 ] && grep -qx "store: unusable (attempt to write a readonly database)" "$T/st.out" &&
    ok "status: store unusable, exit 69" || { fail "status unusable: exit $rc"; sed 's/^/    /' "$T/st.out"; }
grep -q "^run         RAY-GT ($run)  stage evidence  status waiting_approval  state gated  gate $g2  epoch 3" "$T/st.out" &&
    ok "status shows the run's machine state and gate" || fail "run line: $(grep '^run' "$T/st.out")"
rc=0
RAYVAULT_STATE_DIR="$S2" ctl status --json >"$T/st.json.out" 2>&1 || rc=$?
[ "$rc" -eq 69 ] && [ "$(json 'j["supervisor"]["store"]' <"$T/st.json.out")" = unusable ] &&
    ok "status --json: the same, exit 69" || fail "status --json: exit $rc $(cat "$T/st.json.out")"
status_file sqlite "disk I/O error" "$n2" unusable
rc=0
RAYVAULT_STATE_DIR="$S2" ctl status >"$T/st.out" 2>&1 || rc=$?
[ "$rc" -eq 69 ] && grep -qx "store: unusable (disk I/O error)" "$T/st.out" &&
    ok "status: store_state unusable is said the same way" || { fail "store_state: exit $rc"; sed 's/^/    /' "$T/st.out"; }
status_file up "" ""
rc=0
RAYVAULT_STATE_DIR="$S2" ctl status >"$T/st.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && ! grep -q "^store" "$T/st.out" && ! grep -q " gate " "$T/st.out" &&
    ok "status with a usable store and no gate: exit 0, no store or gate line" ||
    { fail "status up: exit $rc"; sed 's/^/    /' "$T/st.out"; }
kill "$STUB" 2>/dev/null
wait "$STUB" 2>/dev/null
STUB=""
finish
