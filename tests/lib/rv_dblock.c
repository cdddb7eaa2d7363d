/* SPDX-License-Identifier: ISC */
/*
 * rv_dblock: hold an embedded store's write lock from another connection,
 * the way a second program (a backup, sqlite3 in a terminal, a stuck
 * rvctl) would, so the store-fault tests can lock the database for real
 * instead of pretending to inside the supervisor.
 *
 *	rv_dblock [-r READY_FILE] [-t SECONDS] DB
 *
 * Opens DB (never creates it), waits up to 60 s for the lock, runs BEGIN
 * EXCLUSIVE (in WAL mode: every other writer gets SQLITE_BUSY, readers
 * go on) and then signals readiness: "locked <pid>" on stdout and, with
 * -r, READY_FILE created.  It holds the lock until SECONDS have passed
 * (-t; default: no limit) or SIGTERM, SIGINT or SIGHUP arrives, then rolls
 * back (nothing was written) and exits 0.  Exit 1 with a message on
 * stderr when the lock could not be taken.  A kill -9 releases the lock
 * too (the kernel drops the file locks).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define WAIT_MS		60000

static volatile sig_atomic_t done;

static void
on_signal(int sig)
{
	(void)sig;
	done = 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: rv_dblock [-r READY_FILE] [-t SECONDS] DB\n");
	return 1;
}

static int
ready(const char *path)
{
	char tmp[4096];
	int fd;

	if (path == NULL)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	(void)dprintf(fd, "%ld\n", (long)getpid());
	(void)close(fd);
	return rename(tmp, path);
}

int
main(int argc, char **argv)
{
	const char *ready_file = NULL, *db;
	struct sigaction sa;
	struct timespec end, now, nap = { 0, 50 * 1000 * 1000 };
	sqlite3 *h;
	char *msg = NULL;
	long secs = -1;
	int ch;

	while ((ch = getopt(argc, argv, "r:t:")) != -1) {
		switch (ch) {
		case 'r':
			ready_file = optarg;
			break;
		case 't':
			secs = strtol(optarg, NULL, 10);
			if (secs < 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 1)
		return usage();
	db = argv[optind];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "rv_dblock: %s: %s\n", db, sqlite3_errmsg(h));
		return 1;
	}
	sqlite3_busy_timeout(h, WAIT_MS);
	if (sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, &msg) !=
	    SQLITE_OK) {
		fprintf(stderr, "rv_dblock: %s: BEGIN EXCLUSIVE: %s\n", db,
		    msg != NULL ? msg : sqlite3_errmsg(h));
		sqlite3_free(msg);
		sqlite3_close(h);
		return 1;
	}
	if (ready(ready_file) == -1)
		fprintf(stderr, "rv_dblock: %s: %s\n", ready_file,
		    strerror(errno));
	printf("locked %ld\n", (long)getpid());
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	while (!done) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (secs >= 0 && (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)))
			break;
		(void)nanosleep(&nap, NULL);
	}
	(void)sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	return 0;
}
