#!/bin/sh
# Bad input to the operator tooling: unknown flags and commands, missing
# --run / --video, ids that are not ids, ids that name no run, a
# confirmation left out; every command answers --help.  The Makefile's
# operator targets honour ID= and WID= and refuse without CONFIRM=YES.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
mk() {
	make -f "$ROOT/Makefile" -s --no-print-directory RVCTL="$BIN/rvctl" \
	    RVSUP="$BIN/rvsup" "$@"
}
ctl enqueue "$(make_spec RAY-I1)" >/dev/null

try() {	# try WANT_RC PATTERN COMMAND...: output in $T/out
	_want=$1 _pat=$2
	shift 2
	rc=0
	"$@" >"$T/out" 2>&1 || rc=$?
	if [ "$rc" -eq "$_want" ] && grep -q -- "$_pat" "$T/out"; then
		ok "$* -> $rc"
	else
		fail "$*: exit $rc (want $_want), output: $(head -5 "$T/out")"
	fi
}

try 64 'unknown command "nosuch"' ctl nosuch
try 64 'unknown option "--bogus"' ctl report --bogus
try 64 'unknown argument "extra"' ctl preflight extra
try 64 'rvctl events: unknown\|usage: rvctl' ctl events
try 1 "no --video given: using the most recent run, RAY-I1 " ctl timeline
mkdir -p "$T/empty"
try 65 "there is no run yet" env RAYVAULT_STATE_DIR="$T/empty/state" \
    RAYVAULT_SPOOL_DIR="$T/empty/spool" "$BIN/rvctl" timeline
try 64 "\-\-level needs a value" ctl baptism --level
try 64 "whole number from 1 to 120" ctl timeline --video RAY-I1 --fps 0
try 65 'is not a run id or video id' ctl timeline --video 'not/a/run'
try 65 'is not a run id or video id' ctl report --video '../../etc/passwd'
try 65 'no run for "RAY-404"' ctl timeline --video RAY-404
try 65 'no run for "RAY-404"' ctl report --video RAY-404
try 65 'no run for "0d9c6a3e-6f1b-4d8e-9c55-3f7d2a1b0c9e"' \
    ctl timeline --video 0d9c6a3e-6f1b-4d8e-9c55-3f7d2a1b0c9e
try 64 "purge-spool --confirm" ctl purge-spool
try 69 "store unreachable: there is no store yet" \
    ctl --state-dir "$T/empty" check-contract
[ ! -e "$T/empty/rayvault.db" ] && ok "check-contract created no store" ||
    fail "check-contract created a database"

# --help on every command, exit 0, usage on stdout.
for c in $(ctl --help | awk '/^  [a-z]/ {print $1}'); do
	rc=0
	out=$(ctl "$c" --help 2>/dev/null) || rc=$?
	case "$out" in "usage: rvctl"*) [ $rc -eq 0 ] || fail "$c --help: exit $rc" ;;
	*) fail "$c --help: $out" ;; esac
done
ok "every command answers --help"

# Makefile targets: thin calls that honour ID= and WID=.
try 2 "using the most recent run, RAY-I1 " mk timeline
try 2 'no run for "RAY-404"' mk timeline ID=RAY-404
try 2 'no run for "RAY-404"' mk report ID=RAY-404
try 0 "rvctl timeline --video RAY-I1$" mk -n timeline ID=RAY-I1
mk -n report ID=RAY-I1 | grep -q -- "report --video RAY-I1" && ok "make report ID= passes the id" ||
    fail "make report ID"
make -C "$ROOT" -n -s --no-print-directory RVSUP="$BIN/rvsup" worker \
    WID=Mac-Ray-01 2>/dev/null | grep -q -- "rvsup start --worker-id Mac-Ray-01" &&
    ok "make worker WID= passes the worker id" || fail "make worker WID"
try 2 "CONFIRM=YES" mk baptism-full
try 2 "CONFIRM=YES" mk purge-spool
try 2 "CONFIRM=YES" mk index-repair-apply
try 2 "CONFIRM=YES" mk maintenance-apply
mk -n baptism-full CONFIRM=YES | grep -q -- "baptism --level B --confirm" &&
    ok "make baptism-full CONFIRM=YES runs level B with --confirm" || fail "baptism-full"
try 0 "rvctl doctor" mk health
finish
