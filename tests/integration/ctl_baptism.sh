#!/bin/sh
# rvctl baptism after the kill test ritual: kill -9 of the supervisor in
# the middle of a render; level B fails on the stale pid file, passes
# once a new supervisor resumed and finished the run, and fails naming
# the check for a corrupt checkpoint, a left .tmp file, a child of a dead
# supervisor still alive, and a checkpoint the store disagrees with.
# Level A starts no worker (on a fresh install it creates the embedded
# store's schema); B needs --confirm; the JSON report is saved.
# The supervisor runs as `make worker WID=Mac-Ray-01` starts it (--worker-id,
# while the settings say test-worker): doctor and B use its worker id.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
export RV_FAULT="slow:render:3000"
PREP="$TOOLS/rv_storeprep"
S="$RAYVAULT_STATE_DIR"

bap() {	# bap ARGS: output in $T/out, exit code in $rc
	rc=0
	ctl baptism "$@" >"$T/out" 2>&1 || rc=$?
}

expect() {	# expect RC PATTERN TEXT
	if [ "$rc" -eq "$1" ] && grep -q -- "$2" "$T/out"; then
		ok "$3"
	else
		fail "$3: exit $rc (want $1):"
		sed 's/^/    /' "$T/out"
	fi
}

# A fresh install: no state directory and no store yet.  Level A creates
# the embedded store's schema instead of failing on it.
rc=0
env RAYVAULT_STATE_DIR="$T/fresh/state" RAYVAULT_SPOOL_DIR="$T/fresh/spool" \
    "$BIN/rvctl" baptism --level A >"$T/out" 2>&1 || rc=$?
expect 0 "^\[PASS\] store: the sqlite store answers (created now with its schema" \
    "fresh install: A creates the store and only warns"
grep -q "^\[FAIL\]" "$T/out" && fail "fresh install: $(grep '^\[FAIL\]' "$T/out")"
[ -f "$T/fresh/state/rayvault.db" ] && ok "the store file exists after A" ||
    fail "no store after A on a fresh install"

# The media tools' version lines are cached per binary: a changed binary
# is run again, a bad cache is ignored and rewritten, a broken tool is
# never taken from the cache.
mkdir -p "$T/tools"
fake() {	# fake VERSION [RC]: an ffprobe on PATH that prints VERSION
	printf '#!/bin/sh\necho "ffprobe version %s"\nexit %s\n' "$1" \
	    "${2:-0}" >"$T/tools/ffprobe.new"
	chmod 755 "$T/tools/ffprobe.new"
	mv "$T/tools/ffprobe.new" "$T/tools/ffprobe"
}
fbap() {
	rc=0
	env PATH="$T/tools:$PATH" RAYVAULT_STATE_DIR="$T/fresh/state" \
	    RAYVAULT_SPOOL_DIR="$T/fresh/spool" "$BIN/rvctl" baptism \
	    --level A >"$T/out" 2>&1 || rc=$?
}
fake fake-1
fbap
expect 0 "^\[PASS\] ffprobe: found (ffprobe version fake-1)" "A runs a new ffprobe"
TJ="$T/fresh/state/runtime/tools.json"
sed -i 's/ffprobe version fake-1/ffprobe version from-cache/' "$TJ"
fbap
expect 0 "^\[PASS\] ffprobe: found (ffprobe version from-cache)" \
    "an unchanged ffprobe is not started again (the cached line)"
fake fake-22
fbap
expect 0 "^\[PASS\] ffprobe: found (ffprobe version fake-22)" \
    "a replaced ffprobe is run again"
echo '{"ffprobe": 7' >"$TJ"
fbap
expect 0 "^\[PASS\] ffprobe: found (ffprobe version fake-22)" \
    "a bad tools.json is ignored"
python3 -c "import json; json.load(open('$TJ'))['ffprobe']['line']" &&
    ok "and rewritten" || fail "tools.json not rewritten: $(cat "$TJ")"
fake fake-3 1
fbap
expect 1 "^\[FAIL\] ffprobe: ffprobe does not run" \
    "a broken ffprobe fails A"

WID=Mac-Ray-01
ctl enqueue "$(make_spec RAY-B1)" >/dev/null
start_sup --worker-id "$WID"
wait_for 60 child_state_is render busy || fail "render never busy"
ctl doctor --no-replay >"$T/out" 2>&1
grep -q "^\[OK\] *settings: valid (worker $WID, of the running rvsup; the settings alone would say $RAYVAULT_WORKER_ID," "$T/out" &&
    ok "doctor names the running supervisor's worker id" ||
    fail "doctor's worker: $(grep settings "$T/out")"
kids=$(ctl status --json | json '" ".join(str(c["pid"]) for c in j["children"] if c["pid"]>0)')
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null || true
gone() { for p in $kids; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 5 gone || fail "children of the killed supervisor still alive"

bap --level B --confirm
expect 1 "^\[FAIL\] pid_file: state/runtime/rvsup.pid is left by a supervisor that is gone" \
    "right after kill -9: B fails on the stale pid file"
grep -q "^\[PASS\] checkpoint_store" "$T/out" &&
    ok "the checkpoint still matches the store's claim" || fail "checkpoint_store: $(cat "$T/out")"

grep -q "^\[PASS\] settings: valid: worker $WID," "$T/out" &&
    ok "B names the last supervisor's worker id" ||
    fail "B's worker: $(grep settings "$T/out")"

unset RV_FAULT
start_sup --worker-id "$WID"
wait_for 60 status_is RAY-B1 done && ok "resumed run done" || fail "run: $(run_status RAY-B1)"
bap --level B --confirm
expect 0 "^baptism B: PASSED" "after the resumed run finished: B passes"
rep=$(ls "$S"/baptism/baptism_B_*.json 2>/dev/null | tail -1)
[ -n "$rep" ] && [ "$(json 'j["level"]+" "+j["verdict"]+" "+str(j["summary"]["fail"])' <"$rep")" = "B PASS 0" ] &&
    ok "report saved: $(basename "$rep")" || fail "no report in $S/baptism"
"$BIN/rvsup" stop >/dev/null 2>&1 || fail "rvsup stop"
wait "$SUP_PID" 2>/dev/null || true
SUP_PID=""
bap --level B --confirm
expect 0 "^\[PASS\] pid_file: none" "after a clean stop: B passes"

ck=$(ls "$S"/checkpoints/*.json | head -1)
cp "$ck" "$T/ck.bak"
printf '{"version": 1, "run_id": ' >"$ck"
bap --level B --confirm
expect 1 "^\[FAIL\] checkpoints: checkpoints/$(basename "$ck") is corrupt" "corrupt checkpoint: FAIL names it"
cp "$T/ck.bak" "$ck"

echo partial >"$S/checkpoints/x.json.tmp.999999"
bap --level B --confirm
expect 1 "^\[FAIL\] tmp_files: 1 temporary files left .*checkpoints/x.json.tmp.999999" ".tmp left: FAIL names it"
rm -f "$S/checkpoints/x.json.tmp.999999"

sleep 60 &
kid=$!
st=$(awk '{print $22}' /proc/$kid/stat)
printf '{"supervisor_pid": 999999, "children": [{"kind": "render", "pid": %s, "start_time": %s, "gen": 3}]}\n' \
    "$kid" "$st" >"$S/runtime/children.json"
bap --level B --confirm
expect 1 "^\[FAIL\] leftover_children: rvw-render (pid $kid) of the dead supervisor 999999 is still running" \
    "child of a dead supervisor alive: FAIL names it"
kill "$kid" 2>/dev/null; wait "$kid" 2>/dev/null || true

# A checkpoint whose run another worker holds now.
ctl enqueue "$(make_spec RAY-B2)" >/dev/null
set -- $("$PREP" "$S/rayvault.db" claim far-worker)
python3 - "$1" "$S/checkpoints/$1.json" <<'EOF'
import json, sys
json.dump({"version": 1, "run_id": sys.argv[1], "video_id": "RAY-B2",
           "worker_id": "test-worker", "lock_token": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
           "lease_epoch": 1, "stages": {s: "pending" for s in
           ["evidence", "voice", "render", "probe", "timeline"]},
           "segments": {}, "finished": False}, open(sys.argv[2], "w"))
EOF
bap --level B --confirm
expect 1 "^\[FAIL\] checkpoint_store: checkpoint of RAY-B2 says epoch 1, token 7c9e6679.. for worker test-worker, but the store has it running (epoch 1, worker far-worker, another token)" \
    "checkpoint the store disagrees with: FAIL"
rm -f "$S/checkpoints/$1.json"

bap --level B
expect 64 "confirm with --confirm" "level B without --confirm: exit 64"
bap --level C
expect 64 "is A or B" "level C: exit 64"
rm -f "$S/runtime/rvsup.pid"
bap --level A --json
[ "$rc" -le 1 ] && [ "$(json 'j["level"]' <"$T/out")" = A ] && ok "level A --json" || fail "A: rc $rc"
if [ -e "$S/runtime/rvsup.pid" ] || pgrep -f "rv(sup|w-).*$T/" >/dev/null; then
	fail "level A started a worker"
else
	ok "level A started no worker"
fi
finish
