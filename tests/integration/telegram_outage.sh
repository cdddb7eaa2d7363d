#!/bin/sh
# A Telegram outage never touches the pipeline.  While the Bot API answers
# 500, then 429 with retry_after, then nothing at all (connections held
# open), a run whose renderer freezes (panic_browser_frozen) completes in
# its normal time, the lease is never lost, rvw-notify keeps heartbeating
# (it is never restarted), and the alert arrives once Telegram answers
# again, exactly once.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
export RAYVAULT_TELEGRAM_POLL=1 RAYVAULT_BROWSER_STALL_SEC=2 RAYVAULT_QUARANTINE_SEC=3
export RV_FAULT="stall:render:300"
tg_start
spec=$(make_spec RAY-TGO)
ctl enqueue "$spec" >/dev/null
tg_control fault '{"mode": "500", "seconds": 7}' >/dev/null
tg_control fault '{"mode": "429", "seconds": 10, "retry_after": 2}' >/dev/null
tg_control fault '{"mode": "hang", "seconds": 12}' >/dev/null
t0=$(date +%s)
start_sup
wait_for 10 child_state_is notify ready || fail "notify not ready"
npid=$(child_field notify pid)
frozen_sent() {
	[ "$(tg_q 'len([m for m in ok if "(panic_browser_frozen)" in m["params"]["text"]])')" -ge 1 ]
}
wait_for 60 status_is RAY-TGO done && ok "run done during the outage" || fail "run: $(run_status RAY-TGO)"
took=$(( $(date +%s) - t0 ))
[ "$took" -le 40 ] && ok "in its normal time (${took} s)" || fail "run took ${took} s"
rid=$(run_id_of RAY-TGO)
[ "$(count_events "$rid" panic_browser_frozen)" -eq 1 ] && ok "the renderer froze once (panic_browser_frozen)" ||
    fail "panic events: $(count_events "$rid" panic_browser_frozen)"
[ "$(count_events "$rid" lost_lock)" -eq 0 ] && ! grep -q "LOST LOCK" "$T/sup.log" &&
    ok "the lease was never lost" || fail "lease lost"
[ "$(child_field notify pid)" = "$npid" ] && ok "rvw-notify kept heartbeating (never restarted)" ||
    fail "rvw-notify restarted: $npid -> $(child_field notify pid)"
wait_for 40 frozen_sent && ok "alert delivered after recovery" || fail "alert not delivered"
[ "$(tg_q 'len(set(x["status"] for x in r) & {500, 429, "hang"})')" -eq 3 ] &&
    ok "Telegram answered 500, 429 and nothing meanwhile" ||
    fail "faults seen: $(tg_q '[x["status"] for x in r]')"
sleep 1
msg=$(tg_q '[m["params"]["text"] for m in ok if "(panic_browser_frozen)" in m["params"]["text"]]')
[ "$(printf '%s\n' "$msg" | json 'len(j)')" -eq 1 ] && ok "exactly once" || fail "sent $(printf '%s\n' "$msg" | json 'len(j)') times"
printf '%s\n' "$msg" | json 'j[0]' | grep "Video: RAY-TGO" >/dev/null &&
    printf '%s\n' "$msg" | json 'j[0]' | grep "Run: $(echo "$rid" | cut -c1-8)" >/dev/null &&
    printf '%s\n' "$msg" | json 'j[0]' | grep "quarantine" >/dev/null &&
    ok "the alert names the run and says what happens next" || fail "text: $msg"
"$BIN/rvsup" stop >/dev/null 2>&1
wait "$SUP_PID" 2>/dev/null
tg_no_token
finish
