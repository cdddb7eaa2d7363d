#!/bin/sh
# RAYVAULT_DASHBOARD_URL in Telegram alerts (loopback Bot API, rvw-notify
# driven by a stand-in supervisor): with the setting, a gate carries its
# four callback buttons and then a "View details" URL button to
# <url>/runs/<run id>, a panic without a gate carries the link alone, and
# an alert that is no gate or panic (STALE WORKER) none; without the
# setting no alert has a URL button; a bad value is refused at start with
# its name; a URL Telegram refuses (a host without a dot, like localhost)
# costs the link, never the alert: it is sent again without the link,
# with the gate's buttons, and the log says why.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
RUN=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
RUN2=99887766-5544-4332-a211-00ffeeddccbb
NB=5e6f7a8b-0000-4000-8000-0000000000bb
NB8=5e6f7a8b
tg_start

alert() {	# KIND RUN DETAIL [EXTRA-JSON]
	echo "alert {\"alert\": \"$1\", \"run_id\": \"$2\", \"video_id\": \"RAY-LNK\", \"detail\": \"$3\", \"worker_id\": \"tg-worker\"${4:+, $4}}" >&3
}
# kb_of DETAIL: the reply_markup of the sent message with that detail
kb_of() {
	tg_q "[m['params'].get('reply_markup') for m in ok if 'Detail: $1' in m['params']['text']][-1]"
}
urls_of() {	# DETAIL: the URL buttons of that message
	kb_of "$1" | json '[b["url"] for row in (j or {}).get("inline_keyboard", []) for b in row if "url" in b]'
}
labels_of() {
	kb_of "$1" | json '[b["text"] for row in (j or {}).get("inline_keyboard", []) for b in row]'
}

# A bad value: refused before anything starts, naming the setting.
for v in ftp://rv.example "rv.example:8787" "https://rv.example/?t=1"; do
	out=$(RAYVAULT_DASHBOARD_URL=$v "$BIN/rvsup" check-config 2>&1)
	rc=$?
	[ $rc -ne 0 ] && echo "$out" | grep -q "RAYVAULT_DASHBOARD_URL: " ||
	    fail "RAYVAULT_DASHBOARD_URL=$v: rc $rc: $out"
done
[ "$FAILS" -eq 0 ] && ok "bad RAYVAULT_DASHBOARD_URL values refused, naming the setting"
out=$(RAYVAULT_DASHBOARD_URL=http://10.8.0.2:8787/rv "$BIN/rvsup" check-config 2>&1) &&
    echo "$out" | grep -qx "RAYVAULT_DASHBOARD_URL=http://10.8.0.2:8787/rv" &&
    ok "plain http to a non-loopback host is the operator's choice" || fail "check-config: $out"

# With the setting (trailing slash dropped)
export RAYVAULT_DASHBOARD_URL=https://rv.example.net:8787/
drv_start "$RAYVAULT_STATE_DIR"
alert gate_opened $RUN "gate one" '"buttons": true, "gate_nonce": "'$NB'", "diff": "voltage: 110 V vs 220 V"'
alert panic_dzine_ui_failure $RUN "panic one"
alert "STALE WORKER" $RUN2 "stale one"
wait_for 10 tg_sent_is 3 || fail "sent $(tg_sent) of 3"
[ "$(urls_of "gate one")" = "[\"https://rv.example.net:8787/runs/$RUN\"]" ] &&
    [ "$(labels_of "gate one")" = '["Approve", "Refetch", "Abort", "Unlock", "View details"]' ] &&
    [ "$(kb_of "gate one" | json '[len(r) for r in j["inline_keyboard"]]')" = "[2, 2, 1]" ] &&
    [ "$(kb_of "gate one" | json '[b.get("callback_data") for row in j["inline_keyboard"] for b in row][:4]')" = \
      "[\"rv:a:$RUN:$NB8\", \"rv:r:$RUN:$NB8\", \"rv:x:$RUN:$NB8\", \"rv:u:$RUN:$NB8\"]" ] &&
    ok "gate: Approve/Refetch/Abort/Unlock, then View details to /runs/<run id>" ||
    fail "gate keyboard: $(kb_of "gate one")"
[ "$(kb_of "panic one")" = "{\"inline_keyboard\": [[{\"text\": \"View details\", \"url\": \"https://rv.example.net:8787/runs/$RUN\"}]]}" ] &&
    ok "panic without a gate: the link alone" || fail "panic keyboard: $(kb_of "panic one")"
[ "$(kb_of "stale one")" = None ] && ok "STALE WORKER: no buttons, no link" || fail "stale keyboard: $(kb_of "stale one")"
drv_stop

# Without the setting: no URL button anywhere
unset RAYVAULT_DASHBOARD_URL
drv_start "$RAYVAULT_STATE_DIR"
alert gate_opened $RUN "gate two" '"buttons": true, "gate_nonce": "'$NB'", "diff": "voltage: 110 V vs 220 V"'
alert panic_dzine_ui_failure $RUN "panic two"
wait_for 10 tg_sent_is 5 || fail "sent $(tg_sent) of 5"
[ "$(urls_of "gate two")" = "[]" ] && [ "$(labels_of "gate two")" = '["Approve", "Refetch", "Abort", "Unlock"]' ] &&
    [ "$(kb_of "panic two")" = None ] && [ "$(tg_q "len([m for m in ok if ' two' in m['params']['text'] and '\"url\"' in json.dumps(m['params'].get('reply_markup'))])")" -eq 0 ] &&
    ok "without RAYVAULT_DASHBOARD_URL: the gate's 4 buttons only, the panic none" ||
    fail "without the setting: $(kb_of "gate two") / $(kb_of "panic two")"
drv_stop

# A URL Telegram refuses: the alerts still go, without the link
export RAYVAULT_DASHBOARD_URL=http://localhost:8787
drv_start "$RAYVAULT_STATE_DIR"
alert gate_opened $RUN "gate three" '"buttons": true, "gate_nonce": "'$NB'", "diff": "voltage: 110 V vs 220 V"'
alert panic_dzine_ui_failure $RUN "panic three"
wait_for 10 tg_sent_is 7 || fail "sent $(tg_sent) of 7"
[ "$(tg_q "[x['status'] for x in r if x['method'] == 'sendMessage' and 'gate three' in x['params']['text']]")" = "[400, 200]" ] &&
    [ "$(tg_q "[x['result']['description'] for x in r if x['method'] == 'sendMessage' and x['status'] == 400][-1]")" = "Bad Request: BUTTON_URL_INVALID" ] &&
    ok "Telegram refused the link button (BUTTON_URL_INVALID)" ||
    fail "refusal: $(tg_q "[(x['status'], x['result']) for x in r if x['method'] == 'sendMessage'][-3:]")"
[ "$(labels_of "gate three")" = '["Approve", "Refetch", "Abort", "Unlock"]' ] && [ "$(kb_of "panic three")" = None ] &&
    [ "$(tg_q "len([x for x in r if x['method'] == 'sendMessage' and 'panic three' in x['params']['text']])")" -eq 1 ] &&
    ok "the gate went again at once with its buttons and no link; the next alert went without it" ||
    fail "after the refusal: $(kb_of "gate three") / $(kb_of "panic three")"
grep -q "Telegram refused the View details button (Bad Request: BUTTON_URL_INVALID)" "$T/drv.err" "$RAYVAULT_STATE_DIR"/logs/*.log 2>/dev/null &&
    ok "the log says why the link is gone" || fail "no log line: $(tail -3 "$T/drv.err")"
drv_stop
tg_no_token
finish
