/* SPDX-License-Identifier: ISC */
/*
 * rv_evidence: run the evidence stage on one spec file, without a
 * supervisor.  A test and diagnosis tool: it loads the spec, calls
 * evidence_collect() with the spec file's directory as the base of local
 * sources, prints the result JSON on stdout and, when there are conflicts,
 * the alert diff on stderr.
 *
 * Usage: rv_evidence [-P] [-S SEC] [-t SEC] [-r USD_BRL] [-o OUT.json]
 *            SPEC.json
 *   -t  per-URL timeout in seconds (default 15, decimals allowed)
 *   -r  USD to BRL rate for price comparison (default: none)
 *   -o  evidence file (default $TMPDIR/rv_evidence.<pid>.json)
 *   -P  report on stderr how often the progress tick ran
 *       ("progress: N ticks, max gap M ms")
 *   -S  make the progress tick ask to stop after SEC seconds
 * RAYVAULT_EVIDENCE_ALLOW_PRIVATE=1 in the environment lets it fetch
 * from loopback and private addresses, as the setting does for
 * rvw-evidence.
 * Exit: 0 evidence without conflicts, 3 conflicts, 1 error or stopped
 * (message on stderr).
 *
 * It reads the spec with cJSON only; it does not validate the parts of
 * the spec the evidence stage does not use.
 */
#include <sys/types.h>

#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "workers/evidence/collect.h"

#define SPEC_MAX	(1024 * 1024)
#define DIFF_MAX	3500

/* What the progress tick saw. */
struct tick_stats {
	int64_t		 start, last;
	int64_t		 max_gap;
	long		 ticks;
	double		 stop_after;	/* seconds, 0: never */
};

static void
usage(void)
{
	(void)fprintf(stderr, "usage: rv_evidence [-P] [-S SEC] [-t SEC] "
	    "[-r USD_BRL] [-o OUT.json] SPEC.json\n");
	exit(1);
}

static int
tick(void *arg, long long value)
{
	struct tick_stats *ts = arg;
	int64_t now = clock_mono_ms();

	(void)value;
	if (ts->ticks++ > 0 && now - ts->last > ts->max_gap)
		ts->max_gap = now - ts->last;
	ts->last = now;
	if (ts->stop_after > 0 &&
	    now - ts->start >= (int64_t)(ts->stop_after * 1000))
		return -1;
	return 0;
}

static double
number_arg(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || v <= 0 || v > 3600) {
		(void)fprintf(stderr, "rv_evidence: %s: bad value \"%s\"\n",
		    what, s);
		exit(1);
	}
	return v;
}

static cJSON *
spec_read(const char *path, char *dir, size_t dirlen)
{
	char real[PATH_MAX], *text;
	cJSON *spec;

	if (realpath(path, real) == NULL ||
	    fs_read_file(real, SPEC_MAX, &text, NULL) == -1) {
		perror(path);
		return NULL;
	}
	spec = cJSON_Parse(text);
	free(text);
	if (spec == NULL) {
		(void)fprintf(stderr, "rv_evidence: %s: not valid JSON\n",
		    path);
		return NULL;
	}
	(void)strlcpy(dir, dirname(real), dirlen);
	return spec;
}

static int
report(cJSON *res)
{
	const cJSON *conflicts = cJSON_GetObjectItem(res, "conflicts");
	char *text, *diff;

	if ((text = cJSON_Print(res)) != NULL)
		(void)printf("%s\n", text);
	free(text);
	if (cJSON_GetArraySize(conflicts) == 0)
		return 0;
	if ((diff = evidence_diff_text(conflicts, DIFF_MAX)) != NULL)
		(void)fprintf(stderr, "%s", diff);
	free(diff);
	return 3;
}

int
main(int argc, char **argv)
{
	char dir[PATH_MAX], out[PATH_MAX], err[1024];
	const char *tmp = getenv("TMPDIR"), *allow;
	double timeout = 15, rate = 0;
	struct tick_stats ts;
	struct progress prog = { tick, &ts, 0 };
	cJSON *spec, *res = NULL;
	bool stats = false;
	int ch, rc;

	(void)snprintf(out, sizeof(out), "%s/rv_evidence.%ld.json",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp", (long)getpid());
	memset(&ts, 0, sizeof(ts));
	while ((ch = getopt(argc, argv, "PS:t:r:o:")) != -1) {
		switch (ch) {
		case 'P':
			stats = true;
			break;
		case 'S':
			ts.stop_after = number_arg(optarg, "-S");
			break;
		case 't':
			timeout = number_arg(optarg, "-t");
			break;
		case 'r':
			rate = number_arg(optarg, "-r");
			break;
		case 'o':
			if (strlcpy(out, optarg, sizeof(out)) >= sizeof(out))
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if ((spec = spec_read(argv[optind], dir, sizeof(dir))) == NULL)
		return 1;
	ts.start = ts.last = clock_mono_ms();
	allow = getenv("RAYVAULT_EVIDENCE_ALLOW_PRIVATE");
	rc = evidence_collect(spec, dir, out, rate, (long)(timeout * 1000),
	    allow != NULL && strcmp(allow, "1") == 0, &prog, &res, err, sizeof(err));
	cJSON_Delete(spec);
	if (stats)
		(void)fprintf(stderr, "progress: %ld ticks, max gap %lld ms\n",
		    ts.ticks, (long long)ts.max_gap);
	if (rc == -2) {
		(void)fprintf(stderr, "rv_evidence: stopped by the progress "
		    "tick\n");
		return 1;
	}
	if (rc != 0) {
		(void)fprintf(stderr, "rv_evidence: %s\n", err);
		return 1;
	}
	rc = report(res);
	cJSON_Delete(res);
	return rc;
}
