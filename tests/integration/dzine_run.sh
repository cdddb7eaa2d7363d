#!/bin/sh
# RAYVAULT_RENDERER=dzine through a real headless Chromium and the fake
# Dzine site: the preflight reads the balance on the page, every segment
# is generated once, downloaded, probed and indexed, and the credits
# spent (ledger and site) equal the segments rendered.  Chromium runs
# with the scrubbed environment of the tools; as root (and only then) it
# runs without its sandbox, and the render child says so in the log.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
dz_site "credits=50&cost=2"
export DZINE_CREDITS_PER_SEGMENT=2
spec=$(make_spec RAY-DZ1)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
wait_for 60 status_is RAY-DZ1 done && ok "run done" || fail "run: $(run_status RAY-DZ1)"
S=$RAYVAULT_STATE_DIR
rid=$(run_id_of RAY-DZ1)
n=$(ls "$S"/video/final/V_*.mp4 2>/dev/null | wc -l)
[ "$n" -eq 2 ] && ok "2 final videos" || fail "$n final videos"
python3 -c "
import json; j=json.load(open('$S/video/index.json'))
assert len(j['items'])==2, j['items']
for v in j['items'].values():
    assert v['video_codec']=='h264' and v['audio_codec']=='aac', v
" && ok "2 indexed h264/aac exports" || fail "index: $(head -c 300 "$S/video/index.json")"
[ "$(dz_stats 'len(s["presses"])')" -eq 2 ] && ok "2 generate presses" ||
    fail "presses: $(dz_stats 's["presses"]')"
[ "$(dz_stats 's["exports"]')" -eq 2 ] && ok "2 exports downloaded" ||
    fail "exports: $(dz_stats 's["exports"]')"
[ "$(dz_stats 's["balance"]')" -eq 46 ] && ok "site balance 50 - 2 x 2" ||
    fail "balance: $(dz_stats 's["balance"]')"
spent=$(sqlite3 "$S/rayvault.db" "SELECT COALESCE(SUM(credits),0) FROM credit_ledger WHERE run_id='$rid' AND state='done'")
rows=$(sqlite3 "$S/rayvault.db" "SELECT COUNT(*) FROM credit_ledger WHERE run_id='$rid'")
[ "$spent" -eq 4 ] && [ "$rows" -eq 2 ] && ok "ledger: 2 renders, 4 credits" ||
    fail "ledger: $rows rows, $spent credits"
[ "$(count_events "$rid" dzine_balance)" -ge 1 ] && ok "preflight read the balance" ||
    fail "no dzine_balance event"
[ "$(count_events "$rid" render_done)" -eq 2 ] || fail "render_done $(count_events "$rid" render_done)"
left=$(ls -d "$S"/tmp/chromium.* "$S"/tmp/render.*.chromium.* 2>/dev/null)
[ -z "$left" ] && ok "no profile left" || fail "browser profile left in tmp: $left"
[ -z "$(dz_browsers)" ] && ok "no browser process left" || fail "browsers left: $(dz_browsers)"
[ -z "$(dz_zombies)" ] || fail "zombies: $(dz_zombies)"
if [ "$(id -u)" = 0 ]; then
	grep -q "running as root: Chromium starts with --no-sandbox" \
	    "$T/sup.log" && ok "root: --no-sandbox is logged" ||
	    fail "no log line about --no-sandbox as root"
else
	grep -q "no-sandbox" "$T/sup.log" &&
	    fail "a normal user's Chromium lost its sandbox" ||
	    ok "a normal user keeps the sandbox"
fi
finish
