/* SPDX-License-Identifier: ISC */
/*
 * timeline_test.c: golden tests for common/media/timeline.c.  Fixed segment
 * lists (all ready; a missing segment with drift over 0.5 s; drift over
 * 1.0 s with awkward file names, another frame rate and a record start)
 * are turned into CSV and EDL text and compared with
 * tests/unit/golden/timeline_<case>.csv.ok and .edl.ok.  With
 * RV_UPDATE_GOLDEN=1 the .ok files are rewritten instead.  The golden
 * directory is RV_GOLDEN_DIR, or tests/unit/golden under the working
 * directory, or found from the program's path.  The QC summary and
 * timeline_write (file names, _latest copies, missing files) are checked
 * directly.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/media/timeline.h"
#include "tests/unit/test.h"

static char golden[PATH_MAX];
static bool update;

#define F(seg)	"video/final/V_RAY-99_" seg "_0123abcd.mp4"

static const struct timeline_seg segs_ok[] = {
	{ "intro", "intro", 6.0, F("intro"), 6.04 },
	{ "p1", "product", 12.5, F("p1"), 12.46 },
	{ "t1", "transition", 2.0, F("t1"), 2.1 },
	{ "outro", "outro", 5.0, F("outro"), 4.98 },
};

static const struct timeline_seg segs_missing[] = {
	{ "intro", "intro", 6.0, F("intro"), 6.2 },
	{ "p1", "product", 12.0, F("p1"), 12.25 },
	{ "p2", "product", 12.0, NULL, 0 },
	{ "t1", "transition", 2.0, F("t1"), 2.1 },
	{ "outro", "outro", 5.0, F("outro"), 4.9 },
};

static const struct timeline_seg segs_critical[] = {
	{ "intro", "intro", 6.0, "video/final/intro, take \"2\".mp4", 6.5 },
	{ "p1", "product", 10.0, F("p1"), 10.4 },
	{ "p2", "product", 10.0, F("p2"), 10.3 },
	{ "outro", "outro", 4.0, F("outro"), 3.9 },
};

struct gcase {
	const char			*name;
	const struct timeline_seg	*segs;
	size_t				 n;
	struct timeline_opts		 opts;
	size_t				 ready, missing;
	const char			*first_missing, *worst;
	double				 worst_delta, cum, max;
	enum timeline_verdict		 verdict;
};

static const struct gcase gcases[] = {
	{ "ok", segs_ok, 4, { NULL, 0, 0, NULL }, 4, 0, "", "t1", 0.1,
	    0.08, 0.1, TIMELINE_OK },
	{ "missing_warn", segs_missing, 5, { NULL, 0, 0, NULL }, 4, 1, "p2",
	    "p1", 0.25, 0.45, 0.55, TIMELINE_WARN },
	{ "critical", segs_critical, 4, { NULL, 30, 3600, "V" }, 4, 0, "",
	    "intro", 0.5, 1.1, 1.2, TIMELINE_CRITICAL },
};

static int
write_plain(const char *path, const char *text)
{
	FILE *f;
	int r = 0;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (fputs(text, f) == EOF)
		r = -1;
	if (fclose(f) == EOF)
		r = -1;
	return r;
}

/* Compare <got> with <file>.ok, or rewrite it when updating. */
static void
golden_check(const char *name, const char *file, const char *got)
{
	char path[PATH_MAX], *want = NULL;
	size_t line = 1, i;

	(void)fs_path(path, sizeof(path), "%s/%s.ok", golden, file);
	if (update) {
		CHECK(name, write_plain(path, got) == 0, "write %s: %s", path,
		    strerror(errno));
		printf("updated %s\n", path);
		return;
	}
	if (fs_read_file(path, 1 << 20, &want, NULL) == -1) {
		CHECK(name, false, "%s: %s (run with RV_UPDATE_GOLDEN=1 to "
		    "create it)", path, strerror(errno));
		return;
	}
	for (i = 0; want[i] != '\0' && want[i] == got[i]; i++)
		if (want[i] == '\n')
			line++;
	CHECK(name, want[i] == got[i], "%s differs at line %zu:\n"
	    "--- want\n%s\n--- got\n%s", path, line, want, got);
	free(want);
}

static void
test_golden(const struct gcase *c)
{
	struct timeline_qc qc;
	char file[128], *csv = NULL, *edl = NULL;

	CHECK(c->name, timeline_csv(c->segs, c->n, &csv, NULL) == 0 &&
	    timeline_edl("RAY-99", c->segs, c->n, &c->opts, &edl, NULL) == 0,
	    "build failed: %s", strerror(errno));
	if (csv != NULL) {
		(void)fs_path(file, sizeof(file), "timeline_%s.csv", c->name);
		golden_check(c->name, file, csv);
	}
	if (edl != NULL) {
		(void)fs_path(file, sizeof(file), "timeline_%s.edl", c->name);
		golden_check(c->name, file, edl);
	}
	free(csv);
	free(edl);
	timeline_qc(c->segs, c->n, &qc);
	CHECK(c->name, qc.ready == c->ready && qc.missing == c->missing &&
	    strcmp(qc.first_missing, c->first_missing) == 0 &&
	    strcmp(qc.worst_segment, c->worst) == 0 &&
	    fabs(qc.worst_delta - c->worst_delta) < 1e-9 &&
	    fabs(qc.cum_drift - c->cum) < 1e-9 &&
	    fabs(qc.max_drift - c->max) < 1e-9 && qc.verdict == c->verdict,
	    "qc: ready %zu missing %zu first \"%s\" worst %s %.3f cum %.3f "
	    "max %.3f verdict %s", qc.ready, qc.missing, qc.first_missing,
	    qc.worst_segment, qc.worst_delta, qc.cum_drift, qc.max_drift,
	    timeline_verdict_name(qc.verdict));
}

/* Total duration of the READY segments, targets of all, the verdict text. */
static void
test_totals(void)
{
	struct timeline_seg segs[] = {
		{ "intro", "intro", 2.0, "V_a.mp4", 2.25 },
		{ "p1", "product", 3.0, NULL, 0 },
		{ "p2", "product", 4.0, "V_b.mp4", 3.875 }
	};
	struct timeline_qc qc;

	timeline_qc(segs, 3, &qc);
	CHECK("totals", fabs(qc.total - 6.125) < 1e-9 &&
	    fabs(qc.target_total - 9.0) < 1e-9, "total %.3f target %.3f",
	    qc.total, qc.target_total);
	CHECK("incomplete", strcmp(timeline_qc_verdict(&qc), "INCOMPLETE") ==
	    0, "verdict %s with a segment missing", timeline_qc_verdict(&qc));
	segs[1].file = "V_c.mp4";
	segs[1].probe_duration = 3.0;
	timeline_qc(segs, 3, &qc);
	CHECK("complete", strcmp(timeline_qc_verdict(&qc), "OK") == 0 &&
	    fabs(qc.total - 9.125) < 1e-9, "verdict %s total %.3f",
	    timeline_qc_verdict(&qc), qc.total);
	segs[2].probe_duration = 6.0;
	timeline_qc(segs, 3, &qc);
	CHECK("critical", strcmp(timeline_qc_verdict(&qc), "CRITICAL") == 0,
	    "verdict %s for a 2 s drift", timeline_qc_verdict(&qc));
}

static void
test_invalid(void)
{
	struct timeline_seg bad[] = { { "a_b", "intro", 1.0, NULL, 0 } };
	struct timeline_seg neg[] = { { "a", "intro", -1.0, NULL, 0 } };
	char *out = NULL;

	CHECK("invalid", timeline_csv(bad, 1, &out, NULL) == -1 &&
	    errno == EINVAL && out == NULL, "bad segment id accepted");
	CHECK("invalid", timeline_edl("X", neg, 1, NULL, &out, NULL) == -1 &&
	    errno == EINVAL, "negative target accepted");
	CHECK("empty", timeline_csv(NULL, 0, &out, NULL) == 0 &&
	    strcmp(out, TIMELINE_HEADER "\n") == 0, "empty timeline");
	free(out);
}

static bool
same_file(const char *a, const char *b)
{
	char *x = NULL, *y = NULL;
	bool same;

	same = fs_read_file(a, 1 << 20, &x, NULL) == 0 &&
	    fs_read_file(b, 1 << 20, &y, NULL) == 0 && strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

static void
test_write(void)
{
	struct timeline_opts o = { "20261125T101112Z", 0, 0, NULL };
	struct timeline_seg segs[3] = { segs_ok[0], segs_ok[1], segs_ok[2] };
	struct timeline_paths p;
	struct timeline_qc qc;
	char state[] = "/tmp/rv-timeline-XXXXXX", path[PATH_MAX], err[256];
	char *text = NULL;
	int rc;

	if (mkdtemp(state) == NULL)
		exit(2);
	(void)fs_path(path, sizeof(path), "%s/video/final", state);
	(void)fs_mkdirs(path, 0700);
	(void)fs_path(path, sizeof(path), "%s/%s", state, segs[0].file);
	(void)fs_write_atomic(path, "x", 1);
	(void)fs_path(path, sizeof(path), "%s/%s", state, segs[1].file);
	(void)fs_write_atomic(path, "x", 1);
	rc = timeline_write(state, "RAY-99", segs, 3, &o, &qc, &p, err,
	    sizeof(err));
	(void)fs_path(path, sizeof(path),
	    "%s/timeline/timeline_RAY-99_20261125T101112Z.csv", state);
	CHECK("write", rc == 0 && strcmp(p.csv, path) == 0 &&
	    same_file(p.csv, p.csv_latest) && same_file(p.edl, p.edl_latest) &&
	    strstr(p.csv_latest, "timeline_RAY-99_latest.csv") != NULL &&
	    strstr(p.edl, "timeline_RAY-99_20261125T101112Z.edl") != NULL,
	    "rc %d: %s", rc, err);
	CHECK("write_missing", rc == 0 && qc.ready == 2 && qc.missing == 1 &&
	    strcmp(qc.first_missing, "t1") == 0 &&
	    fs_read_file(p.csv, 1 << 20, &text, NULL) == 0 &&
	    strstr(text, "3,t1,transition,18.500,20.500,2.000,,MISSING,,,"
	    "0.000\n") != NULL, "file that does not exist must be MISSING");
	free(text);
	o.stamp = "../../etc";
	CHECK("write_bad_stamp", timeline_write(state, "RAY-99", segs, 3, &o,
	    NULL, NULL, err, sizeof(err)) == -1, "bad stamp accepted");
	o.stamp = NULL;
	CHECK("write_bad_video", timeline_write(state, "../x", segs, 3, &o,
	    NULL, NULL, err, sizeof(err)) == -1, "bad video id accepted");
	test_rm_tree(state);
}

static void
find_golden(const char *argv0)
{
	char buf[PATH_MAX], *d;
	const char *env = getenv("RV_GOLDEN_DIR");
	struct stat st;

	if (env != NULL && env[0] != '\0') {
		(void)strlcpy(golden, env, sizeof(golden));
		return;
	}
	(void)strlcpy(golden, "tests/unit/golden", sizeof(golden));
	if (stat(golden, &st) == 0 || update)
		return;
	(void)strlcpy(buf, argv0, sizeof(buf));
	d = dirname(buf);
	(void)fs_path(golden, sizeof(golden), "%s/../../../tests/unit/golden",
	    d);
}

int
main(int argc, char **argv)
{
	const char *u = getenv("RV_UPDATE_GOLDEN");
	size_t i;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	update = u != NULL && strcmp(u, "1") == 0;
	find_golden(argv[0]);
	if (update)
		(void)fs_mkdirs(golden, 0755);
	for (i = 0; i < sizeof(gcases) / sizeof(gcases[0]); i++)
		test_golden(&gcases[i]);
	test_invalid();
	test_totals();
	test_write();
	return test_exit();
}
