/* SPDX-License-Identifier: ISC */
/*
 * children_test: state/runtime/children.json (common/core/children.c):
 * a table written and read back, the exact text the supervisor writes,
 * every bad file refused with an error naming the problem, the writer
 * refusing what the reader would refuse, and the start-time check.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/children.h"
#include "common/core/fsutil.h"
#include "common/core/platform.h"
#include "tests/unit/test.h"

static char dir[] = "/tmp/children_test.XXXXXX";
static char rtdir[64], path[128];

static int
put(const char *text, size_t len)
{
	return fs_write_atomic(path, text, len);
}

static void
test_round_trip(void)
{
	struct children_table t, u;
	char err[512], *txt;
	const char *hand;

	memset(&t, 0, sizeof(t));
	t.supervisor_pid = 4242;
	t.n = 2;
	(void)strlcpy(t.v[0].kind, "render", sizeof(t.v[0].kind));
	t.v[0].pid = 100;
	t.v[0].start_time = 1234567890123ULL;
	t.v[0].gen = 7;
	(void)strlcpy(t.v[1].kind, "notify", sizeof(t.v[1].kind));
	t.v[1].pid = 2;
	t.v[1].start_time = 0;
	t.v[1].gen = 0;
	CHECK("write", children_write(dir, &t, err, sizeof(err)) == 0, "%s",
	    err);
	CHECK("read", children_read(dir, &u, err, sizeof(err)) == 0, "%s",
	    err);
	CHECK("round trip", u.supervisor_pid == 4242 && u.n == 2 &&
	    u.worker_id[0] == '\0' &&
	    memcmp(&t.v[0], &u.v[0], sizeof(t.v[0])) == 0 &&
	    memcmp(&t.v[1], &u.v[1], sizeof(t.v[1])) == 0, "mismatch");

	/* The worker id the supervisor runs with travels too. */
	(void)strlcpy(t.worker_id, "Mac-Ray-01", sizeof(t.worker_id));
	CHECK("worker id", children_write(dir, &t, err, sizeof(err)) == 0 &&
	    children_read(dir, &u, err, sizeof(err)) == 0 &&
	    strcmp(u.worker_id, "Mac-Ray-01") == 0, "%s / \"%s\"", err,
	    u.worker_id);
	t.worker_id[0] = '\0';

	/* The layout rvsup always wrote (cJSON_Print): tests build on it. */
	t.n = 1;
	txt = children_encode(&t, err, sizeof(err));
	CHECK("encode text", txt != NULL && strcmp(txt,
	    "{\n\t\"supervisor_pid\":\t4242,\n\t\"children\":\t[{\n"
	    "\t\t\t\"kind\":\t\"render\",\n\t\t\t\"pid\":\t100,\n"
	    "\t\t\t\"start_time\":\t1234567890123,\n\t\t\t\"gen\":\t7\n"
	    "\t\t}]\n}") == 0, "%s", txt != NULL ? txt : err);
	free(txt);

	/* No children: an empty list. */
	t.n = 0;
	CHECK("write empty", children_write(dir, &t, err, sizeof(err)) == 0,
	    "%s", err);
	CHECK("read empty", children_read(dir, &u, err, sizeof(err)) == 0 &&
	    u.n == 0 && u.supervisor_pid == 4242, "%s", err);

	/* The file tests write by hand (ctl_doctor.sh, ctl_baptism.sh). */
	hand = "{\"supervisor_pid\": 999999, \"children\": [{\"kind\": "
	    "\"render\", \"pid\": 77, \"start_time\": 5, \"gen\": 1}]}\n";
	CHECK("hand-written", put(hand, strlen(hand)) == 0 &&
	    children_read(dir, &u, err, sizeof(err)) == 0 && u.n == 1 &&
	    u.v[0].pid == 77 && u.supervisor_pid == 999999, "%s", err);
}

struct badcase {
	const char	*name;
	const char	*text;
	const char	*want;	/* in the error */
};

#define REC(k, p, s, g)	"{\"kind\":" k ",\"pid\":" p ",\"start_time\":" s \
			",\"gen\":" g "}"
#define TOP(l)		"{\"supervisor_pid\":10,\"children\":[" l "]}"

static const struct badcase bad[] = {
	{ "empty", "", "not valid JSON" },
	{ "not json", "{\"supervisor_pid\":", "not valid JSON" },
	{ "trailing junk", TOP("") "x", "not valid JSON" },
	{ "array top", "[]", "top level: not an object" },
	{ "no supervisor", "{\"children\":[]}", "supervisor_pid: missing" },
	{ "supervisor string", "{\"supervisor_pid\":\"10\",\"children\":[]}",
	    "supervisor_pid: not an integer" },
	{ "supervisor 0", "{\"supervisor_pid\":0,\"children\":[]}",
	    "supervisor_pid: 0 is out of range" },
	{ "no children", "{\"supervisor_pid\":10}", "children: missing" },
	{ "worker id number", "{\"supervisor_pid\":10,\"worker_id\":7,"
	    "\"children\":[]}", "worker_id: not a string" },
	{ "worker id short", "{\"supervisor_pid\":10,\"worker_id\":\"ab\","
	    "\"children\":[]}", "worker_id: shorter than 3" },
	{ "worker id control", "{\"supervisor_pid\":10,\"worker_id\":"
	    "\"ab\\ncd\",\"children\":[]}", "worker_id: holds a control" },
	{ "children object", "{\"supervisor_pid\":10,\"children\":{}}",
	    "children: not an array" },
	{ "record not object", TOP("1"), "children[0]: not an object" },
	{ "no kind", TOP("{\"pid\":5,\"start_time\":1,\"gen\":1}"),
	    "children[0].kind: missing" },
	{ "kind number", TOP(REC("3", "5", "1", "1")),
	    "children[0].kind: not a string" },
	{ "kind empty", TOP(REC("\"\"", "5", "1", "1")),
	    "children[0].kind: empty or too long" },
	{ "kind long", TOP(REC("\"abcdefghijklmnop\"", "5", "1", "1")),
	    "children[0].kind: empty or too long" },
	{ "kind escape", TOP(REC("\"a\\u001b[2J\"", "5", "1", "1")),
	    "children[0].kind: holds a byte" },
	{ "no pid", TOP("{\"kind\":\"voice\",\"start_time\":1,\"gen\":1}"),
	    "children[0].pid: missing" },
	{ "pid string", TOP(REC("\"voice\"", "\"5\"", "1", "1")),
	    "children[0].pid: not an integer" },
	{ "pid fraction", TOP(REC("\"voice\"", "5.5", "1", "1")),
	    "children[0].pid: not an integer" },
	{ "negative pid", TOP(REC("\"voice\"", "-4", "1", "1")),
	    "children[0].pid: -4 is out of range" },
	{ "pid 1", TOP(REC("\"voice\"", "1", "1", "1")),
	    "children[0].pid: 1 is out of range" },
	{ "huge pid", TOP(REC("\"voice\"", "1e12", "1", "1")),
	    "children[0].pid: 1000000000000 is out of range" },
	{ "second record", TOP(REC("\"voice\"", "5", "1", "1") ","
	    REC("\"probe\"", "6", "true", "1")),
	    "children[1].start_time: not an integer" },
	{ "no start_time", TOP("{\"kind\":\"voice\",\"pid\":5,\"gen\":1}"),
	    "children[0].start_time: missing" },
	{ "negative start", TOP(REC("\"voice\"", "5", "-1", "1")),
	    "children[0].start_time: -1 is out of range" },
	{ "no gen", TOP("{\"kind\":\"voice\",\"pid\":5,\"start_time\":1}"),
	    "children[0].gen: missing" },
	{ "gen null", TOP(REC("\"voice\"", "5", "1", "null")),
	    "children[0].gen: not an integer" },
};

static void
test_bad_files(void)
{
	struct children_table t;
	char err[512], big[1024], *huge;
	size_t i, n;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (put(bad[i].text, strlen(bad[i].text)) == -1) {
			test_fail(bad[i].name, "write: %s", strerror(errno));
			test_failed++;
			continue;
		}
		t.n = 99;
		err[0] = '\0';
		rc = children_read(dir, &t, err, sizeof(err));
		CHECK(bad[i].name, rc == -1 && errno == EINVAL && t.n == 0 &&
		    strstr(err, path) != NULL && strstr(err, bad[i].want) !=
		    NULL, "rc %d, error \"%s\", want \"%s\"", rc, err,
		    bad[i].want);
	}

	/* More records than any supervisor has. */
	n = (size_t)snprintf(big, sizeof(big), "{\"supervisor_pid\":10,"
	    "\"children\":[");
	for (i = 0; i <= CHILDREN_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s%s",
		    i > 0 ? "," : "", REC("\"voice\"", "5", "1", "1"));
	n += (size_t)snprintf(big + n, sizeof(big) - n, "]}");
	CHECK("too many", n < sizeof(big) && put(big, n) == 0 &&
	    children_read(dir, &t, err, sizeof(err)) == -1 &&
	    strstr(err, "more than 16 records") != NULL, "%s", err);

	/* A NUL byte. */
	CHECK("nul byte", put(TOP("") "\0", sizeof(TOP(""))) == 0 &&
	    children_read(dir, &t, err, sizeof(err)) == -1 &&
	    strstr(err, "holds a NUL byte") != NULL, "%s", err);

	/* Oversized: refused before it is parsed. */
	n = CHILDREN_FILE_MAX + 1;
	if ((huge = malloc(n)) != NULL) {
		memset(huge, ' ', n);
		CHECK("oversized", put(huge, n) == 0 &&
		    children_read(dir, &t, err, sizeof(err)) == -1 &&
		    errno == EINVAL && strstr(err, "larger than 1048576 bytes")
		    != NULL, "%s", err);
		free(huge);
	}

	/* No file: ENOENT, told apart from a bad one. */
	(void)unlink(path);
	CHECK("missing", children_read(dir, &t, err, sizeof(err)) == -1 &&
	    errno == ENOENT && strstr(err, path) != NULL, "%s", err);

	/* NULL err is allowed. */
	CHECK("null err", children_read(dir, &t, NULL, 0) == -1 &&
	    errno == ENOENT, "errno %d", errno);
}

/* The writer refuses what the reader would refuse. */
static void
test_writer_checks(void)
{
	struct children_table t;
	char err[512];

	memset(&t, 0, sizeof(t));
	t.supervisor_pid = 10;
	t.n = 1;
	(void)strlcpy(t.v[0].kind, "voice", sizeof(t.v[0].kind));
	t.v[0].pid = -3;
	CHECK("write bad pid", children_write(dir, &t, err, sizeof(err)) ==
	    -1 && errno == EINVAL && strstr(err, "children[0].pid") != NULL &&
	    !fs_exists(path), "%s", err);
	t.v[0].pid = 5;
	(void)strlcpy(t.v[0].kind, "Voice", sizeof(t.v[0].kind));
	CHECK("write bad kind", children_write(dir, &t, err, sizeof(err)) ==
	    -1 && strstr(err, "children[0].kind") != NULL, "%s", err);
	(void)strlcpy(t.v[0].kind, "voice", sizeof(t.v[0].kind));
	(void)strlcpy(t.worker_id, "w\tx", sizeof(t.worker_id));
	CHECK("write bad worker id", children_write(dir, &t, err,
	    sizeof(err)) == -1 && strstr(err, "worker_id") != NULL, "%s", err);
	t.worker_id[0] = '\0';
	t.supervisor_pid = 0;
	CHECK("write bad supervisor", children_write(dir, &t, err,
	    sizeof(err)) == -1 && strstr(err, "supervisor_pid") != NULL, "%s",
	    err);
}

static void
test_running(void)
{
	struct children_rec r;

	memset(&r, 0, sizeof(r));
	r.pid = getpid();
	CHECK("own start time", plat_proc_starttime(r.pid, &r.start_time) ==
	    0 && children_rec_running(&r), "pid %ld", (long)r.pid);
	r.start_time++;
	CHECK("reused pid", !children_rec_running(&r), "start time ignored");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		printf("FAIL mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	(void)snprintf(rtdir, sizeof(rtdir), "%s/runtime", dir);
	(void)snprintf(path, sizeof(path), "%s/children.json", rtdir);
	if (mkdir(rtdir, 0700) == -1) {
		printf("FAIL mkdir: %s\n", strerror(errno));
		return 1;
	}
	test_round_trip();
	test_bad_files();
	test_writer_checks();
	test_running();
	(void)unlink(path);
	(void)rmdir(rtdir);
	(void)rmdir(dir);
	return test_exit();
}
