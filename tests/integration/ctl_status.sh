#!/bin/sh
# rvctl status on a state of 200 runs x 8 segments: with a live
# supervisor it shows the supervisor, its children, the preflight and
# the quality lines; without one it exits 3 and shows what the store says this
# worker still holds, and `make status` exits 0 (it answered).  Prints the time of status, report and timeline.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
export RAYVAULT_LEASE_MINUTES=15 RAYVAULT_HEARTBEAT_INTERVAL_SEC=30
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=10
S="$RAYVAULT_STATE_DIR"
mkdir -p "$S"
"$TOOLS/rv_storeprep" "$S/rayvault.db" bulk "$S" 200 8 || fail "bulk state"
# Timings are printed for make bench, never asserted (shared machines).

ms() {	# ms COMMAND...: best wall time of 5 runs, in milliseconds
	_best=999999
	for _i in 1 2 3 4 5; do
		_t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		_t=$(( ($(date +%s%N) - _t0) / 1000000 ))
		[ "$_t" -lt "$_best" ] && _best=$_t
	done
	echo "$_best"
}

start_sup
t=$(ms ctl status)
echo "bench: status with a live supervisor: $t ms"
rc=0; ctl status >"$T/out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q "^supervisor  pid $SUP_PID" "$T/out" &&
    grep -q "^child       render" "$T/out" && grep -q "^preflight   GO" "$T/out" &&
    grep -q "^quality     OK: 200 done runs" "$T/out"; then
	ok "status shows supervisor, children, preflight and quality"
else
	fail "status: rc $rc $(cat "$T/out")"
fi
[ "$(ctl status --json | json 'str(j["supervisor"]["pid"])+" "+j["preflight"]["verdict"]+" "+j["qc"]["verdict"]')" = "$SUP_PID GO OK" ] &&
    ok "status --json has supervisor, preflight and qc" || fail "status --json"
echo "bench: report $(ms ctl report) ms, timeline $(ms ctl timeline --video RAY-B100) ms, doctor $(ms ctl doctor --no-replay) ms, baptism A $(ms ctl baptism --level A) ms (200 runs x 8 segments)"
"$BIN/rvsup" stop >/dev/null 2>&1 || fail "rvsup stop"
wait "$SUP_PID" 2>/dev/null || true
SUP_PID=""

ctl enqueue "$(make_spec RAY-S1)" >/dev/null
"$TOOLS/rv_storeprep" "$S/rayvault.db" claim test-worker >/dev/null
t=$(ms ctl status)
echo "bench: status without a supervisor: $t ms"
rc=0; ctl status >"$T/out" 2>&1 || rc=$?
if [ "$rc" -eq 3 ] && grep -q "^no supervisor is running" "$T/out" &&
    grep -q "^claimed     RAY-S1 .* lease expires in" "$T/out" &&
    grep -q "^preflight   GO: nothing left to pay for (1 run not finished, 2 segments to render" "$T/out"; then
	ok "no supervisor: exit 3, the claimed run, preflight"
else
	fail "status without supervisor: rc $rc $(cat "$T/out")"
fi
[ "$(ctl status --json | json 'str(j["supervisor"])+" "+j["claimed"][0]["video_id"]')" = "None RAY-S1" ] &&
    ok "status --json without a supervisor" || fail "status --json: $(ctl status --json | head -5)"
# The guide's `make status`: it answered, so exit 0, and no make error.
rc=0
make -s --no-print-directory -f "$ROOT/Makefile" RVCTL="$BIN/rvctl" status \
    >"$T/out" 2>&1 </dev/null || rc=$?
if [ "$rc" -eq 0 ] && grep -q "^no supervisor is running" "$T/out" &&
    grep -q "^preflight " "$T/out" && grep -q "^quality " "$T/out" &&
    ! grep -q "Error" "$T/out"; then
	ok "make status without a supervisor: exit 0, preflight and quality"
else
	fail "make status: rc $rc $(cat "$T/out")"
fi
finish
