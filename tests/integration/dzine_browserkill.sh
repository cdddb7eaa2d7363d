#!/bin/sh
# kill -9 of the Dzine browser mid-render: the renderer notices at once,
# reports browser_died, kills and reaps every other Chromium process (no
# zombie), exits, and is restarted by the supervisor; the run completes.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
export DZINE_CREDITS_AVAILABLE=100
# The first generation never ends, so the browser is surely mid-render
# when it is killed, however slow the machine.
dz_site "gen_ms=1500&hold=1"
spec=$(make_spec RAY-DZ3)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
pressed() { [ "$(dz_stats 'len(s["presses"])')" -ge 1 ]; }
wait_for 60 pressed || fail "generate never pressed"
rpid=$(child_field render pid)
gen0=$(child_field render generation)
browser() { pgrep -P "$rpid" -f remote-debugging-pipe | head -1; }
bpid=$(browser)
[ -n "$bpid" ] && ok "browser $bpid under renderer $rpid" || fail "no browser found"
tree=$(dz_tree "$rpid")
kill -9 "$bpid"
t0=$(date +%s.%N)
rid=$(run_id_of RAY-DZ3)
noticed() { [ "$(count_events "$rid" browser_died 2>/dev/null)" -ge 1 ]; }
wait_for 10 noticed && ok "browser_died reported after $(python3 -c "print(round($(date +%s.%N)-$t0,2))") s" ||
    fail "browser death not reported"
ctl events --run "$rid" --json | json '[e["payload"] for e in j if e["event_type"]=="browser_died"][0]' |
    grep -q '"status": 137' && ok "report names SIGKILL" || fail "browser_died payload"
restarted() { [ "$(child_field render generation)" -gt "$gen0" ] 2>/dev/null; }
wait_for 10 restarted && ok "renderer restarted (generation $(child_field render generation))" ||
    fail "renderer not restarted"
gone() {
	for p in $tree; do
		[ -d "/proc/$p" ] && return 1
	done
	return 0
}
wait_for 3 gone && ok "every process of that browser gone" ||
    fail "left: $(for p in $tree; do [ -d /proc/$p ] && ps -o pid=,stat=,comm= -p $p; done)"
[ -z "$(dz_zombies)" ] && ok "no zombie Chromium" || fail "zombies: $(dz_zombies)"
wait_for 60 status_is RAY-DZ3 done && ok "run done" || fail "run: $(run_status RAY-DZ3)"
[ "$(dz_presses_of intro)" -eq 2 ] && [ "$(dz_presses_of p1)" -eq 1 ] &&
    ok "killed segment rendered again, the other once" ||
    fail "presses: $(dz_stats '[p["audio"] for p in s["presses"]]')"
[ "$(count_events "$rid" render_paid_again)" -eq 1 ] && ok "the open intent was noticed" ||
    fail "render_paid_again $(count_events "$rid" render_paid_again)"
[ -z "$(dz_browsers)" ] && ok "no browser process left" || fail "browsers left: $(dz_browsers)"
finish
