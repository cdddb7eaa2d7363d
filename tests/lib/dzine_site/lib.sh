# Helpers for the dzine integration tests (sourced after
# tests/integration/lib.sh, POSIX sh).  They start the fake Dzine site
# (server.py) on loopback and point the renderer at it with the shipped
# flow file; a test without Chromium installed is skipped with one line.
CHROMIUM=/usr/lib/chromium/chromium
if [ ! -x "$CHROMIUM" ]; then
	echo "SKIP: chromium not installed ($CHROMIUM)"
	exit 0
fi
SITE_PID=""
SITE_DIR="$T/site"
# A Chromium per render competes with the other tests for two cores: the
# children heartbeat at the SPEC's default (1 s, so 3 s of silence kill
# one) instead of lib.sh's 500 ms.  A test that measures detection sets
# its own after sourcing this file (dzine_freeze.sh).
export RAYVAULT_CHILD_HEARTBEAT_MS=1000

dz_cleanup() {
	[ -n "$SITE_PID" ] && kill "$SITE_PID" 2>/dev/null
	for p in $(pgrep -f "user-data-dir=$T/" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
	cleanup
}
trap dz_cleanup EXIT

# dz_site QUERY: start the site; the page URL carries QUERY.
dz_site() {
	mkdir -p "$SITE_DIR"
	python3 "$ROOT/tests/lib/dzine_site/server.py" "$SITE_DIR" \
	    >"$SITE_DIR/port" 2>"$SITE_DIR/err" &
	SITE_PID=$!
	wait_for 20 test -s "$SITE_DIR/port" || fail "site did not start"
	SITE_PORT=$(head -1 "$SITE_DIR/port")
	export RAYVAULT_RENDERER=dzine
	export DZINE_FLOW_FILE="$ROOT/config/dzine_flow.json"
	export DZINE_URL="http://127.0.0.1:$SITE_PORT/tools/lip-sync/?$1"
	export RAYVAULT_MIN_VIDEO_BYTES=${RAYVAULT_MIN_VIDEO_BYTES:-1000}
	export DZINE_CREDITS_PER_SEGMENT=${DZINE_CREDITS_PER_SEGMENT:-1}
}

# dz_stats EXPR: evaluate EXPR on the site's counters (bound to s).
dz_stats() {
	python3 -c "import json,sys
s=json.load(open('$SITE_DIR/stats.json'))
r=$1
print(r if not isinstance(r,(dict,list,bool)) and r is not None else json.dumps(r))"
}

# dz_presses_of SEGMENT: generate presses for that segment's audio.
dz_presses_of() {
	dz_stats "len([p for p in s['presses'] if '_$1_' in p['audio']])"
}

# dz_browsers: pids of every browser process of this test (any state).
dz_browsers() {
	for d in /proc/[0-9]*; do
		tr "\\0" " " 2>/dev/null <"$d/cmdline" | grep -q "user-data-dir=$T/" &&
		    echo "${d#/proc/}"
	done
}

# dz_tree PID: PID's descendants (pids), from the process table.
dz_tree() {
	ps -eo pid=,ppid= | awk -v root="$1" '
	    { par[$1] = $2 } END {
		for (p in par) { q = p; while (q in par && q != root && q > 1) q = par[q];
		    if (q == root && p != root) print p } }'
}

# dz_zombies: zombie processes named like Chromium's whose parent is a
# process of this test (working directory $T or below: rvsup and the
# children it starts), not those of another test running beside it.
dz_zombies() {
	ps -eo pid=,ppid=,stat=,comm= |
	    awk '$3 ~ /^Z/ && $4 ~ /chrom/ { print $1, $2 }' |
	    while read -r _zp _zpp; do
		case "$(readlink "/proc/$_zpp/cwd" 2>/dev/null)" in
		"$T" | "$T"/*) echo "$_zp" ;;
		esac
	    done
}
