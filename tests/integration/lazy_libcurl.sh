#!/bin/sh
# libcurl is loaded on first use (common/core/curl_dl.c), never linked:
#  - no program lists it among its libraries;
#  - a supervisor on the embedded store without Telegram and its idle
#    children never map it; through a run only the evidence child, which
#    fetched, does;
#  - with Telegram on, only the notifier maps it;
#  - a libcurl that cannot be loaded (RV_TEST_LIBCURL, honoured with
#    RV_TESTING=1) under the Supabase store is a store fault with its
#    reason in rvctl status, retried, never a decision: nothing claimed.
. tests/integration/lib.sh
for b in rvsup rvctl rvw-evidence rvw-voice rvw-render rvw-probe rvw-notify; do
	if ldd "$BIN/$b" | grep -q libcurl; then
		fail "$b is linked with libcurl"
	fi
done
ok "no program is linked with libcurl"

maps_curl() {	# maps_curl PID: does it map libcurl?
	grep -q libcurl "/proc/$1/maps" 2>/dev/null
}
kids() {
	ctl status --json | json '" ".join(c["kind"] + ":" + str(c["pid"]) for c in j["children"])'
}

start_sup
wait_for 10 children_ready || fail "children not ready"
mapping() {	# the kinds whose process maps libcurl, "rvsup" first
	maps_curl "$SUP_PID" && printf 'rvsup '
	for kp in $(kids); do
		maps_curl "${kp#*:}" && printf '%s ' "${kp%%:*}"
	done
	echo
}
m=$(mapping)
[ "$m" = "" ] && ok "an idle supervisor on the embedded store and its children do not map libcurl" ||
    fail "libcurl mapped by: $m"
ctl enqueue "$(make_spec RAY-LC1)" >/dev/null || fail "enqueue"
wait_for 60 status_is RAY-LC1 done || fail "run: $(run_status RAY-LC1)"
m=$(mapping)
[ "$m" = "evidence " ] && ok "after a run only the evidence child, which fetched, maps it" ||
    fail "libcurl mapped by: $m"
"$BIN/rvsup" stop >/dev/null 2>&1 || fail "rvsup stop"
wait "$SUP_PID" 2>/dev/null
SUP_PID=""

# Telegram on: the notifier loads it, nobody else.
. "$ROOT/tests/lib/telegram_env.sh"
tg_start
start_sup
wait_for 10 children_ready || fail "children not ready with Telegram"
np=$(child_field notify pid)
wait_for 5 maps_curl "$np" && ok "with Telegram on the notifier maps libcurl" ||
    fail "the notifier $np does not map libcurl"
! maps_curl "$SUP_PID" && ok "the supervisor still does not" ||
    fail "the supervisor maps libcurl"
"$BIN/rvsup" stop >/dev/null 2>&1 || fail "rvsup stop"
wait "$SUP_PID" 2>/dev/null
SUP_PID=""

# The Supabase store without a loadable libcurl.
unset TELEGRAM_API_BASE TELEGRAM_BOT_TOKEN TELEGRAM_CHAT_ID
export RAYVAULT_STATE_DIR="$T/state2" RAYVAULT_SPOOL_DIR="$T/spool2"
export SUPABASE_URL=http://127.0.0.1:9 SUPABASE_SERVICE_KEY=test-key
export RV_TEST_LIBCURL="$T/no-such-libcurl.so.4"
from=$(($(wc -l <"$T/sup.log") + 1))
start_sup
why() { ctl status 2>/dev/null | grep -q "^store: .*cannot load $RV_TEST_LIBCURL"; }
wait_for 10 why && ok "status names the library that could not be loaded" ||
    fail "status: $(ctl status 2>&1 | head -5)"
out=$(ctl runs 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "no-such-libcurl.so.4" &&
    ok "rvctl on that store fails naming the library (exit $rc)" ||
    fail "rvctl runs: exit $rc: $out"
tail -n "+$from" "$T/sup.log" | grep -q "claimed run" &&
    fail "a run was claimed without a store" || ok "nothing claimed"
finish
