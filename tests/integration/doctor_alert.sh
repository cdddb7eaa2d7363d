#!/bin/sh
# STALE WORKER on a one-machine install (docs/OPERATOR.md section 4): the
# only supervisor is killed holding a run, so no peer is left to raise
# STALE WORKER.  rvctl doctor --alert (make doctor-alert, the service
# managers' 5-minute job) sends it once: a second run within the hour
# sends nothing, both exit 2 as doctor does.  Telegram not configured:
# exit 64, nothing recorded.  A failed send (500, nothing listening) is
# not recorded, and the next run sends it.  A corrupt table of sent
# alerts is moved aside and replaced: one message, not one per run.  A
# restarted supervisor that takes its stale run back says STALE WORKER
# (recovered) once, unless doctor --alert already told the operator
# within the hour (one table for both).  CONTRACT FAIL for a store of a
# newer schema, also once.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
export RV_FAULT="slow:evidence:60000"
export RAYVAULT_WORKER_ID=solo-mac
SENT="$T/state/runtime/alerts-sent.json"

stale_msgs() {
	tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault STALE WORKER\n")])'
}
recovered_msgs() {
	tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault STALE WORKER (recovered)")])'
}
# doctor_alert: the service job's command; rc in $rc, output in $T/da.out
doctor_alert() {
	rc=0
	"$BIN/rvctl" doctor --alert "$@" >"$T/da.out" 2>&1 || rc=$?
}
doctor_stale() {
	ctl doctor --no-replay --json 2>/dev/null |
	    json '[c for c in j["checks"] if c["name"] == "stale_worker"]' |
	    grep "RAY-DA1" >/dev/null
}
# age_sent SEC: the table as it will be SEC seconds from now (entries
# older by SEC), written the way the table itself is.
age_sent() {
	python3 - "$SENT" "$1" <<'EOF'
import json, os, sys
p, sec = sys.argv[1], float(sys.argv[2])
j = json.load(open(p))
for e in j["sent"]:
    e["at"] -= sec
open(p + ".t", "w").write(json.dumps(j))
os.chmod(p + ".t", 0o600)
os.rename(p + ".t", p)
EOF
}
sent_has() {	# RUN_ID REASON: a fresh entry in the table
	python3 - "$SENT" "$1" "$2" <<'EOF'
import json, sys, time
j = json.load(open(sys.argv[1]))
sys.exit(0 if any(e["run_id"] == sys.argv[2] and e["reason"] == sys.argv[3]
                  and time.time() - e["at"] < 3600 for e in j["sent"]) else 1)
EOF
}

spec=$(make_spec RAY-DA1)
ctl enqueue "$spec" >/dev/null
start_sup
wait_for 30 child_state_is evidence busy || fail "evidence never busy"
rid=$(run_id_of RAY-DA1)
r8=$(echo "$rid" | cut -c1-8)
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
wait_for 20 doctor_stale || fail "doctor never saw the stale worker"

# Telegram not configured: the alert job cannot alert: 64, nothing kept.
doctor_alert
[ "$rc" -eq 64 ] && grep -q "Telegram is not configured" "$T/da.out" &&
    [ ! -e "$SENT" ] && ok "not configured: exit 64, said so, nothing recorded" ||
    fail "not configured: rc $rc, $(cat "$T/da.out")"
jrc=0
"$BIN/rvctl" --json doctor --alert >"$T/da.json" 2>/dev/null || jrc=$?
[ "$jrc" -eq 64 ] && [ "$(json 'j["exit"]' <"$T/da.json")" = 64 ] &&
    ok "--json says exit 64 too" || fail "--json: rc $jrc: $(cat "$T/da.json")"

tg_start
# The recipe as the guide writes it: make doctor-alert (make says
# "Error 2": doctor's critical verdict).
make -s --no-print-directory -f "$ROOT/Makefile" RVCTL="$BIN/rvctl" \
    doctor-alert >"$T/make.out" 2>&1
mrc=$?
[ "$mrc" -ne 0 ] && grep -q "Error 2" "$T/make.out" &&
    grep -q "^\[CRIT\] stale_worker: run RAY-DA1: worker solo-mac" "$T/make.out" &&
    grep -q "^\[OK\] alert: STALE WORKER for run RAY-DA1 (worker solo-mac) sent to Telegram" "$T/make.out" &&
    ok "make doctor-alert: stale worker found, alert sent, doctor's exit 2" ||
    fail "make doctor-alert: rc $mrc: $(cat "$T/make.out")"
[ "$(stale_msgs)" -eq 1 ] && ok "one STALE WORKER message" ||
    fail "STALE WORKER messages: $(stale_msgs)"
text=$(tg_q '[m["params"]["text"] for m in ok][0]')
for want in "Video: RAY-DA1" "Run: $r8" "Worker: solo-mac" "lease expired\|last heartbeat" "rvctl unlock"; do
	printf '%s\n' "$text" | grep -q "$want" || fail "message lacks \"$want\": $text"
done
ok "the message names the run and the dead worker, and what to do"
[ "$(stat -c %a "$SENT")" = 600 ] && sent_has "$rid" "STALE WORKER" &&
    ok "alerts-sent.json (0600) records the run and reason" ||
    fail "table: $(stat -c %a "$SENT" 2>&1) $(cat "$SENT" 2>&1)"

doctor_alert
[ "$rc" -eq 2 ] && [ "$(stale_msgs)" -eq 1 ] &&
    grep -q "^\[OK\] alert: STALE WORKER for run RAY-DA1 (worker solo-mac) already sent at" "$T/da.out" &&
    ok "second run within the hour: nothing sent, exit 2" ||
    fail "second run: rc $rc, messages $(stale_msgs): $(cat "$T/da.out")"

# An hour later Telegram answers 500: not sent, not recorded, exit 2.
age_sent 3601
tg_control fault '{"mode": "500", "count": 1, "methods": ["sendMessage"]}' >/dev/null
doctor_alert
[ "$rc" -eq 2 ] && [ "$(stale_msgs)" -eq 1 ] && ! sent_has "$rid" "STALE WORKER" &&
    grep -q "^\[WARN\] alert: STALE WORKER for run RAY-DA1 (worker solo-mac) not sent: .*HTTP 500" "$T/da.out" &&
    ok "Telegram 500: not sent, not recorded, exit 2" ||
    fail "500: rc $rc, messages $(stale_msgs): $(cat "$T/da.out")"
# Nothing listening at all: the same.
port=$TELEGRAM_API_BASE
TELEGRAM_API_BASE="http://127.0.0.1:9" doctor_alert
[ "$rc" -eq 2 ] && ! sent_has "$rid" "STALE WORKER" &&
    grep -q "^\[WARN\] alert: STALE WORKER for run RAY-DA1 .* not sent: " "$T/da.out" &&
    ok "Telegram unreachable: not sent, not recorded, exit 2" ||
    fail "unreachable: rc $rc: $(cat "$T/da.out")"
TELEGRAM_API_BASE=$port
doctor_alert
[ "$rc" -eq 2 ] && [ "$(stale_msgs)" -eq 2 ] && sent_has "$rid" "STALE WORKER" &&
    ok "Telegram back: the next run sends it and records it" ||
    fail "after the outage: rc $rc, messages $(stale_msgs): $(cat "$T/da.out")"

# A corrupt table: moved aside, replaced; one message, then quiet.
printf '{"version":1,"sent":[{"run_id":' >"$SENT"
doctor_alert
[ "$rc" -eq 2 ] && [ "$(stale_msgs)" -eq 3 ] && [ -s "$SENT.corrupt" ] &&
    grep -q "^\[WARN\] alert_state: .*alerts-sent.json was corrupt: moved aside" "$T/da.out" &&
    sent_has "$rid" "STALE WORKER" &&
    ok "corrupt table: reported, kept aside, replaced, one message" ||
    fail "corrupt: rc $rc, messages $(stale_msgs): $(cat "$T/da.out")"
doctor_alert
[ "$rc" -eq 2 ] && [ "$(stale_msgs)" -eq 3 ] && ok "and quiet again on the next run" ||
    fail "after corrupt: rc $rc, messages $(stale_msgs)"

# The supervisor comes back within the hour: it takes its run back, and
# the operator, already told by doctor --alert, is not told again.
start_sup
recovering() { grep -q "claimed run $rid (RAY-DA1), epoch [0-9]*, recovering" "$T/sup.log"; }
wait_for 20 recovering || fail "the run was not recovered: $(tail -5 "$T/sup.log")"
quiet() { grep -q "STALE WORKER already sent .* the recovery is not announced again" "$T/sup.log"; }
wait_for 10 quiet && [ "$(recovered_msgs)" -eq 0 ] &&
    ok "recovery within the hour of doctor's alert: not announced again" ||
    fail "recovery after doctor: $(recovered_msgs) messages; $(grep -i stale "$T/sup.log")"

# Killed again; this time an hour passes before it comes back (no
# doctor run in between): it says STALE WORKER (recovered), once.
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
wait_for 20 doctor_stale || fail "doctor never saw the stale worker again"
age_sent 3601
start_sup
one_recovered() { [ "$(recovered_msgs)" -ge 1 ]; }
wait_for 20 one_recovered && ok "restarted supervisor: STALE WORKER (recovered) sent" ||
    fail "no recovery message: $(tg_q '[m["params"]["text"][:40] for m in ok]')"
text=$(tg_q '[m["params"]["text"] for m in ok if m["params"]["text"].startswith("RayVault STALE WORKER (recovered)")][0]')
for want in "Video: RAY-DA1" "Run: $r8" "Worker: solo-mac" "took the run back"; do
	printf '%s\n' "$text" | grep -q "$want" || fail "recovery message lacks \"$want\": $text"
done
sent_has "$rid" "STALE WORKER" && ok "the recovery alert is in the shared table" ||
    fail "table after recovery: $(cat "$SENT")"
doctor_alert
[ "$rc" -le 1 ] && grep -q "^\[OK\] alert: nothing to alert" "$T/da.out" &&
    [ "$(stale_msgs)" -eq 3 ] && [ "$(recovered_msgs)" -eq 1 ] &&
    ok "the recovered run is healthy: doctor --alert sends nothing" ||
    fail "after recovery: rc $rc, $(stale_msgs)/$(recovered_msgs): $(cat "$T/da.out")"
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null

# CONTRACT FAIL: a store of a newer schema, keyed by the store itself.
mkdir -p "$T/foreign"
python3 -c "import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 42'); c.commit()" "$T/foreign/rayvault.db"
contract_msgs() {
	tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault CONTRACT FAIL")])'
}
doctor_alert --state-dir "$T/foreign"
[ "$rc" -eq 2 ] && [ "$(contract_msgs)" -eq 1 ] &&
    grep -q "^\[CRIT\] contract: the store does not match this build: .*schema version 42" "$T/da.out" &&
    tg_q '[m["params"]["text"] for m in ok if m["params"]["text"].startswith("RayVault CONTRACT FAIL")][0]' |
    grep "schema version 42" >/dev/null &&
    ok "newer schema: CONTRACT FAIL sent, exit 2" ||
    fail "contract: rc $rc, messages $(contract_msgs): $(cat "$T/da.out")"
doctor_alert --state-dir "$T/foreign"
[ "$rc" -eq 2 ] && [ "$(contract_msgs)" -eq 1 ] &&
    grep -q "^\[OK\] alert: CONTRACT FAIL for the store already sent" "$T/da.out" &&
    ok "CONTRACT FAIL not repeated within the hour" ||
    fail "contract again: rc $rc, messages $(contract_msgs)"
python3 -c "import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if [e['run_id'] for e in j['sent']] == [''] else 1)" "$T/foreign/runtime/alerts-sent.json" &&
    ok "CONTRACT FAIL is keyed by the store (empty run id)" ||
    fail "foreign table: $(cat "$T/foreign/runtime/alerts-sent.json")"

# Every message is plain text within Telegram's limit.
[ "$(tg_q 'all(len(m["params"]["text"].encode()) <= 4000 and "parse_mode" not in m["params"] for m in ok)')" = true ] &&
    ok "plain text, at most 4000 bytes" || fail "a message is too long or not plain"
tg_no_token
finish
