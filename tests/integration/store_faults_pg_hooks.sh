#!/bin/sh
# SPDX-License-Identifier: ISC
#
# store_faults_pg_hooks.sh: the hook sessions H1 and H2 of the store-fault
# matrix on the supabase backend (see store_faults_pg.sh): every store
# call the supervisor makes fails before reaching the store (H1) or is
# applied with its answer lost (H2), with a third, conflicting run aborted
# at its gate.  A script of its own so tests/run runs it beside
# store_faults_pg.sh.
SF_SESSIONS="H1 H2" exec sh tests/integration/store_faults_pg.sh
