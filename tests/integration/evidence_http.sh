#!/bin/sh
# SPDX-License-Identifier: ISC
#
# evidence_http.sh: the evidence stage against a loopback HTTP server.
#
# Starts tests/lib/httpd_fixture.py (product sites cannot be reached from
# tests) and runs rv_evidence on specs pointing at it: a server that never
# answers must fail with a timeout within about the configured 2 s, an
# oversized body, a redirect loop, a redirect to file://, and HTTP 500 must
# fail with a clear error, three redirects and a good page must work, and
# two tier-5 pages that disagree on voltage must exit 3 with a voltage
# conflict.  The progress tick must run at least every 100 ms (checked
# with some slack for scheduling) and a stop request must end a transfer.
# The evidence records the URL the body came from after redirects.
#
# The fixture is on loopback, which the fetch refuses unless
# RAYVAULT_EVIDENCE_ALLOW_PRIVATE=1, so the cases above set it; the last
# cases unset it: a source on loopback is refused at connect, naming the
# address and the setting, with no claims; and with a second server whose
# port the RV_TEST_EVIDENCE_PUBLIC_PORT hook declares public, a redirect
# from it to the loopback server is refused at that hop.
#
# Usage: BUILD=build tests/integration/evidence_http.sh
# Prints "FAIL <case>: <detail>" per failure and exits non-zero on any.

. tests/integration/lib.sh
set -e
TOOL=$TOOLS/rv_evidence
PAGES=$ROOT/tests/unit/data/pages
MAX_GAP_MS=150
TMP=$T

[ -x "$TOOL" ] || { fail "setup: rv_evidence not built"; finish; }

python3 "$ROOT/tests/lib/httpd_fixture.py" "$PAGES" >"$TMP/port" &
SERVER_PID=$!
at_exit 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null'
wait_for 10 test -s "$TMP/port" ||
    { fail "setup: fixture server did not start"; finish; }
PORT=$(head -n 1 "$TMP/port")
BASE=http://127.0.0.1:$PORT
export RAYVAULT_EVIDENCE_ALLOW_PRIVATE=1

passes=0

# Milliseconds of a monotonic-enough clock, without starting an interpreter
# (under load its start alone would eat the limits below).
now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# spec NAME URL TIER [URL TIER...]: write $TMP/NAME.json
spec() {
	name=$1
	shift
	{
		printf '{"video_id":"EV-TEST","sources":['
		sep=
		while [ $# -ge 2 ]; do
			printf '%s{"url":"%s","tier":%s}' "$sep" "$1" "$2"
			sep=,
			shift 2
		done
		printf ']}\n'
	} >"$TMP/$name.json"
}

# run NAME WANT_RC PATTERN MAX_MS [TOOL OPTIONS...]: run the tool on
# $TMP/NAME.json; PATTERN must appear in its stdout or stderr.
run() {
	name=$1 want=$2 pattern=$3 max=$4
	shift 4
	t0=$(now_ms)
	set +e
	if command -v timeout >/dev/null 2>&1; then
		timeout 30 "$TOOL" -o "$TMP/$name.evidence.json" "$@" \
		    "$TMP/$name.json" >"$TMP/$name.out" 2>"$TMP/$name.err"
	else
		"$TOOL" -o "$TMP/$name.evidence.json" "$@" \
		    "$TMP/$name.json" >"$TMP/$name.out" 2>"$TMP/$name.err"
	fi
	rc=$?
	set -e
	ms=$(($(now_ms) - t0))
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, want $want: $(head -c 300 "$TMP/$name.err")"
		return 0
	fi
	if ! cat "$TMP/$name.out" "$TMP/$name.err" | grep -q -- "$pattern"; then
		fail "$name: no \"$pattern\" in output: $(head -c 300 "$TMP/$name.err")"
		return 0
	fi
	if [ "$ms" -gt "$max" ]; then
		fail "$name: took $ms ms, limit $max ms"
		return 0
	fi
	passes=$((passes + 1))
}

# check_gap NAME: the progress tick never paused longer than MAX_GAP_MS.
check_gap() {
	gap=$(sed -n 's/^progress: [0-9]* ticks, max gap \([0-9]*\) ms$/\1/p' \
	    "$TMP/$1.err")
	if [ -z "$gap" ]; then
		fail "$1 progress: no progress report"
	elif [ "$gap" -gt "$MAX_GAP_MS" ]; then
		fail "$1 progress: tick gap $gap ms > $MAX_GAP_MS ms"
	else
		passes=$((passes + 1))
	fi
}

spec slow "$BASE/slow" 5
run slow 1 "slow: timed out" 3500 -P -t 2
check_gap slow

spec stop "$BASE/slow" 5
run stop 1 "stopped by the progress tick" 1500 -S 0.5 -t 10

spec big "$BASE/big" 5
run big 1 "body larger than 5 MiB" 5000

spec big_cl "$BASE/big?cl=1" 5
run big_cl 1 "big?...: body larger than 5 MiB" 5000

spec loop "$BASE/loop" 5
run loop 1 "too many redirects" 5000

spec hops6 "$BASE/redirect/6" 5
run hops6 1 "too many redirects" 5000

spec scheme "$BASE/scheme" 5
run scheme 1 "redirected to a scheme other than http or https" 5000

spec file "file:///etc/passwd" 5
run file 1 "not an http or https URL" 5000

spec e500 "$BASE/500" 5
run e500 1 "500: HTTP 500" 5000

spec hops3 "$BASE/redirect/3" 5
run hops3 0 '"sources_ok":[[:space:]]*1' 5000
final=$(json 'j["sources"][0].get("final_url")' <"$TMP/hops3.evidence.json")
[ "$final" = "$BASE/redirect/0" ] && passes=$((passes + 1)) ||
    fail "hops3: final_url \"$final\", want $BASE/redirect/0"

spec good "$BASE/page/store_multi.html" 5
run good 0 '"sources_failed":[[:space:]]*0' 5000
if ! grep -q '"voltage":[[:space:]]*"220 V"' "$TMP/good.evidence.json" ||
    ! grep -q '"sha256":[[:space:]]*"[0-9a-f]\{64\}"' \
    "$TMP/good.evidence.json"; then
	fail "good: evidence file lacks the page's claims or sha256"
fi

spec partial "$BASE/page/store_multi.html" 5 "$BASE/500" 4
run partial 0 '"sources_failed":[[:space:]]*1' 5000

spec conflict "$BASE/page/volt_110.html" 5 "$BASE/page/volt_220.html" 5
run conflict 3 '"claim":[[:space:]]*"voltage"' 5000
if grep -q '"claim":[[:space:]]*"\(price\|ean\|model_id\)"' \
    "$TMP/conflict.out"; then
	fail "conflict: agreeing claims reported as conflicts"
fi
grep -q "^voltage:" "$TMP/conflict.err" ||
    fail "conflict: no voltage section in the diff"

spec lowtier "$BASE/page/volt_110.html" 2 "$BASE/page/volt_220.html" 5
run lowtier 0 "voltage: sources below tier 4 disagree" 5000

# ---- the address check ----------------------------------------------
# mixed NAME URL: $TMP/NAME.json with URL (tier 5) and a saved page (tier
# 2), so that the evidence file is written even when the URL is refused.
cp "$PAGES/volt_220.html" "$TMP/saved.html"
mixed() {
	printf '{"video_id":"EV-TEST","sources":[{"url":"%s","tier":5},'\
'{"path":"saved.html","tier":2}]}\n' "$2" >"$TMP/$1.json"
}

# refused NAME ADDR FINAL: source 0 of NAME failed at connect naming ADDR
# and the setting, has no claims, and its final_url is FINAL.
refused() {
	ev=$TMP/$1.evidence.json
	e=$(json 'j["sources"][0]["error"]' <"$ev")
	case $e in
	*"refused to connect to $2 ("*RAYVAULT_EVIDENCE_ALLOW_PRIVATE=1*) ;;
	*)	fail "$1: error \"$e\" does not name $2 and the setting"
		return 0 ;;
	esac
	n=$(json 'len(j["sources"][0]["claims"])' <"$ev")
	[ "$n" = 0 ] || { fail "$1: $n claims from a refused source"; return 0; }
	f=$(json 'j["sources"][0]["final_url"]' <"$ev")
	[ "$f" = "$3" ] || { fail "$1: final_url \"$f\", want $3"; return 0; }
	passes=$((passes + 1))
}

unset RAYVAULT_EVIDENCE_ALLOW_PRIVATE
mixed deny "$BASE/page/volt_110.html"
run deny 0 '"sources_failed":[[:space:]]*1' 5000
refused deny 127.0.0.1 "$BASE/page/volt_110.html"

export RAYVAULT_EVIDENCE_ALLOW_PRIVATE=0
mixed deny0 "$BASE/page/volt_110.html"
run deny0 0 '"sources_failed":[[:space:]]*1' 5000
refused deny0 127.0.0.1 "$BASE/page/volt_110.html"
unset RAYVAULT_EVIDENCE_ALLOW_PRIVATE

mixed deny6 "http://[::1]:$PORT/page/volt_110.html"
run deny6 0 '"sources_failed":[[:space:]]*1' 5000
refused deny6 ::1 "http://[::1]:$PORT/page/volt_110.html"

# A second server, declared public by the test hook: the first hop to it
# is allowed, the redirect to the loopback server is not.
python3 "$ROOT/tests/lib/httpd_fixture.py" "$PAGES" >"$TMP/port2" &
SERVER2_PID=$!
at_exit 'kill "$SERVER2_PID" 2>/dev/null; wait "$SERVER2_PID" 2>/dev/null'
wait_for 10 test -s "$TMP/port2" ||
    { fail "setup: second fixture server did not start"; finish; }
PUB=http://127.0.0.1:$(head -n 1 "$TMP/port2")
export RV_TESTING=1 RV_TEST_EVIDENCE_PUBLIC_PORT=${PUB##*:}

mixed pub "$PUB/page/volt_110.html"
run pub 0 '"sources_failed":[[:space:]]*0' 5000

mixed hop "$PUB/to?u=$BASE/page/volt_110.html"
run hop 0 '"sources_failed":[[:space:]]*1' 5000
refused hop 127.0.0.1 "$BASE/page/volt_110.html"
grep -q "redirected to $BASE/page/volt_110.html: refused" \
    "$TMP/hop.evidence.json" && passes=$((passes + 1)) ||
    fail "hop: the error does not name the redirect target"

mixed hops "$PUB/to?u=$PUB/redirect/2"
run hops 0 '"sources_failed":[[:space:]]*0' 5000
final=$(json 'j["sources"][0]["final_url"]' <"$TMP/hops.evidence.json")
[ "$final" = "$PUB/redirect/0" ] && passes=$((passes + 1)) ||
    fail "hops: final_url \"$final\", want $PUB/redirect/0"

echo "$passes passed, $FAILS failed"
finish
