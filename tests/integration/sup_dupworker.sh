#!/bin/sh
# Two supervisors with the same worker id on two state dirs sharing one
# store never work on the same run at once.
. tests/integration/lib.sh
export RV_FAULT="slow:evidence:1500"
spec=$(make_spec RAY-T10)
ctl enqueue "$spec" >/dev/null
S2="$T/state2"
mkdir -p "$S2"
export RAYVAULT_DB_PATH="$RAYVAULT_STATE_DIR/rayvault.db"
start_sup
P1=$SUP_PID
RAYVAULT_STATE_DIR=$S2 RAYVAULT_SPOOL_DIR=$T/spool2 "$BIN/rvsup" start >>"$T/sup2.log" 2>&1 &
P2=$!
wait_for 60 status_is RAY-T10 done || fail "run: $(run_status RAY-T10)"
rid=$(run_id_of RAY-T10)
claims=$(count_events "$rid" run_claimed)
[ "$claims" -eq 1 ] && ok "run claimed once" || fail "run claimed $claims times"
c2=$(ls "$S2"/checkpoints/*.json 2>/dev/null | wc -l)
[ "$c2" -eq 0 ] && ok "duplicate never worked on the run" || fail "duplicate has a checkpoint"
kill -9 $P2 2>/dev/null
finish
