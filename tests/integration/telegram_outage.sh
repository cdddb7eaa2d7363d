#!/bin/sh
# A Telegram outage never touches the pipeline.  While the Bot API answers
# 500, then 429 with retry_after, then nothing at all (connections held
# open), the conflicting sample run gates (the store records the gate
# whatever Telegram does), the operator approves it with rvctl, which
# names the gate, before any message got through, and the run completes;
# the lease is never lost, rvw-notify keeps heartbeating (it is never
# restarted), and the gate alert arrives once Telegram answers again,
# exactly once, its buttons naming the gate that was decided.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
export RAYVAULT_TELEGRAM_POLL=1
tg_start
cp -r "$ROOT/examples/ray-conflict" "$T/conflict"
vid=$(python3 -c "import json; print(json.load(open('$T/conflict/run.json'))['video_id'])")
ctl enqueue "$T/conflict/run.json" >/dev/null || fail "enqueue"
# The first requests get 500, the next ones 429, then no answer at all
# until 40 s from now (counts, not windows, so a slow start still meets
# every fault).
tg_control fault '{"mode": "500", "count": 2}' >/dev/null
tg_control fault '{"mode": "429", "count": 2, "retry_after": 2}' >/dev/null
tg_control fault '{"mode": "hang", "seconds": 40}' >/dev/null
start_sup
wait_for 10 child_state_is notify ready || fail "notify not ready"
npid=$(child_field notify pid)
gate_sent() {
	[ "$(tg_q 'len([m for m in ok if "(gate_opened)" in m["params"]["text"]])')" -ge 1 ]
}
wait_for 45 status_is "$vid" waiting_approval && ok "the run gated during the outage" ||
    fail "not gated: $(run_status "$vid")"
rid=$(run_id_of "$vid")
g=$(ctl runs --json | json "[r['gate_nonce'] for r in j if r['video_id']=='$vid'][0]" | cut -c1-8)
out=$(ctl approve --run "$vid" --operator night-op) || fail "approve: $out"
echo "$out" | grep -q "^approved run $vid gate $g " && ok "rvctl approved gate $g" || fail "approve said: $out"
[ "$(tg_sent)" -eq 0 ] && ok "decided before any message got through: nothing waited for Telegram" ||
    fail "a message went through before the decision ($(tg_sent))"
wait_for 180 status_is "$vid" done && ok "run done" || fail "run: $(run_status "$vid")"
[ "$(count_events "$rid" lost_lock)" -eq 0 ] && ! grep -q "LOST LOCK" "$T/sup.log" &&
    ok "the lease was never lost" || fail "lease lost"
[ "$(child_field notify pid)" = "$npid" ] && ok "rvw-notify kept heartbeating (never restarted)" ||
    fail "rvw-notify restarted: $npid -> $(child_field notify pid)"
wait_for 60 gate_sent && ok "alert delivered after recovery" || fail "alert not delivered"
[ "$(tg_q 'len(set(x["status"] for x in r) & {500, 429, "hang"})')" -eq 3 ] &&
    ok "Telegram answered 500, 429 and nothing meanwhile" ||
    fail "faults seen: $(tg_q '[x["status"] for x in r]')"
sleep 1
msgs=$(tg_q '[m["params"] for m in ok if "(gate_opened)" in m["params"]["text"]]')
[ "$(printf '%s\n' "$msgs" | json 'len(j)')" -eq 1 ] && ok "exactly once" ||
    fail "sent $(printf '%s\n' "$msgs" | json 'len(j)') times"
printf '%s\n' "$msgs" | json 'j[0]["text"]' | grep "Video: $vid" >/dev/null &&
    printf '%s\n' "$msgs" | json 'j[0]["text"]' | grep "Run: $(echo "$rid" | cut -c1-8)" >/dev/null &&
    printf '%s\n' "$msgs" | json 'j[0]["text"]' | grep "Gate: $g" >/dev/null &&
    [ "$(printf '%s\n' "$msgs" | json 'j[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]')" = "rv:a:$rid:$g" ] &&
    ok "the alert names the run and its gate; its buttons decide that gate only" || fail "alert: $msgs"
"$BIN/rvsup" stop >/dev/null 2>&1
wait "$SUP_PID" 2>/dev/null
tg_no_token
finish
