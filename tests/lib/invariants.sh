# SPDX-License-Identifier: ISC
#
# invariants.sh: the invariants of issue 10, checked from outside after a
# fault scenario (sourced, POSIX sh, after tests/integration/lib.sh, which
# provides ROOT, T, BIN, ctl, ok and fail).  The store-level checks live
# in tests/lib/rv_invariants.py; this file adds the process and file
# checks and the glue:
#
#   inv_audit                  install the audit triggers in the store (after
#                              the first enqueue made the schema, before a
#                              worker starts)
#   inv_check [--final] [CHECKS]  conflict_gate, ledger_once, epoch_fence,
#                              claims (and with --final run_end, asking
#                              rvctl doctor --json); CHECKS: a,b,...
#   inv_no_tmp DIR...          no "*.tmp" / "*.tmp.<pid>" file left
#   inv_scratch STATE          no file left in STATE/tmp (killed children's
#                              scratch removed by their successors)
#   inv_finals STATE           every video/final/*.mp4 plays (ffprobe:
#                              h264/hevc video, an audio stream, duration > 0)
#   inv_index STATE            index consistent: rvctl index-repair (dry run)
#                              and rvctl orphans find nothing
#   inv_no_process [DIR]       no rvsup, rvw-* or rv_dblock left running in
#                              DIR (default $T)
#   inv_spool_flushed [SPOOL]  after rvsup stop: nothing waits in the spool
#                              (SPEC 4: SIGTERM flushes it), none quarantined
#   inv_all_final [STATE...]   all of the above at the end of a scenario
#
# Settings: INV_STATES (state dirs to look at; default $RAYVAULT_STATE_DIR),
# INV_CONFLICT (video ids whose sources disagree; evidence files with
# conflicts are found by themselves), INV_LOGS (extra log files).
# Each check prints "ok   ..." or "FAIL ..." and a failure adds to FAILS.

INV_PY="$ROOT/tests/lib/rv_invariants.py"

inv_store() {
	if [ "${RV_STORE_BACKEND:-sqlite}" = supabase ]; then
		echo pg
	else
		echo "sqlite:${RAYVAULT_DB_PATH:-$RAYVAULT_STATE_DIR/rayvault.db}"
	fi
}

inv_audit() {
	python3 "$INV_PY" audit-install --store "$(inv_store)" ||
	    fail "invariants: cannot install the audit triggers"
}

# Run rv_invariants.py check; its FAIL lines count as failures here.
inv_check() {
	_ic_final=""
	if [ "${1:-}" = --final ]; then
		_ic_final=--final
		shift
	fi
	_ic_checks=${1:-}
	set --
	for _ic_s in ${INV_STATES:-$RAYVAULT_STATE_DIR}; do
		set -- "$@" --state "$_ic_s"
		for _ic_l in "$_ic_s"/logs/*.log; do
			[ -f "$_ic_l" ] && [ "$(basename "$_ic_l")" != alerts.log ] &&
			    set -- "$@" --log "$_ic_l"
		done
	done
	for _ic_l in "$T"/*.log ${INV_LOGS:-}; do
		[ -f "$_ic_l" ] && set -- "$@" --log "$_ic_l"
	done
	for _ic_v in ${INV_CONFLICT:-}; do
		set -- "$@" --conflict "$_ic_v"
	done
	if [ -n "$_ic_final" ]; then
		ctl doctor --no-replay --json >"$T/doctor.json" 2>/dev/null
		set -- "$@" --final --doctor "$T/doctor.json"
	fi
	[ -n "$_ic_checks" ] && set -- "$@" --checks "$_ic_checks"
	python3 "$INV_PY" check --store "$(inv_store)" "$@" >"$T/inv.out" 2>&1
	_ic_rc=$?
	# a failure already reported by an earlier call is not counted again
	touch "$T/inv.seen"
	grep '^FAIL' "$T/inv.out" | cut -c1-100 | sort -u >"$T/inv.fails"
	_ic_n=$(comm -23 "$T/inv.fails" "$T/inv.seen" | wc -l)
	while IFS= read -r _ic_line; do
		case $_ic_line in
		FAIL*)
			_ic_k=$(printf '%s\n' "$_ic_line" | cut -c1-100)
			grep -qxF "$_ic_k" "$T/inv.seen" && continue ;;
		esac
		printf '%s\n' "$_ic_line"
	done <"$T/inv.out"
	sort -u "$T/inv.seen" "$T/inv.fails" -o "$T/inv.seen"
	if [ "$_ic_n" -gt 0 ]; then
		FAILS=$((FAILS + _ic_n))
	elif [ "$_ic_rc" -ne 0 ] && ! grep -q '^FAIL' "$T/inv.out"; then
		fail "invariants: the checker failed (exit $_ic_rc)"
	fi
}

inv_no_tmp() {
	_f=$(find "$@" \( -name '*.tmp' -o -name '*.tmp.*' \) 2>/dev/null |
	    head -5)
	[ -z "$_f" ] && ok "no .tmp file left" ||
	    fail "temporary files left: $(echo $_f)"
}

inv_scratch() {
	_f=$(find "$1/tmp" -type f 2>/dev/null | head -5)
	[ -z "$_f" ] && ok "no scratch file left in $(basename "$1")/tmp" ||
	    fail "scratch files left: $(echo $_f)"
}

inv_finals() {
	_n=0
	_bad=""
	for _v in "$1"/video/final/*.mp4; do
		[ -f "$_v" ] || continue
		_n=$((_n + 1))
		ffprobe -v error -print_format json -show_format -show_streams \
		    "$_v" 2>/dev/null | python3 -c 'import json,sys
j=json.load(sys.stdin)
v=[s for s in j.get("streams",[]) if s.get("codec_type")=="video"]
a=[s for s in j.get("streams",[]) if s.get("codec_type")=="audio"]
d=float(j.get("format",{}).get("duration",0) or 0)
sys.exit(0 if v and v[0].get("codec_name") in ("h264","hevc") and a and d>0 else 1)' ||
		    _bad="$_bad $(basename "$_v")"
	done
	[ -z "$_bad" ] && ok "$_n final video(s) play" ||
	    fail "unplayable finals:$_bad"
}

inv_index() {
	if ! ls "$1"/video/final/*.mp4 >/dev/null 2>&1 &&
	    [ ! -f "$1/video/index.json" ]; then
		ok "no final video, no index"
		return
	fi
	_o=$("$BIN/rvctl" --state-dir "$1" index-repair 2>&1)
	_r1=$?
	_p=$("$BIN/rvctl" --state-dir "$1" orphans 2>&1)
	_r2=$?
	[ $_r1 -eq 0 ] && [ $_r2 -eq 0 ] && ok "index consistent" ||
	    fail "index: $(echo "$_o" | head -2 | tr '\n' ' ') / $(echo "$_p" |
	    tail -1)"
}

# Processes of this test: rvsup, its children (their titles start with
# rvw-) and rv_dblock whose working directory is DIR (default $T) or below
# it (children inherit rvsup's, which the tests start in their own dir).
inv_procs() {
	_ip_d=${1:-$T}
	for _p in $(pgrep -f "^(rvw-|rvsup|.*rv_dblock)" 2>/dev/null); do
		[ "$_p" = "$$" ] && continue
		case "$(readlink "/proc/$_p/cwd" 2>/dev/null)" in
		"$_ip_d" | "$_ip_d"/*) ;;
		*) continue ;;
		esac
		grep -q '^State:.*[ZX]' "/proc/$_p/status" 2>/dev/null ||
		    echo "$_p"
	done
}

inv_no_process() {
	_l=$(inv_procs "${1:-$T}")
	[ -z "$_l" ] && ok "no process left" ||
	    fail "processes left: $(for _p in $_l; do
		{ tr '\0' ' ' <"/proc/$_p/cmdline"; } 2>/dev/null | cut -c1-60
		echo ";"; done)"
}

inv_spool_flushed() {
	_sp=${1:-$RAYVAULT_SPOOL_DIR}
	_n=$(ls "$_sp"/*.json 2>/dev/null | wc -l)
	_q=$(ls "$_sp"/quarantine/* "$_sp"/bad/* 2>/dev/null | wc -l)
	[ "$_n" -eq 0 ] && [ "$_q" -eq 0 ] && ok "spool flushed" ||
	    fail "after the stop $_n record(s) wait in the spool, $_q set aside: $(ls "$_sp"/*.json 2>/dev/null | head -3 | xargs -r -n1 python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j.get("event_type"))' | tr '\n' ' ')"
}

inv_all_final() {
	inv_check --final
	for _s in ${INV_STATES:-$RAYVAULT_STATE_DIR}; do
		inv_no_tmp "$_s" "${RAYVAULT_SPOOL_DIR:-$T/spool}"
		inv_scratch "$_s"
		inv_finals "$_s"
		inv_index "$_s"
	done
}
