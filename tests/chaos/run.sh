#!/bin/sh
# SPDX-License-Identifier: ISC
#
# tests/chaos/run.sh [TRIALS] [SEED]: the randomized crash matrix of issue
# 10 (make chaos N=<trials> SEED=<n>).  Proves that whatever is killed,
# stopped or faulted at whatever moment, the worker never publishes a
# disputed claim, never pays twice and never loses work.
#
# Each trial queues 1-3 runs (a third of them conflicting: tier-5 pages
# disagreeing on voltage) on a fresh embedded store, starts rvsup, and at
# random moments does 2-4 of: kill -9 of a child (evidence, voice, render,
# probe, notify), kill -9 of the supervisor (restarted 1-3 s later),
# SIGSTOP of a child or of the supervisor for 1-4 s then SIGCONT, SIGTERM
# of the supervisor and a restart, the store locked by another connection
# (tests/lib/rv_dblock) for 2-8 s, the database read-only (chattr +i) for
# 2-8 s, the disk holding it full for 2-8 s.  An "operator" decides every
# gate the store holds (approve, abort or refetch, at random) after
# checking that the gate is recorded and nothing was voiced.  When every
# run is done or aborted, rvsup is stopped.  Checked per trial
# (tests/lib/invariants.sh): no voice without a recorded decision for the
# gate, no key paid twice, nothing stored for an old epoch, no log line or
# alert claiming a gate or decision the store does not hold, every run
# done or aborted, no process left, no .tmp and no scratch file, every
# final plays, the index is consistent.  Under tests/lib/with_postgrest
# (RV_STORE_BACKEND=supabase) the store faults are the fixture's 5xx,
# timeout and refused switches instead.
#
# The RNG is an LCG seeded with SEED: a trial's plan (runs, events,
# moments, decisions) is the same for the same seed; the moments land on
# a live system, so outcomes may differ, the invariants may not.  Prints a
# line per trial and a summary with figures (trials, kills, time to done).
# Settings: CHAOS_MAX_RUNS (3), CHAOS_MAX_EVENTS (4), CHAOS_TRIAL_MAX
# (seconds a trial may take to settle, 300), CHAOS_ROUND_ROBIN=1 (the
# kinds of events in turn, details still random: the short run).
set -u
N=${1:-${N:-10}}
SEED=${2:-${SEED:-1}}
. tests/integration/lib.sh
. "$ROOT/tests/lib/invariants.sh"
. "$ROOT/tests/lib/storefaults.sh"
sf_trap
[ -x "$TOOLS/rv_dblock" ] || { echo "FAIL setup: rv_dblock is not built"; exit 1; }

MAX_RUNS=${CHAOS_MAX_RUNS:-3}
MAX_EVENTS=${CHAOS_MAX_EVENTS:-4}
TRIAL_MAX=${CHAOS_TRIAL_MAX:-300}
RNG=$(( SEED % 2147483648 ))
EVN=0
BACKEND=${RV_STORE_BACKEND:-sqlite}

# rnd N: the next number in 0..N-1
rnd() {
	RNG=$(( (RNG * 1103515245 + 12345) % 2147483648 ))
	R=$(( (RNG / 65536) % $1 ))
}

# ---- totals
TOT_PASS=0
TOT_FAIL=0
K_CHILD=0
K_SUP=0
K_STOP=0
K_TERM=0
K_STORE=0
DONE_SUM=0
DONE_MAX=0
DONE_N=0
KILLS_BY=""

ctl_t() {
	"$BIN/rvctl" "$@"
}

field() {
	sf_run_field "$1" "$2"
}

sup_running() {
	alive "$SUP_PID" && [ -S "$RAYVAULT_STATE_DIR/runtime/control.ipc" ]
}

start_bg() {
	(cd "$TD" && exec "$BIN/rvsup" start) >>"$TD/sup.log" 2>&1 &
	SUP_PID=$!
	wait_for 20 sup_running || note "rvsup $SUP_PID did not come up"
}

note() {
	echo "     note: $*" >>"$TD/trial.log"
}

# The pid of rvsup's child of that kind (its title is "rvw-<kind>: ...").
child_pid() {
	pgrep -P "$SUP_PID" -f "^rvw-$1" 2>/dev/null | head -n 1
}

make_run() {
	_mr_v=$1
	_mr_p2=pages/b.html
	_mr_t2=4
	if [ "$2" = 1 ]; then
		_mr_p2=pages/c.html
		_mr_t2=5
	fi
	cat >"$TD/spec/$_mr_v.json" <<EOF
{ "video_id": "$_mr_v", "task_type": "",
  "product": {"name": "Test kettle", "asin": "B000TEST01"},
  "sources": [{"path": "pages/a.html", "tier": 5},
              {"path": "$_mr_p2", "tier": $_mr_t2}],
  "segments": [
    {"segment_id": "intro", "kind": "intro", "text": "Hello there.",
     "approx_duration_sec": 1.2, "visual": {"prompt": "kettle",
     "image": "assets/card.png"}}] }
EOF
	_mr_i=0
	until [ -n "$(field "$_mr_v" run_id)" ]; do
		_mr_i=$((_mr_i + 1))
		[ $_mr_i -gt 5 ] && { fail "trial $I: enqueue $_mr_v"; break; }
		ctl_t enqueue "$TD/spec/$_mr_v.json" >/dev/null 2>&1 || sleep 1
	done
}

# The operator: decide every gate the store holds, once per gate nonce.
operator() {
	for _op_v in $VIDS; do
		[ "$(field "$_op_v" status)" = waiting_approval ] || continue
		_op_n=$(field "$_op_v" gate_nonce)
		[ -n "$_op_n" ] || continue
		case " $DECIDED " in *" $_op_n "*) continue ;; esac
		# the operator takes 0-3 s to answer (faults may land meanwhile)
		case " $SEEN " in
		*" $_op_n:"*)
			_op_t=$(echo "$SEEN" | tr ' ' '\n' | grep "^$_op_n:" |
			    cut -d: -f2)
			[ "$(date +%s)" -ge "$_op_t" ] || continue
			;;
		*)
			rnd 4
			SEEN="$SEEN $_op_n:$(( $(date +%s) + R ))"
			continue
			;;
		esac
		inv_check conflict_gate,claims >>"$TD/trial.log"
		rnd 8
		if [ $R -lt 5 ]; then
			_op_a=approve
		elif [ $R -lt 7 ]; then
			_op_a=abort
		else
			_op_a=refetch
		fi
		_op_why=$(field "$_op_v" gate_reason)
		if ctl_t "$_op_a" --run "$(field "$_op_v" run_id)" \
		    --operator chaos-op \
		    >>"$TD/trial.log" 2>&1; then
			DECIDED="$DECIDED $_op_n"
			DECISIONS="$DECISIONS $_op_a:$_op_v($_op_why)"
		fi
	done
}

# pause SECS: wait, deciding gates meanwhile
pause() {
	_p_end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$_p_end" ]; do
		operator
		sleep 0.3
	done
}

# every run ended (failed too: run_end reports it as a violation)
all_ended() {
	for _ae_v in $VIDS; do
		case "$(field "$_ae_v" status)" in
		done | aborted | failed) ;;
		*) return 1 ;;
		esac
	done
	return 0
}

store_fault() {
	case $BACKEND in
	supabase)
		rnd 3
		set -- 5xx timeout refused
		shift $R
		_sf_k=$1
		;;
	*)
		rnd 3
		set -- lock ro full
		shift $R
		_sf_k=$1
		[ "$_sf_k" = full ] && [ "$SF_CAN_FULL" != 1 ] && _sf_k=lock
		[ "$_sf_k" = ro ] && ! sf_can_ro && _sf_k=lock
		;;
	esac
	rnd 7
	_sf_d=$((2 + R))
	[ "$_sf_k" = refused ] && SF_REFUSED_SEC=$_sf_d
	EV="$EV $_sf_k:${_sf_d}s@$(( $(date +%s) - TS ))s"
	K_STORE=$((K_STORE + 1))
	sf_fault_on "$_sf_k"
	pause "$_sf_d"
	sf_fault_off "$_sf_k"
}

event() {
	rnd 10
	if [ "${CHAOS_ROUND_ROBIN:-0}" = 1 ]; then
		# every kind of event in turn (the short run in make test)
		set -- 0 3 6 4 7 5
		shift $((EVN % 6))
		R=$1
	fi
	EVN=$((EVN + 1))
	_ev_at=$(( $(date +%s) - TS ))
	case $R in
	0 | 1 | 2)
		rnd 5
		set -- evidence voice render probe notify
		shift $R
		_ev_p=$(child_pid "$1")
		if [ -n "$_ev_p" ]; then
			kill -9 "$_ev_p" 2>/dev/null
			EV="$EV kill9:$1@${_ev_at}s"
			K_CHILD=$((K_CHILD + 1))
			KILLS_BY="$KILLS_BY $1"
		fi
		;;
	3)
		kill -9 "$SUP_PID" 2>/dev/null
		wait "$SUP_PID" 2>/dev/null
		K_SUP=$((K_SUP + 1))
		rnd 3
		EV="$EV kill9:rvsup@${_ev_at}s"
		sleep $((1 + R))
		start_bg
		;;
	4)
		rnd 2
		if [ $R = 0 ]; then
			_ev_p=$SUP_PID
			_ev_w=rvsup
		else
			rnd 4
			set -- evidence voice render probe
			shift $R
			_ev_w=$1
			_ev_p=$(child_pid "$1")
		fi
		[ -n "$_ev_p" ] || return 0
		rnd 4
		kill -STOP "$_ev_p" 2>/dev/null
		EV="$EV stop:$_ev_w:$((1 + R))s@${_ev_at}s"
		K_STOP=$((K_STOP + 1))
		sleep $((1 + R))
		kill -CONT "$_ev_p" 2>/dev/null
		;;
	5)
		kill -TERM "$SUP_PID" 2>/dev/null
		_ev_t=$(date +%s)
		wait "$SUP_PID" 2>/dev/null
		EV="$EV term@${_ev_at}s($(( $(date +%s) - _ev_t ))s)"
		K_TERM=$((K_TERM + 1))
		start_bg
		;;
	*)
		store_fault
		;;
	esac
}

trial() {
	I=$1
	TD=$T/t$I
	mkdir -p "$TD/spec/pages" "$TD/spec/assets"
	for _f in a b c; do
		cp "$ROOT/tests/integration/data/page_$_f.html" "$TD/spec/pages/$_f.html"
	done
	cp "$ROOT/tests/integration/data/card.png" "$TD/spec/assets/card.png"
	export RAYVAULT_STATE_DIR="$TD/state" RAYVAULT_SPOOL_DIR="$TD/spool"
	INV_LOGS="$TD/sup.log"
	: >"$TD/trial.log"
	rm -f "$T/inv.seen"
	F0=$FAILS
	if [ "$BACKEND" != supabase ]; then
		sf_mount_dbfs "$TD/dbfs"
		export RAYVAULT_DB_PATH="$TD/dbfs/rayvault.db"
	fi
	rnd "$MAX_RUNS"
	NRUNS=$((1 + R))
	VIDS=""
	CONF=""
	j=1
	while [ $j -le $NRUNS ]; do
		rnd 3
		if [ $R = 0 ]; then
			v=CH$I-R$j-X
			CONF="$CONF $v"
		else
			v=CH$I-R$j
		fi
		# a fresh video id per trial on a shared (supabase) store
		[ "$BACKEND" = supabase ] && v=$v-S$SEED
		case $v in *-X*) make_run "$v" 1 ;; *) make_run "$v" 0 ;; esac
		VIDS="$VIDS $v"
		j=$((j + 1))
	done
	export INV_CONFLICT="$CONF"
	[ "$I" = 1 ] || [ "$BACKEND" != supabase ] && inv_audit
	DECIDED=""
	SEEN=""
	DECISIONS=""
	EV=""
	# stretch the stages a little so the events land inside runs (first
	# generation of each child only: a restarted child is fast)
	export RV_FAULT="slow:evidence:1500,slow:voice:3000,slow:render:3000,slow:probe:1500"
	TS=$(date +%s)
	start_bg
	rnd $((MAX_EVENTS - 1))
	NEV=$((2 + R))
	e=0
	while [ $e -lt $NEV ]; do
		rnd 6
		pause $((1 + R))
		all_ended && break
		alive "$SUP_PID" || start_bg
		event
		e=$((e + 1))
	done
	alive "$SUP_PID" || start_bg
	_end=$(( $(date +%s) + TRIAL_MAX ))
	while ! all_ended && [ "$(date +%s)" -lt "$_end" ]; do
		alive "$SUP_PID" || start_bg
		pause 1
	done
	TDONE=$(( $(date +%s) - TS ))
	ENDS=""
	for v in $VIDS; do
		ENDS="$ENDS $(field "$v" status)"
	done
	{
		"$BIN/rvsup" stop >/dev/null 2>&1
		_st=$(date +%s)
		wait "$SUP_PID" 2>/dev/null
		_st=$(( $(date +%s) - _st ))
		[ $_st -le 25 ] && ok "rvsup stop took $_st s" ||
		    fail "rvsup stop took $_st s"
		no_procs() { [ -z "$(inv_procs "$TD")" ]; }
		wait_for 5 no_procs
		inv_no_process "$TD"
		inv_spool_flushed "$RAYVAULT_SPOOL_DIR"
		inv_check --final
		inv_no_tmp "$RAYVAULT_STATE_DIR" "$RAYVAULT_SPOOL_DIR"
		inv_scratch "$RAYVAULT_STATE_DIR"
		inv_finals "$RAYVAULT_STATE_DIR"
		inv_index "$RAYVAULT_STATE_DIR"
	} >>"$TD/trial.log" 2>&1
	nf=$((FAILS - F0))
	if [ $nf -gt 0 ]; then
		KEPT=$(dirname "$T")/rv-chaos-failed-$SEED-$I
		rm -rf "$KEPT"
		cp -r "$TD" "$KEPT" 2>/dev/null
	fi
	sf_cleanup
	if [ $nf -eq 0 ]; then
		TOT_PASS=$((TOT_PASS + 1))
		verdict=ok
	else
		TOT_FAIL=$((TOT_FAIL + 1))
		verdict="FAIL ($nf)"
	fi
	if all_ended_list "$ENDS"; then
		DONE_N=$((DONE_N + 1))
		DONE_SUM=$((DONE_SUM + TDONE))
		[ $TDONE -gt $DONE_MAX ] && DONE_MAX=$TDONE
	fi
	echo "trial $I/$N seed $SEED: $NRUNS run(s)${CONF:+ (conflicting:$CONF)}; events:$EV; decisions:${DECISIONS:- none}; ended:$ENDS in $TDONE s: $verdict"
	if [ $nf -gt 0 ]; then
		grep -E '^(FAIL|     note)' "$TD/trial.log" | cut -c1-300 |
		    sed 's/^/      /'
		echo "      trial kept in $KEPT"
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$TD"
}

all_ended_list() {
	for _x in $1; do
		case $_x in done | aborted) ;; *) return 1 ;; esac
	done
	return 0
}

t0=$(date +%s)
i=1
while [ $i -le "$N" ]; do
	trial $i
	i=$((i + 1))
done
avg=0
[ $DONE_N -gt 0 ] && avg=$((DONE_SUM / DONE_N))
kinds=""
for k in evidence voice render probe notify; do
	c=$(echo "$KILLS_BY" | tr ' ' '\n' | grep -cx "$k")
	kinds="$kinds $k=$c"
done
echo "chaos: $N trials (seed $SEED, $BACKEND), $TOT_PASS passed, $TOT_FAIL failed; kill -9 of children $K_CHILD ($kinds ), of rvsup $K_SUP; SIGSTOP $K_STOP; SIGTERM+restart $K_TERM; store faults $K_STORE; time to done: mean $avg s, max $DONE_MAX s over $DONE_N trial(s); wall $(( $(date +%s) - t0 )) s"
[ $TOT_FAIL -eq 0 ]
