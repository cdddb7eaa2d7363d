/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_SPOOL_H
#define RV_COMMON_CORE_SPOOL_H

#include <stddef.h>

#include <cJSON.h>

/* The event_type of a record that carries a credit-ledger result. */
#define SPOOL_LEDGER_RESULT	"ledger_result"

struct spool_report {
	int	sent, duplicate, failed, bad, quarantined, skipped;
	int	deferred;	/* left for later: the store is unreachable */
	int	fenced;		/* dropped: stamped with a stale lease epoch */
};

/* What the send function of spool_replay() did with one record. */
enum spool_sent {
	SPOOL_SENT = 0,		/* taken */
	SPOOL_DUPLICATE,	/* already there (a replay) */
	SPOOL_FENCED,		/* stale lease epoch: never accepted */
	SPOOL_MALFORMED		/* not a record at all: goes to bad/ */
};

/*
 * Sends one parsed record (borrowed) on behalf of spool_replay(): 0 with
 * *res, or -1 with <err> and errno (EHOSTUNREACH, ETIMEDOUT, EAGAIN, ...
 * when the destination was not reached, which stops the pass).  <arg> is
 * spool_replay's.  common/store/spool_apply.c has the store's one.
 */
struct spool_send {
	int	(*fn)(void *arg, const cJSON *record, enum spool_sent *res,
		    char *err, size_t errlen);
	void	*arg;
};

int	spool_init(const char *spool_dir);
int	spool_write(const char *spool_dir, const cJSON *ev, char *err,
	    size_t errlen);
int	spool_replay(const char *spool_dir, const struct spool_send *send,
	    struct spool_report *rep, char *err, size_t errlen);
size_t	spool_count(const char *spool_dir);

#endif
