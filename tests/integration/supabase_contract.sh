#!/bin/sh
# SPDX-License-Identifier: ISC
#
# supabase_contract.sh: the store at start, through the PostgREST fixture
# on a real PostgreSQL.  An outage (the fixture refuses connections) is a
# fault: status says "store: unusable (...; retry in N s)", no CONTRACT
# FAIL, and the worker goes on once the store answers.  A Supabase project
# without the migration (an empty database: PGRST202 for every function)
# breaks the contract: CONTRACT FAIL goes to Telegram once over many
# retries, status says "store: contract broken: <why> (retry in N s)" and
# exits 69, nothing is claimed.  The migration is then applied as
# supabase/README.md and the operator guide write it (psql, one
# transaction) and, without a restart, status clears and a queued run is
# claimed and done.
if [ -z "${SUPABASE_URL:-}" ]; then
	exec tests/lib/with_postgrest sh "$0" "$@"
fi
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
export RV_FAULT="contract-retry-max:2000"
MIGRATION=$(ls "$ROOT"/supabase/migrations/*_rayvault.sql | tail -n 1)
FX_PID=""
at_exit '[ -n "$FX_PID" ] && kill "$FX_PID" 2>/dev/null'

faults() {	# URL JSON
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    -H "apikey: $SUPABASE_SERVICE_KEY" \
	    -H "Authorization: Bearer $SUPABASE_SERVICE_KEY" \
	    -H 'Content-Type: application/json' -d "$2" \
	    "$1/_fixture/faults" | grep -q 200 || fail "fixture faults $2"
}
store_state() { ctl status --json 2>/dev/null | json 'j["supervisor"]["store_state"]'; }
state_is() { [ "$(store_state)" = "$1" ]; }
contract_fails_sent() {
	tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault CONTRACT FAIL")])'
}
tg_start

# --- an outage at start is not a CONTRACT FAIL ---
faults "$SUPABASE_URL" '{"outage_sec": 15}'
start_sup
wait_for 10 state_is unusable && ok "outage: status says unusable" || fail "outage: $(ctl status 2>&1 | head -3)"
ctl status >"$T/st.out" 2>&1
rc=$?
[ "$rc" -eq 69 ] && grep -Eq "^store: unusable \(.*; retry in [0-9]+ s\)$" "$T/st.out" &&
    ok "outage: store: unusable (<why>; retry in N s), exit 69" || fail "outage status $rc: $(head -3 "$T/st.out")"
wait_for 25 state_is up && ok "outage over: store up without a restart" || fail "after the outage: $(ctl status 2>&1 | head -3)"
grep -q "CONTRACT FAIL" "$T/sup.log" "$RAYVAULT_STATE_DIR/logs/alerts.log" 2>/dev/null &&
    fail "an outage alerted CONTRACT FAIL" || ok "outage: no CONTRACT FAIL"
"$BIN/rvsup" stop >/dev/null
wait "$SUP_PID" 2>/dev/null

# --- a project without the migration ---
psql -X -q -d postgres -c "CREATE DATABASE rv_empty" || fail "create rv_empty"
RV_FIXTURE_SERVICE_KEY=$SUPABASE_SERVICE_KEY python3 "$ROOT/tests/lib/postgrest_fixture.py" \
    --db rv_empty >"$T/fx.out" 2>"$T/fx.err" &
FX_PID=$!
fx_up() { [ -s "$T/fx.out" ]; }
wait_for 20 fx_up || fail "second fixture did not start: $(cat "$T/fx.err")"
SUPABASE_URL=http://127.0.0.1:$(head -n 1 "$T/fx.out")
export SUPABASE_URL RAYVAULT_STATE_DIR="$T/state2" RAYVAULT_SPOOL_DIR="$T/spool2"
start_sup
sent_one() { [ "$(contract_fails_sent)" -ge 1 ]; }
wait_for 20 sent_one && ok "CONTRACT FAIL sent to Telegram" || fail "no CONTRACT FAIL message"
checks() { [ "$(grep -c "store still breaks the contract" "$T/sup.log")" -ge 4 ]; }
wait_for 20 checks && ok "the contract check is retried" ||
    fail "retries: $(grep -c "store still breaks the contract" "$T/sup.log")"
sleep 1
[ "$(contract_fails_sent)" -eq 1 ] && [ "$(grep -c "ALERT CONTRACT FAIL" "$T/sup.log")" -eq 1 ] &&
    ok "one CONTRACT FAIL over every retry" ||
    fail "$(contract_fails_sent) messages, $(grep -c "ALERT CONTRACT FAIL" "$T/sup.log") ALERT lines"
ctl status >"$T/st2.out" 2>&1
rc=$?
[ "$rc" -eq 69 ] && grep -Eq "^store: contract broken: rpc_contract_info: store contract: function rpc_contract_info missing .* \(retry in [0-9]+ s\)$" "$T/st2.out" &&
    ok "status: store: contract broken: <why> (retry in N s), exit 69" || fail "status $rc: $(head -3 "$T/st2.out")"
ctl status --json >"$T/st2.json" 2>/dev/null
[ "$(json 'j["supervisor"]["store_state"]' <"$T/st2.json")" = contract_broken ] &&
    json 'j["supervisor"]["store_error"]' <"$T/st2.json" | grep -q "rpc_contract_info missing" &&
    [ "$(json 'j["run"]' <"$T/st2.json")" = null ] &&
    ok "status --json: contract_broken, the reason, no run" || fail "status json: $(head -16 "$T/st2.json")"
ctl check-contract >"$T/cc.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "^\[FAIL\] contract_rpc_contract_info" "$T/cc.out" &&
    ok "check-contract names the failing check (exit 2)" || fail "check-contract $rc: $(cat "$T/cc.out")"

# the fix, as the guide writes it: apply the migration in one transaction
psql -X -q -d rv_empty -v ON_ERROR_STOP=1 -1 -f "$MIGRATION" >/dev/null 2>"$T/migrate.err" ||
    fail "migration: $(cat "$T/migrate.err")"
wait_for 10 state_is up && ok "store up again without a restart" || fail "still: $(ctl status 2>&1 | head -3)"
spec=$(make_spec RAY-SBC1)
ctl enqueue "$spec" >/dev/null || fail "enqueue after the migration"
wait_for 180 status_is RAY-SBC1 done && ok "a queued run is claimed and done" || fail "run: $(run_status RAY-SBC1)"
[ "$(contract_fails_sent)" -eq 1 ] && ok "still one CONTRACT FAIL message" ||
    fail "$(contract_fails_sent) CONTRACT FAIL messages"
"$BIN/rvsup" stop >/dev/null
wait "$SUP_PID" 2>/dev/null
tg_no_token
finish
