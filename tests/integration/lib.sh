# Shared helpers for the integration scripts (sourced, POSIX sh).
# Each test gets fresh state and spool roots under a mktemp dir and never
# touches the repository's state/ or spool/.
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd || echo "")
if [ ! -x "$BIN/rvsup" ] || [ ! -x "$BIN/rvctl" ]; then
	echo "FAIL: no $BUILD/bin/rvsup or rvctl: build first (make)" >&2
	exit 1
fi
TOOLS=$(cd "$BUILD/tests/tools" 2>/dev/null && pwd || echo "")
ROOT=$(pwd)
export RV_TESTING=1
# The local renderer draws 320x180 (workers/render/render.c): the tests
# that are about the picture itself (pipe_demo, render_test) unset this.
export RV_TEST_RENDER_SIZE=${RV_TEST_RENDER_SIZE-320x180}
# python3 runs in every poll: call the interpreter itself, not a version
# manager's shim (pyenv: several shell starts per call; tests/run does
# this too).
case "$(command -v python3)" in
*/shims/*)
	_py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) &&
	    [ -x "$_py" ] && PATH=$(dirname "$_py"):$PATH && export PATH ;;
esac
T=$(mktemp -d /tmp/rvit.XXXXXX)
[ "${KEEP:-0}" = 1 ] && echo "test dir: $T"
export RAYVAULT_STATE_DIR="$T/state"
export RAYVAULT_SPOOL_DIR="$T/spool"
export RAYVAULT_WORKER_ID=${RAYVAULT_WORKER_ID:-test-worker}
export RAYVAULT_LEASE_MINUTES=${RAYVAULT_LEASE_MINUTES:-1}
export RAYVAULT_HEARTBEAT_INTERVAL_SEC=${RAYVAULT_HEARTBEAT_INTERVAL_SEC:-2}
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=${RAYVAULT_HEARTBEAT_TIMEOUT_SEC:-1}
export RAYVAULT_POLL_INTERVAL_SEC=${RAYVAULT_POLL_INTERVAL_SEC:-1}
export RAYVAULT_CHILD_HEARTBEAT_MS=${RAYVAULT_CHILD_HEARTBEAT_MS:-500}
export RAYVAULT_QUARANTINE_SEC=${RAYVAULT_QUARANTINE_SEC:-3}
export RAYVAULT_LOST_LOCK_WAIT_SEC=${RAYVAULT_LOST_LOCK_WAIT_SEC:-3}
cd "$T"
FAILS=0
SUP_PID=""
AT_EXIT=""

fail() {
	echo "FAIL $*"
	FAILS=$((FAILS + 1))
}

ok() {
	echo "ok   $*"
}

# at_exit COMMAND: run COMMAND (a shell string) when the test exits, before
# its temp dir goes (stop a fixture, remove a database cluster).
at_exit() {
	AT_EXIT="$1
$AT_EXIT"
}

cleanup() {
	set +e
	eval "$AT_EXIT"
	if [ -n "$SUP_PID" ] && kill -0 "$SUP_PID" 2>/dev/null; then
		kill -9 "$SUP_PID" 2>/dev/null || true
	fi
	for p in $(pgrep -f "rvw-.*--state-dir $T/" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
	# any other supervisor this test started (they all run in $T)
	for p in $(pgrep -x rvsup 2>/dev/null); do
		[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$T" ] &&
		    kill -9 "$p" 2>/dev/null
	done
	if [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$T"
	fi
}
trap cleanup EXIT
# tests/run stops a test with SIGTERM: exit, so the cleanup runs
trap 'exit 130' INT
trap 'exit 143' TERM

# json FILE-OR-- PYTHON-EXPR: evaluate an expression on JSON read from stdin
# (bound to j).  -S: no site-packages, a tenth off each of the many
# starts the polls make.
json() {
	python3 -S -c "import json,sys
j=json.load(sys.stdin)
r=$1
print(r if not isinstance(r,(dict,list,bool)) and r is not None else json.dumps(r))"
}

# alive PID: the process exists and is not a zombie (PID 1 here may not
# reap orphans quickly).
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:.*[ZX]' "/proc/$1/status" 2>/dev/null
}

ctl() {
	"$BIN/rvctl" "$@"
}

start_sup() {
	"$BIN/rvsup" start "$@" >>"$T/sup.log" 2>&1 &
	SUP_PID=$!
	wait_for 10 sup_up || { fail "rvsup did not come up"; tail -20 "$T/sup.log"; }
}

sup_up() {
	ctl status --json 2>/dev/null | json 'j["supervisor"]["pid"]' 2>/dev/null |
	    grep -qx "$SUP_PID"
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds;
# false when it did not within SECONDS.
# A limit of 30 s or more waits for real work to get done (a run through
# ffmpeg, espeak-ng or Chromium): how long that takes is the machine's
# load, not a setting, so such a limit only guards against a hang and is
# RV_TEST_PATIENCE (5) times longer.  Shorter limits come from the
# settings a test sets (heartbeat, stall budget, backoff) and stay as
# they are.
# Such a long wait polls every 0.1 s for its first 2 s, then every 0.5 s
# (seeing the change at most 0.5 s late): each poll starts rvctl and
# python3 (about 80 ms of CPU), and at 0.1 s the polls of a minute-long
# run took more CPU than the run itself, on the two cores the run needs.
# A short limit polls every 0.1 s throughout.
RV_TEST_PATIENCE=${RV_TEST_PATIENCE:-5}
wait_for() {
	_lim=$1
	_slow=0
	[ "$_lim" -ge 30 ] && _lim=$((_lim * RV_TEST_PATIENCE)) && _slow=1
	_end=$(( $(date +%s) + _lim ))
	_n=0
	shift
	while [ "$(date +%s)" -le "$_end" ]; do
		if "$@"; then
			return 0
		fi
		_n=$((_n + 1))
		if [ "$_slow" = 0 ] || [ "$_n" -le 20 ]; then
			sleep 0.1
		else
			sleep 0.5
		fi
	done
	return 1
}

run_status() {
	ctl runs --json | json "[r['status'] for r in j if r['video_id']=='$1'][0]"
}

run_id_of() {
	ctl runs --json | json "[r['run_id'] for r in j if r['video_id']=='$1'][0]"
}

status_is() {
	[ "$(run_status "$1" 2>/dev/null)" = "$2" ]
}

child_field() {
	ctl status --json | json "[c['$2'] for c in j['children'] if c['kind']=='$1'][0]"
}

# children_ready: all five children are ready (none busy, none down).
children_ready() {
	[ "$(ctl status --json 2>/dev/null | json 'sum(c["state"]=="ready" for c in j["children"])' 2>/dev/null)" = 5 ]
}

child_state_is() {
	[ "$(child_field "$1" state 2>/dev/null)" = "$2" ]
}

stage_is() {
	[ "$(ctl status --json | json 'j["run"]["stage"] if j["run"] else ""' 2>/dev/null)" = "$1" ]
}

count_events() {
	ctl events --run "$1" --json | json "len([e for e in j if e['event_type']=='$2'])"
}

# A small spec: 2 segments, short texts, one image.
make_spec() {
	_vid=$1
	mkdir -p "$T/spec/pages" "$T/spec/assets"
	cp "$ROOT/tests/integration/data/page_a.html" "$T/spec/pages/a.html"
	cp "$ROOT/tests/integration/data/page_b.html" "$T/spec/pages/b.html"
	cp "$ROOT/tests/integration/data/card.png" "$T/spec/assets/card.png"
	cat >"$T/spec/$_vid.json" <<EOF2
{ "video_id": "$_vid", "task_type": "",
  "product": {"name": "Test kettle", "asin": "B000TEST01"},
  "sources": [{"path": "pages/a.html", "tier": 5},
              {"path": "pages/b.html", "tier": 4}],
  "segments": [
    {"segment_id": "intro", "kind": "intro", "text": "Hello and welcome.",
     "approx_duration_sec": 1.5, "visual": {"prompt": "kettle", "image": "assets/card.png"}},
    {"segment_id": "p1", "kind": "product", "text": "This kettle boils fast.",
     "approx_duration_sec": 1.8}
  ] }
EOF2
	echo "$T/spec/$_vid.json"
}

finish() {
	if [ "$FAILS" -gt 0 ]; then
		echo "--- rvsup log (tail)"
		tail -40 "$T/sup.log" 2>/dev/null || true
		exit 1
	fi
	exit 0
}
