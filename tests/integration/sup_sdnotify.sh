#!/bin/sh
# rvsup speaks the service manager's notification protocol (systemd's
# sd_notify) itself, to a real AF_UNIX datagram listener
# (tests/lib/sd_listen.py), at a path and at an abstract @name:
#  - READY=1 once, from rvsup's own pid, only after every child said READY
#    (rvsup's log has the five "ready" lines before its own, and the
#    status taken the moment READY arrived shows every child up) and the
#    store contract check passed;
#  - STATUS= names the run, its stage and its lease while one is held, and
#    "idle" otherwise;
#  - WATCHDOG=1 at half of WATCHDOG_USEC while it runs (none when
#    WATCHDOG_PID names another process);
#  - STOPPING=1 on SIGTERM;
#  - with the store's contract broken (a database of another schema) the
#    children come up but READY is not sent, STATUS says why; once the
#    right database is back READY follows;
#  - the children do not inherit NOTIFY_SOCKET;
#  - a NOTIFY_SOCKET nobody listens on is logged once and changes nothing;
#    one that is no address (not a path, not an @name) is named and
#    ignored.
. tests/integration/lib.sh
export RV_FAULT="contract-retry-max:2000"
LISTEN="$ROOT/tests/lib/sd_listen.py"
LPID=""
at_exit '[ -n "$LPID" ] && kill $LPID 2>/dev/null'

# listen SOCKET LOG: start the listener and wait until it is bound
listen() {
	rm -f "$2"
	python3 "$LISTEN" --socket "$1" --log "$2" \
	    --on-ready "\"$BIN/rvctl\" status --json" &
	LPID=$!
	_lg=$2
	bound() { [ -f "$_lg" ]; }
	wait_for 10 bound || fail "listener on $1 did not start"
}

# q LOG PYTHON-EXPR: evaluate on the records (list r) of a listener's log
q() {
	python3 -S -c "import json,sys
r=[json.loads(l) for l in open('$1')]
x=$2
print(x if not isinstance(x,(dict,list,bool)) and x is not None else json.dumps(x))"
}
sent() {	# sent LOG LINE: some datagram holds LINE
	[ "$(q "$1" "any('$2' in d['lines'] for d in r)")" = true ]
}
# every line of rvsup's log file, for ordering
SUPLOG="$RAYVAULT_STATE_DIR/logs/rvsup.log"

# ---- 1. a path, a watchdog, a run -------------------------------------
L1="$T/notify1.jsonl"
listen "$T/notify.sock" "$L1"
spec=$(make_spec RAY-SD1)
export NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=3000000
start_sup
unset NOTIFY_SOCKET WATCHDOG_USEC
ready1() { sent "$L1" READY=1; }
wait_for 20 ready1 && ok "READY=1 sent" || fail "no READY=1: $(cat "$L1")"
[ "$(q "$L1" "sum('READY=1' in d['lines'] for d in r)")" = 1 ] && ok "READY=1 once" ||
    fail "READY=1 $(q "$L1" "sum('READY=1' in d['lines'] for d in r)") times"
[ "$(q "$L1" "sorted(set(d['pid'] for d in r))")" = "[$SUP_PID]" ] &&
    ok "every datagram from rvsup's own pid (NotifyAccess=main)" ||
    fail "senders: $(q "$L1" "sorted(set(d['pid'] for d in r))") (rvsup $SUP_PID)"
snap=$(q "$L1" "[d['on_ready'] for d in r if 'READY=1' in d['lines']][0]")
[ "$(printf '%s' "$snap" | json 'len([c for c in j["children"] if c["state"] in ("ready", "busy") and c["pid"] > 0])')" = 5 ] &&
    [ "$(printf '%s' "$snap" | json 'j["supervisor"]["store_state"]')" = up ] &&
    ok "when READY arrived every child was up and the store up" ||
    fail "status at READY: $snap"
order=$(awk '/ (evidence|voice|render|probe|notify) ready \(pid/ { n++ }
    /ready: every child up/ { print n; exit }' "$SUPLOG")
[ "$order" = 5 ] && ok "the five children's READY logged before rvsup's own" ||
    fail "children ready before READY: '$order': $(grep -n 'ready' "$SUPLOG")"
q "$L1" "[d['lines'] for d in r if 'READY=1' in d['lines']][0]" >"$T/ready.txt"
first_status=$(q "$L1" "[l for d in r for l in d['lines'] if l.startswith('STATUS=')][0]")
case $first_status in
"STATUS=starting: store contract not confirmed yet, "*" of 5 children ready" | \
"STATUS="[0-4]" of 5 children ready")
	ok "STATUS while starting: ${first_status#STATUS=}" ;;
*)	fail "first STATUS: $first_status" ;;
esac
idle() { q "$L1" "[l for d in r for l in d['lines'] if l.startswith('STATUS=')][-1]" |
    grep -qx "STATUS=idle: worker test-worker, no run"; }
wait_for 10 idle && ok "STATUS: idle" || fail "STATUS: $(q "$L1" "[l for d in r for l in d['lines'] if l.startswith('STATUS=')]")"

ctl enqueue "$spec" >/dev/null || fail "enqueue"
wait_for 90 status_is RAY-SD1 done && ok "run done" || fail "run: $(run_status RAY-SD1)"
rid=$(run_id_of RAY-SD1)
q "$L1" "[l for d in r for l in d['lines'] if l.startswith('STATUS=run ')]" >"$T/runstatus.json"
python3 -S - "$T/runstatus.json" "$rid" <<'PY' >"$T/runstatus.out" 2>&1 && ok "STATUS names the run, its stage and its lease: $(head -1 "$T/runstatus.out")" || fail "run STATUS: $(cat "$T/runstatus.out")"
import json, re, sys
lines = json.load(open(sys.argv[1]))
rid = sys.argv[2]
pat = re.compile(r"^STATUS=run (\S+) \(RAY-SD1\) stage (\w+), ([a-z-]+); "
                 r"lease epoch ([0-9]+) until (20\d\d-\d\d-\d\dT\S+)$")
stages = []
for l in lines:
    m = pat.match(l)
    if not m or m.group(1) != rid or int(m.group(4)) < 1:
        sys.exit("bad line: %r (run %s)" % (l, rid))
    if m.group(2) not in stages:
        stages.append(m.group(2))
if len(lines) < 3 or stages[:3] != ["evidence", "voice", "render"]:
    sys.exit("stages seen: %r in %d lines" % (stages, len(lines)))
print(lines[0][7:], "... stages", ",".join(stages))
PY
wait_for 10 idle && ok "STATUS idle again after the run" || fail "STATUS after the run"
# WATCHDOG=1 every 1.5 s (half of 3 s): never a gap the manager would
# kill for, and not more often than asked
wd5() { [ "$(q "$L1" "sum('WATCHDOG=1' in d['lines'] for d in r)")" -ge 5 ]; }
wait_for 15 wd5 || fail "fewer than 5 WATCHDOG=1 in 15 s"
python3 -S - "$L1" <<'PY' >"$T/wd.out" 2>&1 && ok "WATCHDOG=1: $(cat "$T/wd.out")" || fail "WATCHDOG: $(cat "$T/wd.out")"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
t = [d["t"] for d in r if "WATCHDOG=1" in d["lines"]]
if len(t) < 5:
    sys.exit("only %d" % len(t))
gaps = [b - a for a, b in zip(t, t[1:])]
span = t[-1] - t[0]
if max(gaps) >= 3.0:
    sys.exit("a gap of %.2f s (limit 3 s)" % max(gaps))
if len(t) > span / 1.5 + 2:
    sys.exit("%d in %.1f s: more often than every 1.5 s" % (len(t), span))
print("%d over %.1f s, longest gap %.2f s" % (len(t), span, max(gaps)))
PY
env_ok=skip
for p in $(pgrep -f "rvw-.*--state-dir $RAYVAULT_STATE_DIR"); do
	[ -r "/proc/$p/environ" ] || continue
	env_ok=yes
	if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q '^NOTIFY_SOCKET='; then
		env_ok=no
		break
	fi
done
case $env_ok in
yes)	ok "the children do not inherit NOTIFY_SOCKET" ;;
no)	fail "a child has NOTIFY_SOCKET" ;;
*)	ok "(children's environment not readable here; not checked)" ;;
esac
n_before=$(wc -l <"$L1")
kill -TERM "$SUP_PID"
wait "$SUP_PID"
rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
[ "$(q "$L1" "any('STOPPING=1' in d['lines'] for d in r[$n_before:])")" = true ] &&
    ok "STOPPING=1 on SIGTERM" || fail "no STOPPING=1: $(tail -3 "$L1")"
[ "$(q "$L1" "any('STOPPING=1' in d['lines'] for d in r[:$n_before])")" = false ] &&
    ok "and not before" || fail "STOPPING=1 before SIGTERM"
kill "$LPID"; wait "$LPID" 2>/dev/null; LPID=""

# ---- 2. an abstract name; the store's contract broken -----------------
db="$RAYVAULT_STATE_DIR/rayvault.db"
mv "$db" "$T/backup.db" || fail "no database"
rm -f "$db-wal" "$db-shm"
sqlite3 "$db" "PRAGMA user_version = 999; CREATE TABLE notes (x TEXT);" ||
    fail "foreign database"
start2=$(wc -l <"$SUPLOG")
L2="$T/notify2.jsonl"
name="@rvtest-sdnotify-$$-$(date +%s)"
listen "$name" "$L2"
: >"$T/sup.log"
export NOTIFY_SOCKET="$name" WATCHDOG_USEC=1000000 WATCHDOG_PID=1
start_sup
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
retries() { [ "$(grep -c "store still breaks the contract" "$SUPLOG")" -ge 2 ]; }
wait_for 20 retries && ok "contract broken, checked again" || fail "no contract retries"
all_up() { [ "$(ctl status --json 2>/dev/null | json 'len([c for c in j["children"] if c["state"] in ("ready", "busy")])')" = 5 ]; }
wait_for 10 all_up && ok "every child up meanwhile" || fail "children not up"
sleep 1
! sent "$L2" READY=1 && ok "no READY=1 while the contract is broken" ||
    fail "READY=1 with a broken contract"
q "$L2" "[l for d in r for l in d['lines'] if l.startswith('STATUS=')][-1]" |
    grep -q "^STATUS=store contract broken: .*schema version 999" &&
    ok "STATUS says the contract is broken and why" ||
    fail "STATUS: $(q "$L2" "[l for d in r for l in d['lines'] if l.startswith('STATUS=')]")"
[ "$(q "$L2" "[d['pid'] for d in r if d['pid'] != $SUP_PID]")" = "[]" ] && [ -s "$L2" ] &&
    ok "the abstract name gets rvsup's datagrams" || fail "abstract: $(cat "$L2")"
mv "$db" "$T/foreign.db"
cp "$T/backup.db" "$db"
ready2() { sent "$L2" READY=1; }
wait_for 10 ready2 && ok "READY=1 once the contract holds" || fail "no READY=1 after the fix"
order=$(awk -v s="$start2" 'NR > s && /store contract confirmed; claims go through/ { c = NR }
    NR > s && /ready: every child up/ { r = NR }
    END { print (c && r && c < r) ? "ok" : "confirmed at line " c ", ready at line " r }' "$SUPLOG")
[ "$order" = ok ] && ok "READY logged after the contract was confirmed" ||
    fail "order: $order"
! sent "$L2" WATCHDOG=1 && ok "no WATCHDOG=1 when WATCHDOG_PID is another process" ||
    fail "WATCHDOG=1 sent for another pid"
n_before=$(wc -l <"$L2")
kill -TERM "$SUP_PID"
wait "$SUP_PID"
[ "$(q "$L2" "any('STOPPING=1' in d['lines'] for d in r[$n_before:])")" = true ] &&
    ok "STOPPING=1 on SIGTERM (abstract name)" || fail "no STOPPING=1 on the abstract name"
kill "$LPID"; wait "$LPID" 2>/dev/null; LPID=""

# ---- 3. nobody listens ---------------------------------------------------
: >"$T/sup.log"
export NOTIFY_SOCKET="$T/nobody.sock"
start_sup
unset NOTIFY_SOCKET
sleep 1
[ "$(grep -c "service manager notification not sent" "$SUPLOG")" = 1 ] &&
    ok "an unreachable NOTIFY_SOCKET is logged once" ||
    fail "warnings: $(grep -c "service manager notification not sent" "$SUPLOG")"
sup_up && ok "and rvsup runs on" || fail "rvsup not answering"
"$BIN/rvsup" stop >/dev/null || fail "stop"
wait "$SUP_PID"

# ---- 4. an address that is neither a path nor an @name --------------------
: >"$T/sup.log"
export NOTIFY_SOCKET="relative/notify.sock"
start_sup
unset NOTIFY_SOCKET
grep -q 'NOTIFY_SOCKET "relative/notify.sock": neither an absolute path nor an abstract @name; the service manager is not notified' "$SUPLOG" &&
    ok "a NOTIFY_SOCKET that is no address is named in the log, and ignored" ||
    fail "relative NOTIFY_SOCKET: $(grep NOTIFY "$SUPLOG")"
sup_up && ok "and rvsup runs on" || fail "rvsup not answering"
"$BIN/rvsup" stop >/dev/null || fail "stop"
wait "$SUP_PID"
finish
