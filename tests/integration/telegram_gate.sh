#!/bin/sh
# The conflicting sample run, decided from Telegram (loopback Bot API):
# the gate sends one message with the diff and 4 buttons; presses from a
# stranger, from another chat, or with malformed data change nothing and
# are answered "not authorised" / "malformed"; an admin's Refetch is
# applied and recorded in the message; rvw-notify killed -9 while polling
# comes back and applies no press twice; the surviving conflict sends
# panic_integrity_failure, whose Approve pressed twice applies once
# ("already applied") and lets the run finish.  The bot token appears in
# no log, no status output and no fixture record.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
export RAYVAULT_TELEGRAM_POLL=1
# Slow evidence: the refetch's alert comes seconds after the press is
# answered, so the kill below lands while rvw-notify polls, before that
# alert is handed to it.
export RV_FAULT="slow:evidence:6000"
tg_start
cp -r "$ROOT/examples/ray-conflict" "$T/conflict"
vid=$(python3 -c "import json; print(json.load(open('$T/conflict/run.json'))['video_id'])")
ctl enqueue "$T/conflict/run.json" >/dev/null || fail "enqueue"
start_sup

sent_with() {	# TEXT: messages sent whose text holds TEXT
	tg_q "len([m for m in ok if '$1' in m['params']['text']])"
}
has_sent() {
	[ "$(sent_with "$1")" -ge 1 ]
}
answer_is() {	# QUERY WORDS
	wait_for 10 tg_answered "$1" && [ "$(tg_answer "$1")" = "$2" ]
}
msg_text() {	# MESSAGE_ID: its current text in the fixture
	tg_control state "" | json "j['messages']['$1']['text']"
}
msg_buttons() {
	tg_control state "" | json "len(j['messages']['$1'].get('reply_markup', {}).get('inline_keyboard', []))"
}

wait_for 60 has_sent "(gate_opened)" && ok "gate alert sent" || fail "no gate alert"
rid=$(run_id_of "$vid")
sleep 1
[ "$(sent_with "(gate_opened)")" -eq 1 ] && ok "one message for the gate" ||
    fail "gate messages: $(sent_with "(gate_opened)")"
gate=$(tg_q '[m for m in ok if "(gate_opened)" in m["params"]["text"]][0]')
mid=$(printf "%s\n" "$gate" | json 'j["result"]["message_id"]')
[ "$(printf "%s\n" "$gate" | json '[b["callback_data"] for row in j["params"]["reply_markup"]["inline_keyboard"] for b in row]')" = \
  "[\"rv:a:$rid\", \"rv:r:$rid\", \"rv:x:$rid\", \"rv:u:$rid\"]" ] &&
    ok "4 buttons: Approve, Refetch, Abort, Unlock" || fail "buttons: $(printf "%s\n" "$gate" | json 'j["params"].get("reply_markup")')"
printf "%s\n" "$gate" | json 'j["params"]["text"]' | grep "Video: $vid" >/dev/null &&
    printf "%s\n" "$gate" | json 'j["params"]["text"]' | grep "Run: $(echo "$rid" | cut -c1-8)" >/dev/null &&
    printf "%s\n" "$gate" | json 'j["params"]["text"]' | grep -i "volt" >/dev/null &&
    ok "gate message names the video and run, with the voltage diff" || fail "gate text: $(printf "%s\n" "$gate" | json 'j["params"]["text"]')"
status_is "$vid" waiting_approval || fail "status $(run_status "$vid")"

q=$(tg_press 999 $TG_CHAT "rv:a:$rid" "$mid")
answer_is "$q" "not authorised" && ok "stranger's press: not authorised" || fail "stranger: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN -100999 "rv:a:$rid" "$mid")
answer_is "$q" "not authorised" && ok "press from another chat: not authorised" || fail "other chat: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid:x" "$mid")
answer_is "$q" "malformed" && ok "malformed callback data refused" || fail "malformed: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:q:$rid" "$mid")
answer_is "$q" "malformed" || fail "unknown action: $(tg_answer "$q")"
sleep 0.5
status_is "$vid" waiting_approval && [ "$(count_events "$rid" operator_action)" -eq 0 ] &&
    [ "$(count_events "$rid" operator_action_ignored)" -eq 0 ] &&
    ok "refused presses changed nothing" || fail "after refused presses: $(run_status "$vid")"

# Refetch, then kill -9 rvw-notify while it long-polls
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:r:$rid" "$mid")
answer_is "$q" "applied" && ok "admin's Refetch applied" || fail "refetch: $(tg_answer "$q")"
npid=$(child_field notify pid)
kill -9 "$npid"
killed_at=$(date +%s.%N)
notify_back() {
	p=$(child_field notify pid 2>/dev/null)
	[ -n "$p" ] && [ "$p" != "$npid" ] && [ "$p" != None ] && child_state_is notify ready
}
wait_for 15 notify_back && ok "rvw-notify restarted after kill -9" || fail "rvw-notify not back"
edited() { msg_text "$mid" | grep "Decision: REFETCH by @op$TG_ADMIN" >/dev/null; }
wait_for 5 edited && [ "$(msg_buttons "$mid")" -eq 0 ] &&
    ok "gate message edited: decision and who, buttons removed" || fail "edit: $(msg_text "$mid" | tail -2)"
wait_for 60 has_sent "(panic_integrity_failure)" && ok "conflict survived: panic_integrity_failure alert" ||
    fail "no panic_integrity_failure alert"
[ "$(count_events "$rid" operator_action)" -eq 1 ] && ok "refetch applied once across the restart" ||
    fail "operator actions: $(count_events "$rid" operator_action)"
[ "$(tg_q "min([x['params']['offset'] for x in r if x['method'] == 'getUpdates' and x['t'] > $killed_at] or [0]) > max(u['update_id'] for x in r if x['method'] == 'getUpdates' and x['status'] == 200 and x['t'] < $killed_at for u in x['result'])")" = true ] &&
    ok "the restarted notifier polls past every handled press" || fail "offset after restart"

# Approve pressed twice on the panic message
pmid=$(tg_q '[m["result"]["message_id"] for m in ok if "(panic_integrity_failure)" in m["params"]["text"]][0]')
q1=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid" "$pmid")
q2=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid" "$pmid")
answer_is "$q1" "applied" && answer_is "$q2" "already applied" &&
    ok "Approve twice: applied, then already applied" || fail "approve: $(tg_answer "$q1") / $(tg_answer "$q2")"
wait_for 120 status_is "$vid" done && ok "approved run completes" || fail "after approve: $(run_status "$vid")"
[ "$(count_events "$rid" operator_action)" -eq 2 ] && [ "$(count_events "$rid" operator_action_ignored)" -eq 1 ] &&
    ok "store: 2 actions applied, 1 repeat ignored" ||
    fail "events: $(count_events "$rid" operator_action) applied, $(count_events "$rid" operator_action_ignored) ignored"
ctl events --run "$rid" --json | json '[e["payload"]["operator"] for e in j if e["event_type"] == "operator_action"]' |
    grep "telegram:@op$TG_ADMIN" >/dev/null && ok "the store names the Telegram operator" || fail "operator name"
msg_text "$pmid" | grep "Decision: APPROVE by @op$TG_ADMIN (id $TG_ADMIN)" >/dev/null && ok "panic message records the approval" ||
    fail "panic message: $(msg_text "$pmid" | tail -1)"

ctl status >"$T/status.out" 2>&1
ctl status --json >"$T/status.json" 2>&1
cp "$T/sup.log" "$T/sup.copy" 2>/dev/null
tg_no_token
finish
