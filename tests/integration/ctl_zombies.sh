#!/bin/sh
# rvctl orphans / clean-zombies: refuses (exit 65, nothing moved) with a
# missing or a corrupt index; with a valid index only orphans older than
# 6 h and of at least 500 KB move, the 2 newest never, indexed videos
# never; --delete removes those older than 48 h; index-refresh --rebuild
# sets a corrupt index aside.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
F="$RAYVAULT_STATE_DIR/video/final"
Q="$RAYVAULT_STATE_DIR/video/quarantine"
IDX="$RAYVAULT_STATE_DIR/video/index.json"
KEEP=V_0d9c6a3e-6f1b-4d8e-9c55-3f7d2a1b0c9e_intro_1a2b3c4d.mp4
mkdir -p "$F"
now=$(date +%s)

mk() {	# mk NAME KB HOURS_OLD
	dd if=/dev/zero of="$F/$1" bs=1024 count="$2" 2>/dev/null
	touch -d "@$((now - $3 * 3600))" "$F/$1"
}

run_ctl() {	# run_ctl ARGS: output in $T/out, exit code in $rc
	rc=0
	ctl "$@" >"$T/out" 2>&1 || rc=$?
}

mk "$KEEP" 700 30
mk young.mp4 600 1
mk new.mp4 600 7
mk old-b.mp4 600 9
mk old-a.mp4 600 10
mk old-c.mp4 600 20
mk ancient.mp4 600 50
mk small.mp4 100 30
ls -l "$F" >"$T/before"

run_ctl clean-zombies
[ "$rc" -eq 65 ] && grep -q "index missing: refusing to clean" "$T/out" &&
    ok "missing index: refused, exit 65" || fail "missing index: rc $rc $(cat "$T/out")"
run_ctl orphans
[ "$rc" -eq 65 ] && ok "orphans without an index: exit 65" || fail "orphans: rc $rc"
if ls -l "$F" | cmp -s - "$T/before" && [ -z "$(ls "$Q" 2>/dev/null)" ]; then
	ok "nothing moved"
else
	fail "files moved without an index"
fi

printf '{"version":"1.0","schema_version":2,"items":{' >"$IDX"
cp "$IDX" "$T/corrupt"
run_ctl clean-zombies --delete
[ "$rc" -eq 65 ] && grep -q "corrupt" "$T/out" && grep -q "index-refresh --rebuild" "$T/out" &&
    ok "corrupt index: refused, exit 65, says how to rebuild" || fail "corrupt: rc $rc $(cat "$T/out")"
cmp -s "$IDX" "$T/corrupt" && ls -l "$F" | cmp -s - "$T/before" &&
    ok "corrupt index untouched, nothing moved" || fail "corrupt index changed"

st=$(stat -c %i "$F/$KEEP"); dev=$(stat -c %d "$F/$KEEP")
cat >"$IDX" <<EOF
{"version":"1.0","schema_version":2,"items":{"1a2b3c4d":{
 "path":"video/final/$KEEP","run_id":"0d9c6a3e-6f1b-4d8e-9c55-3f7d2a1b0c9e",
 "segment_id":"intro","file_bytes":716800,"file_mtime_ns":0,"inode":$st,
 "device":$dev,"refreshed_at":"","duration":3.0,"bitrate_bps":2000000,
 "video_codec":"h264","audio_codec":"aac"}}}
EOF
run_ctl orphans --json
n=$(json 'len(j)' <"$T/out")
[ "$rc" -eq 1 ] && [ "$n" -eq 7 ] && ! grep -q "$KEEP" "$T/out" &&
    ok "orphans: 7 files, the indexed one not among them (exit 1)" || fail "orphans: rc $rc n $n"

run_ctl clean-zombies --dry-run
ls -l "$F" | cmp -s - "$T/before" && [ "$rc" -eq 0 ] && grep -q "4 would be quarantined" "$T/out" &&
    ok "dry run: 4 would move, nothing moved" || fail "dry run: rc $rc $(cat "$T/out")"

run_ctl clean-zombies
moved=$(ls "$Q" | sort | tr '\n' ' ')
left=$(ls "$F" | sort | tr '\n' ' ')
[ "$rc" -eq 0 ] && [ "$moved" = "ancient.mp4 old-a.mp4 old-b.mp4 old-c.mp4 " ] &&
    ok "quarantined exactly the old orphans of 500 KB and more" || fail "moved: $moved (rc $rc)"
[ "$left" = "$KEEP new.mp4 small.mp4 young.mp4 " ] &&
    ok "kept: indexed, 2 newest, small" || fail "left: $left"
grep -q "kept .*small.mp4: smaller than 500 KB" "$T/out" && grep -q "new.mp4: one of the 2 newest" "$T/out" &&
    ok "each kept file says why" || fail "notes: $(cat "$T/out")"
[ "$(json 'j["meta_info"]["cleanup_history"][-1]["quarantined"]' <"$IDX")" = 4 ] &&
    ok "cleanup recorded in the index history" || fail "no cleanup_history"

mk ancient2.mp4 600 50
mk old-d.mp4 600 12
run_ctl clean-zombies --delete
[ "$rc" -eq 0 ] && [ ! -e "$F/ancient2.mp4" ] && [ ! -e "$Q/ancient2.mp4" ] && [ -e "$Q/old-d.mp4" ] &&
    [ -e "$F/young.mp4" ] && [ -e "$F/new.mp4" ] &&
    ok "--delete: older than 48 h deleted, 6-48 h quarantined, 2 newest kept" ||
    fail "--delete: rc $rc $(ls "$F" "$Q")"

run_ctl clean-zombies --min-size-kb abc
[ "$rc" -eq 64 ] && grep -q "whole number" "$T/out" && ok "bad --min-size-kb: exit 64" ||
    fail "bad number: rc $rc"

cp "$T/corrupt" "$IDX"
run_ctl index-refresh --rebuild
[ -f "$IDX" ] && json 'j["version"]' <"$IDX" >/dev/null 2>&1 &&
    ls "$RAYVAULT_STATE_DIR"/video/ | grep -q "index.json.corrupt" &&
    ok "--rebuild set the corrupt index aside and wrote a new one (rc $rc)" ||
    fail "rebuild: rc $rc $(cat "$T/out"; ls "$RAYVAULT_STATE_DIR/video")"
finish
