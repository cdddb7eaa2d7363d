/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_STORE_SPOOL_APPLY_H
#define RV_COMMON_STORE_SPOOL_APPLY_H

#include <stddef.h>

#include <cJSON.h>

#include "common/core/spool.h"
#include "common/store/store.h"

/*
 * Apply one spool or event record <record> (borrowed) to the store <st>
 * (borrowed): *res DONE, DUPLICATE or FENCED.  Returns 0, or -1 with
 * <err> and errno (EAGAIN: the store is not open; EINVAL: a malformed
 * record or one the store door refused; else the store's).
 */
int	spool_apply(struct store *st, const cJSON *record,
	    enum store_write *res, char *err, size_t errlen);

/*
 * Replay every record of <spool_dir> into <st> with spool_apply's rules
 * (common/core/spool.c's spool_replay does the files).  Returns 0 with
 * <rep> filled, or -1 with <err> when the spool cannot be read.
 */
int	spool_apply_replay(const char *spool_dir, struct store *st,
	    struct spool_report *rep, char *err, size_t errlen);

#endif
