/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_FAULT_H
#define RV_SUPERVISOR_FAULT_H

#include <stdbool.h>

/*
 * Fault sites of test builds (RV_TESTING=1 in the environment).
 * RV_FAULT is a comma-separated list of "<site>:<n>[:<count>]": the n-th
 * call at <site> and the <count>-1 after it (default 1) fail.  Sites of
 * the store threads are "store:<call>" with <call> one of claim,
 * heartbeat, gate, state, event, ledger_intent, ledger_result, finish,
 * release.  fault_hit() counts calls per site; it is thread-safe.
 */
bool	fault_hit(const char *site);
long	fault_num(const char *site, int idx);

#endif
