#!/bin/sh
# SPDX-License-Identifier: ISC
#
# storefault_session.sh: one supervisor session of the store-fault matrix
# (run by tests/integration/store_faults.sh and store_faults_pg.sh, from
# the repository root).  It queues a conflicting run C (two tier-5 pages
# disagreeing on voltage: 220V / 110V) and a clean run K (220V / 220
# volts), one short segment each, and drives them through one rvsup while
# real store faults are switched on around chosen store calls:
#
#   claim    the fault is on when rvsup starts (for ro: the database file
#            is read-only when the store handle is opened)
#   gate     on while C's evidence runs (slow:evidence), kept on after the
#            evidence is written (the gate call) for sf_hold seconds
#   intent   on while the run's voice runs (slow:voice), kept on after the
#            audio is written (render dispatched: the ledger intent)
#   finish   on while the timeline runs (slow:probe), kept on after the
#            timeline CSV is written (rpc_finish_run)
# Heartbeats and event writes fail inside every window.  Calls that no
# window can aim at (set worker state, ledger result, release) and answers
# lost after the store applied a call come from the supervisor's
# RV_FAULT=store:<call>:<n>[:<count>] and store-lost:<call>:<n>[:<count>]
# hooks (SF_HOOKS): those sessions also queue A, a conflicting run that is
# aborted at its gate.
#
# Settings (environment): SF_NAME, SF_ORDER ("C K" / "K C" / "C K A"),
# SF_CLAIM, SF_C_GATE, SF_C_INTENT, SF_C_FINISH, SF_K_INTENT, SF_K_FINISH
# (fault kinds of tests/lib/storefaults.sh, default none), SF_HOOKS.
#
# Checked: at every gate, that the store holds it (status waiting_approval
# with a gate nonce), that the conflicting run has not reached voice and
# that rvctl doctor names a next action for it; during and after every
# window, tests/lib/invariants.sh (no voice without a recorded decision
# for the gate, no key paid twice, nothing stored for an old epoch, no log
# line or alert claiming a gate or decision the store does not hold); at
# the end, every run done or aborted, rvsup stop leaves no process, no
# .tmp or scratch file, playable finals, a consistent index.
. tests/integration/lib.sh
. "$ROOT/tests/lib/invariants.sh"
. "$ROOT/tests/lib/storefaults.sh"
sf_trap

NAME=${SF_NAME:-session}
ORDER=${SF_ORDER:-C K}
HOOKS=${SF_HOOKS:-}
SLOW_EVIDENCE=7000
SLOW_VOICE=6000
SLOW_PROBE=5000
STATE=$RAYVAULT_STATE_DIR
export INV_CONFLICT="SF-C SF-A"
WIN_HIT=0
WIN_MISS=0
# The budget guards against a hang: the session's runs go through ffmpeg
# and espeak-ng, whose speed is the machine's load (RV_TEST_PATIENCE, as
# in tests/integration/lib.sh, stretches it).
SF_MAX=${SF_MAX:-$((420 * ${RV_TEST_PATIENCE:-3}))}
DEADLINE=$(( $(date +%s) + SF_MAX ))
BROKEN=0

# Seconds left of the session's budget (a broken worker must not make
# every later wait run to its own timeout).
left() {
	_lf_l=$(( DEADLINE - $(date +%s) ))
	[ "$_lf_l" -lt "$1" ] && echo "$_lf_l" || echo "$1"
}

note() {
	echo "note $*"
}

vid_of() {
	echo "SF-$1"
}

# make_run C|K|A: a one-segment spec; C and A conflict, K is clean.
make_run() {
	_m_v=$(vid_of "$1")
	_m_p2=pages/b.html
	_m_t2=4
	if [ "$1" != K ]; then
		_m_p2=pages/c.html
		_m_t2=5
	fi
	mkdir -p "$T/spec/pages" "$T/spec/assets"
	for _m_f in page_a page_b page_c; do
		cp "$ROOT/tests/integration/data/$_m_f.html" \
		    "$T/spec/pages/$(echo "$_m_f" | sed 's/page_//').html"
	done
	cp "$ROOT/tests/integration/data/card.png" "$T/spec/assets/card.png"
	cat >"$T/spec/$_m_v.json" <<EOF
{ "video_id": "$_m_v", "task_type": "",
  "product": {"name": "Test kettle", "asin": "B000TEST01"},
  "sources": [{"path": "pages/a.html", "tier": 5},
              {"path": "$_m_p2", "tier": $_m_t2}],
  "segments": [
    {"segment_id": "intro", "kind": "intro", "text": "Hello from run $1.",
     "approx_duration_sec": 1.2, "visual": {"prompt": "kettle",
     "image": "assets/card.png"}}] }
EOF
	# a loaded machine may let one answer time out: the run is there or
	# the enqueue is repeated
	_m_i=0
	until [ -n "$(rid_of "$_m_v")" ]; do
		_m_i=$((_m_i + 1))
		[ $_m_i -gt 5 ] && { fail "enqueue $_m_v"; break; }
		ctl enqueue "$T/spec/$_m_v.json" >/dev/null 2>&1 || sleep 1
	done
}

rid_of() {
	sf_run_field "$1" run_id
}

field() {
	sf_run_field "$1" "$2"
}

# A stage's state in the supervisor's checkpoint (pending, in_progress,
# done), read without a python start per poll.
ckpt_stage() {
	grep -o "\"$2\":[[:space:]]*\"[a-z_]*\"" \
	    "$STATE/checkpoints/$1.json" 2>/dev/null |
	    sed 's/.*"\([a-z_]*\)"$/\1/'
}

stage_running() {
	[ "$(ckpt_stage "$1" "$2")" = in_progress ]
}

# The stage's own output exists: the store call that follows is next.
stage_output() {
	case "$3" in
	evidence) [ -f "$STATE/evidence/$1.json" ] ;;
	voice) ls "$STATE/audio/A_$1_"*.wav >/dev/null 2>&1 ;;
	timeline) [ -f "$STATE/timeline/timeline_$2_latest.csv" ] ;;
	*) false ;;
	esac
}



# "unusable" when rvctl status --json says the supervisor's store is
# unusable (supervisor.store_state or .store "unusable", or a store_error),
# else "up".
store_state() {
	ctl status --json 2>/dev/null | python3 -c 'import json,sys
try:
    s=json.load(sys.stdin)["supervisor"]
except Exception:
    print("no answer"); sys.exit()
print("unusable" if "unusable" in (s.get("store"), s.get("store_state"))
      or s.get("store_error") else "up")'
}

store_up() {
	[ "$(store_state)" = up ]
}

sup_running() {
	alive "$SUP_PID" && [ -S "$STATE/runtime/control.ipc" ]
}

start_bg() {
	"$BIN/rvsup" start >>"$T/sup.log" 2>&1 &
	SUP_PID=$!
	wait_for 20 sup_running || fail "$NAME: rvsup did not come up"
}

doctor_names() {
	ctl doctor --no-replay --json 2>/dev/null | python3 -c "import json,sys,re
j=json.load(sys.stdin)
a=[str(x) for x in j.get('next_actions') or []]
rid='$2'
sys.exit(0 if any(('$1' in x or rid[:8] in x) and re.search('approve|abort|refetch', x) for x in a) else 1)"
}

# A gate: the store holds it, nothing was voiced, doctor names an action;
# then the operator decides (C, K: approve; A: abort).
decide() {
	_dc_v=$1
	_dc_rid=$(rid_of "$_dc_v")
	_dc_n=$(field "$_dc_v" gate_nonce)
	_dc_why=$(field "$_dc_v" gate_reason)
	[ -n "$_dc_n" ] && ok "$_dc_v gated in the store ($_dc_why, nonce ${_dc_n%%-*})" ||
	    fail "$_dc_v waits for approval without a gate nonce"
	inv_check conflict_gate,claims
	doctor_names "$_dc_v" "$_dc_rid" && ok "rvctl doctor names a next action for $_dc_v" ||
	    fail "$_dc_v is gated but rvctl doctor names no next action for it"
	_dc_act=approve
	[ "$_dc_v" = "$(vid_of A)" ] && _dc_act=abort
	_dc_out=$(ctl "$_dc_act" --run "$_dc_rid" --operator night-op 2>&1)
	echo "$_dc_out" | grep -q applied && ok "$_dc_act $_dc_v: $(echo "$_dc_out" | head -1)" ||
	    fail "$_dc_act $_dc_v: $_dc_out"
	DECIDED="$DECIDED $_dc_n"
	DECIDED_VIDS="$DECIDED_VIDS $_dc_v"
}

# gate_met VID: a gate of the run was seen in the store and decided
gate_met() {
	case " $DECIDED_VIDS " in *" $1 "*) return 0 ;; esac
	decide_all
	case " $DECIDED_VIDS " in *" $1 "*) return 0 ;; esac
	return 1
}

# wait_phase VID RID STAGE SECS: until STAGE runs (0), the run ended (1)
# or the time is up (2); gates met on the way are decided.
wait_phase() {
	_wp_end=$(( $(date +%s) + $(left "$4") ))
	while [ "$(date +%s)" -le "$_wp_end" ]; do
		if [ -n "$3" ]; then
			case "$(ckpt_stage "$2" "$3")" in
			in_progress) return 0 ;;
			done) return 3 ;;
			esac
		fi
		decide_all
		case "$(field "$1" status)" in
		done | aborted | failed) return 1 ;;
		esac
		sleep 0.2
	done
	return 2
}

# The operator decides every gate the store holds, of whichever run (a
# claim whose answer was lost may have put another run first).
decide_all() {
	for _da_g in $(sf_gated_runs); do
		case " $DECIDED " in
		*" ${_da_g#*|} "*) ;;
		*) decide "${_da_g%%|*}" ;;
		esac
	done
}

# window VID RID STAGE CALL KIND: the fault KIND around the store call
# CALL that follows STAGE.
window() {
	_w_v=$1
	_w_r=$2
	_w_st=$3
	_w_call=$4
	_w_k=${5:-none}
	[ "$_w_k" = none ] && return 0
	wait_phase "$_w_v" "$_w_r" "$_w_st" 180
	case $? in
	1 | 3) note "$NAME: $_w_v passed $_w_st unseen: window $_w_call x $_w_k missed"
	   WIN_MISS=$((WIN_MISS + 1)); return 0 ;;
	2) fail "$_w_v: stage $_w_st never ran (status $(field "$_w_v" status))"
	   return 1 ;;
	esac
	case $_w_st in
	evidence) _w_slow=$SLOW_EVIDENCE ;;
	voice) _w_slow=$SLOW_VOICE ;;
	*) _w_slow=$SLOW_PROBE ;;
	esac
	# switch on while the stage still has a good 3 s to go (the driver
	# may have seen it late)
	sleep $(( (_w_slow - 3000) / 1000 ))
	if stage_output "$_w_r" "$_w_v" "$_w_st"; then
		note "$NAME: $_w_v $_w_st ended before the fault: window $_w_call x $_w_k missed"
		WIN_MISS=$((WIN_MISS + 1))
		return 0
	fi
	_w_t0=$(date +%s)
	sf_fault_on "$_w_k"
	if wait_for 30 stage_output "$_w_r" "$_w_v" "$_w_st"; then
		WIN_HIT=$((WIN_HIT + 1))
		sleep "$(sf_hold "$_w_k")"
		_w_hit="$_w_call made under the fault"
	else
		WIN_MISS=$((WIN_MISS + 1))
		_w_hit="$_w_st output not seen while faulted (children paused?)"
	fi
	# while faulted: nothing may have been voiced without a decision
	inv_check conflict_gate,claims
	sf_fault_off "$_w_k"
	ok "window $_w_call x $_w_k on $_w_v: $(( $(date +%s) - _w_t0 )) s, $_w_hit"
}

# settle VID: until done or aborted (gates decided on the way).
settle() {
	wait_phase "$1" "$(rid_of "$1")" "" 180
	case "$(field "$1" status)" in
	done | aborted) ok "$1 ended $(field "$1" status)" ;;
	*) fail "$1 did not end: status $(field "$1" status), worker_state $(field "$1" worker_state)" ;;
	esac
}

drive() {
	_d_v=$(vid_of "$1")
	_d_r=$(rid_of "$_d_v")
	case $1 in
	C)
		window "$_d_v" "$_d_r" evidence gate "${SF_C_GATE:-none}" ||
		    return
		wait_for "$(left 120)" gate_met "$_d_v" || {
			fail "$_d_v never gated in the store (status $(field "$_d_v" status))"
			return
		}
		wait_phase "$_d_v" "$_d_r" voice 5
		window "$_d_v" "$_d_r" voice ledger_intent "${SF_C_INTENT:-none}" &&
		    window "$_d_v" "$_d_r" timeline finish "${SF_C_FINISH:-none}"
		;;
	K)
		window "$_d_v" "$_d_r" voice ledger_intent "${SF_K_INTENT:-none}" &&
		    window "$_d_v" "$_d_r" timeline finish "${SF_K_FINISH:-none}"
		;;
	A)
		wait_for "$(left 120)" gate_met "$_d_v" ||
		    fail "$_d_v never gated in the store"
		;;
	esac
	settle "$_d_v"
}

# ---- the session
sf_db_setup
[ "${RV_STORE_BACKEND:-sqlite}" = supabase ] || [ "$SF_FS" = ext4 ] ||
    note "$NAME: the database is on $SF_FS, not a loop-mounted ext4: read-only faults only stop new opens"
if [ "${RV_STORE_BACKEND:-sqlite}" != supabase ]; then
	case " ${SF_CLAIM:-} ${SF_C_GATE:-} ${SF_C_INTENT:-} ${SF_C_FINISH:-} ${SF_K_INTENT:-} ${SF_K_FINISH:-} " in
	*" full "*) [ "$SF_CAN_FULL" = 1 ] ||
	    { echo "skip $NAME: cannot mount a tmpfs here (disk full)"; exit 0; } ;;
	esac
fi
for r in $ORDER; do
	make_run "$r"
done
inv_audit
sf_can_ro || case " ${SF_CLAIM:-} ${SF_C_GATE:-} ${SF_C_INTENT:-} ${SF_C_FINISH:-} ${SF_K_INTENT:-} ${SF_K_FINISH:-} " in
	*" ro "*) echo "skip $NAME: chattr +i does not work on $(dirname "$(sf_db_path)")"; exit 0 ;;
esac
# the stages before the aimed-at calls are slowed down only when a window
# needs them
case "${SF_C_GATE:-none}${SF_C_INTENT:-none}${SF_C_FINISH:-none}${SF_K_INTENT:-none}${SF_K_FINISH:-none}" in
nonenonenonenonenone) RV_FAULT=$HOOKS ;;
*) RV_FAULT="slow:evidence:$SLOW_EVIDENCE,slow:voice:$SLOW_VOICE,slow:probe:$SLOW_PROBE${HOOKS:+,$HOOKS}" ;;
esac
export RV_FAULT
DECIDED=""
DECIDED_VIDS=""
first=$(vid_of "$(echo "$ORDER" | cut -d' ' -f1)")

# claim: the store is faulted when the supervisor starts
k=${SF_CLAIM:-none}
sf_fault_on "$k"
t0=$(date +%s)
start_bg
if [ "$k" != none ]; then
	sleep "$(sf_hold "$k")"
	# a timed-out claim may still run in the database (its answer is
	# lost), a slow one is no failure: only the others must claim nothing
	case $k in
	timeout | slow) ;;
	*)	[ -z "$(sf_claimed_runs)" ] &&
		    ok "claim x $k: nothing claimed while the store is faulted" ||
		    fail "claim x $k: $(sf_claimed_runs) claimed while the store was faulted"
		;;
	esac
	if [ "$k" = ro ]; then
		st=$(store_state)
		[ "$st" = unusable ] && ok "claim x ro: rvctl status says the store is unusable" ||
		    fail "claim x ro: rvctl status says store \"$st\", not unusable"
	fi
	alive "$SUP_PID" || { fail "claim x $k: rvsup died with the store faulted at start"; start_bg; }
	sf_fault_off "$k"
	claimed() { [ -n "$(sf_claimed_runs)" ]; }
	if wait_for 30 claimed; then
		ok "claim x $k: $(sf_claimed_runs) claimed $(( $(date +%s) - t0 )) s after start, once the store answered"
	else
		fail "claim x $k: nothing claimed after the store came back (status of $first: $(field "$first" status))"
		BROKEN=1
	fi
fi

# The run rvsup works on: the one with a checkpoint not finished (a claim
# whose answer was lost may have put a later run first); an ended run
# that was never driven is driven too (its windows are then missed).
pick_run() {
	for _pr in $ORDER; do
		case " $DRIVEN " in *" $_pr "*) continue ;; esac
		_pr_id=$(rid_of "$(vid_of "$_pr")")
		if [ -f "$STATE/checkpoints/$_pr_id.json" ] &&
		    ! grep -q '"finished":[[:space:]]*true' \
		    "$STATE/checkpoints/$_pr_id.json"; then
			echo "$_pr"
			return
		fi
		case "$(field "$(vid_of "$_pr")" status)" in
		done | aborted | failed) echo "$_pr"; return ;;
		esac
	done
}

DRIVEN=""
while [ "$BROKEN" = 0 ] && [ "$(echo $DRIVEN | wc -w)" -lt "$(echo $ORDER | wc -w)" ]; do
	r=$(pick_run)
	if [ -z "$r" ]; then
		decide_all
		[ "$(date +%s)" -ge "$DEADLINE" ] && { fail "session budget ($SF_MAX s) used up"; break; }
		sleep 0.2
		continue
	fi
	DRIVEN="$DRIVEN $r"
	drive "$r"
	[ "$(date +%s)" -ge "$DEADLINE" ] && { fail "session budget ($SF_MAX s) used up"; break; }
done

# hooks that must have fired (state and release may legitimately not be
# called: the gate call carries the worker state, an abort releases).  A
# hook that fires fails its call with "injected fault at <site>", which the
# supervisor logs with the failure.
for h in $(echo "$HOOKS" | tr ',' ' '); do
	site=$(echo "$h" | cut -d: -f1,2)
	if ! grep -q "$(echo "$site" | cut -d: -f1):" "$BIN/rvsup"; then
		fail "hook $h: this rvsup has no $(echo "$site" | cut -d: -f1):<call> fault site"
		continue
	fi
	if grep -q "injected fault at $site\b" "$STATE"/logs/rvsup.log "$T/sup.log" \
	    2>/dev/null; then
		ok "hook $h fired"
		continue
	fi
	case $site in
	*:state | *:release) note "$NAME: hook $h never fired" ;;
	*) fail "hook $h never fired (no \"injected fault at $site\" in the log)" ;;
	esac
done

if [ "${SF_CLAIM:-none}" = ro ]; then
	wait_for 10 store_up
	st=$(store_state)
	[ "$st" = up ] && ok "claim x ro: store up again in rvctl status" ||
	    fail "claim x ro: rvctl status says store \"$st\" after it became writable"
fi
"$BIN/rvsup" stop >/dev/null 2>&1
t0=$(date +%s)
wait "$SUP_PID" 2>/dev/null
t1=$(( $(date +%s) - t0 ))
[ $t1 -le 25 ] && ok "rvsup stop took $t1 s" || fail "rvsup stop took $t1 s"
sleep 1
inv_no_process
inv_spool_flushed
# after the stop: what the spool held (ledger results too) is in the store
inv_check --final
inv_no_tmp "$STATE" "$RAYVAULT_SPOOL_DIR"
inv_scratch "$STATE"
inv_finals "$STATE"
inv_index "$STATE"
echo "windows: $WIN_HIT hit, $WIN_MISS missed"
if [ "$FAILS" -gt 0 ]; then
	# keep what is needed to see why: logs, checkpoints, the database
	keep=$(dirname "$T")/rv-sf-failed-$NAME-${RV_STORE_BACKEND:-sqlite}
	rm -rf "$keep"
	mkdir -p "$keep"
	cp -r "$T"/*.log "$T"/doctor.json "$STATE/logs" "$STATE/checkpoints" \
	    "$keep/" 2>/dev/null
	[ "${RV_STORE_BACKEND:-sqlite}" = supabase ] ||
	    cp "$(sf_db_path)"* "$keep/" 2>/dev/null
	echo "logs and store kept in $keep"
fi
finish
