#!/bin/sh
# A supervisor started on an embedded database of another schema
# (PRAGMA user_version 999) never guesses: it alerts CONTRACT FAIL once
# (one Telegram message, over many retries of its contract check), keeps
# its children up, claims nothing and changes nothing in that file, and
# `rvctl status` says "store: contract broken: <why> (retry in N s)" and
# exits 69.  The operator guide's recipe is then followed as written:
# `rvctl check-contract` names the failing check, the right database is
# restored from its backup, and without a restart the next check passes,
# status clears and the queued run is claimed and done.  A store that
# cannot be opened at all (its path is a directory) is an outage: status
# says "unusable", and no CONTRACT FAIL goes out.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
# the contract check backs off 1 s, 2 s, then every 2 s (60 s in use)
export RV_FAULT="contract-retry-max:2000"
db="$RAYVAULT_STATE_DIR/rayvault.db"
spec=$(make_spec RAY-CT1)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
# the backup the operator restores later, and a foreign file in its place
mv "$db" "$T/backup.db" || fail "no database to back up"
rm -f "$db-wal" "$db-shm"
sqlite3 "$db" "PRAGMA user_version = 999; CREATE TABLE notes (x TEXT);
    INSERT INTO notes VALUES ('not ours');" || fail "foreign database"
foreign_sum=$(sqlite3 "$db" "PRAGMA user_version; PRAGMA journal_mode;
    SELECT * FROM notes; SELECT group_concat(name) FROM sqlite_master;")
tg_start
start_sup

contract_fails_sent() {	# messages whose title is CONTRACT FAIL
	tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault CONTRACT FAIL")])'
}
sent_one() { [ "$(contract_fails_sent)" -ge 1 ]; }
wait_for 20 sent_one && ok "CONTRACT FAIL sent to Telegram" || fail "no CONTRACT FAIL message"
checks() { [ "$(grep -c "store still breaks the contract" "$T/sup.log")" -ge 4 ]; }
wait_for 20 checks && ok "the contract check is retried ($(grep -c "store still breaks the contract" "$T/sup.log") retries so far)" ||
    fail "retries: $(grep -c "store still breaks the contract" "$T/sup.log")"
sleep 1
[ "$(contract_fails_sent)" -eq 1 ] && ok "one message over every retry" ||
    fail "$(contract_fails_sent) CONTRACT FAIL messages"
[ "$(grep -c "ALERT CONTRACT FAIL" "$T/sup.log")" -eq 1 ] && ok "alerted once by the supervisor" ||
    fail "ALERT lines: $(grep -c "ALERT CONTRACT FAIL" "$T/sup.log")"
text=$(tg_q '[m["params"]["text"] for m in ok if m["params"]["text"].startswith("RayVault CONTRACT FAIL")][0]')
printf '%s\n' "$text" | grep -q "schema version 999" && printf '%s\n' "$text" | grep -q "check-contract" &&
    ok "the message names the reason and what to do" || fail "message: $text"

# status: the reason and the wait, text and JSON; exit 69
ctl status >"$T/st.out" 2>&1
rc=$?
[ "$rc" -eq 69 ] && ok "status exits 69" || fail "status exit $rc"
grep -Eq "^store: contract broken: the database has schema version 999, newer than this build's [0-9]+ \(retry in [0-9]+ s\)$" "$T/st.out" &&
    ok "status: store: contract broken: <why> (retry in N s)" || fail "status text: $(head -3 "$T/st.out")"
ctl status --json >"$T/st.json" 2>/dev/null
[ "$(json 'j["supervisor"]["store_state"]' <"$T/st.json")" = contract_broken ] &&
    json 'j["supervisor"]["store_error"]' <"$T/st.json" | grep -q "schema version 999" &&
    [ "$(json '0 <= j["supervisor"]["store_retry_in_sec"] <= 2' <"$T/st.json")" = true ] &&
    ok "status --json: store_state, store_error, store_retry_in_sec" || fail "status json: $(head -16 "$T/st.json")"
[ "$(json 'len([c for c in j["children"] if c["state"] in ("ready", "busy") and c["pid"] > 0])' <"$T/st.json")" = 5 ] &&
    ok "every child up meanwhile" || fail "children: $(json '[(c["kind"], c["state"]) for c in j["children"]]' <"$T/st.json")"
[ "$(json 'j["run"]' <"$T/st.json")" = null ] && ok "nothing claimed" || fail "run: $(json 'j["run"]' <"$T/st.json")"
[ "$(sqlite3 "$db" "PRAGMA user_version; PRAGMA journal_mode;
    SELECT * FROM notes; SELECT group_concat(name) FROM sqlite_master;")" = "$foreign_sum" ] &&
    ok "the foreign database is unchanged" || fail "foreign database changed"

# the guide's recipe: check-contract names it; restore the right database
ctl check-contract >"$T/cc.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "^\[FAIL\] contract_schema: .*schema version 999" "$T/cc.out" &&
    ok "check-contract names the failing check (exit 2)" || fail "check-contract $rc: $(cat "$T/cc.out")"
mv "$db" "$T/foreign.db"
cp "$T/backup.db" "$db"
up() { [ "$(ctl status --json 2>/dev/null | json 'j["supervisor"]["store_state"]')" = up ]; }
wait_for 10 up && ok "store up again without a restart" || fail "still: $(ctl status 2>&1 | head -3)"
ctl status >"$T/st2.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ! grep -q "^store:" "$T/st2.out" && ok "status clear (exit 0)" ||
    fail "status $rc: $(head -3 "$T/st2.out")"
claimed() { ctl status --json 2>/dev/null | json 'j["run"]["video_id"] if j["run"] else ""' | grep -qx RAY-CT1; }
wait_for 10 claimed && ok "the run is claimed" || fail "not claimed: $(run_status RAY-CT1)"
wait_for 180 status_is RAY-CT1 done && ok "and done" || fail "run: $(run_status RAY-CT1)"
[ "$(contract_fails_sent)" -eq 1 ] && ok "still one CONTRACT FAIL message" ||
    fail "$(contract_fails_sent) CONTRACT FAIL messages"
[ -z "$(find "$RAYVAULT_SPOOL_DIR/quarantine" "$RAYVAULT_SPOOL_DIR/bad" -type f 2>/dev/null)" ] &&
    ok "nothing set aside in the spool" || fail "spool: $(ls -R "$RAYVAULT_SPOOL_DIR")"
rid=$(run_id_of RAY-CT1)
"$BIN/rvsup" stop >/dev/null
wait "$SUP_PID" 2>/dev/null
[ "$(sqlite3 "$db" "SELECT count(*) FROM run_events WHERE event_type = 'alert' AND reason_key = 'CONTRACT FAIL'")" -eq 1 ] &&
    ok "the alert reached the store once it was fixed" || fail "alert events: $(sqlite3 "$db" "SELECT count(*) FROM run_events WHERE reason_key = 'CONTRACT FAIL'")"

# an outage is not a CONTRACT FAIL: the database path is a directory
S2="$T/state-b"
mkdir -p "$S2/rayvault.db"
RAYVAULT_STATE_DIR=$S2 RAYVAULT_SPOOL_DIR=$T/spool-b "$BIN/rvsup" start >"$T/sup-b.log" 2>&1 &
B=$!
unusable() { RAYVAULT_STATE_DIR=$S2 ctl status --json 2>/dev/null | json 'j["supervisor"]["store_state"]' | grep -qx unusable; }
wait_for 10 unusable && ok "outage: status says unusable" || fail "outage status: $(RAYVAULT_STATE_DIR=$S2 ctl status 2>&1 | head -3)"
RAYVAULT_STATE_DIR=$S2 ctl status >"$T/st3.out" 2>&1
rc=$?
[ "$rc" -eq 69 ] && grep -Eq "^store: unusable \(.*rayvault.db: not a regular file; retry in [0-9]+ s\)$" "$T/st3.out" &&
    ok "outage: store: unusable (<why>; retry in N s), exit 69" || fail "outage $rc: $(head -3 "$T/st3.out")"
sleep 3
! grep -q "CONTRACT FAIL" "$T/sup-b.log" "$S2/logs/alerts.log" 2>/dev/null &&
    ok "outage: no CONTRACT FAIL" || fail "outage alerted CONTRACT FAIL"
rmdir "$S2/rayvault.db"
up_b() { RAYVAULT_STATE_DIR=$S2 ctl status --json 2>/dev/null | json 'j["supervisor"]["store_state"]' | grep -qx up; }
wait_for 10 up_b && ok "outage over: store up" || fail "outage: $(RAYVAULT_STATE_DIR=$S2 ctl status 2>&1 | head -3)"
RAYVAULT_STATE_DIR=$S2 "$BIN/rvsup" stop >/dev/null
wait $B 2>/dev/null
[ "$(contract_fails_sent)" -eq 1 ] && ok "Telegram got no other CONTRACT FAIL" ||
    fail "$(contract_fails_sent) CONTRACT FAIL messages"
tg_no_token
finish
