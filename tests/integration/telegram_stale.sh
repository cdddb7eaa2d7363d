#!/bin/sh
# One incident, one Telegram message: a worker dies holding a run; the
# other supervisor sees STALE WORKER at every scan (the heartbeat age in
# the detail grows each time), yet the chat gets one message naming the
# dead worker and the run.  The supervisor hands the same alert about the
# same run to rvw-notify once; a repeat that still reached the notifier
# would be logged in alerts.log as a duplicate, never queued again.
. tests/integration/lib.sh
. "$ROOT/tests/lib/telegram_env.sh"
export RV_FAULT="slow:evidence:60000"
export RAYVAULT_DB_PATH="$T/shared.db"
spec=$(make_spec RAY-TGS)
ctl enqueue "$spec" >/dev/null
RAYVAULT_WORKER_ID=worker-a start_sup
wait_for 30 child_state_is evidence busy || fail "evidence never busy"
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
rid=$(run_id_of RAY-TGS)
tg_start
RAYVAULT_STATE_DIR="$T/state-b" RAYVAULT_WORKER_ID=worker-b "$BIN/rvsup" start >"$T/sup-b.log" 2>&1 &
B=$!
stale_sent() {
	[ "$(tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault STALE WORKER")])')" -ge 1 ]
}
wait_for 20 stale_sent && ok "STALE WORKER sent to Telegram" || fail "no STALE WORKER message"
scans() {
	[ "$(grep -c "ALERT STALE WORKER" "$T/sup-b.log")" -ge 3 ]
}
wait_for 20 scans && ok "the supervisor saw the stale worker at 3 scans or more" ||
    fail "the supervisor raised it $(grep -c "ALERT STALE WORKER" "$T/sup-b.log") times"
sleep 1
r8=$(echo "$rid" | cut -c1-8)
[ "$(grep -c "queued STALE WORKER video=RAY-TGS run=$r8" "$T/state-b/logs/alerts.log" 2>/dev/null)" -eq 1 ] &&
    ! grep "STALE WORKER video=RAY-TGS run=$r8" "$T/state-b/logs/alerts.log" | grep -qv " queued \| sent \| duplicate " &&
    ok "alerts.log: queued once; nothing but duplicates after" ||
    fail "alerts.log: $(cat "$T/state-b/logs/alerts.log" 2>/dev/null)"
[ "$(tg_q 'len([m for m in ok if m["params"]["text"].startswith("RayVault STALE WORKER")])')" -eq 1 ] &&
    ok "one message for the incident" || fail "messages: $(tg_q 'len(ok)')"
text=$(tg_q '[m["params"]["text"] for m in ok][0]')
for want in "Video: RAY-TGS" "Run: $(echo "$rid" | cut -c1-8)" "worker-a" "rvctl unlock"; do
	printf '%s\n' "$text" | grep -F "$want" >/dev/null || fail "message lacks \"$want\""
done
ok "the message names the run and the dead worker, and what to do"
kill -9 $B 2>/dev/null
wait $B 2>/dev/null
tg_no_token
finish
