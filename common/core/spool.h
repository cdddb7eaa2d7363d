/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_SPOOL_H
#define RV_COMMON_CORE_SPOOL_H

#include <stddef.h>

#include <cJSON.h>

#include "common/store/store.h"

/* The event_type of a record that carries a credit-ledger result. */
#define SPOOL_LEDGER_RESULT	"ledger_result"

struct spool_report {
	int	sent, duplicate, failed, bad, quarantined, skipped;
	int	deferred;	/* left for later: the store is unreachable */
	int	fenced;		/* dropped: stamped with a stale lease epoch */
};

int	spool_init(const char *spool_dir);
int	spool_write(const char *spool_dir, const cJSON *ev, char *err,
	    size_t errlen);
int	spool_event_from_json(const cJSON *j, void *store_event, char *err,
	    size_t errlen);
int	spool_apply(struct store *st, const cJSON *record,
	    enum store_write *res, char *err, size_t errlen);
int	spool_replay(const char *spool_dir, struct store *st,
	    struct spool_report *rep, char *err, size_t errlen);
size_t	spool_count(const char *spool_dir);

#endif
