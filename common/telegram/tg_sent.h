/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_TELEGRAM_TG_SENT_H
#define RV_COMMON_TELEGRAM_TG_SENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/core/ids.h"
#include "common/telegram/tg_alert.h"

/*
 * Which alerts went out in the last hour, shared by every sender on one
 * state directory (common/telegram/tg_sent.c): state/runtime/
 * alerts-sent.json, keyed by run id and reason.
 */

#define TG_SENT_FILE		"alerts-sent.json"
#define TG_SENT_WINDOW_SEC	3600.0	/* one alert per run and reason */
#define TG_SENT_SKEW_SEC	300.0	/* further ahead: the clock went back */
#define TG_SENT_MAX		256	/* entries kept; the oldest go first */
#define TG_SENT_BY_MAX		16

struct tg_sent_entry {
	char	 run_id[ID_UUID_LEN + 1];	/* "": the store itself */
	char	 reason[TG_ALERT_KIND_MAX];
	double	 at;				/* epoch seconds, wall clock */
	char	 by[TG_SENT_BY_MAX];		/* "doctor", "rvsup" */
};

struct tg_sent {
	struct tg_sent_entry v[TG_SENT_MAX];
	size_t		 n;
	char		 path[PATH_MAX];
	int		 lockfd;		/* -1: not held */
};

int	tg_sent_open(struct tg_sent *s, const char *state_dir, double now,
	    int wait_ms, char *note, size_t notelen, char *err,
	    size_t errlen);
bool	tg_sent_recent(const struct tg_sent *s, const char *run_id,
	    const char *reason, double now, double *at);
void	tg_sent_mark(struct tg_sent *s, const char *run_id,
	    const char *reason, double now, const char *by);
int	tg_sent_close(struct tg_sent *s, bool save_it, char *err,
	    size_t errlen);

#endif
