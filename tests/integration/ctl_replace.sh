#!/bin/sh
# rvctl enqueue --replace (SPEC section 2, docs/OPERATOR.md "Queue a video
# again"): a video id has one current run.  A second plain enqueue is
# refused (exit 65), and when that run is aborted the refusal says that
# --replace queues it again; --replace is refused while the run is active
# and queues a new run in place of an aborted one, which keeps its row
# and events (run_replaced).  Run on the sqlite store, then again on the
# supabase backend (PostgREST fixture, private PostgreSQL).
if [ "${1:-}" != --pg ] || [ -z "${SUPABASE_URL:-}" ]; then
	unset SUPABASE_URL
	PASS=sqlite
else
	PASS=supabase
	# rvctl's store requests wait this long (a loaded machine answers
	# slowly; nothing here is about timing)
	export RAYVAULT_HEARTBEAT_INTERVAL_SEC=10 RAYVAULT_HEARTBEAT_TIMEOUT_SEC=8
fi
. tests/integration/lib.sh
vid=RAY-REPLACE-1
spec=$(make_spec "$vid")
q() { ctl enqueue "$@" >"$T/q.out" 2>"$T/q.err"; }
q "$spec" || fail "$PASS: first enqueue: $(cat "$T/q.out" "$T/q.err")"
rid1=$(run_id_of "$vid")
q "$spec"
rc=$?
[ "$rc" -eq 65 ] && grep -q "already queued as run $rid1 (status running)" "$T/q.err" &&
    ! grep -q -- --replace "$T/q.err" && ok "$PASS: a second enqueue is refused (65)" ||
    fail "$PASS: second enqueue: $rc $(cat "$T/q.out" "$T/q.err")"
q --replace "$spec"
rc=$?
[ "$rc" -eq 65 ] && grep -q "only an aborted or failed run can be replaced" "$T/q.err" &&
    ok "$PASS: --replace while the run is active is refused (65)" ||
    fail "$PASS: replace of an active run: $rc $(cat "$T/q.out" "$T/q.err")"
ctl abort --run "$vid" --operator night-op | grep -q applied || fail "$PASS: abort"
q "$spec"
rc=$?
[ "$rc" -eq 65 ] && grep -q "status aborted" "$T/q.err" &&
    grep -q "rvctl enqueue --replace $spec" "$T/q.err" &&
    ok "$PASS: plain enqueue of an aborted video id suggests --replace" ||
    fail "$PASS: enqueue after abort: $rc $(cat "$T/q.out" "$T/q.err")"
q --replace "$spec" && grep -q "replaces run $rid1" "$T/q.out" &&
    ok "$PASS: --replace after the abort queues a new run" ||
    fail "$PASS: replace after abort: $(cat "$T/q.out" "$T/q.err")"
rid2=$(run_id_of_current() { ctl events --run "$vid" --json | json 'j[0]["run_id"]'; }; run_id_of_current)
[ -n "$rid2" ] && [ "$rid2" != "$rid1" ] &&
    [ "$(ctl runs --json | json "[r['status'] for r in j if r['run_id']=='$rid2'][0]")" = running ] &&
    [ "$(ctl runs --json | json "len([r for r in j if r['video_id']=='$vid'])")" -eq 2 ] &&
    ok "$PASS: both runs are listed; the video id names the new one" ||
    fail "$PASS: runs after replace: $(ctl runs)"
[ "$(count_events "$rid1" run_replaced)" -eq 1 ] && [ -f "$RAYVAULT_STATE_DIR/jobs/$rid2.json" ] &&
    ok "$PASS: the old run keeps its events (run_replaced); the new one has its spec mirror" ||
    fail "$PASS: old run events or mirror"
ctl --json enqueue --replace "$spec" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 65 ] && ok "$PASS: no second replace while the new run is queued" ||
    fail "$PASS: second replace: $rc"
if [ "$PASS" = sqlite ] && [ "$FAILS" -eq 0 ]; then
	cd "$ROOT" && tests/lib/with_postgrest sh "$0" --pg || FAILS=$((FAILS + 1))
fi
finish
