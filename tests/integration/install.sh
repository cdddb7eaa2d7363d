#!/bin/sh
# make install DESTDIR=... PREFIX=/usr/local puts the programs, man pages,
# completions and contrib files where a C daemon's go; the installed rvctl
# works on a fresh state, the installed rvsup starts its children from
# libexec/rayvault (not from the build tree); make uninstall leaves no
# file behind.
. tests/integration/lib.sh

# make from inside "make test": not its jobserver
unset MAKEFLAGS MFLAGS MAKELEVEL
san=""
[ "$BUILD" = build-asan ] && san=SANITIZE=1
D=$T/dest
P=/usr/local
mk() {
	make -s -C "$ROOT" BUILD="$BUILD" $san DESTDIR="$D" PREFIX=$P "$@" \
	    >>"$T/make.log" 2>&1
}

mk install && ok "make install" || { fail "make install: $(tail "$T/make.log")"; finish; }

want="bin/rvsup bin/rvctl libexec/rayvault/rvw-evidence
libexec/rayvault/rvw-voice libexec/rayvault/rvw-render
libexec/rayvault/rvw-probe libexec/rayvault/rvw-notify
share/man/man8/rvsup.8 share/man/man8/rvctl.8 share/man/man5/rayvault.env.5
share/bash-completion/completions/rvctl share/zsh/site-functions/_rvctl
share/rayvault/env.example share/rayvault/config/dzine_flow.json
share/rayvault/examples/ray-demo/run.json"
# everything under contrib/, wherever it came from
for f in $(cd "$ROOT" && find contrib -type f ! -name '.*'); do
	want="$want share/rayvault/$f"
done
miss=""
for f in $want; do
	[ -f "$D$P/$f" ] || miss="$miss $f"
done
[ -z "$miss" ] && ok "installed tree complete" || fail "not installed:$miss"
for f in bin/rvsup bin/rvctl libexec/rayvault/rvw-render; do
	[ -x "$D$P/$f" ] || fail "$f not executable"
done
bad=$(find "$D$P/share" -type f -perm /0133 | head -3)
[ -z "$bad" ] && ok "data files 0644" || fail "wrong modes: $bad"
ls "$D$P/bin" | grep -q '^rvw-' && fail "children in bin (they belong in libexec)"
cmp -s "$ROOT/contrib/completions/rvctl.bash" \
    "$D$P/share/bash-completion/completions/rvctl" ||
    fail "installed bash completion differs"

# The installed programs, away from the build tree and its PATH.
S=$T/istate
"$D$P/bin/rvctl" --state-dir "$S" runs >"$T/runs.out" 2>&1 &&
    grep -q '^RUN ' "$T/runs.out" && ok "installed rvctl runs on a fresh state" ||
    fail "installed rvctl runs: $(cat "$T/runs.out")"
[ -f "$S/rayvault.db" ] && ok "it made the SQLite store" || fail "no $S/rayvault.db"
"$D$P/bin/rvctl" --state-dir "$S" doctor --no-replay >"$T/doctor.out" 2>&1
rc=$?
[ $rc -le 1 ] && grep -q 'verdict:' "$T/doctor.out" &&
    ok "installed rvctl doctor answers (exit $rc)" ||
    fail "installed doctor: rc $rc: $(tail -5 "$T/doctor.out")"

"$D$P/bin/rvsup" start --state-dir "$S" >>"$T/sup.log" 2>&1 &
SUP_PID=$!
isup_up() {
	"$D$P/bin/rvctl" --state-dir "$S" status --json 2>/dev/null |
	    json '[c["state"] for c in j["children"]]' 2>/dev/null |
	    grep -q '^\["ready", "ready", "ready", "ready", "ready"\]$'
}
if wait_for 15 isup_up; then
	ok "installed rvsup started its 5 children"
	pids=$("$D$P/bin/rvctl" --state-dir "$S" status --json |
	    json '" ".join(str(c["pid"]) for c in j["children"])')
	for p in $pids; do
		exe=$(readlink "/proc/$p/exe")
		case "$exe" in
		"$D$P/libexec/rayvault/rvw-"*) ;;
		*) fail "child $p runs $exe, not from $D$P/libexec/rayvault" ;;
		esac
	done
	ok "children run from libexec/rayvault"
else
	fail "installed rvsup: children not ready"
	tail -20 "$T/sup.log"
fi
"$D$P/bin/rvsup" stop --state-dir "$S" --timeout 20 >/dev/null 2>&1 ||
    fail "installed rvsup stop"
wait "$SUP_PID"

mk uninstall && ok "make uninstall" || fail "make uninstall: $(tail "$T/make.log")"
left=$(find "$D" -type f | sed "s|^$D||")
[ -z "$left" ] && ok "uninstall left no file" || fail "left behind: $left"
for d in libexec/rayvault share/rayvault; do
	[ -e "$D$P/$d" ] && fail "$d still there"
done
finish
