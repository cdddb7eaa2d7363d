#!/bin/sh
# The folders keep their dependency order (docs/ARCHITECTURE.md): a child
# never includes the store or another child's folder, common/core includes
# nothing above it, rvctl never includes the supervisor.  The rules live
# in scripts/check-layers; this proves they hold, and that the checker
# does catch a wrong include (a copy of the tree with one planted).
. tests/integration/lib.sh

out=$("$ROOT/scripts/check-layers" "$ROOT" 2>&1) &&
    ok "the checkout keeps its layers" || fail "layers: $out"

mkdir -p "$T/tree"
(cd "$ROOT" && tar cf - common ipc workers supervisor ctl) |
    (cd "$T/tree" && tar xf -)
printf '#include "common/store/store.h"\n' >>"$T/tree/workers/voice/tts.c"
printf '#include "supervisor/sup.h"\n' >>"$T/tree/ctl/rvctl.c"
out=$("$ROOT/scripts/check-layers" "$T/tree" 2>&1)
rc=$?
[ $rc -eq 1 ] &&
    echo "$out" | grep -q "workers/voice/tts.c: includes common/store/store.h" &&
    echo "$out" | grep -q "ctl/rvctl.c: includes supervisor/sup.h" &&
    ok "a child including the store and rvctl including rvsup are caught" ||
    fail "planted includes: rc $rc: $out"
# docs/ARCHITECTURE.md stays true: it names every source file, and every
# file it names exists.
doc="$ROOT/docs/ARCHITECTURE.md"
missing=""
for f in $(cd "$ROOT" && find common ipc workers supervisor ctl -name '*.c' | sort); do
	b=$(basename "$f")
	grep -q "[\`/ ]$b\`" "$doc" || missing="$missing $f"
done
[ -z "$missing" ] && ok "the architecture page names every source file" ||
    fail "not in docs/ARCHITECTURE.md:$missing"
gone=""
for b in $(grep -o '`[a-z][a-z0-9_/]*\.c`' "$doc" | tr -d '`' | sort -u); do
	[ -e "$ROOT/$b" ] || [ -n "$(cd "$ROOT" && find common ipc workers supervisor ctl \
	    -path "*$b" -name "$(basename "$b")")" ] || gone="$gone $b"
done
[ -z "$gone" ] && ok "every file the architecture page names exists" ||
    fail "named in docs/ARCHITECTURE.md but missing:$gone"
finish
