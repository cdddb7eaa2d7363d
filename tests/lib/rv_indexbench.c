/* SPDX-License-Identifier: ISC */
/*
 * rv_indexbench.c: time vindex_refresh over a state directory whose
 * video/final/ holds N videos, cold (no index) then warm (nothing
 * changed), and print the numbers.  A tool for `make bench`, not a test.
 *
 *	rv_indexbench --state-dir DIR [--jobs N] [--populate N]
 *
 * --populate N first fills video/final/ with N copies of one small clip
 * made with ffmpeg, under distinct V_BENCH_s<i>_<sha8>.mp4 names (the
 * names carry made-up sha8s: refresh reads names, it does not hash), all
 * an hour old.  An existing index is moved aside for the cold run and put
 * back at the end, so the tool never loses one.  Exit status 0 when both
 * runs succeed and the warm run probed nothing, 1 otherwise, 64 on usage
 * errors.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/vindex.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: rv_indexbench --state-dir DIR [--jobs N] "
	    "[--populate N]\n");
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
	    "-i color=c=gray:s=320x180:r=25:d=2 -f lavfi -i sine=d=2 "
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

static int
timed_refresh(const char *state, int jobs, const char *label,
    struct vindex_refresh_report *rep)
{
	struct vindex_refresh_opts o = { .jobs = jobs };
	char err[512];
	int64_t t0, dt;
	int rc;

	t0 = clock_mono_ms();
	rc = vindex_refresh(state, &o, NULL, rep, err, sizeof(err));
	dt = clock_mono_ms() - t0;
	if (rc < 0) {
		fprintf(stderr, "rv_indexbench: %s refresh: %s\n", label, err);
		return -1;
	}
	printf("%s refresh: %lld.%03lld s (scanned %zu, probed %zu, "
	    "unchanged %zu, skipped %zu, failed %zu)\n", label,
	    (long long)(dt / 1000), (long long)(dt % 1000), rep->scanned,
	    rep->probed, rep->unchanged, rep->skipped, rep->failed);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "populate", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct vindex_refresh_report cold, warm;
	char index[PATH_MAX], saved[PATH_MAX];
	const char *state = NULL;
	long pop = 0;
	int c, jobs = 0, bad = 0, had;

	while ((c = getopt_long(argc, argv, "d:j:p:", longopts, NULL)) != -1) {
		if (c == 'd')
			state = optarg;
		else if (c == 'j')
			jobs = atoi(optarg);
		else if (c == 'p')
			pop = strtol(optarg, NULL, 10);
		else
			usage();
	}
	if (state == NULL || pop < 0 || pop > VINDEX_ITEMS_MAX || jobs < 0)
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
	if (timed_refresh(state, jobs, "cold", &cold) == -1 ||
	    timed_refresh(state, jobs, "warm", &warm) == -1 ||
	    warm.probed != 0)
		bad = 1;
	if (had && rename(saved, index) == -1) {
		fprintf(stderr, "rv_indexbench: restore %s: %s\n", saved,
		    strerror(errno));
		bad = 1;
	}
	vindex_refresh_report_clear(&cold);
	vindex_refresh_report_clear(&warm);
	return bad;
}
