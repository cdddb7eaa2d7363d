# SPDX-License-Identifier: ISC
# Helpers for the tests of rvctl dashboard (sourced after
# tests/integration/lib.sh).  Every answer the tests receive is kept in
# $T/served (headers and body, one file each) for the secrets grep and
# the header checks.
#
#   dash_start [ARGS...]   start rvctl dashboard --listen 127.0.0.1:0;
#                          sets DASH_PID DASH_URL DASH_BASE DASH_PORT
#   dash_stop              SIGTERM it, wait; DASH_RC is its exit code
#   dash_login             log in (cookie jar $T/jar)
#   dash_req ARGS...       curl with the jar, the answer kept; prints the
#                          status code; the body is in $T/body
#   dash_post PATH DATA    a POST from the page's own origin
#   dash_csrf PATH         the csrf field of the page at PATH
#   dash_nonce PATH        the nonce field of the page at PATH
mkdir -p "$T/served"

dash_start() {
	: >"$T/dash.out"
	"$BIN/rvctl" dashboard --listen 127.0.0.1:0 "$@" >"$T/dash.out" \
	    2>>"$T/dash.log" &
	DASH_PID=$!
	wait_for 10 dash_has_url || { fail "dashboard did not print its URL"; return 1; }
	DASH_URL=$(head -1 "$T/dash.out")
	DASH_BASE=${DASH_URL%%/login*}
	DASH_PORT=${DASH_BASE##*:}
	at_exit "kill $DASH_PID 2>/dev/null"
}

dash_has_url() {
	[ -s "$T/dash.out" ] && grep -q '^http' "$T/dash.out"
}

dash_stop() {
	kill -TERM "$DASH_PID" 2>/dev/null
	DASH_RC=0
	wait "$DASH_PID" || DASH_RC=$?
}

dash_req() {
	_f=$(mktemp "$T/served/a.XXXXXX")
	curl -s -b "$T/jar" -c "$T/jar" -D "$_f.h" -o "$_f.b" \
	    -w '%{http_code}' "$@"
	cp "$_f.b" "$T/body" 2>/dev/null || : >"$T/body"
	cp "$_f.h" "$T/headers"
	rm -f "$_f"
}

dash_login() {
	rm -f "$T/jar"
	[ "$(dash_req "$DASH_URL")" = 303 ]
}

dash_post() {
	dash_req -H "Origin: $DASH_BASE" --data "$2" "$DASH_BASE$1"
}

dash_field() {
	dash_req "$DASH_BASE$1" >/dev/null
	grep -o "name=\"$2\" value=\"[^\"]*\"" "$T/body" | head -1 | cut -d'"' -f4
}

dash_csrf() {
	dash_field "$1" csrf
}

dash_nonce() {
	dash_field "$1" nonce
}
