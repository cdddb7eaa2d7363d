#!/bin/sh
# kill -9 of the supervisor mid-render, after the export of a segment
# was downloaded but before its ledger result was written: on restart
# the open ledger intent is resolved by the export found in staging, so
# that segment is not paid twice.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dzine_site/lib.sh"
export DZINE_CREDITS_AVAILABLE=100
dz_site "slow_balance=5000"
spec=$(make_spec RAY-DZ7)
ctl enqueue "$spec" >/dev/null || fail "enqueue"
start_sup
S=$RAYVAULT_STATE_DIR
staged() { ls "$S"/video/staging/V_*_intro_*.mp4 >/dev/null 2>&1; }
wait_for 60 staged || fail "intro never staged"
rid=$(run_id_of RAY-DZ7)
st=$(sqlite3 "$S/rayvault.db" "SELECT state FROM credit_ledger WHERE run_id='$rid' AND segment_id='intro'")
[ "$st" = intent ] && ok "export staged, ledger intent still open" || fail "ledger state '$st'"
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
# The renderer and the browser die at once (parent-death SIGKILL); the
# browser's helpers leave by themselves when its sockets close, and a big
# process takes a while to tear down on a loaded machine: allow 20 s.
gone() { [ -z "$(dz_browsers)" ]; }
wait_for 20 gone && ok "browser gone with its renderer" ||
    fail "browsers left: $(for p in $(dz_browsers); do ps -o pid=,ppid=,stat=,etime=,comm= -p "$p"; done)"
start_sup
wait_for 60 status_is RAY-DZ7 done && ok "run done after the restart" ||
    fail "run: $(run_status RAY-DZ7)"
[ "$(dz_presses_of intro)" -eq 1 ] && ok "intro paid once" ||
    fail "intro presses: $(dz_presses_of intro)"
row=$(sqlite3 "$S/rayvault.db" "SELECT state || ' ' || credits FROM credit_ledger WHERE run_id='$rid' AND segment_id='intro'")
[ "$row" = "done 1" ] && ok "open intent resolved by the export (done, 1 credit)" ||
    fail "ledger row '$row'"
[ "$(count_events "$rid" render_paid_again)" -eq 0 ] || fail "a segment was paid again"
[ "$(count_events "$rid" render_done)" -eq 2 ] || fail "render_done $(count_events "$rid" render_done)"
finish
