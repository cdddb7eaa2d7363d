#!/bin/sh
# --version and --help of every program: one line "<prog> <VERSION>
# (git <commit>)" on stdout, exit 0, the version of the VERSION file and
# the commit this checkout has; usage on stdout with exit 0 for --help,
# on stderr with exit 64 for an unknown option.  The version header is
# written from VERSION and git (scripts/version-header), rewritten only
# when its text changes, and has no commit in a tree without its own git
# history (a tarball, even one unpacked inside another repository) unless
# GIT_REV gives one.
. tests/integration/lib.sh
ver=$(cat "$ROOT/VERSION")
progs="rvsup rvctl rvw-evidence rvw-voice rvw-render rvw-probe rvw-notify"
suffixes=""
for p in $progs; do
	"$BIN/$p" --version >"$T/v.out" 2>"$T/v.err"
	rc=$?
	line=$(cat "$T/v.out")
	if [ $rc -eq 0 ] && [ ! -s "$T/v.err" ] && [ "$(wc -l <"$T/v.out")" -eq 1 ] &&
	    printf '%s\n' "$line" | grep -Eqx "$p $ver( \(git [0-9a-f]{7,}\))?"; then
		ok "$line"
	else
		fail "$p --version: rc $rc, out '$line', err '$(cat "$T/v.err")'"
	fi
	suffixes="$suffixes${line#"$p "}
"
	"$BIN/$p" --help >"$T/h.out" 2>"$T/h.err"
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$T/h.err" ] && grep -q "^usage: $p " "$T/h.out" &&
	    grep -q -- "--version" "$T/h.out" &&
	    ok "$p --help: usage on stdout, exit 0" ||
	    fail "$p --help: rc $rc: $(cat "$T/h.out" "$T/h.err")"
	"$BIN/$p" --no-such-option >"$T/b.out" 2>"$T/b.err"
	rc=$?
	[ $rc -eq 64 ] && [ ! -s "$T/b.out" ] && grep -q "usage: $p " "$T/b.err" &&
	    ok "$p --no-such-option: usage on stderr, exit 64" ||
	    fail "$p --no-such-option: rc $rc: $(cat "$T/b.out" "$T/b.err")"
done
[ "$(printf '%s' "$suffixes" | sort -u | wc -l)" -eq 1 ] &&
    ok "all seven say the same version" || fail "versions differ: $suffixes"
rev=$(printf '%s' "$suffixes" | sed -n '1s/.*(git \([0-9a-f]*\))$/\1/p')
if [ "$(cd "$ROOT" && git rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$ROOT" && pwd -P)" ]; then
	[ -n "$rev" ] && (cd "$ROOT" && git cat-file -e "$rev^{commit}") &&
	    ok "a git checkout: the commit $rev is one of this repository's" ||
	    fail "git checkout but commit '$rev'"
else
	[ -z "$rev" ] && ok "not a git checkout: no commit" || fail "commit $rev without git"
fi
"$BIN/rvctl" --version --state-dir "$T/nowhere" >/dev/null 2>&1
[ ! -e "$T/nowhere" ] && ok "--version touches no state" || fail "--version created $T/nowhere"

# the header: rewritten only when it changes
"$ROOT/scripts/version-header" "$T/h1/rv_version.h" || fail "version-header"
grep -qx "#define RV_VERSION \"$ver\"" "$T/h1/rv_version.h" &&
    ok "header: RV_VERSION from VERSION" || fail "header: $(cat "$T/h1/rv_version.h")"
touch -d '2001-01-01' "$T/h1/rv_version.h"
"$ROOT/scripts/version-header" "$T/h1/rv_version.h"
[ "$(stat -c %Y "$T/h1/rv_version.h")" = "$(date -d 2001-01-01 +%s)" ] &&
    ok "the same version again: the header is not rewritten (nothing rebuilds)" ||
    fail "header rewritten with the same text"
# a tarball's tree, unpacked inside another repository
mkdir -p "$T/outer/rayvault-$ver/scripts"
git -C "$T/outer" init -q 2>/dev/null || fail "git init"
cp "$ROOT/VERSION" "$T/outer/rayvault-$ver/"
cp "$ROOT/scripts/version-header" "$T/outer/rayvault-$ver/scripts/"
(cd "$T/outer/rayvault-$ver" && scripts/version-header "$T/h2.h") || fail "tarball header"
grep -qx '#define RV_GIT ""' "$T/h2.h" && grep -qx "#define RV_VERSION \"$ver\"" "$T/h2.h" &&
    ok "no git history of its own: no commit (not the outer repository's)" ||
    fail "tarball header: $(cat "$T/h2.h")"
(cd "$T/outer/rayvault-$ver" && GIT_REV=1a2b3c4 scripts/version-header "$T/h3.h") &&
    grep -qx '#define RV_GIT "1a2b3c4"' "$T/h3.h" &&
    ok "GIT_REV names the commit of a tarball" || fail "GIT_REV: $(cat "$T/h3.h")"
(cd "$T/outer/rayvault-$ver" && GIT_REV='1"; evil' scripts/version-header "$T/h4.h") 2>"$T/h4.err"
rc=$?
[ $rc -ne 0 ] && [ ! -e "$T/h4.h" ] && grep -q "GIT_REV must be hex" "$T/h4.err" &&
    ok "a GIT_REV that is not hex is refused" || fail "bad GIT_REV: rc $rc $(cat "$T/h4.err")"
finish
