/* SPDX-License-Identifier: ISC */
/*
 * rv_indexbench.c: time vindex_refresh over a state directory whose
 * video/final/ holds N videos, cold (no index) then warm (nothing
 * changed), and print the numbers.  A tool for `make bench`, not a test.
 *
 *	rv_indexbench --state-dir DIR [--jobs N] [--populate N] [--repeat N]
 *	    [--detail]
 *
 * --populate N first fills video/final/ with N copies of one small
 * three-second clip made with ffmpeg, under distinct
 * V_BENCH_s<i>_<sha8>.mp4 names (the names carry made-up sha8s: refresh
 * reads names, it does not hash), all an hour old.  --repeat N (default
 * 3) runs the cold and warm pair N times and adds the medians (the
 * machine may be shared).  --detail adds what measuring one file costs:
 * mp4 over every file, ffprobe over a few, and how many files the
 * fast path read.
 * An existing index is moved aside for the cold runs and put back at the
 * end, so the tool never loses one.  Exit status 0 when every run
 * succeeds and no warm run probed anything, 1 otherwise, 64 on usage
 * errors.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/media/mp4.h"
#include "common/media/ffprobe.h"
#include "common/media/vindex.h"

#define REPEAT_MAX	99
#define FFPROBE_SAMPLE	5	/* files timed with ffprobe by --detail */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: rv_indexbench --state-dir DIR [--jobs N] "
	    "[--populate N] [--repeat N] [--detail]\n");
	exit(64);
}

static void
age_file(const char *path)
{
	struct timespec ts[2];

	(void)clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 3600;
	ts[1] = ts[0];
	(void)utimensat(AT_FDCWD, path, ts, 0);
}

static int
populate(const char *state, long n)
{
	char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], cmd[PATH_MAX * 2];
	char *buf;
	size_t len;
	long i;

	if (fs_path(dir, sizeof(dir), "%s/video/final", state) == -1 ||
	    fs_mkdirs(dir, 0700) == -1 ||
	    fs_path(src, sizeof(src), "%s/.bench-src.mp4", dir) == -1 ||
	    fs_path(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -f lavfi "
	    "-i color=c=gray:s=320x180:r=25:d=3 -f lavfi -i sine=d=3 "
	    "-c:v libx264 -pix_fmt yuv420p -c:a aac -shortest '%s'", src) ==
	    -1 || system(cmd) != 0) {
		fprintf(stderr, "rv_indexbench: cannot make a clip in %s\n",
		    dir);
		return -1;
	}
	if (fs_read_file(src, 64 << 20, &buf, &len) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (fs_path(dst, sizeof(dst), "%s/V_BENCH_s%ld_%08lx.mp4", dir,
		    i, (unsigned long)i) == -1 ||
		    fs_write_atomic(dst, buf, len) == -1) {
			fprintf(stderr, "rv_indexbench: %s: %s\n", dst,
			    strerror(errno));
			free(buf);
			return -1;
		}
		age_file(dst);
	}
	free(buf);
	(void)unlink(src);
	return 0;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One refresh; its wall time in microseconds, or -1. */
static int64_t
timed_refresh(const char *state, int jobs, const char *label,
    struct vindex_refresh_report *rep)
{
	struct vindex_refresh_opts o = { .jobs = jobs };
	char err[512];
	int64_t t0, dt;
	int rc;

	vindex_refresh_report_clear(rep);
	t0 = now_us();
	rc = vindex_refresh(state, &o, NULL, rep, err, sizeof(err));
	dt = now_us() - t0;
	if (rc < 0) {
		fprintf(stderr, "rv_indexbench: %s refresh: %s\n", label, err);
		return -1;
	}
	printf("%s refresh: %.3f ms (scanned %zu, probed %zu, unchanged %zu, "
	    "skipped %zu, failed %zu)\n", label, dt / 1e3, rep->scanned,
	    rep->probed, rep->unchanged, rep->skipped, rep->failed);
	return dt;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t
median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_i64);
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What measuring one file costs, each way. */
static void
detail(const char *state)
{
	struct probe_info pi;
	struct dirent *de;
	char dir[PATH_MAX], path[PATH_MAX], err[512];
	int64_t t0, fast_us = 0, ff_us = 0;
	long n = 0, fast = 0, ff = 0;
	DIR *d;

	if (fs_path(dir, sizeof(dir), "%s/video/final", state) == -1 ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fs_path(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == -1)
			continue;
		n++;
		t0 = now_us();
		if (mp4_file(path, &pi, err, sizeof(err)) == 0 &&
		    mp4_codec_known(pi.video_codec) &&
		    mp4_codec_known(pi.audio_codec))
			fast++;
		fast_us += now_us() - t0;
		if (ff < FFPROBE_SAMPLE) {
			t0 = now_us();
			(void)probe_file(path, NULL, &pi, err, sizeof(err));
			ff_us += now_us() - t0;
			ff++;
		}
	}
	(void)closedir(d);
	if (n == 0)
		return;
	printf("detail: mp4 read %ld of %ld files, %lld us a file; "
	    "ffprobe %lld us a file (over %ld)\n", fast, n,
	    (long long)(fast_us / n), (long long)(ff > 0 ? ff_us / ff : 0),
	    ff);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "populate", required_argument, NULL, 'p' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "detail", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct vindex_refresh_report cold, warm;
	char index[PATH_MAX], saved[PATH_MAX];
	const char *state = NULL;
	int64_t tc[REPEAT_MAX], tw[REPEAT_MAX];
	long pop = 0;
	int c, i, jobs = 0, bad = 0, had, repeat = 3;
	bool more = false;

	while ((c = getopt_long(argc, argv, "d:j:p:r:v", longopts,
	    NULL)) != -1) {
		if (c == 'd')
			state = optarg;
		else if (c == 'j')
			jobs = atoi(optarg);
		else if (c == 'p')
			pop = strtol(optarg, NULL, 10);
		else if (c == 'r')
			repeat = atoi(optarg);
		else if (c == 'v')
			more = true;
		else
			usage();
	}
	if (state == NULL || pop < 0 || pop > VINDEX_ITEMS_MAX || jobs < 0 ||
	    repeat < 1 || repeat > REPEAT_MAX)
		usage();
	if (pop > 0 && populate(state, pop) == -1)
		return 1;
	if (fs_path(index, sizeof(index), "%s/video/index.json", state) == -1 ||
	    fs_path(saved, sizeof(saved), "%s.bench-saved.%ld", index,
	    (long)getpid()) == -1)
		usage();
	had = rename(index, saved) == 0;
	printf("rv_indexbench: %s, jobs %d%s\n", state, jobs,
	    jobs == 0 ? " (one per core)" : "");
	memset(&cold, 0, sizeof(cold));
	memset(&warm, 0, sizeof(warm));
	for (i = 0; i < repeat && bad == 0; i++) {
		if (i > 0 && unlink(index) == -1)
			bad = 1;
		else if ((tc[i] = timed_refresh(state, jobs, "cold",
		    &cold)) == -1 || (tw[i] = timed_refresh(state, jobs,
		    "warm", &warm)) == -1 || warm.probed != 0)
			bad = 1;
	}
	if (bad == 0 && repeat > 1)
		printf("median of %d: cold %.3f ms, warm %.3f ms\n", repeat,
		    median(tc, repeat) / 1e3, median(tw, repeat) / 1e3);
	if (bad == 0 && more)
		detail(state);
	if (had && rename(saved, index) == -1) {
		fprintf(stderr, "rv_indexbench: restore %s: %s\n", saved,
		    strerror(errno));
		bad = 1;
	}
	vindex_refresh_report_clear(&cold);
	vindex_refresh_report_clear(&warm);
	return bad;
}
