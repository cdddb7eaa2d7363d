/* SPDX-License-Identifier: ISC */
/*
 * tg_sent_test: the table of sent alerts (common/telegram/tg_sent.c):
 * round trip, the hour window, entries from a clock that went back, the
 * key (run id and reason), a corrupt file moved aside, a bad entry, the
 * lock held by another sender, and the file's mode.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/telegram/tg_sent.h"
#include "tests/unit/test.h"

#define RUN_A	"11111111-2222-4333-8444-555555555555"
#define RUN_B	"66666666-7777-4888-8999-aaaaaaaaaaaa"
#define NOW	1800000000.0

static struct tg_sent s;
static char dir[PATH_MAX], file[PATH_MAX + 32], note[2 * PATH_MAX + 200];
static char err[PATH_MAX + 200];

static int
open_at(double now)
{
	return tg_sent_open(&s, dir, now, 200, note, sizeof(note), err,
	    sizeof(err));
}

static void
put(const char *text)
{
	(void)fs_write_atomic(file, text, strlen(text));
}

static void
round_trip(void)
{
	struct stat sb;
	double at = 0;

	CHECK("open-empty", open_at(NOW) == 0 && s.n == 0 && note[0] == '\0',
	    "%s / %s", err, note);
	CHECK("fresh-not-recent", !tg_sent_recent(&s, RUN_A, "STALE WORKER",
	    NOW, NULL), "recent in an empty table");
	tg_sent_mark(&s, RUN_A, "STALE WORKER", NOW, "doctor");
	tg_sent_mark(&s, "", "CONTRACT FAIL", NOW - 100, "doctor");
	tg_sent_mark(&s, RUN_A, "STALE WORKER", NOW + 1, "rvsup");
	CHECK("mark-replaces", s.n == 2, "%zu entries", s.n);
	CHECK("close-save", tg_sent_close(&s, true, err, sizeof(err)) == 0,
	    "%s", err);
	CHECK("mode-0600", stat(file, &sb) == 0 && (sb.st_mode & 0777) ==
	    0600, "mode %o", (unsigned)(sb.st_mode & 0777));
	CHECK("reopen", open_at(NOW + 10) == 0 && s.n == 2, "%s", err);
	CHECK("recent", tg_sent_recent(&s, RUN_A, "STALE WORKER", NOW + 10,
	    &at) && at == NOW + 1, "at %.0f", at);
	CHECK("key-reason", !tg_sent_recent(&s, RUN_A, "CONTRACT FAIL",
	    NOW + 10, NULL), "reason not part of the key");
	CHECK("key-run", !tg_sent_recent(&s, RUN_B, "STALE WORKER", NOW + 10,
	    NULL), "run not part of the key");
	CHECK("store-key", tg_sent_recent(&s, "", "CONTRACT FAIL", NOW + 10,
	    NULL), "empty run id lost");
	CHECK("window-edge", !tg_sent_recent(&s, RUN_A, "STALE WORKER",
	    NOW + 1 + TG_SENT_WINDOW_SEC, NULL), "still recent after an hour");
	(void)tg_sent_close(&s, false, NULL, 0);
	/* An hour later the entries are gone from the file too. */
	CHECK("expire-on-load", open_at(NOW + 1 + TG_SENT_WINDOW_SEC) == 0 &&
	    s.n == 0, "%zu entries", s.n);
	(void)tg_sent_close(&s, false, NULL, 0);
	/* The clock went back 10 minutes: the entries count as expired. */
	CHECK("clock-back", open_at(NOW - 600) == 0 && s.n == 0 &&
	    !tg_sent_recent(&s, RUN_A, "STALE WORKER", NOW - 600, NULL),
	    "%zu entries", s.n);
	(void)tg_sent_close(&s, false, NULL, 0);
	CHECK("small-skew-kept", open_at(NOW - 60) == 0 && s.n == 2,
	    "%zu entries", s.n);
	(void)tg_sent_close(&s, false, NULL, 0);
}

static void
corrupt(void)
{
	char aside[PATH_MAX + 48];

	snprintf(aside, sizeof(aside), "%s.corrupt", file);
	put("{\"version\":1,\"sent\":[{\"run_id\":");
	CHECK("corrupt-open", open_at(NOW) == 0 && s.n == 0 &&
	    strstr(note, "was corrupt: moved aside") != NULL, "%s / %s", err,
	    note);
	(void)tg_sent_close(&s, true, NULL, 0);
	CHECK("corrupt-aside", fs_exists(aside), "%s missing", aside);
	CHECK("corrupt-replaced", open_at(NOW) == 0 && note[0] == '\0',
	    "%s", note);
	(void)tg_sent_close(&s, false, NULL, 0);
	put("{\"version\":1,\"sent\":[{\"run_id\":\"../x\",\"reason\":"
	    "\"STALE WORKER\",\"at\":1800000000}]}");
	CHECK("bad-run-id", open_at(NOW) == 0 && s.n == 0 && note[0] != '\0',
	    "accepted: %zu / %s", s.n, note);
	(void)tg_sent_close(&s, false, NULL, 0);
	put("{\"version\":2,\"sent\":[]}");
	CHECK("bad-version", open_at(NOW) == 0 && note[0] != '\0',
	    "accepted a version 2 table");
	(void)tg_sent_close(&s, false, NULL, 0);
	put("{\"version\":1,\"sent\":[{\"run_id\":\"\",\"reason\":"
	    "\"A\\nB\",\"at\":1800000000}]}");
	CHECK("bad-reason", open_at(NOW) == 0 && note[0] != '\0',
	    "accepted a reason with a newline");
	(void)tg_sent_close(&s, false, NULL, 0);
}

static void
locked(void)
{
	char lock[PATH_MAX + 32];
	int fd;

	snprintf(lock, sizeof(lock), "%s/runtime/alerts-sent.lock", dir);
	fd = open(lock, O_RDWR);
	CHECK("lock-other", fd != -1 && flock(fd, LOCK_EX) == 0, "no lock");
	CHECK("lock-held", open_at(NOW) == -1 && strstr(err,
	    "held by another sender") != NULL && s.lockfd == -1, "%s", err);
	if (fd != -1)
		close(fd);
	CHECK("lock-free", open_at(NOW) == 0, "%s", err);
	(void)tg_sent_close(&s, false, NULL, 0);
}

int
main(void)
{
	char tmpl[] = "/tmp/tg_sent_test.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	snprintf(file, sizeof(file), "%s/runtime/%s", dir, TG_SENT_FILE);
	round_trip();
	corrupt();
	locked();
	(void)unlink(file);
	snprintf(note, sizeof(note), "%s.corrupt", file);
	(void)unlink(note);
	snprintf(note, sizeof(note), "%s/runtime/alerts-sent.lock", dir);
	(void)unlink(note);
	snprintf(note, sizeof(note), "%s/runtime", dir);
	(void)rmdir(note);
	(void)rmdir(dir);
	return test_exit();
}
