#!/bin/sh
# SPDX-License-Identifier: ISC
#
# dash_access.sh: the access rules of rvctl dashboard (SPEC 6.1), over
# HTTP with curl, on an embedded store with a gated run and no rvsup.
# A non-loopback --listen exits 2 naming the flag; the first stdout line
# is the login URL and its token is in state/runtime/dashboard.token
# (0600), new at each start; /healthz answers without a session; every
# other path answers 401 without one; a Host other than 127.0.0.1,
# localhost or [::1] with the port answers 421; login sets an HttpOnly;
# SameSite=Strict cookie; a POST without the page's Origin or without
# the session's CSRF token answers 403 and the run is unchanged (rvctl
# says so); a body over the limit answers 413; every answer carries the
# security headers (but libmicrohttpd's own 431 for headers over the
# memory limit); a 9th /events reader answers 503 and a reader that left
# frees its place; with a stand-in supervisor (rv_ctlstub) the card shows
# it (its values as text), /healthz and /events say it runs and
# /api/status is rvctl status --json; 5 wrong tokens within a minute,
# then 429 (even for the right one); /api/ answers what rvctl --json
# prints; an expired lease is listed as an incident; SIGTERM and SIGINT
# stop it with exit 0; and no page, answer or log line holds a secret.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dash_env.sh"
export RAYVAULT_LEASE_MINUTES=15 RAYVAULT_HEARTBEAT_INTERVAL_SEC=30
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=10
export TELEGRAM_BOT_TOKEN=123456:FAKE-bot-token-for-the-grep-0000000
export TELEGRAM_CHAT_ID=-1001 TELEGRAM_ADMIN_USER_IDS=42
PREP="$TOOLS/rv_storeprep"
DB="$RAYVAULT_STATE_DIR/rayvault.db"

# --listen must be loopback: exit 2, naming the flag
for bad in 0.0.0.0:8787 192.168.1.10:8787 example.com:80 '[::]:80' 127.0.0.1 \
    127.0.0.1:99999; do
	rc=0
	out=$("$BIN/rvctl" dashboard --listen "$bad" 2>&1 </dev/null) || rc=$?
	[ $rc -eq 2 ] && echo "$out" | grep -q -- '--listen' ||
	    fail "--listen $bad: rc $rc: $out"
done
ok "a non-loopback or malformed --listen exits 2 naming --listen"

ctl enqueue "$(make_spec RAY-DA)" >/dev/null || fail "enqueue"
set -- $("$PREP" "$DB" claim access-worker)
run=$1 tok=$2
"$PREP" "$DB" gate "$run" access-worker "$tok" evidence_conflict || fail "gate"
nonce=$(ctl runs --json | json "j[0]['gate_nonce']")

dash_start --operator night-op || { finish; }
echo "$DASH_URL" | grep -Eqx 'http://127\.0\.0\.1:[0-9]+/login\?token=[0-9a-f]{64}' &&
    ok "the first stdout line is the login URL" || fail "first line: $DASH_URL"
token1=${DASH_URL##*token=}
tf="$RAYVAULT_STATE_DIR/runtime/dashboard.token"
[ "$(stat -c %a "$tf")" = 600 ] && [ "$(cat "$tf")" = "$token1" ] &&
    ok "the token file holds the token, mode 0600" ||
    fail "token file: mode $(stat -c %a "$tf")"

# /healthz: no session needed, no data
[ "$(dash_req "$DASH_BASE/healthz")" = 200 ] &&
    [ "$(json 'j' <"$T/body")" = '{"ok": true, "store": "up", "supervisor": "stopped"}' ] &&
    ok "/healthz answers without a session" || fail "/healthz: $(cat "$T/body")"

# no session: 401 everywhere else
bad=""
for p in / /runs /runs/$run /runs/$run/evidence /incidents /api/status \
    /api/runs /api/runs/$run/events /events /static/app.js /static/app.css \
    /nope; do
	c=$(dash_req "$DASH_BASE$p")
	[ "$c" = 401 ] || bad="$bad $p:$c"
done
c=$(dash_req -H "Origin: $DASH_BASE" --data "action=approve&nonce=$nonce&csrf=x" \
    "$DASH_BASE/runs/$run/action")
[ "$c" = 401 ] || bad="$bad POST:$c"
[ -z "$bad" ] && ok "every path but /login and /healthz answers 401 without a session" ||
    fail "without a session:$bad"

# Host
bad=""
for h in "evil.example:$DASH_PORT" "127.0.0.1:$((DASH_PORT + 1))" "127.0.0.1" \
    "10.0.0.1:$DASH_PORT"; do
	c=$(dash_req -H "Host: $h" "$DASH_BASE/healthz")
	[ "$c" = 421 ] || bad="$bad $h:$c"
done
for h in "localhost:$DASH_PORT" "[::1]:$DASH_PORT" "127.0.0.1:$DASH_PORT"; do
	c=$(dash_req -H "Host: $h" "$DASH_BASE/healthz")
	[ "$c" = 200 ] || bad="$bad $h:$c"
done
[ -z "$bad" ] && ok "a foreign Host answers 421, the three loopback names are served" ||
    fail "Host:$bad"

# login
c=$(dash_req "$DASH_URL")
[ "$c" = 303 ] && grep -qi '^Location: /\s*$' "$T/headers" &&
    grep -i '^Set-Cookie:' "$T/headers" | grep -q 'HttpOnly' &&
    grep -i '^Set-Cookie:' "$T/headers" | grep -q 'SameSite=Strict' &&
    grep -i '^Set-Cookie:' "$T/headers" | grep -q 'Path=/' &&
    ok "login: 303 to / with an HttpOnly; SameSite=Strict cookie" ||
    fail "login: $c $(cat "$T/headers")"
[ "$(dash_req "$DASH_BASE/")" = 200 ] && grep -q '<section id="waiting"' "$T/body" &&
    ok "the session opens the overview" || fail "overview after login"

# POST: Origin and CSRF, else 403 and nothing changes
csrf=$(dash_csrf "/runs/$run")
[ ${#csrf} -eq 64 ] || fail "no csrf field on the run page: '$csrf'"
before=$(ctl events --run "$run" --json | json 'len(j)')
bad=""
c=$(dash_req --data "action=approve&nonce=$nonce&csrf=$csrf" "$DASH_BASE/runs/$run/action")
[ "$c" = 403 ] || bad="$bad no-origin:$c"
c=$(dash_req -H "Origin: http://evil.example" --data "action=approve&nonce=$nonce&csrf=$csrf" \
    "$DASH_BASE/runs/$run/action")
[ "$c" = 403 ] || bad="$bad foreign-origin:$c"
c=$(dash_req -H "Origin: http://127.0.0.1:$((DASH_PORT + 1))" \
    --data "action=approve&nonce=$nonce&csrf=$csrf" "$DASH_BASE/runs/$run/action")
[ "$c" = 403 ] || bad="$bad other-port:$c"
c=$(dash_post "/runs/$run/action" "action=approve&nonce=$nonce")
[ "$c" = 403 ] || bad="$bad no-csrf:$c"
c=$(dash_post "/runs/$run/action" "action=approve&nonce=$nonce&csrf=$(echo "$csrf" | tr 0-9a-f 1-9a-f0)")
[ "$c" = 403 ] || bad="$bad bad-csrf:$c"
c=$(dash_post "/runs/$run/unlock" "reason=x&force=1")
[ "$c" = 403 ] || bad="$bad unlock-no-csrf:$c"
# "Origin: null" (a browser's form POST under no-referrer) counts only
# with Sec-Fetch-Site: same-origin (dashboard_browser: a real page's POST)
for site in "" cross-site same-site none; do
	c=$(dash_req -H "Origin: null" ${site:+-H "Sec-Fetch-Site: $site"} \
	    --data "action=approve&nonce=$nonce&csrf=$csrf" "$DASH_BASE/runs/$run/action")
	[ "$c" = 403 ] || bad="$bad null-origin-${site:-alone}:$c"
done
[ -z "$bad" ] && ok "a POST without the page's Origin or CSRF token answers 403" ||
    fail "POST refusals:$bad"
[ "$(ctl runs --json | json "j[0]['status'], j[0]['gate_nonce'], j[0]['locked']")" = \
    "$(printf '%s' "('waiting_approval', '$nonce', True)" )" ] &&
    [ "$(ctl events --run "$run" --json | json 'len(j)')" = "$before" ] &&
    ok "after the refused POSTs the run is unchanged (rvctl runs, events)" ||
    fail "store changed: $(ctl runs --json)"
big=$(head -c 20000 /dev/zero | tr '\0' a)
c=$(dash_post "/runs/$run/action" "action=approve&nonce=$nonce&csrf=$csrf&pad=$big")
[ "$c" = 413 ] && ok "a body over the limit answers 413" || fail "big body: $c"

pad=$(head -c 40000 /dev/zero | tr '\0' a)
c=$(dash_req -H "X-Pad: $pad" "$DASH_BASE/")
[ "$c" = 431 ] && ok "request headers over the connection's memory limit answer 431" ||
    fail "big headers: $c"
# at most 8 /events readers at once: the next one answers 503
sses=""
i=1
while [ $i -le 8 ]; do
	curl -s -N -m 60 -b "$T/jar" -o /dev/null "$DASH_BASE/events" &
	sses="$sses $!"
	i=$((i + 1))
done
sse_full() {
	[ "$(dash_req -m 2 "$DASH_BASE/events")" = 503 ]
}
wait_for 10 sse_full && ok "a 9th /events reader answers 503" || fail "no limit on /events readers"
kill $sses 2>/dev/null
wait $sses 2>/dev/null
sse_free() {
	[ "$(dash_req -m 1 "$DASH_BASE/events")" != 503 ]
}
wait_for 10 sse_free && ok "readers that left free their places" || fail "/events stays full"

# /api: the serializers of rvctl --json
[ "$(dash_req "$DASH_BASE/api/runs")" = 200 ] &&
    [ "$(json 'j' <"$T/body")" = "$(ctl runs --json | json 'j')" ] &&
    ok "/api/runs is rvctl runs --json" || fail "/api/runs: $(head -c 300 "$T/body")"
[ "$(dash_req "$DASH_BASE/api/runs/$run/events")" = 200 ] &&
    [ "$(json 'j' <"$T/body")" = "$(ctl events --run "$run" --json | json 'j')" ] &&
    ok "/api/runs/ID/events is rvctl events --json" || fail "/api/events"
[ "$(dash_req "$DASH_BASE/api/status")" = 200 ] &&
    [ "$(json 'sorted(j.keys())' <"$T/body")" = "$(ctl status --json | json 'sorted(j.keys())')" ] &&
    [ "$(json 'j["supervisor"]' <"$T/body")" = null ] &&
    ok "/api/status has the shape of rvctl status --json (no supervisor: null)" ||
    fail "/api/status: $(head -c 300 "$T/body")"
for p in "/runs?status=waiting_approval" /incidents "/runs/$run/evidence" /static/app.js \
    /static/app.css; do
	[ "$(dash_req "$DASH_BASE$p")" = 200 ] || fail "GET $p: not 200"
done
[ "$(dash_req "$DASH_BASE/runs?status=bogus")" = 400 ] || fail "bad status filter not 400"
[ "$(dash_req "$DASH_BASE/runs/00000000-0000-4000-8000-000000000000")" = 404 ] ||
    fail "unknown run not 404"
[ "$(dash_req -X DELETE "$DASH_BASE/")" = 405 ] || fail "DELETE not 405"

# a running supervisor (a stand-in answering its control endpoint): the
# card shows it, values escaped; /healthz and /api/status follow; the
# change reaches /events
cat >"$T/st.json" <<EOF
{"supervisor": {"pid": 4242, "worker_id": "stub-worker", "state": "running",
  "started_at": "2026-01-01T00:00:00Z", "store": "sqlite", "store_error": "",
  "store_state": "up"},
 "run": {"run_id": "$run", "video_id": "RAY-DA", "stage": "evidence",
  "status": "waiting_approval", "machine_state": "gated", "gate_nonce": "$nonce",
  "lease_epoch": 1, "last_heartbeat_latency_ms": 12},
 "children": [{"kind": "<b>evidence</b>", "pid": 4343, "state": "ready",
  "restarts": 0, "last_heartbeat_ms_ago": 250}]}
EOF
SSE_LOG="$T/sse_sup.log" python3 "$ROOT/tests/lib/dash_sse.py" "$DASH_BASE" "$T/jar" watch-supervisor running 5 \
    >"$T/sse_sup.out" 2>&1 &
ssepid=$!
sse_hello() { grep -q 'event: hello' "$T/sse_sup.log" 2>/dev/null; }
wait_for 5 sse_hello || fail "/events did not say hello"
"$TOOLS/rv_ctlstub" "$RAYVAULT_STATE_DIR" "$T/st.json" >"$T/stub.out" 2>&1 &
STUB=$!
at_exit "kill $STUB 2>/dev/null"
stub_ready() { grep -q ready "$T/stub.out"; }
wait_for 5 stub_ready || fail "rv_ctlstub did not start: $(cat "$T/stub.out")"
[ "$(dash_req "$DASH_BASE/healthz")" = 200 ] &&
    [ "$(json 'j["supervisor"]' <"$T/body")" = running ] &&
    ok "/healthz: supervisor running" || fail "/healthz with a supervisor: $(cat "$T/body")"
dash_req "$DASH_BASE/" >/dev/null
sed -n '/<section id="supervisor"/,/<\/section>/p' "$T/body" >"$T/card"
grep -q 'stub-worker' "$T/card" && grep -q 'RAY-DA' "$T/card" && grep -q 'lease expires in' "$T/card" &&
    grep -q '&lt;b&gt;evidence&lt;/b&gt;' "$T/card" && ! grep -q '<b>evidence' "$T/card" &&
    ok "the supervisor card: worker, run, lease countdown, children (as text)" ||
    fail "card: $(cat "$T/card")"
dash_req "$DASH_BASE/api/status" >/dev/null
[ "$(json 'j' <"$T/body")" = "$(ctl status --json | json 'j')" ] &&
    ok "/api/status is rvctl status --json" || fail "/api/status: $(head -c 300 "$T/body")"
wait "$ssepid" && ok "/events says the supervisor runs ($(cat "$T/sse_sup.out") s)" ||
    fail "/events: $(cat "$T/sse_sup.out")"
kill "$STUB"
wait "$STUB" 2>/dev/null

# wrong tokens: 403 each, then 429 for a minute, the right token too
bad=""
i=1
while [ $i -le 5 ]; do
	c=$(dash_req "$DASH_BASE/login?token=$(printf '%064d' $i)")
	[ "$c" = 403 ] || bad="$bad try$i:$c"
	i=$((i + 1))
done
c=$(dash_req "$DASH_BASE/login?token=$(printf '%064d' 9)")
[ "$c" = 429 ] || bad="$bad 6th:$c"
c=$(dash_req "$DASH_URL")
[ "$c" = 429 ] || bad="$bad right-token:$c"
[ -z "$bad" ] && ok "5 wrong tokens answer 403, then every login 429" ||
    fail "login limit:$bad"
[ "$(dash_req "$DASH_BASE/")" = 200 ] && ok "a session made before still works" ||
    fail "session after the login limit"

# incidents: a lease gone stale shows on /incidents and the overview
dash_req "$DASH_BASE/incidents" >/dev/null
grep -q 'RAY-DA' "$T/body" && fail "an incident before there is one"
"$PREP" "$DB" age RAY-DA lease_expires_at 120 || fail "age"
dash_req "$DASH_BASE/incidents" >/dev/null
grep -q 'RAY-DA' "$T/body" && grep -q 'stale worker access-worker: lease expired' "$T/body" &&
    dash_req "$DASH_BASE/" >/dev/null &&
    sed -n '/<section id="incidents"/,/<\/section>/p' "$T/body" | grep -q 'lease expired' &&
    ok "an expired lease is an incident on /incidents and the overview" ||
    fail "incidents: $(grep -o '<main>.*' "$T/body" | head -c 300)"

# every answer carries the headers (but the 431 libmicrohttpd itself
# sends for headers over the memory limit, before any code of ours runs)
bad=""
for h in "$T"/served/*.h; do
	head -1 "$h" | grep -q ' 431 ' && continue
	for want in "Content-Security-Policy: default-src 'self'" "X-Frame-Options: DENY" \
	    "X-Content-Type-Options: nosniff" "Cache-Control: no-store" \
	    "Referrer-Policy: no-referrer"; do
		grep -qi "^$want" "$h" || bad="$bad $(basename "$h"):$want"
	done
done
n=$(ls "$T"/served/*.h | wc -l)
[ -z "$bad" ] && ok "all $n answers carry CSP, X-Frame-Options, nosniff, no-store, no-referrer" ||
    fail "headers missing:$bad"
grep -l '^HTTP/1.1 \(200\|303\|400\|401\|403\|404\|405\|413\|421\|429\)' "$T"/served/*.h |
    xargs -n1 head -1 | awk '{print $2}' | sort -u | tr '\n' ' ' >"$T/codes"
[ "$(cat "$T/codes")" = "200 303 400 401 403 404 405 413 421 429 " ] ||
    fail "not every kind of answer was seen: $(cat "$T/codes")"

# SIGTERM: exit 0; a new start has a new token
dash_stop
[ "$DASH_RC" -eq 0 ] && ok "SIGTERM stops it, exit 0" || fail "exit $DASH_RC"
dash_start || finish
token2=${DASH_URL##*token=}
[ "$token2" != "$token1" ] && [ "$(cat "$tf")" = "$token2" ] &&
    [ "$(stat -c %a "$tf")" = 600 ] && ok "a new start has a new token in the file" ||
    fail "token not replaced"
dash_login && [ "$(dash_req "$DASH_BASE/")" = 200 ] || fail "login after restart"
kill -INT "$DASH_PID"
rc=0
wait "$DASH_PID" || rc=$?
[ $rc -eq 0 ] && ok "SIGINT stops it, exit 0" || fail "SIGINT: exit $rc"

# secrets: none in any answer or log line
leak=""
for s in "$TELEGRAM_BOT_TOKEN" "$token1" "$token2"; do
	grep -rlF -- "$s" "$T"/served "$T/dash.log" >/dev/null 2>&1 && leak="$leak ${s%%??????????????????????????????}..."
done
[ -z "$leak" ] && ok "no token or key in any of the $n answers or the log" ||
    fail "secret leaked:$leak"
finish
