#!/bin/sh
# The Dzine page freezes mid-generation (a JavaScript busy loop): the
# browser process still answers, but the page's progress stops, so the
# renderer heartbeats without progress and the supervisor declares
# panic_browser_frozen within the stall budget + 1 s, kills the renderer
# with every Chromium process, keeps its pid and the lease heartbeats,
# and after the quarantine re-renders only the frozen segment.  The
# browser's TMPDIR is the renderer's scratch folder (Chromium's singleton
# folder lands there), swept with the killed renderer's profile.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
# The budget bounds the panic latency asserted below; a Chromium start on
# a loaded machine must progress within it.
STALL=20
export RAYVAULT_BROWSER_STALL_SEC=$STALL RAYVAULT_QUARANTINE_SEC=3
# a progress change reaches the supervisor within one heartbeat
export RAYVAULT_CHILD_HEARTBEAT_MS=500
export DZINE_CREDITS_AVAILABLE=100
dz_site "freeze=2"
spec=$(make_spec RAY-DZ2)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
sup0=$SUP_PID
frozen() { [ "$(dz_stats 's["frozen_at"] is not None')" = true ]; }
wait_for 60 frozen || fail "the page never froze"
rpid=$(child_field render pid)
tree=$(dz_tree "$rpid")
[ -n "$tree" ] && ok "renderer $rpid has $(echo $tree | wc -w) browser processes" ||
    fail "no browser under the renderer"
# the browser itself, the renderer's child (its own children rewrite the
# memory that held their environment with their titles)
bpid=$(ps -o pid= --ppid "$rpid" | head -1 | tr -d ' ')
btmp=$(tr '\0' '\n' <"/proc/$bpid/environ" 2>/dev/null | sed -n 's/^TMPDIR=//p')
case $btmp in
"$RAYVAULT_STATE_DIR/tmp/render.$rpid.btmp."*)
	ok "the browser's TMPDIR is the renderer's scratch folder" ;;
*) fail "browser $bpid TMPDIR: '$btmp'" ;;
esac
ls -d "$btmp"/org.chromium.Chromium.* >/dev/null 2>&1 &&
    ok "Chromium keeps its singleton folder there" ||
    fail "nothing of Chromium's in $btmp: $(ls -A "$btmp" 2>&1)"
rid=$(run_id_of RAY-DZ2)
panicked() { [ "$(count_events "$rid" panic_browser_frozen 2>/dev/null)" -ge 1 ]; }
wait_for $((STALL + 10)) panicked || fail "no panic_browser_frozen"
lat=$(ctl events --run "$rid" --json | python3 -c "
import json,sys,datetime
e=[e for e in json.load(sys.stdin) if e['event_type']=='panic_browser_frozen'][0]
t=datetime.datetime.fromisoformat(e['occurred_at'].replace('Z','+00:00')).timestamp()
print(round(t-$(dz_stats 's["frozen_at"]'),2))")
# Past the budget: one heartbeat to report the last progress, the tree
# kill, the event write (on a loaded machine up to a second each).
python3 -c "import sys; sys.exit(0 if $lat <= $STALL + 3 else 1)" &&
    ok "panic_browser_frozen $lat s after the freeze (budget $STALL s)" ||
    fail "panic_browser_frozen $lat s after the freeze"
gone() {
	for p in $tree $rpid; do
		[ -d "/proc/$p" ] && return 1
	done
	return 0
}
wait_for 2 gone && ok "renderer and every browser process gone" ||
    fail "left: $(for p in $tree $rpid; do [ -d /proc/$p ] && ps -o pid=,stat=,comm= -p $p; done)"
[ "$SUP_PID" = "$sup0" ] && sup_up && ok "supervisor pid unchanged" ||
    fail "supervisor changed or gone"
wait_for 60 status_is RAY-DZ2 done && ok "run done after the quarantine" ||
    fail "run: $(run_status RAY-DZ2)"
[ "$(child_field render generation)" -ge 2 ] && [ "$(child_field render pid)" != "$rpid" ] &&
    ok "renderer restarted" || fail "renderer generation $(child_field render generation)"
left=$(ls -d "$RAYVAULT_STATE_DIR/tmp/render."* 2>/dev/null)
[ -z "$left" ] && [ ! -e "$btmp" ] &&
    ok "the killed renderer's folders are swept, the browser's TMPDIR with them" ||
    fail "left in state/tmp: $left"
[ "$(dz_presses_of p1)" -eq 2 ] && ok "frozen segment rendered once more" ||
    fail "p1 presses: $(dz_presses_of p1)"
[ "$(dz_presses_of intro)" -eq 1 ] && ok "other segment not re-rendered" ||
    fail "intro presses: $(dz_presses_of intro)"
[ "$(count_events "$rid" panic_browser_frozen)" -eq 1 ] || fail "more than one panic"
[ "$(count_events "$rid" render_done)" -eq 2 ] || fail "render_done $(count_events "$rid" render_done)"
gap=$(ctl events --run "$rid" --json | python3 -c '
import json,sys,datetime
ev=[e for e in json.load(sys.stdin) if e["event_type"]=="lease_heartbeat"]
ts=[datetime.datetime.fromisoformat(e["occurred_at"].replace("Z","+00:00")).timestamp() for e in ev]
print(round(max([b-a for a,b in zip(ts,ts[1:])] or [99]),2))')
python3 -c "import sys; sys.exit(0 if $gap <= $RAYVAULT_HEARTBEAT_INTERVAL_SEC + 1.5 else 1)" &&
    ok "lease heartbeats uninterrupted (max gap $gap s)" || fail "lease heartbeat gap $gap s"
[ -z "$(dz_browsers)" ] && ok "no browser process left" || fail "browsers left: $(dz_browsers)"
[ -z "$(dz_zombies)" ] || fail "zombies: $(dz_zombies)"
finish
