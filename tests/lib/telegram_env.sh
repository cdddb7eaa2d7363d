# Helpers for the telegram_* integration scripts (sourced after
# tests/integration/lib.sh, POSIX sh).  They start the loopback Bot API
# (tests/lib/telegram_fixture.py), point the TELEGRAM_* settings at it with
# a fresh random token, script button presses and faults, and read what
# the fixture recorded.  Nothing here reaches the real Telegram.

TG_TOKEN="7$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n'):TESTsecret$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
TG_SECRET=${TG_TOKEN#*:}
TG_CHAT=-1001234567
TG_ADMIN=4242
TG_PID=""
DRV_PID=""

tg_cleanup() {
	[ -n "$DRV_PID" ] && kill "$DRV_PID" 2>/dev/null
	[ -n "$TG_PID" ] && kill "$TG_PID" 2>/dev/null
	cleanup
}
trap tg_cleanup EXIT

tg_port_ready() {
	[ -s "$T/tg.port" ]
}

tg_start() {
	python3 "$ROOT/tests/lib/telegram_fixture.py" --token "$TG_TOKEN" \
	    --log "$T/tg.jsonl" --chat "$TG_CHAT" >"$T/tg.port" 2>"$T/tg.err" &
	TG_PID=$!
	wait_for 10 tg_port_ready || fail "telegram fixture did not start"
	TG_PORT=$(head -1 "$T/tg.port")
	touch "$T/tg.jsonl"
	export TELEGRAM_API_BASE="http://127.0.0.1:$TG_PORT"
	export TELEGRAM_BOT_TOKEN="$TG_TOKEN" TELEGRAM_CHAT_ID="$TG_CHAT"
	export TELEGRAM_ADMIN_USER_IDS="$TG_ADMIN, 77"
}

# tg_control WHAT JSON: talk to the fixture's control endpoint.
tg_control() {
	python3 - "$TG_PORT" "$1" "$2" <<'EOF'
import sys, urllib.request
port, what, body = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request("http://127.0.0.1:%s/control/%s" % (port, what),
                             data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=5).read().decode())
EOF
}

# tg_press FROM_ID CHAT_ID DATA MESSAGE_ID: queue a button press; prints
# the callback query id.
tg_press() {
	tg_control press "{\"from_id\": $1, \"username\": \"op$1\", \"chat_id\": $2, \"data\": \"$3\", \"message_id\": ${4:-1}}" |
	    json 'j["callback_query_id"]'
}

# tg_answer QUERY_ID: how the notifier answered that press ("" if not yet).
tg_answer() {
	tg_control state "" | json "(j['queries'].get('$1') or {}).get('answer') or ''"
}

tg_answered() {
	[ -n "$(tg_answer "$1")" ]
}

# tg_q PYTHON-EXPR: evaluate over the recorded requests (list r, the
# sendMessage ones that succeeded in ok).
tg_q() {
	python3 - "$T/tg.jsonl" "$1" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
ok = [x for x in r if x["method"] == "sendMessage" and x["status"] == 200]
v = eval(sys.argv[2])
print(v if not isinstance(v, (list, dict, bool)) else json.dumps(v))
EOF
}

tg_sent() {
	tg_q 'len(ok)'
}

tg_sent_is() {
	[ "$(tg_sent)" -ge "$1" ]
}

# The token must appear nowhere under the test directory.
tg_no_token() {
	if grep -rlF -e "$TG_SECRET" "$T" 2>/dev/null | grep -q .; then
		fail "bot token found in: $(grep -rlF -e "$TG_SECRET" "$T" | tr '\n' ' ')"
	else
		ok "bot token in no log, state file, output or fixture record"
	fi
}

# The stand-in supervisor (rv_notify_drive) for one rvw-notify.
drv_start() {
	mkdir -p "$1/runtime" "$1/logs"
	rm -f "$T/drv.in"
	mkfifo "$T/drv.in"
	"$TOOLS/rv_notify_drive" "$1" "$BIN" <"$T/drv.in" >>"$T/drv.out" 2>>"$T/drv.err" &
	DRV_PID=$!
	exec 3>"$T/drv.in"
}

drv_stop() {
	echo quit >&3
	exec 3>&-
	wait "$DRV_PID" 2>/dev/null
	DRV_PID=""
}

drv_has() {
	grep -q "$1" "$T/drv.out"
}

drv_count() {
	grep -c "$1" "$T/drv.out"
}
