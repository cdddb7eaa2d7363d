#!/bin/sh
# SPDX-License-Identifier: ISC
#
# supabase_faults.sh: network faults between the supabase store backend
# and PostgREST (503, connection resets, slow answers, a full outage),
# the spool filling during an outage and replaying each event exactly
# once afterwards, also with two replayers at once: build/tests/tools/
# rv_sbfault under tests/lib/with_postgrest (a private PostgreSQL and the
# PostgREST fixture).  Prints rv_sbfault's "FAIL ..." lines and
# "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
TOOL=$BUILD/tests/tools/rv_sbfault
if [ ! -x "$TOOL" ]; then
	echo "FAIL setup: $TOOL is not built"
	echo "0 passed, 1 failed"
	exit 1
fi
exec "$ROOT/tests/lib/with_postgrest" "$TOOL"
