#!/bin/sh
# SPDX-License-Identifier: ISC
#
# chaos_short.sh: a short, seeded run of the randomized crash matrix
# (tests/chaos/run.sh; make chaos runs long ones): 3 trials with seed 42,
# at most 2 queued runs and 2-3 events per trial, the kinds in turn so
# every kind occurs (kill -9 of a child, of rvsup, SIGSTOP/SIGCONT,
# SIGTERM + restart, the store locked, read-only or full).  Proves on every trial: no voice without a decision recorded for
# the gate, no ledger key paid twice, nothing stored for an old epoch, no
# log line or alert claiming a gate or decision the store does not hold,
# every run done or aborted, no process left, no .tmp or scratch file,
# playable finals, a consistent index.
. tests/integration/lib.sh
(cd "$ROOT" && CHAOS_MAX_RUNS=2 CHAOS_MAX_EVENTS=3 CHAOS_TRIAL_MAX=180 \
    CHAOS_ROUND_ROBIN=1 sh tests/chaos/run.sh 3 42) || fail "crash matrix"
finish
