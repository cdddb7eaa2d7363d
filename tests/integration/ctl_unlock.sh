#!/bin/sh
# unlock: refused on a live lease without --force, allowed with it, a
# manual_unlock event records the previous lock; short operator refused.
. tests/integration/lib.sh
export RV_FAULT="slow:evidence:30000"
spec=$(make_spec RAY-T8)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 60 child_state_is evidence busy || fail "evidence never busy"
out=$(ctl unlock --run RAY-T8 --operator ab --reason test 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -qi "operator" && ok "short operator refused" ||
    fail "short operator: rc $rc $out"
out=$(ctl unlock --run RAY-T8 --operator night-op --reason "stuck?"); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q refused && ok "live lease not unlocked" ||
    fail "unlock without force: rc $rc $out"
status_is RAY-T8 running || fail "status changed"
out=$(ctl unlock --run RAY-T8 --operator night-op --reason "machine swap" --force); rc=$?
[ $rc -eq 0 ] && ok "forced unlock" || fail "force unlock: rc $rc $out"
rid=$(run_id_of RAY-T8)
ctl events --run "$rid" --json | json '[e for e in j if e["event_type"]=="manual_unlock"][-1]["payload"]' >"$T/mu.json"
python3 -c "import json; p=json.load(open('$T/mu.json')); assert p.get('lock_token') or p.get('previous',{}).get('lock_token'), p" &&
    ok "manual_unlock records the previous lock" || fail "manual_unlock payload: $(cat "$T/mu.json")"
[ "$(count_events "$rid" manual_unlock)" -eq 2 ] && ok "both unlock attempts recorded" ||
    fail "manual_unlock events: $(count_events "$rid" manual_unlock)"
# The supervisor's next heartbeat answers ok=false: lost lock, children killed.
lost() { grep -q "ALERT LOST LOCK" "$T/sup.log"; }
wait_for 8 lost && ok "supervisor saw LOST LOCK" || fail "no LOST LOCK alert"
n1=$(ctl events --run "$rid" --json | json 'len([e for e in j if e["source"]=="test-worker" and e["payload"].get("lease_epoch")==1])')
sleep 2
n2=$(ctl events --run "$rid" --json | json 'len([e for e in j if e["source"]=="test-worker" and e["payload"].get("lease_epoch")==1])')
[ "$n1" = "$n2" ] && ok "nothing more written for the lost epoch" || fail "epoch 1 events grew $n1 -> $n2"
finish
