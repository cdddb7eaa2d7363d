#!/bin/sh
# The doc test of docs/OPERATOR.md: every command line of its ```sh
# blocks is run, in order, against a fresh demo state (the examples are
# copied next to it), with build/bin on PATH.  A trailing "# exit N" or
# "# exit A-B" gives the accepted exit codes (default 0); a command fails
# the test when its exit code is not accepted, when the shell cannot find
# it, or when make has no such target or reports a usage/data/store/
# internal error (64, 65, 69, 70).  `make` runs the operator targets of the
# real Makefile; `make worker*` and `rvsup start` run in the background
# until the guide stops them.
. tests/integration/lib.sh
# In sanitizer builds a finding exits 99/98, never a code a command means.
export ASAN_OPTIONS="${ASAN_OPTIONS:-exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-exitcode=98}"
GUIDE="$ROOT/docs/OPERATOR.md"
W="$T/wrap"
MAKE_BIN=$(command -v make)
mkdir -p "$W"
cp -R "$ROOT/examples" "$T/examples"
cp "$ROOT/.env.example" "$T/.env.example"	# the guide installs it as .env
: >"$T/sup.pids"

cat >"$W/rvsup" <<EOF
#!/bin/sh
# rvsup start (without --once) runs in the background until it answers.
if [ "\$1" = start ] && ! echo " \$* " | grep -q -- " --once "; then
	"$BIN/rvsup" "\$@" >>"$T/sup.log" 2>&1 &
	echo \$! >>"$T/sup.pids"
	i=0
	while [ \$i -lt 100 ]; do
		"$BIN/rvctl" status >/dev/null 2>&1 && exit 0
		sleep 0.1
		i=\$((i + 1))
	done
	echo "rvsup did not come up" >&2
	exit 1
fi
exec "$BIN/rvsup" "\$@"
EOF
cat >"$W/make" <<EOF
#!/bin/sh
# The real Makefile: a bare make is checked as a dry run; the worker
# targets print their command, which runs through the rvsup stand-in.
case "\$1" in
"")	exec $MAKE_BIN -C "$ROOT" -n -s all >/dev/null ;;
worker|worker-test)
	line=\$($MAKE_BIN -C "$ROOT" -n -s --no-print-directory \\
	    RVSUP="$W/rvsup" "\$@" | sed -e :a -e '/\\\\\$/N; s/\\\\\\n//; ta' |
	    grep "rvsup start" | tail -1)
	[ -n "\$line" ] || { echo "make \$*: no rvsup start line" >&2; exit 2; }
	exec sh -c "\$line" ;;
esac
exec $MAKE_BIN -f "$ROOT/Makefile" -s --no-print-directory \\
    RVCTL="$BIN/rvctl" RVSUP="$W/rvsup" "\$@"
EOF
chmod 755 "$W/rvsup" "$W/make"
PATH="$W:$BIN:$PATH"
export PATH

awk '/^```sh$/ { on = 1; next } /^```/ { on = 0; next }
    on && NF && $1 !~ /^#/ { print }' "$GUIDE" >"$T/commands"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	want=$(echo "$line" | sed -n 's/.*# exit \([0-9-]*\)$/\1/p')
	cmd=$(echo "$line" | sed 's/[[:space:]]*# exit [0-9-]*$//')
	lo=${want%-*}
	hi=${want#*-}
	[ -n "$lo" ] || lo=0
	[ -n "$hi" ] || hi=$lo
	rc=0
	sh -c "$cmd" </dev/null >"$T/cmd.out" 2>&1 || rc=$?
	if [ "$rc" -lt "$lo" ] || [ "$rc" -gt "$hi" ]; then
		fail "guide: \`$cmd\` exited $rc (the guide says $lo-$hi)"
		sed 's/^/    /' "$T/cmd.out" | tail -15
	elif grep -q "No rule to make target\|command not found\|not found$\|Error 6[459]\|Error 70\|Error 127" "$T/cmd.out"; then
		fail "guide: \`$cmd\`:"
		sed 's/^/    /' "$T/cmd.out" | tail -15
	else
		ok "guide: $cmd"
	fi
done <"$T/commands"
[ "$n" -ge 40 ] && ok "$n commands of the guide ran" || fail "only $n commands found in $GUIDE"

# make timeline without ID= names the run it took; the text and the JSON
# give the same verdict.
out=$(make timeline 2>&1 </dev/null)
vid=$(echo "$out" | sed -n 's/^TIMELINE \([^ ]*\) .*/\1/p')
echo "$out" | grep -q "no --video given: using the most recent run, $vid " &&
    echo "$out" | grep -q "^duration   [0-9.]* s of " &&
    ok "make timeline without ID= took the most recent run, $vid" ||
    fail "make timeline without ID=: $out"
tv=$(echo "$out" | sed -n 's/^verdict *\([A-Z]*\).*/\1/p')
jv=$("$BIN/rvctl" timeline --video "$vid" --json 2>/dev/null |
    json 'j["verdict"]')
[ -n "$tv" ] && [ "$tv" = "$jv" ] && ok "timeline verdict $tv in text and JSON" ||
    fail "timeline verdict: text $tv, JSON $jv"

for p in $(cat "$T/sup.pids"); do
	kill -9 "$p" 2>/dev/null || true
done
finish
