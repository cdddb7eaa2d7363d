#!/bin/sh
# SPDX-License-Identifier: ISC
#
# lazy_libmhd.sh: libmicrohttpd is loaded by rvctl dashboard when it
# starts (ctl/mhd_dl.c), never linked:
#  - no program lists it among its libraries;
#  - rvctl report, status and doctor never open it (the dynamic linker's
#    own account, LD_DEBUG=files), nor GnuTLS, which it brings;
#  - a running dashboard maps it and answers /healthz;
#  - a libmicrohttpd that cannot be loaded (RV_TEST_LIBMHD, honoured with
#    RV_TESTING=1): rvctl dashboard exits 69 naming the library, before
#    writing a login token; a library without the functions the dashboard
#    calls (libz) is refused naming the first one missing.
. tests/integration/lib.sh
. "$ROOT/tests/lib/dash_env.sh"
for b in rvsup rvctl rvw-evidence rvw-voice rvw-render rvw-probe rvw-notify; do
	if ldd "$BIN/$b" | grep -q libmicrohttpd; then
		fail "$b is linked with libmicrohttpd"
	fi
done
ok "no program is linked with libmicrohttpd"

ctl enqueue "$(make_spec RAY-MH1)" >/dev/null || fail "enqueue"
for cmd in report status doctor; do
	LD_DEBUG=files "$BIN/rvctl" $cmd >/dev/null 2>"$T/ld.$cmd" || true
	grep -q "file=libcjson" "$T/ld.$cmd" ||
	    fail "LD_DEBUG gave no account for rvctl $cmd"
	if grep -Eq "file=(libmicrohttpd|libgnutls)" "$T/ld.$cmd"; then
		fail "rvctl $cmd loaded: $(grep -Eo 'file=(libmicrohttpd|libgnutls)[^ ]*' "$T/ld.$cmd" | sort -u | tr '\n' ' ')"
	fi
done
ok "rvctl report, status and doctor load neither libmicrohttpd nor GnuTLS"

dash_start || finish
grep -q libmicrohttpd "/proc/$DASH_PID/maps" &&
    ok "a running dashboard maps libmicrohttpd" ||
    fail "the dashboard $DASH_PID does not map libmicrohttpd"
[ "$(dash_req "$DASH_BASE/healthz")" = 200 ] &&
    ok "and answers /healthz" || fail "/healthz: $(cat "$T/body")"
dash_stop
[ "$DASH_RC" -eq 0 ] || fail "dashboard exit $DASH_RC"

rm -f "$RAYVAULT_STATE_DIR/runtime/dashboard.token"
rc=0
RV_TEST_LIBMHD="$T/no-such-libmicrohttpd.so.12" "$BIN/rvctl" dashboard \
    --listen 127.0.0.1:0 >"$T/out" 2>"$T/err" </dev/null || rc=$?
[ $rc -eq 69 ] && grep -q "cannot load $T/no-such-libmicrohttpd.so.12" \
    "$T/err" && [ ! -s "$T/out" ] &&
    ok "a missing libmicrohttpd: exit 69 naming it, no URL" ||
    fail "missing library: exit $rc: $(cat "$T/out" "$T/err")"
[ ! -e "$RAYVAULT_STATE_DIR/runtime/dashboard.token" ] &&
    ok "and no login token written" || fail "a token was written"
libz=$(ldconfig -p | sed -n 's/.*libz\.so\.1 .* => //p' | head -1)
if [ -n "$libz" ]; then
	rc=0
	RV_TEST_LIBMHD="$libz" "$BIN/rvctl" dashboard --listen 127.0.0.1:0 \
	    >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ $rc -eq 69 ] && grep -q "has no MHD_start_daemon" "$T/err" &&
	    ok "a library without its functions: exit 69 naming the first" ||
	    fail "libz as libmicrohttpd: exit $rc: $(cat "$T/err")"
fi
finish
