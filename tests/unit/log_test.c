/* SPDX-License-Identifier: ISC */
/*
 * log_test.c: unit tests for common/core/log.c's log files.  With the
 * limit lowered to 4096 bytes (RV_TEST_LOG_MAX, RV_TESTING=1): lines go
 * to <logdir>/<prog>.log until the next line would pass the limit, then
 * the file becomes <prog>.log.1 and a new one begins, no line lost or
 * cut; a later rotation replaces .log.1; a file already over the limit at
 * open is rotated then; two threads logging across rotations lose no
 * line and cut none; a symlink in the log's place is refused.  stderr
 * goes to /dev/null for the test.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/core/log.h"
#include "tests/unit/test.h"

#define MAX	4096

static char dir[PATH_MAX], cur[PATH_MAX], prev[PATH_MAX];

static long
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Lines of <path> that are whole ("...line <tag> <n> end"), and others. */
static void
count_lines(const char *path, const char *tag, int *whole, int *cut)
{
	char line[4096], want[64];
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return;
	snprintf(want, sizeof(want), " line %s ", tag);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, " line ") == NULL)
			continue;
		if (strstr(line, " end\n") == NULL)
			(*cut)++;
		else if (strstr(line, want) != NULL)
			(*whole)++;
	}
	fclose(f);
}

static void
test_rotation(void)
{
	int i, w = 0, c = 0, n;
	long s1;

	CHECK("rotate", log_init("rvtest", "t", dir) == 0, "log_init");
	for (n = 0; size_of(prev) == -1 && n < 1000; n++)
		log_info_("line a %d end", n);
	CHECK("rotate", size_of(prev) > MAX - 200 && size_of(prev) <= MAX &&
	    size_of(cur) > 0 && size_of(cur) < 200, "after %d lines: "
	    ".log.1 %ld bytes, .log %ld (limit %d)", n, size_of(prev),
	    size_of(cur), MAX);
	count_lines(prev, "a", &w, &c);
	count_lines(cur, "a", &w, &c);
	CHECK("rotate", w == n && c == 0, "%d of %d lines whole, %d cut", w,
	    n, c);
	s1 = size_of(prev);
	for (i = 0; i < n; i++)
		log_info_("line b %d end", i);
	w = c = 0;
	count_lines(prev, "a", &w, &c);
	count_lines(cur, "a", &w, &c);
	CHECK("rotate", w <= 1 && size_of(prev) != -1, "the second rotation "
	    "kept %d of the first lines (.log.1 had %ld bytes)", w, s1);
	log_close();
}

static void
test_at_open(void)
{
	char buf[MAX + 100];
	int fd;

	memset(buf, 'x', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	(void)unlink(prev);
	if ((fd = open(cur, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		exit(2);
	close(fd);
	CHECK("at_open", log_init("rvtest", "t", dir) == 0, "log_init");
	CHECK("at_open", size_of(prev) == (long)sizeof(buf) &&
	    size_of(cur) == 0, "a file over the limit at open: .log.1 %ld, "
	    ".log %ld", size_of(prev), size_of(cur));
	log_close();
}

static void *
writer(void *arg)
{
	int i;

	for (i = 0; i < 400; i++)
		log_info_("line %s %d end", (const char *)arg, i);
	return NULL;
}

/*
 * Two threads, 800 lines of about 60 bytes: several rotations; whatever
 * .log and .log.1 hold is whole, and they hold the last lines (at least
 * a limit's worth in all).
 */
static void
test_threads(void)
{
	pthread_t a, b;
	int w = 0, c = 0, w2 = 0;

	(void)unlink(prev);
	(void)unlink(cur);
	CHECK("threads", log_init("rvtest", "t", dir) == 0, "log_init");
	pthread_create(&a, NULL, writer, "x");
	pthread_create(&b, NULL, writer, "y");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	log_info_("line z 0 end");
	count_lines(prev, "x", &w, &c);
	count_lines(cur, "x", &w, &c);
	count_lines(prev, "y", &w2, &c);
	count_lines(cur, "y", &w2, &c);
	CHECK("threads", c == 0 && w + w2 > MAX / 80 && w + w2 < 800 &&
	    size_of(prev) <=
	    MAX && size_of(cur) <= MAX, "%d + %d whole lines, %d cut; .log.1 "
	    "%ld, .log %ld", w, w2, c, size_of(prev), size_of(cur));
	log_close();
}

static void
test_symlink(void)
{
	(void)unlink(cur);
	if (symlink("/dev/null", cur) == -1)
		exit(2);
	CHECK("symlink", log_init("rvtest", "t", dir) == -1, "a symlink in "
	    "the log's place was opened");
	(void)unlink(cur);
	log_close();
}

int
main(void)
{
	int fd;

	setenv("RV_TESTING", "1", 1);
	setenv("RV_TEST_LOG_MAX", "4096", 1);
	(void)fs_path(dir, sizeof(dir), "/tmp/rv-log-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	(void)fs_path(cur, sizeof(cur), "%s/rvtest.log", dir);
	(void)fs_path(prev, sizeof(prev), "%s/rvtest.log.1", dir);
	if ((fd = open("/dev/null", O_WRONLY)) != -1) {
		fflush(stdout);
		(void)dup2(fd, STDERR_FILENO);
		close(fd);
	}
	test_rotation();
	test_at_open();
	test_threads();
	test_symlink();
	test_rm_tree(dir);
	return test_exit();
}
