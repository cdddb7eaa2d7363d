#!/bin/sh
# The renderer heartbeats while it plans (no rvsup needed): both segments
# already have a valid final video, so the render task only probes them
# (plan_segment -> valid_video -> media_measure) and skips them.  The
# finals are fragmented MP4, which the header reader (mp4.c) leaves to
# ffprobe, so probe_file runs.  ffprobe is
# a slow fake first in PATH (1 s a run) and the child heartbeat interval
# is 200 ms: a child that waited bare would be silent for 1 s, longer
# than liveness x interval (600 ms), and rvsup would kill it as
# unresponsive.  tests/lib/rv_child_drive plays the supervisor and
# measures the longest gap between heartbeats.
. tests/integration/lib.sh
export RAYVAULT_CHILD_HEARTBEAT_MS=200
S=$RAYVAULT_STATE_DIR
[ -x "$TOOLS/rv_child_drive" ] || { fail "no $TOOLS/rv_child_drive"; finish; }

run=11111111-2222-4333-8444-555555555555
sha=0123abcd
mkdir -p "$S/audio" "$S/video/final" "$S/video/staging" "$T/spec"
for seg in intro p1; do
	ffmpeg -nostdin -v error -y -f lavfi -i sine=f=440:r=48000 -t 1.5 \
	    -c:a pcm_s16le "$S/audio/A_${run}_${seg}_$sha.wav" &&
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc=s=320x240:r=25 \
	    -f lavfi -i sine=f=440:r=48000 -t 1.5 -c:v libx264 \
	    -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 2 \
	    -movflags +frag_keyframe+empty_moov \
	    "$S/video/final/V_${run}_${seg}_$sha.mp4" || fail "ffmpeg $seg"
done
python3 - "$S" "$T/spec" "$run" "$sha" >"$T/args.json" <<'EOF'
import json, sys
state, spec_dir, run, sha = sys.argv[1:]
segs = [{"segment_id": s, "kind": k, "text": "Hello there.",
         "approx_duration_sec": 1.5} for s, k in (("intro", "intro"),
                                                   ("p1", "product"))]
print(json.dumps({"run_id": run, "video_id": "RAY-PLAN", "lease_epoch": 1,
    "state_dir": state, "spec_dir": spec_dir,
    "spec": {"video_id": "RAY-PLAN", "segments": segs},
    "segments": {s["segment_id"]: {"sha8": sha,
        "audio": "audio/A_%s_%s_%s.wav" % (run, s["segment_id"], sha),
        "audio_duration": 1.5} for s in segs}}))
EOF

real=$(command -v ffprobe) || fail "no ffprobe"
mkdir -p "$T/fakebin"
cat >"$T/fakebin/ffprobe" <<EOF
#!/bin/sh
echo call >>"$T/ffprobe.calls"
sleep 1
exec "$real" "\$@"
EOF
chmod +x "$T/fakebin/ffprobe"

PATH="$T/fakebin:$PATH" "$TOOLS/rv_child_drive" "$S" "$BIN" render render \
    "$T/args.json" 60 >"$T/drive.out" 2>&1 || fail "driver: $(tail -3 "$T/drive.out")"
cat "$T/drive.out"
grep -q '^result ok ' "$T/drive.out" && ok "render task ok" ||
    fail "result: $(grep -E '^(result|error)' "$T/drive.out")"
[ "$(grep -c '^event render_skipped' "$T/drive.out")" -eq 2 ] &&
    ok "both segments skipped: the finals were probed while planning" ||
    fail "render_skipped: $(grep -c '^event render_skipped' "$T/drive.out")"
n=$(wc -l <"$T/ffprobe.calls" 2>/dev/null || echo 0)
[ "$n" -ge 2 ] && ok "$n slow ffprobe runs" || fail "$n ffprobe runs"
gap=$(sed -n 's/^hb_max_gap_ms //p' "$T/drive.out")
# liveness x interval is 600 ms; a tick is due every 100 ms, a
# heartbeat every 200 ms: allow a loaded machine some slack
[ -n "$gap" ] && [ "$gap" -lt 500 ] &&
    ok "longest heartbeat gap $gap ms while ffprobe blocked" ||
    fail "heartbeat gap ${gap:-?} ms (liveness x interval = 600 ms)"
grep -q '^browser on' "$T/drive.out" && fail "browser flag without a browser"
grep -q '^ledger' "$T/drive.out" && fail "a skipped segment touched the ledger"
finish
