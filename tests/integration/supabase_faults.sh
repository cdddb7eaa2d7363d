#!/bin/sh
# SPDX-License-Identifier: ISC
#
# supabase_faults.sh: network faults between the supabase store backend
# and PostgREST (503, connection resets, slow answers, a full outage),
# the spool filling during an outage and replaying each event exactly
# once afterwards, also with two replayers at once: build/tests/tools/
# rv_sbfault under tests/lib/with_postgrest (a private PostgreSQL and the
# PostgREST fixture, on a port of its own).  Prints rv_sbfault's
# "FAIL ..." lines and "N passed, M failed".
. tests/integration/lib.sh
[ -x "$TOOLS/rv_sbfault" ] || { fail "setup: rv_sbfault is not built"; finish; }
"$ROOT/tests/lib/with_postgrest" "$TOOLS/rv_sbfault" ||
    fail "rv_sbfault under with_postgrest"
finish
