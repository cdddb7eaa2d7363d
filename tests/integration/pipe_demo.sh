#!/bin/sh
# The first sample completes: 5 final videos, each within 0.15 s of its
# audio; 5 index entries; 5 READY timeline rows; an EDL.  A second run of
# identical content renders nothing (every segment skipped).
. tests/integration/lib.sh
unset RV_TEST_RENDER_SIZE	# this test checks the real 1920x1080
cp -r "$ROOT/examples/ray-demo" "$T/demo"
ctl enqueue "$T/demo/run.json" >/dev/null || fail "enqueue"
start_sup
wait_for 120 status_is RAY-DEMO-1 done && ok "demo run done" || fail "run: $(run_status RAY-DEMO-1)"
S=$RAYVAULT_STATE_DIR
n=$(ls "$S"/video/final/*.mp4 2>/dev/null | wc -l)
[ "$n" -eq 5 ] && ok "5 final videos" || fail "$n final videos"
for v in "$S"/video/final/V_*.mp4; do
	seg_sha=$(basename "$v" .mp4 | cut -d_ -f3-)
	a=$(ls "$S"/audio/A_*_"$seg_sha".wav 2>/dev/null | head -1)
	[ -n "$a" ] || { fail "no audio for $(basename "$v")"; continue; }
	vd=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$v")
	ad=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$a")
	python3 -c "import sys; sys.exit(0 if abs($vd-$ad) <= 0.15 else 1)" ||
	    fail "$(basename "$v"): video $vd s vs audio $ad s"
	codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 "$v")
	[ "$codec" = "h264,1920,1080" ] || fail "$(basename "$v"): $codec"
done
ok "videos match their audio"
python3 -c "
import json; j=json.load(open('$S/video/index.json'))
assert j['version']=='1.0' and j['schema_version']==2, 'format'
assert len(j['items'])==5, len(j['items'])
for k,v in j['items'].items():
    assert not v['path'].startswith('/'), v['path']
" && ok "index has 5 relative entries" || fail "index: $(head -c 400 "$S/video/index.json")"
csv="$S/timeline/timeline_RAY-DEMO-1_latest.csv"
head -1 "$csv" | grep -qx "Order,Segment_ID,Category,Start_Sec,End_Sec,Target_Duration,Source_File,Status,Probe_Duration,Delta_Sec,Cum_Drift_Sec" &&
    ok "timeline header" || fail "timeline header: $(head -1 "$csv")"
[ "$(grep -c ',READY,' "$csv")" -eq 5 ] && ok "5 READY rows" || fail "READY rows: $(cat "$csv")"
grep -q "^TITLE:" "$S/timeline/timeline_RAY-DEMO-1_latest.edl" && ok "EDL present" || fail "no EDL"
rid=$(run_id_of RAY-DEMO-1)
[ "$(count_events "$rid" render_done)" -eq 5 ] && ok "5 renders" || fail "render_done $(count_events "$rid" render_done)"
# Identical content under a new video id: nothing is rendered again.
sed 's/RAY-DEMO-1/RAY-DEMO-2/' "$T/demo/run.json" >"$T/demo/run2.json"
ctl enqueue "$T/demo/run2.json" >/dev/null || fail "enqueue 2"
wait_for 120 status_is RAY-DEMO-2 done && ok "second run done" || fail "run 2: $(run_status RAY-DEMO-2)"
rid2=$(run_id_of RAY-DEMO-2)
[ "$(count_events "$rid2" render_done)" -eq 0 ] && [ "$(count_events "$rid2" render_skipped)" -eq 5 ] &&
    ok "second run rendered nothing (5 skipped)" ||
    fail "second run: render_done $(count_events "$rid2" render_done), skipped $(count_events "$rid2" render_skipped)"
n=$(ls "$S"/video/final/*.mp4 | wc -l)
[ "$n" -eq 5 ] && ok "still 5 final videos" || fail "$n final videos after the second run"
[ "$(grep -c ',READY,' "$S/timeline/timeline_RAY-DEMO-2_latest.csv")" -eq 5 ] &&
    ok "second timeline READY" || fail "second timeline"
left=$(find "$S" -name '*.tmp*' | wc -l)
[ "$left" -eq 0 ] && ok "no .tmp files" || fail "$left .tmp files left"
# The local renderer's videos clear the guide's low-bitrate gate.
lb=$(ctl report --json 2>/dev/null | json 'j["quality"]["low_bitrate"]')
[ "$lb" = 0 ] && ok "no video under 1 Mbps" ||
    fail "report: $lb videos under 1 Mbps"
finish
