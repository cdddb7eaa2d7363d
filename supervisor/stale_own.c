/* SPDX-License-Identifier: ISC */
/*
 * stale_own.c: a restarted supervisor that takes back its own stale run
 * says so, once.
 *
 * When the only supervisor dies holding a run, nobody renews the run and
 * no peer is there to raise STALE WORKER; rvctl doctor --alert (the
 * service managers' 5-minute job) does, and so does the supervisor when
 * it is started again and its recovery claim takes that run back.  Before
 * its first claim the lease thread lists this worker's own runs that are
 * stale by doctor's rule (marked active, lease expired or no heartbeat
 * for 3 intervals, by the store's clock: stale_own_scan); a recovery
 * claim of one of them is STALE WORKER (recovered), unless doctor --alert
 * or an earlier start already told the operator about that run within
 * the hour: the table of sent alerts (common/telegram/tg_sent.c, key run
 * id and "STALE WORKER") is shared, so one incident is one message
 * whoever sees it first.  The entry is written when the alert is handed
 * to rvw-notify, whose outbox keeps it until Telegram accepts it.  A
 * table that cannot be read (lock held past a second, I/O error) does
 * not silence the alert.  A scan that failed knows nothing: no alert is
 * guessed.  Runs in the lease thread, never in the main loop.
 *
 * Public: stale_own_scan, stale_own_recovered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/core/log.h"
#include "common/telegram/tg_sent.h"
#include "supervisor/stale_own.h"

#define SENT_LOCK_WAIT_MS	1000
#define STALE_REASON		"STALE WORKER"

static bool
finished(const char *status)
{
	return strcmp(status, RUN_DONE) == 0 ||
	    strcmp(status, RUN_FAILED) == 0 ||
	    strcmp(status, RUN_ABORTED) == 0;
}

/*
 * Fill <out> with this worker's stale runs.  Returns 0, or -1 with <err>
 * set and <out> empty and not known.
 */
int
stale_own_scan(struct store *st, const struct rv_config *cfg,
    struct stale_own *out, char *err, size_t errlen)
{
	double limit = STALE_OWN_INTERVALS *
	    (double)cfg->heartbeat_interval_sec;
	struct store_run *runs = NULL;
	size_t n, i;

	memset(out, 0, sizeof(*out));
	if (store_list_runs(st, &runs, &n, err, errlen) == -1)
		return -1;
	for (i = 0; i < n && out->n < STALE_OWN_MAX; i++) {
		const struct store_run *r = &runs[i];

		if (strcmp(r->worker_id, cfg->worker_id) != 0 ||
		    r->lock_token[0] == '\0' || finished(r->status) ||
		    strcmp(r->worker_state, WS_ACTIVE) != 0 ||
		    (!r->lease_expired && r->heartbeat_age_sec <= limit))
			continue;
		strlcpy(out->v[out->n].run_id, r->run_id,
		    sizeof(out->v[0].run_id));
		out->v[out->n].heartbeat_age_sec = r->heartbeat_age_sec;
		out->v[out->n].lease_expired = r->lease_expired;
		out->n++;
	}
	out->known = true;
	free(runs);
	return 0;
}

/* Not sent within the hour: mark it sent now.  Unreadable: send. */
static bool
first_in_hour(const struct rv_config *cfg, const char *run_id)
{
	struct tg_sent *s = calloc(1, sizeof(*s));
	char note[2 * PATH_MAX + 160], err[PATH_MAX + 160];
	double now = (double)time(NULL), at;
	bool fresh = true;

	if (s == NULL)
		return true;
	if (tg_sent_open(s, cfg->state_dir, now, SENT_LOCK_WAIT_MS, note,
	    sizeof(note), err, sizeof(err)) == -1) {
		log_warnx("sent alerts: %s; alerting anyway", err);
		free(s);
		return true;
	}
	if (note[0] != '\0')
		log_warnx("%s", note);
	if (tg_sent_recent(s, run_id, STALE_REASON, now, &at)) {
		log_info("run %s: STALE WORKER already sent %.0f s ago; the "
		    "recovery is not announced again", run_id, now - at);
		fresh = false;
	} else
		tg_sent_mark(s, run_id, STALE_REASON, now, "rvsup");
	if (tg_sent_close(s, fresh || note[0] != '\0', err, sizeof(err)) ==
	    -1)
		log_warnx("sent alerts: %s", err);
	free(s);
	return fresh;
}

/*
 * Claim <c> took back a run of <s>: fill <detail> and return true when
 * that is news for the operator (see the paragraph above).
 */
bool
stale_own_recovered(const struct stale_own *s, const struct rv_config *cfg,
    const struct store_claim *c, char *detail, size_t size)
{
	const struct stale_own_run *r = NULL;
	size_t i;

	if (!c->is_recovery)
		return false;
	for (i = 0; i < s->n && r == NULL; i++)
		if (strcmp(s->v[i].run_id, c->run_id) == 0)
			r = &s->v[i];
	if (r == NULL || !first_in_hour(cfg, c->run_id))
		return false;
	snprintf(detail, size, "worker %s had stopped renewing run %s "
	    "(heartbeat %.0f s ago%s, more than %d x %d s); its supervisor "
	    "started again and took the run back (lease epoch %lld)",
	    cfg->worker_id, c->video_id, r->heartbeat_age_sec,
	    r->lease_expired ? ", lease expired" : "", STALE_OWN_INTERVALS,
	    cfg->heartbeat_interval_sec, c->lease_epoch);
	return true;
}
