#!/bin/sh
# State directories are checked before rvsup uses them (SPEC section 9).
# A state root or subfolder that is a symlink, or owned by another user,
# is refused: exit 78 (EX_CONFIG) with the path and the fix, and nothing
# is written.  A group- or other-accessible one is made 0700.  A symlink
# where rvsup's log goes is refused and its target is left unchanged.  A
# .env holding a secret that others can read is refused by start and
# check-config (naming the file and "chmod 600"); without a secret it is
# accepted.
. tests/integration/lib.sh
S=$RAYVAULT_STATE_DIR

# sup_rc: run rvsup start (bounded: a start that is not refused would run
# on) and keep its exit code and stderr.
sup_rc() {
	rc=0
	timeout 10 "$BIN/rvsup" start >"$T/out" 2>&1 || rc=$?
}

mkdir -p "$T/elsewhere"
ln -s "$T/elsewhere" "$S"
sup_rc
[ "$rc" = 78 ] && grep -q "$S is a symbolic link" "$T/out" &&
    ok "a symlinked state dir is refused (78, named)" ||
    fail "symlinked state dir: rc $rc: $(cat "$T/out")"
[ -z "$(ls "$T/elsewhere")" ] && ok "nothing written through it" ||
    fail "written through the link: $(ls "$T/elsewhere")"
rm "$S"

mkdir -p "$S/video" "$S/audio" "$RAYVAULT_SPOOL_DIR/bad"
ln -s "$T/elsewhere" "$S/timeline"
sup_rc
[ "$rc" = 78 ] && grep -q "$S/timeline is a symbolic link" "$T/out" &&
    ok "a symlinked subfolder is refused" ||
    fail "symlinked subfolder: rc $rc: $(cat "$T/out")"
rm "$S/timeline"

chown nobody "$S/video"
sup_rc
[ "$rc" = 78 ] && grep -q "$S/video is owned by uid" "$T/out" &&
    grep -q "chown" "$T/out" &&
    ok "a subfolder owned by another user is refused" ||
    fail "foreign subfolder: rc $rc: $(cat "$T/out")"
chown "$(id -u)" "$S/video"

mkdir -p "$S/logs"
echo "victim" >"$T/victim"
ln -s "$T/victim" "$S/logs/rvsup.log"
sup_rc
[ "$rc" = 78 ] && grep -q "$S/logs/rvsup.log is a symbolic link" \
    "$T/out" && ok "a symlinked rvsup.log is refused" ||
    fail "symlinked log: rc $rc: $(cat "$T/out")"
[ "$(cat "$T/victim")" = victim ] && ok "the link's target is unchanged" ||
    fail "target written: $(cat "$T/victim")"
rm "$S/logs/rvsup.log"

chmod 775 "$S" "$S/audio"
chmod 757 "$RAYVAULT_SPOOL_DIR/bad"
echo "TELEGRAM_BOT_TOKEN=123:secret" >"$T/.env"
chmod 644 "$T/.env"
sup_rc
[ "$rc" = 78 ] && grep -q "\.env holds secrets and is readable by other" \
    "$T/out" && grep -q "chmod 600 .env" "$T/out" &&
    ok "start refuses a readable .env with a secret" ||
    fail "start with a readable .env: rc $rc: $(cat "$T/out")"
rc=0
"$BIN/rvsup" check-config >"$T/out" 2>&1 || rc=$?
[ "$rc" = 78 ] && grep -q "chmod 600 .env" "$T/out" &&
    ok "check-config refuses it too" ||
    fail "check-config with a readable .env: rc $rc: $(cat "$T/out")"
echo "RAYVAULT_POLL_INTERVAL_SEC=1" >"$T/.env"
rc=0
"$BIN/rvsup" check-config >"$T/out" 2>&1 || rc=$?
[ "$rc" = 0 ] && ok "a readable .env without a secret is accepted" ||
    fail "check-config without a secret: rc $rc: $(cat "$T/out")"

start_sup
mode() { stat -c %a "$1"; }
[ "$(mode "$S")" = 700 ] && [ "$(mode "$S/audio")" = 700 ] &&
    [ "$(mode "$RAYVAULT_SPOOL_DIR/bad")" = 700 ] &&
    ok "group/other access removed (0700)" ||
    fail "modes: $S $(mode "$S"), audio $(mode "$S/audio"), spool/bad $(mode "$RAYVAULT_SPOOL_DIR/bad")"
[ -f "$S/logs/rvsup.log" ] && [ ! -L "$S/logs/rvsup.log" ] &&
    ok "rvsup logs to a file of its own" || fail "no rvsup.log"
finish
