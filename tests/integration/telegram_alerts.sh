#!/bin/sh
# rvw-notify against the loopback Bot API, driven by a stand-in supervisor
# (rv_notify_drive): every alert kind is sent once, as plain text with the
# video id, short run id, UTC and Brasilia times, meaning and next action;
# buttons only where asked; repeats within the window are not sent and
# too many of a kind are held back; an outage (500, 429 with retry_after)
# delays alerts without stopping heartbeats, and they arrive in order
# afterwards; a press caught in a kill -9 is never applied twice; buttons
# name the gate (callback_data rv:<a|r|x|u>:<run>:<nonce8>), a new gate
# is a new message, a press on a replaced gate or an old nonce-less button
# is "no longer possible", Unlock on a live lease is refused and names
# rvctl unlock --force; without a token alerts are only logged; rvctl
# notify-test; the bot token appears nowhere.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
RUN=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
RUN2=99887766-5544-4332-a211-00ffeeddccbb
NA=1a2b3c4d-0000-4000-8000-0000000000aa	# gate of the integrity panic
NB=5e6f7a8b-0000-4000-8000-0000000000bb	# gate of gate_opened
NC=c0ffee01-0000-4000-8000-0000000000cc	# a later gate of the same run
NA8=1a2b3c4d NB8=5e6f7a8b NC8=c0ffee01
export RAYVAULT_TELEGRAM_POLL=1
tg_start

# rvctl notify-test: ok, wrong token, unreachable
ctl notify-test >"$T/nt.out" 2>&1 && grep -q "HTTP 200, ok, message_id" "$T/nt.out" &&
    ok "notify-test sends and shows Telegram's answer" || fail "notify-test: $(cat "$T/nt.out")"
TELEGRAM_BOT_TOKEN="1:wrongtokenvalue" ctl notify-test >"$T/nt2.out" 2>&1
[ $? -eq 1 ] && grep -q "401" "$T/nt2.out" && ! grep -q wrongtokenvalue "$T/nt2.out" &&
    ok "notify-test: a wrong token is refused, and not printed" || fail "notify-test 401: $(cat "$T/nt2.out")"
TELEGRAM_API_BASE=http://127.0.0.1:1 ctl notify-test >"$T/nt3.out" 2>&1
[ $? -eq 69 ] && ok "notify-test: unreachable is exit 69" || fail "notify-test unreachable: $(cat "$T/nt3.out")"
base=$(tg_sent)

msg_buttons_of() {	# MESSAGE_ID: rows of buttons it has now
	tg_control state "" | json "len(j['messages']['$1'].get('reply_markup', {}).get('inline_keyboard', []))"
}
drv_start "$RAYVAULT_STATE_DIR"
alert() {	# KIND RUN DETAIL [EXTRA-JSON]
	echo "alert {\"alert\": \"$1\", \"run_id\": \"$2\", \"video_id\": \"RAY-TG1\", \"detail\": \"$3\", \"at\": \"2026-03-04T05:06:07.123Z\", \"worker_id\": \"tg-worker\"${4:+, $4}}" >&3
}
alert panic_browser_frozen $RUN "stuck"
alert panic_integrity_failure $RUN "still disagree" '"buttons": true, "gate_nonce": "'$NA'", "diff": "voltage: 110 V (shop-a) vs 220 V (shop-b)"'
alert panic_voice_contract_drift $RUN "intro: 4.2 s for 3.0 s"
alert panic_dzine_ui_failure $RUN "export rejected"
alert "LOST LOCK" $RUN "another holder"
alert panic_heartbeat_uncertain $RUN "timeout 1"
alert gate_opened $RUN "trusted sources disagree" '"buttons": true, "gate_nonce": "'$NB'", "diff": "voltage: 110 V vs 220 V"'
alert crash_loop $RUN "voice"
alert "stage_failed:voice" $RUN "espeak-ng failed"
alert "STALE WORKER" $RUN2 "worker mac-2 holds the run (heartbeat 95 s ago)"
alert "CONTRACT FAIL" "" "rpc_claim_next_run missing"
wait_for 10 tg_sent_is $((base + 11)) && ok "11 alert kinds sent" || fail "sent $(( $(tg_sent) - base )) of 11"
python3 - "$T/tg.jsonl" "$base" "$RUN" "$NA8" "$NB8" <<'EOF' || FAILS=$((FAILS + 1))
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
ok = [r for r in recs if r["method"] == "sendMessage" and r["status"] == 200]
msgs = ok[int(sys.argv[2]):]
run = sys.argv[3]
gates = {"panic_integrity_failure": sys.argv[4], "gate_opened": sys.argv[5]}
want = {"panic_browser_frozen": "renderer frozen",
        "panic_integrity_failure": "survived a refetch",
        "panic_voice_contract_drift": "voice off its target",
        "panic_dzine_ui_failure": "Dzine render failed",
        "LOST LOCK": "PANIC: LOST LOCK",
        "panic_heartbeat_uncertain": "heartbeat uncertain",
        "gate_opened": "GATE: trusted sources disagree",
        "crash_loop": "crash loop", "stage_failed:voice": "STAGE FAILED",
        "STALE WORKER": "RayVault STALE WORKER",
        "CONTRACT FAIL": "RayVault CONTRACT FAIL"}
bad = 0
def no(msg):
    global bad
    bad += 1
    print("FAIL " + msg)
for kind, title in want.items():
    hits = [m for m in msgs if title in m["params"]["text"].split("\n")[0]
            and (kind in m["params"]["text"].split("\n")[0] or kind.isupper())]
    if len(hits) != 1:
        no("%s: %d messages" % (kind, len(hits)))
        continue
    p = hits[0]["params"]
    t = p["text"]
    for s in ("Video: RAY-TG1", "2026-03-04 05:06:07 UTC", "2026-03-04 02:06:07 Bras\u00edlia (UTC-3)",
              "What happened: ", "What to do: ", "Worker: tg-worker"):
        if s not in t:
            no("%s: no %r" % (kind, s))
    if kind != "CONTRACT FAIL" and ("Run: " + (run[:8] if kind != "STALE WORKER" else "99887766")) not in t:
        no("%s: no short run id" % kind)
    if len(t.encode()) > 4000 or "parse_mode" in p:
        no("%s: too long or parse_mode" % kind)
    if kind in ("gate_opened", "panic_integrity_failure"):
        kb = p.get("reply_markup") or {}
        data = [b["callback_data"] for row in kb.get("inline_keyboard", []) for b in row]
        want = ["rv:%s:%s:%s" % (c, run, gates[kind]) for c in "arxu"]
        if data != want or any(len(d.encode()) > 64 for d in data):
            no("%s: buttons %r" % (kind, data))
        if ("Gate: %s\n" % gates[kind]) not in t:
            no("%s: no gate line" % kind)
        if "Evidence diff:\nvoltage: 110 V" not in t:
            no("%s: no diff" % kind)
    elif "reply_markup" in p:
        no("%s: buttons without buttons:true" % kind)
print("ok   every kind once, with ids, times, meaning, action; buttons with the gate nonce on gate and panic" if not bad else "")
sys.exit(1 if bad else 0)
EOF

# repeats: duplicates and the per-kind limit
alert gate_opened $RUN "trusted sources disagree" '"buttons": true, "gate_nonce": "'$NB'", "diff": "voltage: 110 V vs 220 V"'
alert "STALE WORKER" $RUN2 "worker mac-2 holds the run (heartbeat 157 s ago)"
alert "LOST LOCK" $RUN "another holder"
alert panic_heartbeat_uncertain $RUN "refused a"
alert panic_heartbeat_uncertain $RUN "refused b"
alert panic_heartbeat_uncertain $RUN "refused c"
sleep 1.5
[ "$(drv_count '"alert":"duplicate"')" -eq 3 ] && ok "same incident again: not sent (3 duplicates)" ||
    fail "duplicates: $(drv_count '"alert":"duplicate"')"
[ "$(drv_count '"alert":"rate-limited"')" -eq 1 ] && ok "a 4th alert of one kind for one run held back" ||
    fail "rate-limited: $(drv_count '"alert":"rate-limited"')"
[ "$(tg_sent)" -eq $((base + 13)) ] && ok "only the 2 new alerts went out" || fail "sent $(( $(tg_sent) - base ))"
grep -q "duplicate STALE WORKER video=RAY-TG1 run=99887766" "$RAYVAULT_STATE_DIR/logs/alerts.log" &&
    ok "alerts.log keeps the ones not sent" || fail "alerts.log: $(tail -3 "$RAYVAULT_STATE_DIR/logs/alerts.log")"

# outage: 500, 500, then 429 with retry_after 2 (no answer at all: see
# telegram_outage.sh)
tg_control fault '{"mode": "500", "count": 2, "methods": ["sendMessage"]}' >/dev/null
tg_control fault '{"mode": "429", "count": 1, "retry_after": 2, "methods": ["sendMessage"]}' >/dev/null
alert crash_loop $RUN2 "outage one"
alert crash_loop $RUN2 "outage two"
alert crash_loop $RUN2 "outage three"
sleep 0.5
[ "$(drv_count '"alert":"queued"')" -eq 16 ] && ok "alert tasks answered at once during the outage" ||
    fail "queued: $(drv_count '"alert":"queued"')"
wait_for 30 tg_sent_is $((base + 16)) && ok "alerts delivered after the outage" ||
    fail "after the outage: $(( $(tg_sent) - base )) sent"
[ "$(tg_q '[m["params"]["text"].split("Detail: ")[1].split("\n")[0] for m in ok[-3:]]')" = '["outage one", "outage two", "outage three"]' ] &&
    ok "in order" || fail "order: $(tg_q '[m["params"]["text"].split("Detail: ")[1][:14] for m in ok[-3:]]')"
[ "$(tg_q '[x["status"] for x in r if x["method"] == "sendMessage"][-6:]')" = '[500, 500, 429, 200, 200, 200]' ] &&
    ok "saw 500, 500, 429, then success" || fail "statuses: $(tg_q '[x["status"] for x in r if x["method"] == "sendMessage"][-7:]')"
[ "$(tg_q 'int(min(x["t"] for x in r if x["method"] == "sendMessage" and x["t"] > [y["t"] for y in r if y["status"] == 429][-1]) - [y["t"] for y in r if y["status"] == 429][-1] >= 1.9)')" = 1 ] &&
    ok "retry_after honoured" || fail "retry_after not honoured"
echo stats >&3
sleep 0.3
gap=$(grep hb_max_gap_ms "$T/drv.out" | tail -1 | cut -d' ' -f2)
[ -n "$gap" ] && [ "$gap" -lt 1200 ] && ok "heartbeats never stopped (longest gap $gap ms)" || fail "heartbeat gap $gap ms"

# a press caught in a kill -9 is not applied again
mid=$(tg_q '[m["result"]["message_id"] for m in ok if m["params"]["text"].startswith("RayVault GATE")][0]')
echo hold >&3
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$RUN:$NB8" "$mid")
wait_for 10 drv_has "operator-held $RUN approve" && ok "press reached the supervisor" || fail "press not seen"
echo restart >&3
echo start >&3
wait_for 5 drv_has "ready 2" || fail "no second generation"
sleep 1.5
[ "$(drv_count "operator.* $RUN approve")" -eq 1 ] && ok "kill -9 during the action: the press is not applied twice" ||
    fail "approve requests: $(drv_count "operator.* $RUN approve")"
[ "$(cat "$RAYVAULT_STATE_DIR/runtime/telegram_offset")" -gt "$(tg_q '[x["result"][0]["update_id"] for x in r if x["method"] == "getUpdates" and x["status"] == 200 and x["result"]][-1]')" ] &&
    ok "offset saved past the press" || fail "offset $(cat "$RAYVAULT_STATE_DIR/runtime/telegram_offset")"

# Gate nonces: the store's gate of $RUN is B, then C replaces it (a new
# message with its own buttons); a press on B's message, or on a button
# of before gate nonces, is "no longer possible"; Unlock on a live lease
# is refused and says how to force it.
answer_is() {	# QUERY WORDS
	wait_for 10 tg_answered "$1" && [ "$(tg_answer "$1")" = "$2" ]
}
echo unhold >&3
echo "gate $RUN $NC8" >&3
nb=$(tg_sent)
alert gate_opened $RUN "trusted sources disagree" '"buttons": true, "gate_nonce": "'$NC'", "diff": "voltage: 110 V vs 220 V"'
wait_for 10 tg_sent_is $((nb + 1)) && ok "a new gate of the same run is a new message" ||
    fail "new gate not sent: $(tail -1 "$T/drv.out")"
mid2=$(tg_q '[m["result"]["message_id"] for m in ok if "Gate: '$NC8'" in m["params"]["text"]][0]')
[ "$(tg_q '[b["callback_data"] for m in ok if "Gate: '$NC8'" in m["params"]["text"] for row in m["params"]["reply_markup"]["inline_keyboard"] for b in row]')" = \
  "[\"rv:a:$RUN:$NC8\", \"rv:r:$RUN:$NC8\", \"rv:x:$RUN:$NC8\", \"rv:u:$RUN:$NC8\"]" ] &&
    ok "its buttons name the new gate" || fail "new gate buttons"
nops=$(drv_count "^operator ")
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:a:$RUN" "$mid")
answer_is "$q" "no longer possible" && ok "a button without a gate nonce: no longer possible" ||
    fail "legacy press: $(tg_answer "$q")"
sleep 0.5
[ "$(drv_count "^operator ")" -eq "$nops" ] && ok "a legacy press asks nothing of the supervisor" ||
    fail "legacy press reached the supervisor: $(tail -1 "$T/drv.out")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:x:$RUN:$NB8" "$mid")
answer_is "$q" "no longer possible" && ok "Abort on the replaced gate's message: no longer possible" ||
    fail "stale press: $(tg_answer "$q")"
drv_has "^operator $RUN abort telegram:@op$TG_ADMIN not_possible nonce=$NB8 reason=" &&
    ok "the press named the old gate; the store refused it" || fail "stale press request: $(grep "abort" "$T/drv.out")"
[ "$(msg_buttons_of "$mid")" -eq 2 ] && ! tg_control state "" | json "j['messages']['$mid']['text']" | grep -q Decision &&
    ok "the old message is not marked decided" || fail "old message edited"
echo "live $RUN" >&3
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:u:$RUN:$NC8" "$mid2")
wait_for 10 tg_answered "$q" && tg_answer "$q" | grep -q "Unlock refused: the lease is live" &&
    tg_answer "$q" | grep -q "rvctl unlock --force" && ok "Unlock on a live lease: refused, names rvctl unlock --force" ||
    fail "unlock: $(tg_answer "$q")"
drv_has "^operator $RUN unlock telegram:@op$TG_ADMIN not_possible nonce=$NC8 reason=Telegram unlock by" ||
    fail "unlock request: $(grep unlock "$T/drv.out")"
q=$(tg_press $TG_ADMIN $TG_CHAT "rv:r:$RUN:$NC8" "$mid2")
answer_is "$q" "applied" && ok "Refetch on the current gate: applied" || fail "current gate: $(tg_answer "$q")"
edited2() { tg_control state "" | json "j['messages']['$mid2']['text']" | grep -q "Decision: REFETCH by @op$TG_ADMIN"; }
wait_for 5 edited2 && [ "$(msg_buttons_of "$mid2")" -eq 0 ] && ok "the current gate's message records the decision" ||
    fail "edit of the current gate's message"
drv_stop

# without a token: only logged (a long poll of the notifier stopped above
# may still be answered, and recorded, later: only requests that came
# from now on count)
t_nt=$(date +%s.%N)
RAYVAULT_STATE_DIR="$T/state2" TELEGRAM_BOT_TOKEN= drv_start "$T/state2"
echo "alert {\"alert\": \"crash_loop\", \"run_id\": \"$RUN\", \"video_id\": \"RAY-TG2\", \"detail\": \"x\"}" >&3
wait_for 5 drv_has '"alert":"logged"' && ok "no token: the alert is only logged" || fail "no token: $(tail -2 "$T/drv.out")"
grep -q "logged crash_loop video=RAY-TG2" "$T/state2/logs/alerts.log" && ok "alerts.log without Telegram" ||
    fail "alerts.log: $(cat "$T/state2/logs/alerts.log")"
drv_stop
[ "$(tg_q "len([x for x in r if x['t0'] >= $t_nt])")" -eq 0 ] && ok "no request without a token" ||
    fail "requests without a token: $(tg_q "[x['method'] for x in r if x['t0'] >= $t_nt]")"
tg_no_token
finish
