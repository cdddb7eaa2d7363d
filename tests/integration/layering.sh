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
finish
