#!/bin/sh
# A supervisor started while the database file is read-only (immutable:
# root ignores file modes, so chattr +i is the real thing here) never
# guesses: rvctl status says the store is unusable and exits 69, claims
# fail and are retried, no spooled event is quarantined, and once the file
# is writable again the handle is reopened, the run is claimed and
# completes.  Skips where chattr is not supported.
. tests/integration/lib.sh
spec=$(make_spec RAY-RO1)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
db="$RAYVAULT_STATE_DIR/rayvault.db"
if ! chattr +i "$db" 2>/dev/null; then
	echo "SKIP: chattr +i not supported on $T"
	finish
fi
unfreeze() { chattr -i "$db" 2>/dev/null; }
trap 'unfreeze; cleanup' EXIT
start_sup
unusable() { ctl status --json 2>/dev/null | json 'j["supervisor"]["store_state"]' | grep -qx unusable; }
wait_for 20 unusable && ok "status: store unusable" || fail "status: $(ctl status --json)"
ctl status >/dev/null 2>&1
[ $? -eq 69 ] && ok "status exits 69" || fail "status exit code"
ctl status 2>&1 | grep -q "store: unusable" && ok "status says why" ||
    fail "status text: $(ctl status 2>&1 | head -5)"
sleep 4
status_is RAY-RO1 running && ok "run untouched while read-only" ||
    fail "status $(run_status RAY-RO1)"
grep -q "claim failed" "$T/sup.log" && ok "claims fail and are retried" ||
    fail "no failed claim logged"
unfreeze
wait_for 30 sh -c "! $(command -v sh) -c 'exit 1'" >/dev/null
usable() { ctl status --json 2>/dev/null | json 'j["supervisor"]["store_state"]' | grep -qx up; }
wait_for 60 usable && ok "store usable again" || fail "still unusable"
wait_for 180 status_is RAY-RO1 done && ok "run claimed and done" ||
    fail "run: $(run_status RAY-RO1)"
[ -z "$(ls "$RAYVAULT_SPOOL_DIR/quarantine" 2>/dev/null)" ] &&
    ok "nothing quarantined in the spool" || fail "spool quarantine: $(ls "$RAYVAULT_SPOOL_DIR/quarantine")"
grep -q "ALERT STALE WORKER" "$T/sup.log" && fail "STALE WORKER about its own run" ||
    ok "no STALE WORKER about its own run"
finish
