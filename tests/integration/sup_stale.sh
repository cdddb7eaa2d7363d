#!/bin/sh
# A worker that dies holding a run is reported as STALE WORKER by another
# supervisor sharing the store, by the store's clock, once its heartbeat is
# older than 3 intervals; the lease is not stolen before it expires.
. tests/integration/lib.sh
export RV_FAULT="slow:evidence:60000"
export RAYVAULT_DB_PATH="$T/shared.db"
spec=$(make_spec RAY-T12)
ctl enqueue "$spec" >/dev/null
RAYVAULT_WORKER_ID=worker-a start_sup
wait_for 30 child_state_is evidence busy || fail "evidence never busy"
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
RAYVAULT_STATE_DIR="$T/state-b" RAYVAULT_WORKER_ID=worker-b "$BIN/rvsup" start >"$T/sup-b.log" 2>&1 &
B=$!
stale() { grep -q "ALERT STALE WORKER" "$T/sup-b.log"; }
wait_for 20 stale && ok "STALE WORKER reported by the other supervisor" || fail "no STALE WORKER alert"
grep "ALERT STALE WORKER" "$T/sup-b.log" | head -1 | grep -q "worker-a" && ok "alert names the dead worker" ||
    fail "alert text: $(grep 'STALE' "$T/sup-b.log" | head -1)"
ctl runs --json | json '[r["worker_id"] for r in j][0]' | grep -qx worker-a &&
    ok "lease not stolen before expiry" || fail "run taken before its lease expired"
kill -9 $B 2>/dev/null
finish
