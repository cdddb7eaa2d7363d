/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_STALE_OWN_H
#define RV_SUPERVISOR_STALE_OWN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/core/config.h"
#include "common/store/store.h"

/*
 * This worker's own runs that had gone stale before it started
 * (supervisor/stale_own.c), so the recovery claim of one of them can say
 * STALE WORKER (recovered).
 */

#define STALE_OWN_MAX		8
#define STALE_OWN_INTERVALS	3	/* as rvctl doctor's stale_worker */

struct stale_own_run {
	char	 run_id[STORE_ID_MAX];
	double	 heartbeat_age_sec;
	bool	 lease_expired;
};

struct stale_own {
	struct stale_own_run v[STALE_OWN_MAX];
	size_t	 n;
	bool	 known;		/* the store listed the runs */
};

int	stale_own_scan(struct store *st, const struct rv_config *cfg,
	    struct stale_own *out, char *err, size_t errlen);
bool	stale_own_recovered(const struct stale_own *s,
	    const struct rv_config *cfg, const struct store_claim *c,
	    char *detail, size_t size);

#endif
