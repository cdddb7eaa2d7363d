#!/bin/sh
# kill -9 of the supervisor: its children are gone within 2 s; a new
# supervisor takes the pid file, kills leftovers, recovers its run
# (is_recovery) and resumes from the checkpoint without redoing finished
# stages.
. tests/integration/lib.sh
export RV_FAULT="slow:render:4000"
spec=$(make_spec RAY-T5)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 60 child_state_is render busy || fail "render never busy"
kids=$(ctl status --json | json '" ".join(str(c["pid"]) for c in j["children"] if c["pid"]>0)')
kill -9 "$SUP_PID"
t0=$(date +%s.%N)
any_alive() { for p in $kids; do alive "$p" && return 0; done; return 1; }
none_alive() { ! any_alive; }
wait_for 3 none_alive
t1=$(date +%s.%N)
if any_alive; then fail "children alive after supervisor death"; else
	python3 -c "import sys; sys.exit(0 if $t1-$t0 <= 2.0 else 1)" &&
	    ok "children gone $(python3 -c "print(round($t1-$t0,2))") s after kill -9" ||
	    fail "children took $(python3 -c "print(round($t1-$t0,2))") s"
fi
ev_before=$(ls "$RAYVAULT_STATE_DIR"/audio/*.wav | wc -l)
start_sup
wait_for 120 status_is RAY-T5 done && ok "recovered run done" || fail "run: $(run_status RAY-T5)"
rid=$(run_id_of RAY-T5)
ctl events --run "$rid" --json | json '[e["payload"].get("is_recovery") for e in j if e["event_type"]=="run_claimed"]' |
    grep -q 'true' && ok "second claim was a recovery" || fail "no recovery claim"
[ "$(count_events "$rid" evidence_collected)" -eq 1 ] && ok "evidence not redone" ||
    fail "evidence collected $(count_events "$rid" evidence_collected) times"
ev_after=$(ls "$RAYVAULT_STATE_DIR"/audio/*.wav | wc -l)
[ "$ev_before" -eq "$ev_after" ] && ok "voice not redone" || fail "audio files $ev_before -> $ev_after"
finish
