#!/bin/sh
# The table "The old commands" of docs/OPERATOR.md: every row's new form
# is run as written (from the folder holding state/, so --state-dir state
# means what it says) and must exit as the row says.  <uuid> is a run
# that a gone worker holds, as when the old unlock tool was used.  The
# rows must be there: a table that lost them fails.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
GUIDE="$ROOT/docs/OPERATOR.md"
PATH="$BIN:$PATH"
export PATH

ctl enqueue "$(make_spec RAY-OLD1)" >/dev/null || fail "enqueue RAY-OLD1"
ctl enqueue "$(make_spec RAY-OLD2)" >/dev/null || fail "enqueue RAY-OLD2"

grep '^| `python3 ' "$GUIDE" | awk -F'|' '{ print $3 "|" $4 }' |
    sed 's/`//g; s/^ *//; s/ *| */|/; s/ *$//' >"$T/rows"
n=$(wc -l <"$T/rows")
[ "$n" -eq 5 ] && ok "the guide maps 5 old commands" ||
    fail "the guide's old-command table has $n rows, want 5"

while IFS='|' read -r cmd want; do
	case $cmd in
	*"<uuid>"*)
		# RAY-OLD1 went through the --once row; a gone worker holds
		# RAY-OLD2.
		run=$("$TOOLS/rv_storeprep" "$RAYVAULT_STATE_DIR/rayvault.db" \
		    claim gone-worker | cut -d' ' -f1)
		[ -n "$run" ] || fail "no run to unlock"
		cmd=$(echo "$cmd" | sed "s/<uuid>/$run/") ;;
	esac
	lo=${want%-*}
	hi=${want#*-}
	rc=0
	(cd "$T" && timeout 600 sh -c "$cmd") </dev/null >"$T/cmd.out" 2>&1 ||
	    rc=$?
	if [ "$rc" -ge "$lo" ] && [ "$rc" -le "$hi" ]; then
		ok "$cmd: exit $rc"
	else
		fail "$cmd: exit $rc (the guide says $want)"
		sed 's/^/    /' "$T/cmd.out" | tail -10
	fi
done <"$T/rows"

[ "$(run_status RAY-OLD1)" = done ] && ok "rvsup --once finished RAY-OLD1" ||
    fail "RAY-OLD1: $(run_status RAY-OLD1)"
locked=$(ctl runs --json | json '[r["locked"] for r in j if r["video_id"]=="RAY-OLD2"]')
[ "$locked" = "[false]" ] && ok "RAY-OLD2 unlocked" ||
    fail "RAY-OLD2 locked: $locked"
finish
