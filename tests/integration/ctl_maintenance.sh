#!/bin/sh
# make maintenance as the guide's recovery recipes use it: the index
# refresh is real (a new video is indexed; a video whose probe failed is
# probed again once it is fixed), only the orphan cleanup is a dry run;
# make maintenance-apply CONFIRM=YES quarantines the old orphans and
# deletes nothing.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
S="$RAYVAULT_STATE_DIR"
F="$S/video/final"
mkdir -p "$F"
ctl enqueue "$(make_spec RAY-M1)" >/dev/null || fail "enqueue"

mk() {	# the operator's make, on this state
	rc=0
	make -s --no-print-directory -f "$ROOT/Makefile" RVCTL="$BIN/rvctl" \
	    "$@" >"$T/out" 2>&1 </dev/null || rc=$?
}
video() {	# video PATH: a real 1 s H.264 + AAC MP4
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc=s=320x240:r=25 \
	    -f lavfi -i sine=f=440:r=48000 -t 1 -c:v libx264 -c:a aac \
	    -f mp4 "file:$1" || fail "ffmpeg $1"
}
indexed() {	# indexed NAME: the index has an entry for video/final/NAME
	python3 -c "import json,sys
j=json.load(open('$S/video/index.json'))
sys.exit(0 if any(v['path']=='video/final/$1' for v in j['items'].values()) else 1)" 2>/dev/null
}
now=$(date +%s)
junk() {	# junk NAME HOURS_OLD: an orphan of 600 KB no probe accepts
	head -c 614400 /dev/zero >"$F/$1"
	touch -d "@$((now - $2 * 3600))" "$F/$1"
}

good=V_RAY-M1_intro_1a2b3c4d.mp4
bad=V_RAY-M1_p1_2b3c4d5e.mp4
video "$F/$good"
echo "not a video" >"$F/$bad"
junk old-a.mp4 48
junk old-b.mp4 47
junk old-c.mp4 46

mk maintenance
[ "$rc" -eq 2 ] && grep -q "Error 1$" "$T/out" &&
    ok "make maintenance: rvctl exit 1 (a probe failed)" ||
    fail "make maintenance: exit $rc: $(cat "$T/out")"
indexed "$good" && ok "the refresh was real: $good indexed" ||
    fail "$good not indexed after make maintenance"
indexed "$bad" && fail "$bad indexed although it is no video" ||
    ok "$bad not indexed (probe failed)"
grep -q "dry run" "$T/out" && [ -f "$F/old-a.mp4" ] &&
    ok "the cleanup was a dry run: old-a.mp4 still there" ||
    fail "cleanup not dry: $(cat "$T/out")"
grep -q "^quality " "$T/out" && ok "the report summary follows" ||
    fail "no report summary: $(cat "$T/out")"

video "$F/$bad"
mk maintenance
indexed "$bad" && ok "fixed $bad probed again and indexed" ||
    fail "$bad not indexed after it was fixed: $(cat "$T/out")"

mk maintenance-apply CONFIRM=YES
q=$(ls "$S/video/quarantine" 2>/dev/null | grep -c 'old-a')
[ "$q" -ge 1 ] && [ ! -e "$F/old-a.mp4" ] &&
    ok "maintenance-apply quarantined the oldest orphan" ||
    fail "maintenance-apply: quarantine has $(ls "$S/video/quarantine" 2>/dev/null): $(cat "$T/out")"
[ -f "$F/old-b.mp4" ] && [ -f "$F/old-c.mp4" ] && [ -f "$F/$good" ] &&
    [ -f "$F/$bad" ] && ok "the newest orphans and every indexed video kept" ||
    fail "maintenance-apply removed too much: $(ls "$F")"
[ "$(find "$S" -name 'old-*' | wc -l)" -eq 3 ] && ok "nothing deleted" ||
    fail "orphans deleted: $(find "$S" -name 'old-*')"
finish
