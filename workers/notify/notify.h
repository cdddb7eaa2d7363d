/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_NOTIFY_NOTIFY_H
#define RV_WORKERS_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "common/core/config.h"
#include "common/telegram/telegram.h"
#include "workers/notify/alerts.h"
#include "workers/skeleton/worker.h"

/*
 * The state of rvw-notify shared by workers/notify/notify.c (alerts, delivery,
 * start-up) and workers/notify/notify_poll.c (button presses, answers and
 * edits).  One instance per process.
 */

#define NOTIFY_IDLE_MS		50	/* idle hook period */
#define NOTIFY_CALL_MS		10000	/* total timeout of a short call */
#define NOTIFY_POLL_SEC		20	/* getUpdates long-poll timeout */
#define NOTIFY_POLL_LIMIT	20	/* updates per getUpdates */
#define NOTIFY_POLL_GAP_MS	1000	/* after a poll that came back empty
					   at once (no long poll honoured) */
#define NOTIFY_BACKOFF_MIN_MS	500
#define NOTIFY_BACKOFF_MAX_MS	30000
#define NOTIFY_REFUSED_MS	60000	/* bad token, blocked bot, ... */
#define NOTIFY_ATTEMPTS_MAX	3	/* a refused message, an answer */
#define NOTIFY_AUX_MAX		16

/* One kind of Bot API traffic: one call at a time, its own backoff. */
struct notify_chan {
	const char	*name;		/* for log lines */
	struct tg_call	*call;
	int64_t		 next_at;	/* no new call before (monotonic) */
	int64_t		 started_at;	/* the running call's start */
	int		 backoff_ms;
	bool		 down;		/* failing; logged once */
};

/* An answerCallbackQuery or editMessageText waiting its turn. */
struct notify_aux {
	char		 method[TG_METHOD_MAX];
	cJSON		*params;	/* owned */
	int		 attempts;
};

struct notify {
	struct wrk_env	*env;
	const struct rv_config *cfg;
	bool		 started;
	bool		 telegram;	/* token and chat set, client ready */
	bool		 poll;		/* RAYVAULT_TELEGRAM_POLL=1 */
	struct tg_client *tg;
	bool		 chat_numeric;
	long long	 chat_id;
	long long	 admins[NOTIFY_ADMINS_MAX];
	size_t		 nadmins;
	struct notify_outbox box;
	struct notify_chan send, polling, aux;
	unsigned long long send_seq;	/* outbox item being sent */
	bool		 send_link;	/* ... with the dashboard link */
	bool		 link_off;	/* Telegram refused the link button */
	struct notify_aux auxq[NOTIFY_AUX_MAX];
	size_t		 aux_head, naux;
	bool		 offset_known;	/* false: first poll discards */
	long long	 offset;	/* next update_id wanted */
	int64_t		 quiet_until;	/* 429: no call before */
	char		 alerts_log[CFG_STR_MAX + 32];
	char		 offset_path[CFG_STR_MAX + 32];
};

/* notify.c */
void	notify_chan_failed(struct notify *n, struct notify_chan *ch,
	    const struct tg_reply *r, int64_t now);
void	notify_chan_ok(struct notify_chan *ch);
/* The "View details" link of <run_id> into <buf>, if this chat gets one. */
bool	notify_link(const struct notify *n, const char *run_id, char *buf,
	    size_t size);

/* notify_poll.c */
int	notify_offset_load(struct notify *n);
void	notify_poll_step(struct notify *n, int64_t now);
void	notify_aux_step(struct notify *n, int64_t now);

#endif
