#!/bin/sh
# The idle rhythm: a child without a task heartbeats every
# RAYVAULT_CHILD_IDLE_HEARTBEAT_MS and the supervisor answers at that
# rhythm, so an idle machine exchanges a few messages a minute; a task
# brings back RAYVAULT_CHILD_HEARTBEAT_MS on both sides at once.
#  - idle children stay silent longer than liveness x the working interval
#    and nobody is judged unresponsive for it (no restart in more than
#    liveness x the idle interval);
#  - an idle child that froze is caught as soon as it is given work: killed
#    as unresponsive, restarted, its task re-dispatched, the run done;
#  - idle children leave by themselves once the supervisor has been silent
#    for liveness x the idle interval, not after the working one;
#  - a reload (SIGHUP) that asks for a faster working rhythm changes no
#    child's (they read theirs at start, and the supervisor goes by the
#    rhythm each announces): a run after it sees no child judged silent;
#  - a child restarted after .env changed gets the supervisor's intervals
#    in its environment (which wins over .env) and keeps its siblings'
#    rhythm.
# All bounds come from the two settings below, in .env so that a reload
# can try to change them.
. tests/integration/lib.sh
unset RAYVAULT_CHILD_HEARTBEAT_MS RAYVAULT_CHILD_IDLE_HEARTBEAT_MS
hb_ms=200 idle_ms=2500
printf 'RAYVAULT_CHILD_HEARTBEAT_MS=%s\nRAYVAULT_CHILD_IDLE_HEARTBEAT_MS=%s\n' \
    $hb_ms $idle_ms >"$T/.env"
fast=$((3 * hb_ms))
idle_limit=$((3 * idle_ms))
start_sup
wait_for 10 children_ready || fail "children not ready: $(ctl status 2>&1)"

# Watch for longer than liveness x the idle interval.
max_ago=0
end=$(( $(date +%s%N) / 1000000 + idle_limit + 1500 ))
while [ "$(( $(date +%s%N) / 1000000 ))" -lt "$end" ]; do
	a=$(ctl status --json | json 'max(c["last_heartbeat_ms_ago"] for c in j["children"] if c["state"]=="ready")')
	[ "$a" -gt "$max_ago" ] && max_ago=$a
	sleep 0.2
done
[ "$max_ago" -gt "$fast" ] &&
    ok "idle children heartbeat slower than the working rhythm (silent up to $max_ago ms > $fast ms)" ||
    fail "idle children kept the working rhythm (longest silence $max_ago ms)"
gens=$(ctl status --json | json '" ".join(str(c["generation"]) + "/" + str(c["restarts"]) for c in j["children"])')
[ "$gens" = "1/0 1/0 1/0 1/0 1/0" ] &&
    ok "no idle child judged unresponsive in $((idle_limit + 1500)) ms" ||
    fail "idle children restarted: generation/restarts $gens"

n=$(ctl status | grep -c "^child .* (every $idle_ms ms)$")
[ "$n" = 5 ] && ok "status shows each idle child's rhythm" ||
    fail "status: $(ctl status | grep '^child')"

# An idle child that froze, then given work.
pid=$(child_field evidence pid)
kill -STOP "$pid"
ctl enqueue "$(make_spec RAY-IR1)" >/dev/null || fail "enqueue"
gone() { ! alive "$pid"; }
wait_for 10 gone && ok "the frozen idle child was killed once given work" ||
    fail "frozen idle evidence child $pid still there"
grep -q "evidence.*unresponsive" "$T/sup.log" &&
    ok "and booked as unresponsive" || fail "no unresponsive line: $(tail -5 "$T/sup.log")"
wait_for 60 status_is RAY-IR1 done && ok "its task re-dispatched, the run done" ||
    fail "run: $(run_status RAY-IR1)"

# A silent supervisor: idle children wait for liveness x the idle interval.
wait_for 10 children_ready || fail "children not ready after the run"
pids=$(ctl status --json | json '" ".join(str(c["pid"]) for c in j["children"])')
kill -STOP "$SUP_PID"
sleep $(( (fast + 2000) / 1000 + 1 ))
n=0
for p in $pids; do alive "$p" && n=$((n + 1)); done
[ "$n" = 5 ] && ok "idle children still there after the working limit" ||
    fail "only $n of 5 idle children outlived $((fast + 2000)) ms of silence"
all_gone() {
	for p in $pids; do alive "$p" && return 1; done
	return 0
}
wait_for $(( (idle_limit + 2000) / 1000 + 5 )) all_gone &&
    ok "idle children left after the idle limit of supervisor silence" ||
    fail "idle children outlived $((idle_limit + 2000)) ms of silence"
kill -CONT "$SUP_PID"
wait_for 10 children_ready && ok "the supervisor restarted them" ||
    fail "children after SIGCONT: $(ctl status 2>&1 | grep child)"

# A reload that asks for a faster working rhythm: a busy child reporting
# every 200 ms is not judged by 50 ms.
gens=$(ctl status --json | json '" ".join(str(c["generation"]) for c in j["children"])')
printf 'RAYVAULT_CHILD_HEARTBEAT_MS=50\nRAYVAULT_CHILD_IDLE_HEARTBEAT_MS=%s\n' \
    $idle_ms >"$T/.env"
kill -HUP "$SUP_PID"
wait_for 5 grep -q "heartbeat intervals change only with a restart" "$T/sup.log" &&
    ok "a reload keeps the child heartbeat intervals, saying so" ||
    fail "no word on the heartbeat intervals"
from=$(($(wc -l <"$T/sup.log") + 1))
ctl enqueue "$(make_spec RAY-IR2)" >/dev/null || fail "enqueue"
wait_for 60 status_is RAY-IR2 done || fail "run after the reload: $(run_status RAY-IR2)"
! tail -n "+$from" "$T/sup.log" | grep -q "unresponsive" &&
    [ "$(ctl status --json | json '" ".join(str(c["generation"]) for c in j["children"])')" = "$gens" ] &&
    ok "a run after the reload: no child judged silent" ||
    fail "children killed after the reload: $(tail -n "+$from" "$T/sup.log" | grep unresponsive | head -3)"

# A child restarted after .env changed runs at the supervisor's rhythm,
# like its siblings, not at the new file's.
printf 'RAYVAULT_CHILD_HEARTBEAT_MS=100\nRAYVAULT_CHILD_IDLE_HEARTBEAT_MS=1500\n' \
    >"$T/.env"
vpid=$(child_field voice pid)
kill -9 "$vpid"
restarted() { [ "$(child_field voice pid)" != "$vpid" ] && children_ready; }
wait_for 40 restarted || fail "voice not restarted: $(ctl status 2>&1 | grep voice)"
voice_idle() { ctl status | grep -q "^child  *voice .* (every $idle_ms ms)\$"; }
wait_for 5 voice_idle &&
    ok "a child restarted after .env changed heartbeats at the supervisor's idle rhythm ($idle_ms ms, not 1500)" ||
    fail "restarted voice: $(ctl status 2>&1 | grep '^child  *voice')"
finish
