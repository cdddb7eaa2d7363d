/* SPDX-License-Identifier: ISC */
/*
 * rv_claimbench: claims per second with N concurrent claimers, for
 * `make bench` (not a test).  It queues R runs in the store chosen by the
 * settings (SQLite at RAYVAULT_STATE_DIR, or Supabase when SUPABASE_URL
 * is set), forks N processes that each open their own store handle and
 * claim + finish until nothing is left, then counts the claims per run:
 * any run claimed twice is reported and makes the exit status 1.  It also
 * times heartbeat round trips on one held run.
 *
 *	rv_claimbench [-n CLAIMERS] [-r RUNS] [-h HEARTBEATS] [-F]
 *
 * -F: claims only (no finish after each claim).
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/config.h"
#include "common/core/ids.h"
#include "common/store/store.h"

static int
open_store(struct store *st)
{
	struct rv_config cfg;
	char err[4096];

	if (config_load(&cfg, NULL, NULL, err, sizeof(err)) == -1 ||
	    store_open(st, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "rv_claimbench: %s\n", err);
		return -1;
	}
	return 0;
}

static bool no_finish;

static int
claimer(int id)
{
	struct store st;
	struct store_claim c;
	char tok[ID_UUID_LEN + 1], wid[32], err[512];
	bool ok;
	int n = 0, rc;

	if (open_store(&st) == -1)
		return 0;
	snprintf(wid, sizeof(wid), "bench-%d", id);
	for (;;) {
		id_uuid_new(tok);
		rc = store_claim(&st, wid, tok, 5, "bench", "", &c, err,
		    sizeof(err));
		if (rc <= 0)
			break;
		n++;
		if (!no_finish)
			(void)store_finish(&st, c.run_id, wid, tok, "done", "",
		    &ok, err, sizeof(err));
	}
	store_close(&st);
	return n;
}

static void
heartbeats(struct store *st, int count)
{
	struct store_claim c;
	struct store_hb hb;
	char tok[ID_UUID_LEN + 1], rid[40], err[512], vid[32];
	int64_t t0, best = 1 << 30, sum = 0;
	int i;

	snprintf(vid, sizeof(vid), "BENCH-HB-%d", getpid());
	if (store_enqueue(st, vid, "benchhb", "{}", rid, err,
	    sizeof(err)) == -1)
		return;
	id_uuid_new(tok);
	if (store_claim(st, "bench-hb", tok, 5, "benchhb", "", &c,
	    err, sizeof(err)) != 1)
		return;
	for (i = 0; i < count; i++) {
		t0 = clock_mono_ms();
		(void)store_heartbeat(st, c.run_id, "bench-hb", tok, 5,
		    0, "active", &hb, err, sizeof(err));
		t0 = clock_mono_ms() - t0;
		sum += t0;
		if (t0 < best)
			best = t0;
	}
	printf("heartbeat round trip: mean %.2f ms, best %lld ms (%d calls)\n",
	    (double)sum / count, (long long)best, count);
}

int
main(int argc, char **argv)
{
	struct store st;
	struct store_run *runs;
	char rid[40], vid[40], err[512];
	int n = 8, r = 2000, hbs = 50, c, i, total = 0, st_;
	size_t nr, k;
	int64_t t0, el;
	pid_t pid;
	int fd[2];

	while ((c = getopt(argc, argv, "n:r:h:F")) != -1) {
		if (c == 'F')
			no_finish = true;
		else if (c == 'n')
			n = atoi(optarg);
		else if (c == 'r')
			r = atoi(optarg);
		else if (c == 'h')
			hbs = atoi(optarg);
		else
			return 64;
	}
	if (open_store(&st) == -1)
		return 1;
	for (i = 0; i < r; i++) {
		snprintf(vid, sizeof(vid), "BENCH-%d-%d", getpid(), i);
		if (store_enqueue(&st, vid, "bench", "{}", rid, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "enqueue: %s\n", err);
			return 1;
		}
	}
	if (pipe(fd) == -1)
		return 1;
	t0 = clock_mono_ms();
	for (i = 0; i < n; i++) {
		if ((pid = fork()) == 0) {
			int got = claimer(i);

			(void)!write(fd[1], &got, sizeof(got));
			_exit(0);
		}
	}
	for (i = 0; i < n; i++) {
		int got = 0;

		(void)wait(&st_);
		if (read(fd[0], &got, sizeof(got)) == sizeof(got))
			total += got;
	}
	el = clock_mono_ms() - t0;
	printf("%d claimers, %d runs: %d claims in %lld ms = %.0f claims/s%s\n",
	    n, r, total, (long long)el, el > 0 ? total * 1000.0 / (double)el :
	    0, no_finish ? "" : " (each claim followed by a finish)");
	if (store_list_runs(&st, &runs, &nr, err, sizeof(err)) == 0) {
		int twice = 0;

		for (k = 0; k < nr; k++)
			if (strcmp(runs[k].task_type, "bench") == 0 &&
			    runs[k].lease_epoch > 1)
				twice++;
		printf("runs claimed more than once: %d\n", twice);
		free(runs);
		if (twice > 0 || total != r)
			return 1;
	}
	heartbeats(&st, hbs);
	store_close(&st);
	return 0;
}
