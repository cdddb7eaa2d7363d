#!/bin/sh
# The conflicting sample run, decided from Telegram (loopback Bot API):
# the gate sends one message with the diff and 4 buttons naming the gate
# (rv:<a|r|x|u>:<run>:<first 8 hex of the gate nonce>); presses from a
# stranger, from another chat, with malformed data, or an old button
# without a nonce change nothing and are answered "not authorised" /
# "malformed" / "no longer possible"; an admin's Refetch is applied and
# recorded in the message; rvw-notify killed -9 while polling comes back
# and applies no press twice; the surviving conflict opens a new gate
# (panic_integrity_failure): Approve on the first gate's message is now
# "no longer possible" and changes nothing in the store; Unlock on the
# live lease is refused (naming rvctl unlock --force) and the lease
# survives; Approve pressed twice applies once ("already applied") and
# lets the run finish.  With RAYVAULT_DASHBOARD_URL set, the gate and the
# panic message also carry a "View details" button to the run's page,
# and the link stays on a message edited after a decision.  The bot token
# appears in no log, no status output and no fixture record.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
export RAYVAULT_TELEGRAM_POLL=1
export RAYVAULT_DASHBOARD_URL=http://127.0.0.1:8787
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
msg_buttons() {	# MESSAGE_ID: its buttons other than the View details link
	tg_control state "" | json "len([b for row in j['messages']['$1'].get('reply_markup', {}).get('inline_keyboard', []) for b in row if 'url' not in b])"
}
msg_links() {	# MESSAGE_ID: its URL buttons, as [label, url] pairs
	tg_control state "" | json "[[b['text'], b['url']] for row in j['messages']['$1'].get('reply_markup', {}).get('inline_keyboard', []) for b in row if 'url' in b]"
}
run_field() {	# KEY: that column of the run in ctl runs --json
	ctl runs --json | json "[r['$1'] for r in j if r['video_id']=='$vid'][0]"
}

wait_for 60 has_sent "(gate_opened)" && ok "gate alert sent" || fail "no gate alert"
rid=$(run_id_of "$vid")
sleep 1
[ "$(sent_with "(gate_opened)")" -eq 1 ] && ok "one message for the gate" ||
    fail "gate messages: $(sent_with "(gate_opened)")"
gate=$(tg_q '[m for m in ok if "(gate_opened)" in m["params"]["text"]][0]')
mid=$(printf "%s\n" "$gate" | json 'j["result"]["message_id"]')
g1=$(run_field gate_nonce | cut -c1-8)
[ -n "$g1" ] || fail "the store holds no gate nonce"
[ "$(printf "%s\n" "$gate" | json '[b["callback_data"] for row in j["params"]["reply_markup"]["inline_keyboard"] for b in row if "url" not in b]')" = \
  "[\"rv:a:$rid:$g1\", \"rv:r:$rid:$g1\", \"rv:x:$rid:$g1\", \"rv:u:$rid:$g1\"]" ] &&
    ok "4 buttons naming the gate: Approve, Refetch, Abort, Unlock" || fail "buttons: $(printf "%s\n" "$gate" | json 'j["params"].get("reply_markup")')"
[ "$(printf "%s\n" "$gate" | json '[(b["text"], b["url"]) for row in j["params"]["reply_markup"]["inline_keyboard"] for b in row if "url" in b]')" = \
  "[[\"View details\", \"http://127.0.0.1:8787/runs/$rid\"]]" ] &&
    ok "and a View details button to the run's dashboard page" || fail "link: $(printf "%s\n" "$gate" | json 'j["params"].get("reply_markup")')"
printf "%s\n" "$gate" | json 'j["params"]["text"]' | grep "Video: $vid" >/dev/null &&
    printf "%s\n" "$gate" | json 'j["params"]["text"]' | grep "Run: $(echo "$rid" | cut -c1-8)" >/dev/null &&
    printf "%s\n" "$gate" | json 'j["params"]["text"]' | grep -i "volt" >/dev/null &&
    ok "gate message names the video and run, with the voltage diff" || fail "gate text: $(printf "%s\n" "$gate" | json 'j["params"]["text"]')"
status_is "$vid" waiting_approval || fail "status $(run_status "$vid")"

q=$(tg_press 999 $TG_CHAT "rv:a:$rid:$g1" "$mid")
answer_is "$q" "not authorised" && ok "stranger's press: not authorised" || fail "stranger: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN -100999 "rv:a:$rid:$g1" "$mid")
answer_is "$q" "not authorised" && ok "press from another chat: not authorised" || fail "other chat: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid:$g1:x" "$mid")
answer_is "$q" "malformed" && ok "malformed callback data refused" || fail "malformed: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:q:$rid:$g1" "$mid")
answer_is "$q" "malformed" || fail "unknown action: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid:zzzzzzzz" "$mid")
answer_is "$q" "malformed" || fail "bad nonce: $(tg_answer "$q")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid" "$mid")
answer_is "$q" "no longer possible" && ok "an old button without a gate nonce: no longer possible" ||
    fail "legacy: $(tg_answer "$q")"
sleep 0.5
status_is "$vid" waiting_approval && [ "$(count_events "$rid" operator_action)" -eq 0 ] &&
    [ "$(count_events "$rid" operator_action_ignored)" -eq 0 ] &&
    ok "refused presses changed nothing" || fail "after refused presses: $(run_status "$vid")"

# Refetch, then kill -9 rvw-notify while it long-polls
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:r:$rid:$g1" "$mid")
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
    ok "gate message edited: decision and who, decision buttons removed" || fail "edit: $(msg_text "$mid" | tail -2)"
[ "$(msg_links "$mid")" = "[[\"View details\", \"http://127.0.0.1:8787/runs/$rid\"]]" ] &&
    ok "the edited message keeps its View details link" || fail "links after the edit: $(msg_links "$mid")"
wait_for 60 has_sent "(panic_integrity_failure)" && ok "conflict survived: panic_integrity_failure alert" ||
    fail "no panic_integrity_failure alert"
[ "$(count_events "$rid" operator_action)" -eq 1 ] && ok "refetch applied once across the restart" ||
    fail "operator actions: $(count_events "$rid" operator_action)"
[ "$(tg_q "min([x['params']['offset'] for x in r if x['method'] == 'getUpdates' and x['t'] > $killed_at] or [0]) > max(u['update_id'] for x in r if x['method'] == 'getUpdates' and x['status'] == 200 and x['t'] < $killed_at for u in x['result'])")" = true ] &&
    ok "the restarted notifier polls past every handled press" || fail "offset after restart"

# The conflict survived: a new gate.  A press on the first gate's message
# is no longer possible and changes nothing.
pmid=$(tg_q '[m["result"]["message_id"] for m in ok if "(panic_integrity_failure)" in m["params"]["text"]][0]')
wait_for 10 status_is "$vid" waiting_approval || fail "not gated again: $(run_status "$vid")"
g2=$(run_field gate_nonce | cut -c1-8)
[ -n "$g2" ] && [ "$g2" != "$g1" ] && ok "the surviving conflict opened a new gate" || fail "gates $g1 / $g2"
tg_q '[b.get("callback_data") for m in ok if m["result"]["message_id"] == '"$pmid"' for row in m["params"]["reply_markup"]["inline_keyboard"] for b in row]' |
    grep -q "rv:a:$rid:$g2" && ok "the panic message's buttons name the new gate" || fail "panic buttons"
tg_q '[b.get("url") for m in ok if m["result"]["message_id"] == '"$pmid"' for row in m["params"]["reply_markup"]["inline_keyboard"] for b in row]' |
    grep -q "http://127.0.0.1:8787/runs/$rid" && ok "the panic message links the run's dashboard page" || fail "panic link"
ign=$(count_events "$rid" operator_action_ignored)
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid:$g1" "$mid")
answer_is "$q" "no longer possible" && ok "Approve on the replaced gate's message: no longer possible" ||
    fail "stale approve: $(tg_answer "$q")"
sleep 0.5
status_is "$vid" waiting_approval && [ "$(run_field gate_nonce | cut -c1-8)" = "$g2" ] &&
    [ "$(count_events "$rid" operator_action)" -eq 1 ] && [ "$(count_events "$rid" render_started)" -eq 0 ] &&
    ok "the stale press changed nothing in the store" || fail "after the stale press: $(run_status "$vid")"
# Unlock never forces: the lease is live, so it is refused and survives.
epoch=$(run_field lease_epoch)
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:u:$rid:$g2" "$pmid")
wait_for 10 tg_answered "$q" && tg_answer "$q" | grep -q "Unlock refused: the lease is live" &&
    tg_answer "$q" | grep -q "rvctl unlock --force" && ok "Unlock on a live lease: refused, names rvctl unlock --force" ||
    fail "unlock: $(tg_answer "$q")"
sleep 3
[ "$(run_field locked)" = true ] && [ "$(run_field lease_epoch)" = "$epoch" ] && ! grep -q "LOST LOCK" "$T/sup.log" &&
    ok "the lease survived the Unlock button" || fail "lease after unlock: locked $(run_field locked) epoch $(run_field lease_epoch)"
[ "$(count_events "$rid" operator_action_ignored)" -eq $((ign + 2)) ] ||
    fail "ignored actions: $(count_events "$rid" operator_action_ignored), want $((ign + 2))"

# Approve pressed twice on the panic message
q1=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid:$g2" "$pmid")
q2=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$rid:$g2" "$pmid")
answer_is "$q1" "applied" && answer_is "$q2" "already applied" &&
    ok "Approve twice: applied, then already applied" || fail "approve: $(tg_answer "$q1") / $(tg_answer "$q2")"
wait_for 120 status_is "$vid" done && ok "approved run completes" || fail "after approve: $(run_status "$vid")"
[ "$(count_events "$rid" operator_action)" -eq 2 ] && [ "$(count_events "$rid" operator_action_ignored)" -eq 3 ] &&
    ok "store: 2 actions applied; the stale approve, the unlock and the repeat ignored" ||
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
