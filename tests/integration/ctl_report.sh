#!/bin/sh
# SPDX-License-Identifier: ISC
#
# ctl_report.sh: what rvctl report says of each segment's final video, on
# 3 done runs x 4 segments.  A segment is READY when its file is there,
# MISSING when it is not, and the two ways of looking agree: the listing
# of video/final (a report of every run) and a stat of each file (report
# --video): a file removed, a symlink to a real file (READY), a dangling
# symlink (MISSING); the missing videos of a done run make it exit 1.
# With index.json.cache and without it the report is the same, and an
# index edited by hand after its cache was written (one bitrate lowered,
# the length unchanged) is what the report reads, the cache untouched.
. tests/integration/lib.sh
S="$RAYVAULT_STATE_DIR"
F="$S/video/final"
cache="$S/video/index.json.cache"
mkdir -p "$S"
"$TOOLS/rv_storeprep" "$S/rayvault.db" bulk "$S" 3 4 || fail "bulk state"
[ -s "$cache" ] && ok "the index was written with its cache" ||
    fail "no $cache"

all=$(ctl report --json) || fail "report: exit $?"
[ "$(echo "$all" | json 'sum(r["ready"] for r in j["runs"])')" = 12 ] &&
    [ "$(echo "$all" | json 'j["quality"]["missing"]')" = 0 ] &&
    ok "12 segments READY, none missing" || fail "report: $all"
mv "$cache" "$T/cache.aside"
[ "$(ctl report --json)" = "$all" ] &&
    ok "the same report without the cache" || fail "differs without the cache"
mv "$T/cache.aside" "$cache"

run1=$(run_id_of RAY-B001)
file() { ls "$F"/V_"${run1}_$1"_*.mp4; }
rm "$(file seg-1)" || fail "rm seg-1"
f2=$(file seg-2) && mv "$f2" "$T/elsewhere.mp4" && ln -s "$T/elsewhere.mp4" "$f2" ||
    fail "symlink seg-2"
f3=$(file seg-3) && rm "$f3" && ln -s "$T/nothing.mp4" "$f3" ||
    fail "dangling symlink seg-3"
rc=0
all=$(ctl report --json) || rc=$?
one=$(ctl report --video RAY-B001 --json)
r1='[r for r in j["runs"] if r["video_id"]=="RAY-B001"][0]'
[ "$(echo "$all" | json "$r1[\"ready\"]")" = 2 ] &&
    [ "$(echo "$all" | json "$r1[\"missing\"]")" = 2 ] &&
    [ "$(echo "$all" | json "$r1[\"first_missing\"]")" = seg-1 ] &&
    ok "every run: 2 READY (one through a symlink), 2 MISSING, seg-1 first" ||
    fail "RAY-B001 in the whole report: $(echo "$all" | json "$r1")"
st=$(echo "$one" | json '" ".join(s["segment_id"]+"="+s["status"] for s in j["runs"][0]["segment_list"])')
[ "$st" = "seg-0=READY seg-1=MISSING seg-2=READY seg-3=MISSING" ] &&
    ok "--video, a stat per file, agrees: $st" || fail "--video: $st"
[ "$rc" -eq 1 ] && ok "missing videos of a done run: exit 1" ||
    fail "report exit $rc"
[ "$(echo "$all" | json '[r["ready"] for r in j["runs"]]')" = "[2, 4, 4]" ] &&
    ok "the other runs unchanged" ||
    fail "ready by run: $(echo "$all" | json '[r["ready"] for r in j["runs"]]')"

# the index edited by hand: one bitrate of RAY-B002 under 1 Mbps, same length
run2=$(run_id_of RAY-B002)
before=$(cksum <"$cache")
python3 - "$S/video/index.json" "$run2" <<'PY' || fail "edit the index"
import sys
p, run = sys.argv[1], sys.argv[2]
t = open(p).read()
i = t.index('"video/final/V_%s_seg-1_' % run)
old = '"bitrate_bps":\t2000000'
k = t.index(old, i)
n = t[:k] + '"bitrate_bps":\t  90000' + t[k + len(old):]
assert len(n) == len(t)
open(p, "w").write(n)
PY
rc=0
all=$(ctl report --json) || rc=$?
[ "$(echo "$all" | json 'j["quality"]["low_bitrate"]')" = 1 ] &&
    [ "$(echo "$all" | json '[r["low_bitrate"] for r in j["runs"]]')" = "[0, 1, 0]" ] &&
    ok "the edited index is read, not its stale cache: RAY-B002 has a video under 1 Mbps" ||
    fail "low bitrate: $(echo "$all" | json 'j["quality"]')"
[ "$(cksum <"$cache")" = "$before" ] && ok "report left the cache alone" ||
    fail "report rewrote the cache"
finish
