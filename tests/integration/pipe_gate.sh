#!/bin/sh
# The conflicting sample gates before anything is rendered; approve lets it
# complete.  On a fresh copy, refetch with unchanged pages ends in
# panic_integrity_failure, still waiting for the operator.
. tests/integration/lib.sh
cp -r "$ROOT/examples/ray-conflict" "$T/conflict"
vid=$(python3 -c "import json; print(json.load(open('$T/conflict/run.json'))['video_id'])")
ctl enqueue "$T/conflict/run.json" >/dev/null || fail "enqueue"
start_sup
wait_for 60 status_is "$vid" waiting_approval && ok "gated: waiting_approval" ||
    fail "status $(run_status "$vid")"
rid=$(run_id_of "$vid")
sleep 2
[ "$(count_events "$rid" render_started)" -eq 0 ] && [ -z "$(ls "$RAYVAULT_STATE_DIR"/video/final/ 2>/dev/null)" ] &&
    ok "nothing rendered while gated" || fail "rendered while gated"
ctl events --run "$rid" --json | json '[e["payload"] for e in j if e["event_type"]=="gate_opened"][0]' |
    grep -qi volt && ok "gate event carries the voltage diff" || fail "gate event without diff"
ctl runs --json | json "[r['worker_state'] for r in j][0]" | grep -qx waiting &&
    ok "worker state waiting" || fail "worker state $(ctl runs --json | json "[r['worker_state'] for r in j][0]")"
ctl approve --run "$vid" --operator night-op | grep -q applied || fail "approve"
wait_for 120 status_is "$vid" done && ok "approved run completes" || fail "after approve: $(run_status "$vid")"
"$BIN/rvsup" stop >/dev/null
wait "$SUP_PID" 2>/dev/null
# fresh copy: refetch with unchanged pages
export RAYVAULT_STATE_DIR="$T/state2" RAYVAULT_SPOOL_DIR="$T/spool2"
ctl enqueue "$T/conflict/run.json" >/dev/null || fail "enqueue 2"
start_sup
wait_for 60 status_is "$vid" waiting_approval || fail "second copy not gated"
ctl refetch --run "$vid" --operator night-op | grep -q applied || fail "refetch"
rid=$(run_id_of "$vid")
integrity() { [ "$(count_events "$rid" panic_integrity_failure)" -ge 1 ]; }
wait_for 60 integrity && ok "conflict survived the refetch: panic_integrity_failure" ||
    fail "no panic_integrity_failure"
wait_for 10 status_is "$vid" waiting_approval && ok "waits for the operator" || fail "status $(run_status "$vid")"
[ "$(count_events "$rid" evidence_collected)" -eq 2 ] && ok "evidence collected twice (refetch)" ||
    fail "evidence_collected $(count_events "$rid" evidence_collected)"
[ "$(count_events "$rid" render_started)" -eq 0 ] && ok "still nothing rendered" || fail "rendered"
finish
