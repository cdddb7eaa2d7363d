#!/bin/sh
# The renderer's heartbeats say "browser": true exactly while a Chromium
# session is open (no rvsup needed: tests/lib/rv_child_drive plays the
# supervisor and prints each change of the flag).  One Dzine render of
# one segment against the fake site: the balance read and the render
# each open a session and close it, the ledger intent is asked inside the
# render's session, the flag is off again before the result, and the
# heartbeats never pause longer than liveness x interval meanwhile.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
export RAYVAULT_CHILD_HEARTBEAT_MS=1000
S=$RAYVAULT_STATE_DIR
[ -x "$TOOLS/rv_child_drive" ] || { fail "no $TOOLS/rv_child_drive"; finish; }
dz_site "credits=50&cost=2"
export DZINE_CREDITS_PER_SEGMENT=2

run=11111111-2222-4333-8444-666666666666
sha=0123abcd
mkdir -p "$S/audio" "$S/video/staging" "$T/spec/assets"
cp "$ROOT/tests/integration/data/card.png" "$T/spec/assets/card.png"
ffmpeg -nostdin -v error -y -f lavfi -i sine=f=440:r=48000 -t 1.5 \
    -c:a pcm_s16le "$S/audio/A_${run}_intro_$sha.wav" || fail "ffmpeg"
python3 - "$S" "$T/spec" "$run" "$sha" >"$T/args.json" <<'EOF'
import json, sys
state, spec_dir, run, sha = sys.argv[1:]
seg = {"segment_id": "intro", "kind": "intro", "text": "Hello there.",
       "approx_duration_sec": 1.5,
       "visual": {"prompt": "kettle", "image": "assets/card.png"}}
print(json.dumps({"run_id": run, "video_id": "RAY-FLAG", "lease_epoch": 1,
    "state_dir": state, "spec_dir": spec_dir,
    "spec": {"video_id": "RAY-FLAG", "segments": [seg]},
    "segments": {"intro": {"sha8": sha,
        "audio": "audio/A_%s_intro_%s.wav" % (run, sha),
        "audio_duration": 1.5}}}))
EOF

"$TOOLS/rv_child_drive" "$S" "$BIN" render render "$T/args.json" 120 \
    >"$T/drive.out" 2>&1 || fail "driver: $(tail -3 "$T/drive.out")"
cat "$T/drive.out"
grep -q '^result ok ' "$T/drive.out" && ok "dzine render ok" ||
    fail "result: $(grep -E '^(result|error)' "$T/drive.out")"
# the order of what the supervisor saw
seq=$(grep -E '^(browser|ledger|event dzine_balance|event render_done|result)' \
    "$T/drive.out" | cut -d' ' -f1-2 | tr '\n' ',')
want="browser on,browser off,event dzine_balance,browser on,ledger intent,browser off,event render_done,ledger result,result ok,"
[ "$seq" = "$want" ] && ok "browser flag on exactly while a session is open" ||
    fail "sequence: $seq (want $want)"
gap=$(sed -n 's/^hb_max_gap_ms //p' "$T/drive.out")
# The rule is the supervisor's: silence past liveness x interval is
# unresponsive.  The slack for a loaded machine comes from the interval
# set above, not from a guess.
[ -n "$gap" ] && [ "$gap" -lt 3000 ] && ok "longest heartbeat gap $gap ms" ||
    fail "heartbeat gap ${gap:-?} ms (liveness x interval = 3000 ms)"
[ -z "$(dz_browsers)" ] && ok "no browser process left" || fail "browsers left: $(dz_browsers)"
left=$(ls -d "$S"/tmp/render.*.chromium.* 2>/dev/null)
[ -z "$left" ] && ok "no profile left" || fail "profile left: $left"
finish
