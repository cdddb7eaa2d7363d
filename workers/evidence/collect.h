/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_EVIDENCE_COLLECT_H
#define RV_WORKERS_EVIDENCE_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/core/subproc.h"

#define EVIDENCE_SOURCES_MAX	32
#define EVIDENCE_TRUSTED_TIER	4	/* tiers 4 and 5 can raise conflicts */

/*
 * Collect the evidence of one run: fetch every source of <spec> (urls,
 * or paths relative to <spec_dir>), extract and normalise their claims,
 * compare the critical ones and write the evidence file <out_path>
 * atomically (its directory is created 0700 if missing).
 *
 * A source that fails is recorded with its error and the others go on;
 * when every source fails nothing is written and -1 is returned, because
 * there is no evidence to gate on and the stage should fail and be
 * retried.  Sources of tier 4-5 disagreeing on a critical claim after
 * normalisation are conflicts; any disagreement involving a lower tier is
 * only a warning.  <usd_brl> (0: none) lets USD and BRL prices agree
 * within 1 %.  <fetch_timeout_ms> is the per-URL budget (0: 15 s).
 * Unless <allow_private> (RAYVAULT_EVIDENCE_ALLOW_PRIVATE), a URL whose
 * connection, on any redirect hop, goes to a loopback, private,
 * link-local or metadata address fails (fetch_new()).
 * <prog> (may be NULL) is ticked with the bytes fetched so far.
 *
 * On 0, *result is a new object the caller deletes: {"evidence_path",
 * "conflicts": [{"claim", "sources": [{"url"|"path", "tier", "raw",
 * "normalized"}]}], "warnings": [strings], "sources_ok", "sources_failed"}.
 * Returns 0 when evidence was collected (conflicts or not), -1 with <err>
 * set, -2 when the progress tick asked to stop (nothing written).
 */
int	evidence_collect(const cJSON *spec, const char *spec_dir,
	    const char *out_path, double usd_brl, long fetch_timeout_ms,
	    bool allow_private, struct progress *prog, cJSON **result,
	    char *err, size_t errlen);

/*
 * A plain-text rendering of <conflicts> (the array evidence_collect()
 * returned) for alerts, at most <max> bytes plus the NUL, cut at a
 * character boundary and ended with "..." when too long.  URLs appear
 * without query strings.  Returns a new string (caller frees), NULL when
 * memory runs out.
 */
char	*evidence_diff_text(const cJSON *conflicts, size_t max);

#endif
