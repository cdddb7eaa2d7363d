#!/bin/sh
# Bad input gets a clear error naming the problem and changes nothing:
# run specs, settings, a corrupt checkpoint, garbage on the ipc endpoints.
. tests/integration/lib.sh
good=$(make_spec RAY-T9)
d=$(dirname "$good")
expect_refused() {
	name=$1 file=$2 pattern=$3
	out=$(ctl enqueue "$file" 2>&1); rc=$?
	if [ $rc -eq 65 ] && echo "$out" | grep -q -- "$pattern"; then
		ok "$name refused"
	else
		fail "$name: rc $rc: $out"
	fi
}
python3 - "$good" "$d" <<'PY'
import json, sys, copy
g = json.load(open(sys.argv[1])); d = sys.argv[2]
def w(name, f):
    s = copy.deepcopy(g); f(s); json.dump(s, open(f"{d}/{name}.json", "w"))
w("underscore", lambda s: s["segments"][0].update(segment_id="a_b"))
w("slash", lambda s: s["segments"][0].update(segment_id="a/b"))
w("dotdot", lambda s: s.update(video_id=".."))
w("kind", lambda s: s["segments"][0].update(kind="trailer"))
w("longtext", lambda s: s["segments"][0].update(text="x" * 10000))
w("missing", lambda s: s.pop("segments"))
w("outside", lambda s: s["sources"][0].update(path="../../../etc/passwd"))
w("notimage", lambda s: s["segments"][0]["visual"].update(image="pages/a.html"))
w("nulid", lambda s: s.update(video_id="RAY-NUL\u0000x"))
w("nultext", lambda s: s["segments"][1].update(text="Hello\u0000 world"))
PY
printf '{"video_id": "RAY-X", ' >"$d/truncated.json"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$d/huge.json"
expect_refused "segment id with _" "$d/underscore.json" "segment_id"
expect_refused "segment id with /" "$d/slash.json" "segment_id"
expect_refused "video id .." "$d/dotdot.json" "video_id"
expect_refused "unknown kind" "$d/kind.json" "kind"
expect_refused "10 000-char text" "$d/longtext.json" "text"
expect_refused "missing segments" "$d/missing.json" "segments"
expect_refused "source outside the spec dir" "$d/outside.json" "path"
expect_refused "image that is not an image" "$d/notimage.json" "image"
expect_refused "truncated JSON" "$d/truncated.json" "JSON"
expect_refused "oversized spec" "$d/huge.json" "large"
grep -q 'RAY-NUL\\u0000x' "$d/nulid.json" || fail "nulid.json lacks \\u0000"
expect_refused "\\u0000 in video_id" "$d/nulid.json" \
    ': video_id: holds \\u0000 (a NUL character)'
expect_refused "\\u0000 in a segment text" "$d/nultext.json" \
    'segments\[1\]\.text: holds \\u0000'
n=$(ctl runs --json | json 'len(j)')
[ "$n" -eq 0 ] && ok "no run created by bad specs" || fail "$n runs created"
# settings
out=$(RAYVAULT_HEARTBEAT_INTERVAL_SEC=30 RAYVAULT_LEASE_MINUTES=1 "$BIN/rvsup" start 2>&1); rc=$?
[ $rc -eq 78 ] && echo "$out" | grep -q RAYVAULT_HEARTBEAT_INTERVAL_SEC &&
    ok "heartbeat >= lease/3 refused naming the key" || fail "bad settings: rc $rc $out"
out=$(RAYVAULT_LEASE_MINUTES=abc "$BIN/rvsup" start 2>&1); rc=$?
[ $rc -eq 78 ] && echo "$out" | grep -q "RAYVAULT_LEASE_MINUTES: not a number" &&
    ok "non-numeric setting refused" || fail "bad number: rc $rc $out"
# the environment-only tuning is held to the same rule (rayvault.env(5))
for v in RAYVAULT_QUARANTINE_SEC=abc RAYVAULT_STOP_GRACE_MS=-5 \
    RAYVAULT_LOST_LOCK_WAIT_SEC=0 RAYVAULT_STAGE_STALL_SEC=9x; do
	out=$(env "$v" "$BIN/rvsup" check-config 2>&1); rc=$?
	[ $rc -eq 78 ] && echo "$out" | grep -q "^${v%%=*}: " &&
	    ok "${v%%=*} refused naming the variable" ||
	    fail "$v: rc $rc $out"
done
out=$(RAYVAULT_STAGE_STALL_SEC=300 RAYVAULT_STOP_GRACE_MS= "$BIN/rvsup" \
    check-config 2>&1) && ok "in-range and empty tuning accepted" ||
    fail "good tuning refused: $out"
# service URLs carry tokens: plain http only to loopback, named at start
for v in TELEGRAM_API_BASE=http://127.evil.com SUPABASE_URL=http://10.0.0.1 \
    DZINE_URL=http://localhost.evil.com/tools; do
	out=$(env "$v" SUPABASE_SERVICE_KEY=k "$BIN/rvsup" check-config 2>&1)
	rc=$?
	[ $rc -eq 78 ] && echo "$out" | grep -q "^${v%%=*}: http:// is allowed only" &&
	    ok "$v refused naming the setting" || fail "$v: rc $rc $out"
done
out=$(TELEGRAM_API_BASE=http://127.8.9.10:1 "$BIN/rvsup" check-config 2>&1)
rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "^TELEGRAM_API_BASE=http://127.8.9.10:1$" &&
    ok "http to 127.8.9.10 accepted" || fail "http to 127.8.9.10: rc $rc $out"
# garbage on the endpoints; a corrupt checkpoint for the run
ctl enqueue "$good" >/dev/null || fail "good spec refused"
rid=$(run_id_of RAY-T9)
mkdir -p "$RAYVAULT_STATE_DIR/checkpoints"
echo '{"version": 1, "run_id": "garbage' >"$RAYVAULT_STATE_DIR/checkpoints/$rid.json"
export RV_FAULT="slow:evidence:2000"
start_sup
"$TOOLS/rv_garbage" "$RAYVAULT_STATE_DIR" workers >/dev/null || fail "garbage tool (workers)"
"$TOOLS/rv_garbage" "$RAYVAULT_STATE_DIR" control >/dev/null || fail "garbage tool (control)"
sup_up && ok "supervisor survives garbage frames" || fail "supervisor died on garbage"
grep -q "dropped an invalid message" "$T/sup.log" && ok "garbage was logged and dropped" ||
    fail "no warning about garbage"
wait_for 90 status_is RAY-T9 done && ok "run done despite corrupt checkpoint" ||
    fail "run: $(run_status RAY-T9)"
ls "$RAYVAULT_STATE_DIR/checkpoints/$rid.json.corrupt" >/dev/null 2>&1 &&
    ok "corrupt checkpoint kept aside" || fail "corrupt checkpoint not kept"
finish
