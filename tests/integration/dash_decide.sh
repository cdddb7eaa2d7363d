#!/bin/sh
# SPDX-License-Identifier: ISC
#
# dash_decide.sh: deciding from rvctl dashboard (SPEC 6.1), over HTTP,
# with no rvsup (the supervisor card says it is not running).  A run
# gated with the evidence the evidence stage really finds in the
# conflicting sample (tests/lib/rv_evidence, plus a tier 2 copy of one
# page) shows the diff: the voltage row is a critical conflict with both
# raw values and their normalised forms, the tier 2 column is greyed and
# last, and the Approve button comes after the diff.  Approve is applied
# with the gate's nonce and recorded as dashboard:night-op, a repeat is
# "already applied", a decision for a replaced gate is "no longer
# possible" and changes nothing, refetch shows "refetch under way",
# abort asks for a confirm page and only the second POST aborts, unlock
# needs a reason and refuses a live lease unless forced.  The latest
# timeline CSV and EDL are linked and served as attachments.  Hostile
# values stored with a gate (markup in a raw value, a quote and a script
# in a normalised one, a javascript: source) are shown as text, never as
# an element or a link.  /events shows an rvctl abort made in another
# process within 2 s (3 s on Supabase, whose store is looked at every
# 2 s), a reconnect with an old Last-Event-ID gets the current state at
# once, an idle reader gets a keepalive, and the idle process uses next
# to no CPU.  No answer, SSE frame or log line holds a secret.
#
# The same script runs on Supabase (dash_decide_pg.sh sets SUPABASE_URL
# through tests/lib/with_postgrest).
. tests/integration/lib.sh
. "$ROOT/tests/lib/dash_env.sh"
export RAYVAULT_LEASE_MINUTES=15 RAYVAULT_HEARTBEAT_INTERVAL_SEC=30
export RAYVAULT_HEARTBEAT_TIMEOUT_SEC=10
export TELEGRAM_BOT_TOKEN=123456:FAKE-bot-token-for-the-grep-0000000
export TELEGRAM_CHAT_ID=-1001 TELEGRAM_ADMIN_USER_IDS=42
PREP="$TOOLS/rv_storeprep"
if [ -n "${SUPABASE_URL:-}" ]; then
	DB=supabase
	SSE_LIMIT=3
else
	DB="$RAYVAULT_STATE_DIR/rayvault.db"
	SSE_LIMIT=2
fi
export SSE_LOG="$T/served/sse.log"
field() {	# field VIDEO KEY: a column of rvctl runs --json
	ctl runs --json | json "[r['$2'] for r in j if r['video_id']=='$1'][0]"
}
last_op() {	# last_op RUN: operator and result of the last operator event
	ctl events --run "$1" --json | json "[(e['payload'].get('operator'), e['payload'].get('result')) for e in j if e['event_type'].startswith('operator_action')][-1]"
}
result() {	# the result the answer page shows
	grep -o 'data-result="[a-z_]*"' "$T/body" | cut -d'"' -f2
}

# the conflicting sample, with a tier 2 copy of one of its pages
cp -r "$ROOT/examples/ray-conflict" "$T/conflict"
cp "$T/conflict/pages/shop-b.html" "$T/conflict/pages/blog.html"
python3 - "$T/conflict/run.json" <<'EOF'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["sources"].append({"path": "pages/blog.html", "tier": 2})
json.dump(j, open(p, "w"))
EOF
ctl enqueue "$T/conflict/run.json" >/dev/null || fail "enqueue"
vid=RAY-CONFLICT-1
set -- $("$PREP" "$DB" claim night-worker)
run=$1 tok=$2
[ "$run" = "$(field $vid run_id)" ] || fail "claimed $run"
mkdir -p "$RAYVAULT_STATE_DIR/evidence"
rc=0
"$TOOLS/rv_evidence" -o "$RAYVAULT_STATE_DIR/evidence/$run.json" "$T/conflict/run.json" \
    >"$T/gate_ev.json" 2>/dev/null || rc=$?
[ $rc -eq 3 ] || fail "rv_evidence found no conflict (rc $rc)"
"$PREP" "$DB" gate "$run" night-worker "$tok" evidence_conflict "$T/gate_ev.json" ||
    fail "gate"
n1=$(field $vid gate_nonce)

dash_start --operator night-op || finish
dash_login || fail "login"
[ "$(dash_req "$DASH_BASE/")" = 200 ] && grep -q 'not running' "$T/body" &&
    grep -q "$vid" "$T/body" &&
    ok "overview without rvsup: the supervisor card says not running, the run waits" ||
    fail "overview: $(head -c 400 "$T/body")"

# the diff
[ "$(dash_req "$DASH_BASE/runs/$run")" = 200 ] || fail "run page"
cp "$T/body" "$T/run.html"
python3 - "$T/run.html" <<'EOF' && ok "the diff: voltage is a critical conflict, 110V and 220 volts with their normalised forms, tier 2 greyed and last, Approve after the diff" || fail "diff: see above"
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.rows = {}; s.cur = None; s.cell = None
        s.ths = []; s.inth = False; s.pos = 0; s.table_end = -1; s.approve = -1
        s.intable = False; s.status = None; s.instatus = False
    def handle_starttag(s, t, a):
        a = dict(a); s.pos += 1
        if t == "table" and a.get("id") == "evidence-diff": s.intable = True
        if s.intable and t == "th" and a.get("scope") == "col":
            s.inth = True; s.ths.append([a.get("class", ""), ""])
        if s.intable and t == "tr" and "data-claim" in a:
            s.cur = a["data-claim"]; s.rows[s.cur] = {"class": a.get("class", ""), "cells": []}
        if s.cur and t == "td":
            s.rows[s.cur]["cells"].append({"class": a.get("class", ""), "raw": "", "norm": ""})
        if s.cur and t == "span" and a.get("class") in ("raw", "norm"): s.cell = a["class"]
        if t == "button" and a.get("value") == "approve": s.approve = s.pos
        if t == "span" and a.get("id") == "run-status": s.instatus = True
    def handle_endtag(s, t):
        s.pos += 1
        if t == "table" and s.intable: s.intable = False; s.table_end = s.pos
        if t == "tr": s.cur = None
        if t == "span": s.cell = None; s.instatus = False
        if t == "th": s.inth = False
    def handle_data(s, d):
        if s.cell: s.rows[s.cur]["cells"][-1][s.cell] += d
        if s.inth: s.ths[-1][1] += d
        if s.instatus: s.status = d
p = P(); p.feed(open(sys.argv[1]).read())
v = p.rows.get("voltage")
errs = []
if p.status != "waiting_approval": errs.append("status %r" % p.status)
if not v or "conflict" not in v["class"].split(): errs.append("voltage row not a conflict: %r" % v)
else:
    raws = [c["raw"] for c in v["cells"]]; norms = [c["norm"] for c in v["cells"]]
    if "110V" not in raws or "220 volts" not in raws: errs.append("raw %r" % raws)
    if "110V" not in norms or "220V" not in norms: errs.append("norm %r" % norms)
    if "low-tier" not in v["cells"][-1]["class"]: errs.append("last cell not greyed %r" % v["cells"])
import re
tiers = [re.match(r"tier (\d)", t[1]).group(1) if re.match(r"tier (\d)", t[1]) else "" for t in p.ths[1:]]
if tiers != ["5", "5", "2"]: errs.append("columns %r" % p.ths)
if "low-tier" not in p.ths[-1][0]: errs.append("tier 2 header not greyed")
if p.table_end < 0 or p.approve < p.table_end: errs.append("approve at %d, diff ends at %d" % (p.approve, p.table_end))
for k, r in p.rows.items():
    if k != "voltage" and "conflict" in r["class"]: errs.append("%s marked conflict" % k)
if errs: print("\n".join(errs)); sys.exit(1)
EOF
csrf=$(grep -o 'name="csrf" value="[^"]*"' "$T/run.html" | head -1 | cut -d'"' -f4)
[ "$(grep -o 'name="nonce" value="[^"]*"' "$T/run.html" | head -1 | cut -d'"' -f4)" = "$n1" ] ||
    fail "the form does not carry the gate's nonce"
[ "$(dash_req "$DASH_BASE/runs/$run/evidence")" = 200 ] &&
    grep -q 'pages/blog.html' "$T/body" && grep -q '220 volts' "$T/body" &&
    ok "the evidence page lists every source with its claims" || fail "evidence page"

[ "$(dash_req "$DASH_BASE/runs/$run/timeline.csv")" = 404 ] || fail "a timeline before there is one"
ctl timeline --video $vid >/dev/null 2>&1
dash_req "$DASH_BASE/runs/$run" >/dev/null
grep -q "href=\"/runs/$run/timeline.edl\"" "$T/body" &&
    [ "$(dash_req "$DASH_BASE/runs/$run/timeline.csv")" = 200 ] &&
    head -1 "$T/body" | grep -q '^Order,Segment_ID,' &&
    grep -qi '^Content-Disposition: attachment' "$T/headers" &&
    [ "$(dash_req "$DASH_BASE/runs/$run/timeline.edl")" = 200 ] &&
    ok "the run page links the latest timeline CSV and EDL, served as attachments" ||
    fail "timeline: $(head -c 200 "$T/body")"

# approve, again, a replaced gate
c=$(dash_post "/runs/$run/action" "action=approve&nonce=$n1&csrf=$csrf")
[ "$c" = 200 ] && [ "$(result)" = applied ] && [ "$(field $vid status)" = approved ] &&
    [ "$(last_op "$run")" = "('dashboard:night-op', 'applied')" ] &&
    ok "approve: applied, status approved, recorded as dashboard:night-op" ||
    fail "approve: $c $(result) $(field $vid status) $(last_op "$run")"
c=$(dash_post "/runs/$run/action" "action=approve&nonce=$n1&csrf=$csrf")
[ "$(result)" = already_applied ] && grep -q 'already applied' "$T/body" &&
    ok "approve again: already applied" || fail "approve again: $c $(result)"
"$PREP" "$DB" gate "$run" night-worker "$tok" evidence_conflict "$T/gate_ev.json" ||
    fail "gate 2"
n2=$(field $vid gate_nonce)
c=$(dash_post "/runs/$run/action" "action=refetch&nonce=$n1&csrf=$csrf")
[ "$(result)" = not_possible ] && grep -q 'no longer possible' "$T/body" &&
    [ "$(field $vid status)" = waiting_approval ] && [ "$(field $vid gate_nonce)" = "$n2" ] &&
    ok "refetch for a replaced gate: no longer possible, nothing changed" ||
    fail "stale gate: $(result) $(field $vid status)"

# refetch, then abort with its confirm page
c=$(dash_post "/runs/$run/action" "action=refetch&nonce=$n2&csrf=$csrf")
[ "$(result)" = applied ] && [ "$(field $vid decision)" = refetch ] ||
    fail "refetch: $(result)"
dash_req "$DASH_BASE/runs/$run" >/dev/null
grep -q 'id="refetching"' "$T/body" && grep -q 'id="evidence-diff"' "$T/body" &&
    ok "refetch: applied; the run page says a refetch is under way, with the gate's diff" ||
    fail "no refetch note"
st=$(field $vid status)
c=$(dash_post "/runs/$run/action" "action=abort&nonce=&csrf=$csrf")
[ "$c" = 200 ] && grep -q 'id="confirm"' "$T/body" && grep -q 'name="confirm" value="1"' "$T/body" &&
    [ "$(field $vid status)" = "$st" ] &&
    ok "abort asks for a confirm page and changes nothing" || fail "abort without confirm: $c"
c=$(dash_post "/runs/$run/action" "action=abort&nonce=&confirm=1&csrf=$csrf")
[ "$(result)" = applied ] && [ "$(field $vid status)" = aborted ] &&
    [ "$(field $vid locked)" = false ] &&
    ok "abort confirmed: applied, run aborted, lease cleared" ||
    fail "abort: $(result) $(field $vid status)"
dash_req "$DASH_BASE/runs/$run" >/dev/null
grep -q 'id="decide"' "$T/body" && fail "a decision form on an aborted run"
dash_post "/runs/$run/action" "action=nuke&nonce=&csrf=$csrf" >/dev/null
[ "$(dash_post "/runs/$run/action" "action=nuke&nonce=&csrf=$csrf")" = 400 ] &&
    [ "$(dash_post "/runs/$run/action" "action=approve&nonce=zz&csrf=$csrf")" = 400 ] &&
    ok "an unknown action or a malformed nonce answers 400" || fail "bad form fields"

# unlock
ctl enqueue "$(make_spec RAY-DU)" >/dev/null || fail "enqueue 2"
set -- $("$PREP" "$DB" claim lock-worker)
run2=$1
c=$(dash_post "/runs/$run2/unlock" "reason=&csrf=$csrf")
[ "$c" = 400 ] && [ "$(field RAY-DU locked)" = true ] &&
    ok "unlock without a reason: 400, still locked" || fail "unlock no reason: $c"
c=$(dash_post "/runs/$run2/unlock" "reason=stuck+worker&csrf=$csrf")
[ "$(result)" = refused ] && [ "$(field RAY-DU locked)" = true ] &&
    ok "unlock of a live lease without force: refused" || fail "unlock: $(result)"
c=$(dash_post "/runs/$run2/unlock" "reason=stuck+worker&force=1&csrf=$csrf")
[ "$(result)" = unlocked ] && [ "$(field RAY-DU locked)" = false ] &&
    ctl events --run "$run2" --json | grep -q 'dashboard:night-op' &&
    ok "unlock with force: unlocked, recorded as dashboard:night-op" ||
    fail "unlock force: $(result) $(field RAY-DU locked)"

# live: an rvctl abort elsewhere shows on /events
ctl enqueue "$(make_spec RAY-DL)" >/dev/null || fail "enqueue 3"
set -- $("$PREP" "$DB" claim live-worker)
run3=$1
python3 - "$T/gate_ev.json" "$T/hostile.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
s = j["conflicts"][0]["sources"][1]
s["raw"] = "<img src=x onerror=alert(1)>"
s["normalized"] = "\"><script>alert(2)</script>"
s["path"] = "javascript:alert(3)"
json.dump(j, open(sys.argv[2], "w"))
EOF
"$PREP" "$DB" gate "$run3" live-worker "$2" evidence_conflict "$T/hostile.json" ||
    fail "gate 3"
dash_req "$DASH_BASE/runs/$run3" >/dev/null
grep -q '&lt;img src=x onerror=alert(1)&gt;' "$T/body" &&
    grep -q '&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;' "$T/body" &&
    ! grep -q '<img' "$T/body" && ! grep -q '<script>alert' "$T/body" &&
    ! grep -q 'href="javascript' "$T/body" &&
    ok "hostile values of a page are text: no element, no link" || fail "hostile values in the page"
t=$(python3 "$ROOT/tests/lib/dash_sse.py" "$DASH_BASE" "$T/jar" watch "$run3" aborted \
    "$SSE_LIMIT" -- "$BIN/rvctl" abort --run "$run3" --operator other-op) &&
    ok "/events shows an rvctl abort within $SSE_LIMIT s ($t s)" ||
    fail "/events after rvctl abort: $t"
set -- $(python3 "$ROOT/tests/lib/dash_sse.py" "$DASH_BASE" "$T/jar" first)
cur=$2
[ "$1" = hello ] || fail "first frame without Last-Event-ID: $1"
set -- $(python3 "$ROOT/tests/lib/dash_sse.py" "$DASH_BASE" "$T/jar" first 1)
[ "$1" = change ] && [ "$2" = "$cur" ] &&
    ok "a reconnect with an old Last-Event-ID gets the current state at once (id $cur)" ||
    fail "Last-Event-ID: $*"
dash_req "$DASH_BASE/runs/$run3" >/dev/null
grep -q '<span id="run-status">aborted</span>' "$T/body" || fail "run page after abort"

# idle CPU with a live page open, and its keepalive (every 15 s)
SSE_LOG="$T/served/idle.log" python3 "$ROOT/tests/lib/dash_sse.py" "$DASH_BASE" "$T/jar" \
    watch none none 60 -- true >/dev/null 2>&1 &
ssepid=$!
idle_hello() { grep -q 'event: hello' "$T/served/idle.log" 2>/dev/null; }
wait_for 5 idle_hello || fail "/events did not say hello"
c0=$(awk '{print $14 + $15}' "/proc/$DASH_PID/stat")
sleep 16
c1=$(awk '{print $14 + $15}' "/proc/$DASH_PID/stat")
kill "$ssepid" 2>/dev/null
ticks=$((c1 - c0))
[ "$ticks" -le 80 ] && ok "idle with a live page: $ticks CPU ticks in 16 s" ||
    fail "idle CPU: $ticks ticks in 16 s"
grep -q '^: keepalive' "$T/served/idle.log" && ok "an idle /events gets a keepalive" ||
    fail "no keepalive in 16 s: $(cat "$T/served/idle.log")"

dash_stop
[ "$DASH_RC" -eq 0 ] || fail "exit $DASH_RC"
leak=""
for s in "$TELEGRAM_BOT_TOKEN" "${SUPABASE_SERVICE_KEY:-no-key-set-here}" "${DASH_URL##*token=}"; do
	grep -rlF -- "$s" "$T"/served "$T/dash.log" >/dev/null 2>&1 && leak="$leak ${s%%????????????????????}..."
done
n=$(ls "$T"/served/*.b | wc -l)
[ -z "$leak" ] && [ -s "$SSE_LOG" ] &&
    ok "no key or token in the $n answers, the SSE frames or the log" || fail "leaked:$leak"
finish
