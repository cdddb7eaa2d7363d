/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_TELEGRAM_TG_ALERT_H
#define RV_COMMON_TELEGRAM_TG_ALERT_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/core/ids.h"

/*
 * What an alert says (common/telegram/tg_alert.c): the one text format
 * of every Telegram alert, whoever sends it (rvw-notify for the
 * supervisor, rvctl doctor --alert for the service managers' job).
 */

#define TG_ALERT_KIND_MAX	64
#define TG_ALERT_DETAIL_MAX	1024
#define TG_ALERT_DIFF_MAX	3600
#define TG_ALERT_WID_MAX	65
#define TG_ALERT_BRT_OFFSET_SEC	(-3 * 3600)	/* Brasilia: UTC-3, no DST */
#define TG_ALERT_NONCE_LEN	8	/* gate nonce hex digits shown */

/* One alert, validated and cleaned. */
struct tg_alert {
	char	 kind[TG_ALERT_KIND_MAX];
	char	 run_id[ID_UUID_LEN + 1];	/* "" when none */
	char	 video_id[ID_VIDEO_MAX + 1];	/* "" when none */
	char	 gate_nonce[ID_UUID_LEN + 1];	/* "" when none */
	char	 worker_id[TG_ALERT_WID_MAX];
	double	 at;				/* epoch seconds */
	char	 detail[TG_ALERT_DETAIL_MAX];
	char	 diff[TG_ALERT_DIFF_MAX];
	bool	 diff_cut;			/* diff longer than kept */
	bool	 buttons;			/* asked for, with a gate */
	bool	 no_gate;			/* asked for, no gate named */
};

/* What an alert kind means and what the operator should do next. */
struct tg_alert_kind {
	const char	*kind;		/* a trailing ':' matches a prefix */
	const char	*title;
	const char	*meaning;
	const char	*action;
	bool		 link;		/* a gate or a panic of a run: the
					   dashboard link button belongs */
};

const struct tg_alert_kind *tg_alert_kind(const char *kind);
/*
 * Validate the alert object <args> (keys alert, run_id, video_id,
 * worker_id, at, detail, diff, gate_nonce, buttons; borrowed) into <a>.
 * Returns 0, or -1 with <err> set.
 */
int	tg_alert_parse(const cJSON *args, struct tg_alert *a, char *err,
	    size_t errlen);
bool	tg_alert_links(const struct tg_alert *a);
size_t	tg_alert_format(const struct tg_alert *a, int held, char *buf,
	    size_t size);
void	tg_alert_times(double epoch, char *utc, size_t usize, char *brt,
	    size_t bsize);
size_t	tg_clean_text(char *dst, size_t size, const char *src,
	    bool multiline);

#endif
