#!/bin/sh
# Operator abort mid-run: the run's children stop within one heartbeat
# interval and the run ends aborted.  Repeated actions apply once.
. tests/integration/lib.sh
export RV_FAULT="slow:voice:20000"
spec=$(make_spec RAY-T7)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 60 child_state_is voice busy || fail "voice never busy"
vpid=$(child_field voice pid)
rid=$(run_id_of RAY-T7)
out=$(ctl abort --run RAY-T7 --operator night-op) || fail "abort: $out"
echo "$out" | grep -q "applied" || fail "abort said: $out"
out2=$(ctl abort --run RAY-T7 --operator night-op)
echo "$out2" | grep -q "already applied" && ok "repeated abort: already applied" || fail "repeat: $out2"
v_gone() { ! alive "$vpid"; }
wait_for 4 v_gone && ok "busy child stopped" || fail "voice still running"
status_is RAY-T7 aborted && ok "run aborted" || fail "status $(run_status RAY-T7)"
[ "$(ctl events --run "$rid" --json | json "len([e for e in j if e['event_type']=='operator_action'])")" -eq 1 ] &&
    ok "abort applied once" || fail "operator_action events"
idle() { [ "$(ctl status --json | json 'j["run"]')" = null ]; }
wait_for 5 idle && ok "supervisor idle" || fail "still holding"
out3=$(ctl approve --run RAY-T7 --operator night-op); rc=$?
[ $rc -eq 1 ] && echo "$out3" | grep -q "not possible" && ok "approve after abort refused" ||
    fail "approve after abort: rc $rc $out3"
finish
