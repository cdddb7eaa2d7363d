#!/bin/sh
# rvctl clean / clean-hard remove only what they promise and never the pid
# file, the spool or final videos; clean-hard is refused while a
# supervisor holds the state directory.  The spool commands: quarantine
# lists set-aside events, purge-spool needs --confirm and keeps waiting
# events, replay-spool sends them.  check-contract claims nothing.  logs
# prints the tails.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
S="$RAYVAULT_STATE_DIR"
SP="$RAYVAULT_SPOOL_DIR"
now=$(date +%s)

mkf() {	# mkf PATH HOURS_OLD
	mkdir -p "$(dirname "$1")"
	echo data >"$1"
	touch -d "@$((now - $2 * 3600))" "$1"
}

run_ctl() {	# run_ctl ARGS: output in $T/out, exit code in $rc
	rc=0
	ctl "$@" >"$T/out" 2>&1 || rc=$?
}

gone() { for f; do [ -e "$S/$f" ] && return 1; done; return 0; }
there() { for f; do [ -e "$S/$f" ] || return 1; done; return 0; }

ctl enqueue "$(make_spec RAY-C1)" >/dev/null
mkf "$S/tmp/old-scratch" 2
mkf "$S/tmp/sub/new-scratch" 0
mkf "$S/checkpoints/a.json.tmp.999999" 2
mkf "$S/evidence/b.json.tmp" 0
mkf "$S/logs/rvsup.log.1" 480
mkf "$S/logs/rvw-voice.log" 30
mkf "$S/logs/rvsup.log" 0
mkf "$S/runtime/rvsup.pid" 480
mkf "$S/runtime/children.json.tmp.999999" 3
mkf "$S/video/final/V_x_intro_1a2b3c4d.mp4" 480
mkf "$S/video/quarantine/V_y.mp4.rejected" 30
mkf "$S/video/quarantine/V_z.mp4" 480
mkf "$S/timeline/timeline_RAY-C1_20200101T000000Z.csv" 400
mkf "$S/timeline/timeline_RAY-C1_latest.csv" 400
mkf "$SP/4f1c2d3e-0a1b-4c2d-8e3f-5a6b7c8d9e0f.json.tmp.1" 480
keep="runtime/rvsup.pid video/final/V_x_intro_1a2b3c4d.mp4 video/quarantine/V_z.mp4 timeline/timeline_RAY-C1_latest.csv logs/rvsup.log"

run_ctl clean --dry-run
there tmp/old-scratch logs/rvsup.log.1 && [ "$rc" -eq 0 ] && grep -q "would remove tmp/old-scratch" "$T/out" &&
    ok "clean --dry-run lists and removes nothing" || fail "dry run: rc $rc $(cat "$T/out")"
run_ctl clean
if [ "$rc" -eq 0 ] && gone tmp/old-scratch checkpoints/a.json.tmp.999999 logs/rvsup.log.1 \
    runtime/children.json.tmp.999999 &&
    there tmp/sub/new-scratch evidence/b.json.tmp logs/rvw-voice.log video/quarantine/V_y.mp4.rejected \
    timeline/timeline_RAY-C1_20200101T000000Z.csv $keep; then
	ok "clean: old scratch, old temporary files, 14-day-old logs only"
else
	fail "clean: rc $rc $(cat "$T/out")"
fi

echo $$ >"$S/runtime/rvsup.pid"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(30)' \
    "$S/runtime/rvsup.pid" >"$T/held" &
holder=$!
wait_for 5 grep -q held "$T/held" || fail "could not hold the pid file"
run_ctl clean-hard
[ "$rc" -eq 1 ] && grep -q "refused: rvsup .* is running" "$T/out" && there tmp/sub/new-scratch &&
    ok "clean-hard refused while the pid file is held" || fail "clean-hard while held: rc $rc $(cat "$T/out")"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
run_ctl clean-hard
if [ "$rc" -eq 0 ] && gone tmp/sub/new-scratch evidence/b.json.tmp logs/rvw-voice.log \
    video/quarantine/V_y.mp4.rejected timeline/timeline_RAY-C1_20200101T000000Z.csv && there $keep &&
    [ -e "$SP/4f1c2d3e-0a1b-4c2d-8e3f-5a6b7c8d9e0f.json.tmp.1" ]; then
	ok "clean-hard: the rest of the temporary files; pid file, spool, final videos kept"
else
	fail "clean-hard: rc $rc $(cat "$T/out")"
fi
rm -f "$SP"/*.tmp.1

# The spool commands.
rid=$(run_id_of RAY-C1)
mkdir -p "$SP/bad" "$SP/quarantine"
echo '{not json' >"$SP/bad/b1.json"
echo '{"event_id":"x","event_type":"render_done","run_id":"r","attempts":3}' >"$SP/quarantine/q1.json"
ev=6e1d2c3b-4a5f-4e6d-9c7b-8a9f0e1d2c3b
echo "{\"event_id\":\"$ev\",\"run_id\":\"$rid\",\"event_type\":\"clean_test\",\"severity\":\"INFO\",\"reason_key\":\"t\",\"source\":\"test\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"payload\":{}}" >"$SP/$ev.json"
run_ctl quarantine
[ "$rc" -eq 1 ] && grep -q "^bad .*b1.json .*not JSON" "$T/out" &&
    grep -q "^quarantine .*q1.json .*render_done run r, 3 attempts" "$T/out" &&
    ok "quarantine lists both folders (exit 1)" || fail "quarantine: rc $rc $(cat "$T/out")"
run_ctl purge-spool
[ "$rc" -eq 64 ] && [ -e "$SP/bad/b1.json" ] && ok "purge-spool without --confirm: 64, nothing deleted" ||
    fail "purge without confirm: rc $rc"
run_ctl purge-spool --confirm
[ "$rc" -eq 0 ] && [ ! -e "$SP/bad/b1.json" ] && [ ! -e "$SP/quarantine/q1.json" ] && [ -e "$SP/$ev.json" ] &&
    ok "purge-spool --confirm: set-aside events gone, waiting event kept" || fail "purge: rc $rc $(cat "$T/out")"
run_ctl replay-spool --json
[ "$rc" -eq 0 ] && [ "$(json 'j["sent"]' <"$T/out")" = 1 ] && [ ! -e "$SP/$ev.json" ] &&
    [ "$(count_events "$rid" clean_test)" -eq 1 ] && ok "replay-spool sent the waiting event" ||
    fail "replay: rc $rc $(cat "$T/out")"

# check-contract claims nothing.
before=$(ctl runs --json | json '[(r["worker_id"], r["lease_epoch"], r["locked"]) for r in j]')
run_ctl check-contract
after=$(ctl runs --json | json '[(r["worker_id"], r["lease_epoch"], r["locked"]) for r in j]')
[ "$rc" -eq 0 ] && grep -q "^\[PASS\] contract_reads" "$T/out" && [ "$before" = "$after" ] &&
    ok "check-contract passes and claims nothing" || fail "check-contract: rc $rc $before / $after"

mkf "$S/logs/rvsup.log" 0
printf 'one\ntwo\nthree\n' >"$S/logs/rvsup.log"
run_ctl logs --lines 2
[ "$rc" -eq 0 ] && grep -q "^==> rvsup.log <==" "$T/out" && grep -q "^three" "$T/out" &&
    ! grep -q "^one" "$T/out" && ok "logs --lines 2 prints the last two lines" || fail "logs: $(cat "$T/out")"
finish
