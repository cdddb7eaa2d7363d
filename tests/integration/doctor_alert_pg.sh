#!/bin/sh
# CONTRACT FAIL from rvctl doctor --alert on a Supabase project without
# the migration (a real PostgreSQL behind the PostgREST fixture, an empty
# database): doctor names the failing contract check, one CONTRACT FAIL
# goes to Telegram, keyed by the store, and a second run within the hour
# sends nothing; both exit 2.  When the project does not answer at all
# (the fixture stopped), that is an outage, not a contract failure:
# exit 2, no CONTRACT FAIL and no STALE WORKER sent.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
LIB=$ROOT/tests/lib
chmod 0711 "$T"
FX=""
at_exit 'for p in $FX; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
"$LIB/pg_cluster" remove "$T/pg" >/dev/null 2>&1'
out=$("$LIB/pg_cluster" start "$T/pg") || { fail "setup: no PostgreSQL"; finish; }
eval "$out"
psql -X -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres \
    -c "CREATE DATABASE rv_bare" >/dev/null || { fail "setup: createdb"; finish; }
key=rvtest-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
RV_FIXTURE_SERVICE_KEY=$key python3 "$LIB/postgrest_fixture.py" --db rv_bare \
    >"$T/fx.out" 2>"$T/fx.err" &
FX=$!
wait_for 10 test -s "$T/fx.out" || { fail "setup: fixture: $(cat "$T/fx.err")"; finish; }
export SUPABASE_URL="http://127.0.0.1:$(head -n 1 "$T/fx.out")"
export SUPABASE_SERVICE_KEY="$key"
tg_start

contract_msgs() {
	tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault CONTRACT FAIL")])'
}
doctor_alert() {
	rc=0
	"$BIN/rvctl" doctor --alert >"$T/da.out" 2>&1 || rc=$?
}

doctor_alert
[ "$rc" -eq 2 ] && grep -q "^\[CRIT\] contract_rpc_contract_info: " "$T/da.out" &&
    grep -q "^\[OK\] alert: CONTRACT FAIL for the store sent to Telegram" "$T/da.out" &&
    [ "$(contract_msgs)" -eq 1 ] &&
    ok "no migration: CONTRACT FAIL sent, exit 2" ||
    fail "no migration: rc $rc, messages $(contract_msgs): $(cat "$T/da.out")"
tg_q '[m["params"]["text"] for m in ok][0]' |
    grep "Detail: contract_rpc_contract_info" >/dev/null &&
    ok "the message names the failing check" ||
    fail "message: $(tg_q '[m["params"]["text"] for m in ok]')"
doctor_alert
[ "$rc" -eq 2 ] && [ "$(contract_msgs)" -eq 1 ] &&
    grep -q "^\[OK\] alert: CONTRACT FAIL for the store already sent" "$T/da.out" &&
    ok "not repeated within the hour" ||
    fail "second run: rc $rc, messages $(contract_msgs): $(cat "$T/da.out")"

# The project stops answering: a fault, not a finding.
kill "$FX"
wait "$FX" 2>/dev/null
FX=""
python3 - "$T/state/runtime/alerts-sent.json" <<'EOF'
import json, os, sys
p = sys.argv[1]
j = json.load(open(p))
for e in j["sent"]:
    e["at"] -= 3601
open(p + ".t", "w").write(json.dumps(j))
os.chmod(p + ".t", 0o600)
os.rename(p + ".t", p)
EOF
doctor_alert
[ "$rc" -eq 2 ] && grep -q "^\[CRIT\] store: unreachable" "$T/da.out" &&
    ! grep -q "^\[CRIT\] contract_" "$T/da.out" && [ "$(tg_sent)" -eq 1 ] &&
    grep -q "^\[WARN\] alert: the store did not list its runs: nothing is known about stale workers" "$T/da.out" &&
    ok "store unreachable: exit 2, no CONTRACT FAIL or STALE WORKER guessed" ||
    fail "unreachable: rc $rc, messages $(tg_sent): $(cat "$T/da.out")"
tg_no_token
grep -rlF -e "$key" "$T/da.out" "$T/tg.jsonl" && fail "service key in the output" ||
    ok "service key in no output"
finish
