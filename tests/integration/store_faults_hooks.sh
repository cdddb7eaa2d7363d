#!/bin/sh
# SPDX-License-Identifier: ISC
#
# store_faults_hooks.sh: the hook sessions H1 and H2 of the store-fault
# matrix on the embedded (SQLite) store (see store_faults.sh): every store
# call the supervisor makes fails before reaching the store (H1) or is
# applied with its answer lost (H2), through RV_FAULT=store:<call>:<n> and
# store-lost:<call>:<n>, with a third, conflicting run aborted at its gate.
# A script of its own so tests/run runs it beside store_faults.sh.
SF_SESSIONS="H1 H2" exec sh tests/integration/store_faults.sh
