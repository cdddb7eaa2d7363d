#!/bin/sh
# Liveness while blocked: every ffprobe a child runs takes longer than
# liveness x heartbeat interval (a slow fake first in PATH, 3 x 200 ms
# against 1 s), in voice (the speech engine's raw audio), render (the
# picture) and probe (every staged video); a second run of the same
# content plans on the videos already final (measured from their MP4
# headers; render_plan_blocked.sh blocks ffprobe there).  The children
# keep heartbeating while they wait: nothing is killed as unresponsive,
# no child restarts, both runs finish.  Crash hygiene at child start:
# scratch directories of dead children are gone before the first task, a
# live owner's stays; at rvsup start, so are the temporary files of
# killed writers (a live writer's stay).
. tests/integration/lib.sh
export RAYVAULT_CHILD_HEARTBEAT_MS=200
S=$RAYVAULT_STATE_DIR

real=$(command -v ffprobe) || { echo "no ffprobe"; exit 1; }
mkdir -p "$T/fakebin"
cat >"$T/fakebin/ffprobe" <<EOF
#!/bin/sh
cat /proc/\$PPID/comm >>"$T/ffprobe.calls"
sleep 1
exec "$real" "\$@"
EOF
chmod +x "$T/fakebin/ffprobe"
export PATH="$T/fakebin:$PATH"

# Leftovers of killed children, and a live owner's work in progress.
sh -c 'exit 0' & dead=$!
wait "$dead"
sleep 600 & live=$!
mkdir -p "$S/tmp/render.$dead.RUN-intro.aaaaaa" \
    "$S/tmp/render.$dead.chromium.bbbbbb/Default" \
    "$S/tmp/voice.$dead.RUN-intro.cccccc" \
    "$S/tmp/render.$live.RUN-p1.dddddd"
echo half >"$S/tmp/render.$dead.RUN-intro.aaaaaa/out.mp4"
echo cookie >"$S/tmp/render.$dead.chromium.bbbbbb/Default/Cookies"
echo half >"$S/tmp/voice.$dead.RUN-intro.cccccc/final.wav"
echo busy >"$S/tmp/render.$live.RUN-p1.dddddd/out.mp4"
# Temporary files of atomic writes whose writers were killed (rvsup
# sweeps them at start), and one of a live writer (kept).
mkdir -p "$S/runtime" "$S/checkpoints"
echo half >"$S/runtime/children.json.tmp.$dead"
echo half >"$S/checkpoints/x.json.tmp.$dead"
echo busy >"$S/checkpoints/y.json.tmp.$live"

spec=$(make_spec RAY-LV1)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
swept() {
	[ ! -e "$S/tmp/render.$dead.RUN-intro.aaaaaa" ] &&
	    [ ! -e "$S/tmp/render.$dead.chromium.bbbbbb" ] &&
	    [ ! -e "$S/tmp/voice.$dead.RUN-intro.cccccc" ]
}
wait_for 15 swept && ok "dead children's scratch dirs removed at start" ||
    fail "left: $(ls "$S/tmp")"
[ -f "$S/tmp/render.$live.RUN-p1.dddddd/out.mp4" ] &&
    ok "a live owner's scratch dir kept" || fail "live owner's dir removed"
[ ! -e "$S/runtime/children.json.tmp.$dead" ] &&
    [ ! -e "$S/checkpoints/x.json.tmp.$dead" ] &&
    [ -f "$S/checkpoints/y.json.tmp.$live" ] &&
    ok "killed writers' temporary files removed, a live writer's kept" ||
    fail "temporary files: $(ls "$S/runtime" "$S/checkpoints")"
rm -f "$S/checkpoints/y.json.tmp.$live"
kill "$live" 2>/dev/null

wait_for 180 status_is RAY-LV1 done && ok "run 1 done with a slow ffprobe" ||
    fail "run 1: $(run_status RAY-LV1)"
sed 's/RAY-LV1/RAY-LV2/' "$spec" >"$T/spec/RAY-LV2.json"
ctl enqueue "$T/spec/RAY-LV2.json" >/dev/null || fail "enqueue 2"
wait_for 180 status_is RAY-LV2 done && ok "run 2 done" ||
    fail "run 2: $(run_status RAY-LV2)"
rid2=$(run_id_of RAY-LV2)
[ "$(count_events "$rid2" render_skipped)" -eq 2 ] &&
    ok "run 2 planned on the final videos (probed while planning)" ||
    fail "render_skipped: $(count_events "$rid2" render_skipped)"

# voice: each segment's raw audio; render: the picture, once; probe:
# each staged video.
for k in voice:2 render:1 probe:2; do
	min=${k#*:} k=${k%:*}
	n=$(grep -c "^rvw-$k" "$T/ffprobe.calls" 2>/dev/null)
	[ "${n:-0}" -ge "$min" ] && ok "$n slow ffprobe runs in rvw-$k" ||
	    fail "${n:-0} ffprobe runs in rvw-$k"
done
if grep -rqi 'unresponsive' "$T/sup.log" "$S/logs" 2>/dev/null; then
	fail "a child was judged unresponsive: $(grep -rhi unresponsive \
	    "$T/sup.log" "$S/logs" | head -3)"
else
	ok "no child judged unresponsive"
fi
restarts=$(ctl status --json | json 'sum(c["restarts"] for c in j["children"])')
[ "$restarts" = 0 ] && ok "no child restarted" || fail "restarts: $restarts"
for r in RAY-LV1 RAY-LV2; do
	id=$(run_id_of $r)
	[ "$(count_events "$id" panic_browser_frozen)" -eq 0 ] ||
	    fail "$r: panic_browser_frozen"
done
finish
