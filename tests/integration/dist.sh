#!/bin/sh
# make dist packs HEAD as rayvault-<VERSION>.tar.gz with its Homebrew
# formula beside it, and the tarball builds on its own: extracted in an empty directory, with no git
# repository around it, make builds every program.
. tests/integration/lib.sh

if ! git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
	echo "SKIP: not a git checkout (make dist packs the git HEAD)"
	finish
fi
unset MAKEFLAGS MFLAGS MAKELEVEL
ver=$(cat "$ROOT/VERSION")
echo "$ver" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+' ||
    fail "VERSION is not x.y.z: $ver"
make -s -C "$ROOT" dist DIST_DIR="$T" >"$T/dist.log" 2>&1 ||
    fail "make dist: $(cat "$T/dist.log")"
tgz=$T/rayvault-$ver.tar.gz
[ -f "$tgz" ] && ok "made rayvault-$ver.tar.gz" || { fail "no $tgz"; finish; }
# the formula beside it installs that very tarball
sum=$(sha256sum "$tgz" | cut -d' ' -f1)
grep -qx "  sha256 \"$sum\"" "$T/rayvault.rb" &&
    grep -qx "  url \"file://$tgz\"" "$T/rayvault.rb" &&
    grep -qx "  version \"$ver\"" "$T/rayvault.rb" &&
    ok "rayvault.rb names the tarball and its sha256" ||
    fail "rayvault.rb: $(grep -E '^  (url|sha256|version) ' "$T/rayvault.rb")"
if command -v ruby >/dev/null 2>&1; then
	ruby -c "$T/rayvault.rb" >/dev/null || fail "rayvault.rb: ruby -c"
fi
tar tzf "$tgz" >"$T/list" || fail "unreadable tarball"
bad=$(grep -v "^rayvault-$ver/" "$T/list" | head -3)
[ -z "$bad" ] && ok "everything under rayvault-$ver/" || fail "outside the prefix: $bad"
for f in Makefile VERSION README.md docs/rayvault.env.5 \
    contrib/completions/rvctl.bash scripts/bootstrap supervisor/rvsup.c; do
	grep -qx "rayvault-$ver/$f" "$T/list" || fail "$f not in the tarball"
done
grep -q '/\.git/\|/\.git$' "$T/list" && fail "a .git in the tarball"
grep -q "^rayvault-$ver/build/" "$T/list" && fail "build outputs in the tarball"
# what HEAD tracks, file for file
git -C "$ROOT" ls-tree -r --name-only HEAD | sed "s|^|rayvault-$ver/|" |
    sort >"$T/tracked"
grep -v '/$' "$T/list" | sort >"$T/files"
cmp -s "$T/tracked" "$T/files" && ok "the tarball holds the tracked files" ||
    fail "tarball and HEAD differ: $(diff "$T/tracked" "$T/files" | head -5)"

mkdir "$T/x"
tar xzf "$tgz" -C "$T/x"
cd "$T/x/rayvault-$ver"
# no repository above it either
export GIT_CEILING_DIRECTORIES=$T/x
git rev-parse --git-dir >/dev/null 2>&1 && fail "a git repository is visible"
# A plain make, as on a fresh machine: not the SANITIZE=1 or PORTABLE=1 of
# the make test that runs this (make passes its command line on through
# MAKEFLAGS and the environment).
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u PORTABLE \
    -u FUZZ -u BUILD make -j2 >"$T/build.log" 2>&1; then
	ok "the tarball builds on its own"
else
	fail "make in the tarball: $(tail -20 "$T/build.log")"
fi
for p in rvsup rvctl rvw-evidence rvw-voice rvw-render rvw-probe rvw-notify; do
	[ -x "build/bin/$p" ] || fail "no build/bin/$p"
done
build/bin/rvctl --commands >"$T/cmds" && [ -s "$T/cmds" ] &&
    ok "its rvctl runs" || fail "the tarball's rvctl does not run"
cd "$T"
finish
