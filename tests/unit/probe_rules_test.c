/* SPDX-License-Identifier: ISC */
/*
 * probe_rules_test.c: unit tests for workers/probe/probe_rules.c.  A table runs
 * every probe rule through probe_validate, accepted and rejected;
 * probe_wait_stable is tried on old, fresh, growing and missing files;
 * probe_finalize moves real ffmpeg-made files into video/final/ under
 * their sha8 name and indexes them, is idempotent, repairs a lost index
 * entry, and leaves rejected renders (and everything else) alone.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "common/media/vindex.h"
#include "workers/probe/probe_rules.h"
#include "tests/unit/test.h"

struct vcase {
	const char	*name;
	double		 duration;
	long long	 size;
	const char	*vcodec, *acodec;
	double		 target;
	long long	 min_bytes;
	const char	*want;	/* NULL: accepted; else a substring */
};

static const struct vcase vcases[] = {
	{ "good", 6.04, 812345, "h264", "aac", 6.0, 512000, NULL },
	{ "hevc_mp3", 6.0, 812345, "hevc", "mp3", 6.0, 512000, NULL },
	{ "no_min_local", 6.0, 1000, "h264", "aac", 6.0, 0, NULL },
	{ "too_small", 6.0, 1000, "h264", "aac", 6.0, 512000,
	    "min_size: 1000 bytes < minimum 512000" },
	{ "at_min", 6.0, 512000, "h264", "aac", 6.0, 512000, NULL },
	{ "tol_high_edge", 6.15, 812345, "h264", "aac", 6.0, 0, NULL },
	{ "tol_low_edge", 5.85, 812345, "h264", "aac", 6.0, 0, NULL },
	{ "too_long", 6.4, 812345, "h264", "aac", 6.0, 0,
	    "duration: 6.400 s vs target 6.000 s (off by 0.400 s" },
	{ "too_short", 5.84, 812345, "h264", "aac", 6.0, 0,
	    "off by 0.160 s, limit 0.150 s" },
	{ "no_duration", 0, 812345, "h264", "aac", 6.0, 0,
	    "duration: none measured" },
	{ "nan_duration", NAN, 812345, "h264", "aac", 6.0, 0, "duration" },
	{ "no_target", 9.0, 812345, "h264", "aac", -1, 0, NULL },
	{ "vp9", 6.0, 812345, "vp9", "aac", 6.0, 0,
	    "video_codec: vp9 (want h264 or hevc)" },
	{ "no_video", 6.0, 812345, "", "aac", 6.0, 0,
	    "video_codec: no video stream" },
	{ "opus", 6.0, 812345, "h264", "opus", 6.0, 0,
	    "audio_codec: opus (want aac or mp3)" },
	{ "no_audio", 6.0, 812345, "h264", "", 6.0, 0,
	    "audio_codec: no audio stream" },
};

static void
test_validate(void)
{
	struct probe_info pi;
	const struct vcase *c;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		c = &vcases[i];
		memset(&pi, 0, sizeof(pi));
		pi.duration = c->duration;
		pi.size = c->size;
		(void)strlcpy(pi.video_codec, c->vcodec,
		    sizeof(pi.video_codec));
		(void)strlcpy(pi.audio_codec, c->acodec,
		    sizeof(pi.audio_codec));
		err[0] = '\0';
		rc = probe_validate(&pi, c->target, c->min_bytes, err,
		    sizeof(err));
		if (c->want == NULL)
			CHECK(c->name, rc == 0, "rejected: %s", err);
		else
			CHECK(c->name, rc == -1 &&
			    strstr(err, c->want) != NULL, "rc %d, err \"%s\", "
			    "want \"%s\"", rc, err, c->want);
	}
	rc = probe_validate(NULL, 6.0, 0, err, sizeof(err));
	CHECK("exists", rc == -1 && strstr(err, "exists") != NULL,
	    "rc %d err %s", rc, err);
}

static void
rm_rf(const char *dir)
{
	test_rm_tree(dir);
}

static void
set_age(const char *path, long age_sec)
{
	struct timespec ts[2];

	(void)clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_sec;
	ts[1] = ts[0];
	(void)utimensat(AT_FDCWD, path, ts, 0);
}

static int
stop_tick(void *arg, long long v)
{
	(void)arg;
	(void)v;
	return -1;
}

/* Append to <path> now, then from a child every 100 ms for <ms>. */
static pid_t
grow_file(const char *path, int ms)
{
	pid_t pid;
	int fd, i;

	if ((fd = open(path, O_WRONLY | O_APPEND)) == -1 ||
	    write(fd, "more", 4) != 4)
		exit(2);
	(void)close(fd);
	if ((pid = fork()) != 0)
		return pid;
	for (i = 0; i < ms / 100; i++) {
		if ((fd = open(path, O_WRONLY | O_APPEND)) == -1 ||
		    write(fd, "more", 4) != 4)
			_exit(1);
		(void)close(fd);
		clock_sleep_ms(100);
	}
	_exit(0);
}

static void
test_wait_stable(void)
{
	struct progress stop = { stop_tick, NULL, 0 };
	char dir[] = "/tmp/rv-stable-XXXXXX", path[PATH_MAX], err[256];
	int64_t t0, dt;
	pid_t pid;
	int rc;

	if (mkdtemp(dir) == NULL)
		exit(2);
	(void)fs_path(path, sizeof(path), "%s/f.mp4", dir);
	(void)fs_write_atomic(path, "data", 4);
	t0 = clock_mono_ms();
	rc = probe_wait_stable(path, NULL, 0, err, sizeof(err));
	dt = clock_mono_ms() - t0;
	CHECK("stable_fresh", rc == PROBE_OK && dt >= PROBE_STABLE_MS &&
	    dt < 1500, "rc %d after %lld ms", rc, (long long)dt);
	CHECK("stable_stop", probe_wait_stable(path, &stop, 0, err,
	    sizeof(err)) == PROBE_STOPPED, "stop not obeyed");
	set_age(path, 60);
	t0 = clock_mono_ms();
	rc = probe_wait_stable(path, NULL, 0, err, sizeof(err));
	dt = clock_mono_ms() - t0;
	/* Old enough already: judged without waiting the window. */
	CHECK("stable_old", rc == PROBE_OK && dt < PROBE_STABLE_MS,
	    "rc %d after %lld ms", rc, (long long)dt);
	pid = grow_file(path, 800);
	t0 = clock_mono_ms();
	rc = probe_wait_stable(path, NULL, 0, err, sizeof(err));
	dt = clock_mono_ms() - t0;
	CHECK("stable_growing", rc == PROBE_OK && dt >= 800,
	    "rc %d after %lld ms: judged while still growing", rc,
	    (long long)dt);
	(void)waitpid(pid, NULL, 0);
	pid = grow_file(path, 1500);
	rc = probe_wait_stable(path, NULL, 500, err, sizeof(err));
	CHECK("stable_timeout", rc == PROBE_ERR &&
	    strstr(err, "still changing") != NULL, "rc %d err %s", rc, err);
	(void)waitpid(pid, NULL, 0);
	(void)fs_path(path, sizeof(path), "%s/none.mp4", dir);
	CHECK("stable_missing", probe_wait_stable(path, NULL, 0, err,
	    sizeof(err)) == PROBE_ERR, "missing file accepted");
	rm_rf(dir);
}

/* ffmpeg a 1 s clip into <state>/video/staging/<name>, an hour old. */
static int
make_staged(const char *state, const char *name, const char *extra)
{
	char dir[PATH_MAX], path[PATH_MAX], cmd[PATH_MAX * 2];

	(void)fs_path(dir, sizeof(dir), "%s/video/staging", state);
	(void)fs_mkdirs(dir, 0700);
	(void)fs_path(path, sizeof(path), "%s/%s", dir, name);
	(void)fs_path(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y "
	    "-f lavfi -i color=c=blue:s=64x64:r=25:d=1 -f lavfi "
	    "-i sine=f=440:d=1 -c:v libx264 -pix_fmt yuv420p -c:a aac "
	    "-shortest %s %s", extra, path);
	if (system(cmd) != 0)
		return -1;
	set_age(path, 3600);
	return 0;
}

static size_t
index_count(const char *state)
{
	struct vindex idx;
	char err[256];
	size_t n;

	vindex_init(&idx);
	if (vindex_load(state, &idx, err, sizeof(err)) != VINDEX_OK)
		return (size_t)-1;
	n = idx.nitems;
	vindex_clear(&idx);
	return n;
}

static void
test_finalize(const char *state)
{
	struct vindex_item item;
	struct stat st1, st2;
	char sha8[ID_SHA8_LEN + 1], staged[PATH_MAX], final[PATH_MAX];
	char ipath[PATH_MAX], err[512];
	int rc;

	if (make_staged(state, "r1.mp4", "") == -1) {
		printf("FAIL finalize: ffmpeg failed\n");
		test_failed++;
		return;
	}
	(void)fs_path(staged, sizeof(staged), "%s/video/staging/r1.mp4",
	    state);
	(void)id_sha8_file(staged, sha8);
	(void)fs_path(final, sizeof(final),
	    "%s/video/final/V_RUN-1_intro_%s.mp4", state, sha8);
	rc = probe_finalize(state, "video/staging/r1.mp4", "RUN-1", "intro",
	    NULL, 1.0, 0, NULL, &item, err, sizeof(err));
	CHECK("finalize", rc == PROBE_OK && fs_exists(final) &&
	    !fs_exists(staged) && strcmp(item.key, sha8) == 0 &&
	    strcmp(item.segment_id, "intro") == 0 &&
	    strncmp(item.path, "video/final/V_RUN-1_intro_", 26) == 0 &&
	    strcmp(item.video_codec, "h264") == 0 && index_count(state) == 1,
	    "rc %d: %s", rc, err);
	(void)stat(final, &st1);
	rc = probe_finalize(state, "video/staging/r1.mp4", "RUN-1", "intro",
	    sha8, 1.0, 0, NULL, &item, err, sizeof(err));
	(void)stat(final, &st2);
	CHECK("finalize_again", rc == PROBE_OK && index_count(state) == 1 &&
	    st1.st_ino == st2.st_ino && st1.st_mtim.tv_nsec ==
	    st2.st_mtim.tv_nsec, "rc %d: %s", rc, err);
	(void)fs_path(ipath, sizeof(ipath), "%s/video/index.json", state);
	(void)unlink(ipath);
	rc = probe_finalize(state, "video/staging/r1.mp4", "RUN-1", "intro",
	    sha8, 1.0, 0, NULL, &item, err, sizeof(err));
	CHECK("finalize_reindex", rc == PROBE_OK && index_count(state) == 1,
	    "lost entry not restored: rc %d: %s", rc, err);
	rc = probe_finalize(state, "video/staging/r1.mp4", "RUN-1", "intro",
	    sha8, 3.0, 0, NULL, &item, err, sizeof(err));
	CHECK("finalize_existing_bad", rc == PROBE_REJECTED &&
	    strstr(err, "duration") != NULL && fs_exists(final),
	    "rc %d: %s", rc, err);
}

static void
test_finalize_reject(const char *state)
{
	struct vindex_item item;
	char staged[PATH_MAX], ipath[PATH_MAX], err[512];
	int rc;

	if (make_staged(state, "mute.mp4", "-an") == -1 ||
	    make_staged(state, "r2.mp4", "") == -1) {
		printf("FAIL finalize_reject: ffmpeg failed\n");
		test_failed++;
		return;
	}
	(void)fs_path(staged, sizeof(staged), "%s/video/staging/mute.mp4",
	    state);
	rc = probe_finalize(state, "video/staging/mute.mp4", "RUN-1", "outro",
	    NULL, 1.0, 0, NULL, &item, err, sizeof(err));
	CHECK("reject_codec", rc == PROBE_REJECTED &&
	    strstr(err, "audio_codec") != NULL && fs_exists(staged) &&
	    index_count(state) == 1, "rc %d: %s", rc, err);
	rc = probe_finalize(state, "video/staging/r2.mp4", "RUN-1", "outro",
	    NULL, 2.0, 0, NULL, &item, err, sizeof(err));
	CHECK("reject_duration", rc == PROBE_REJECTED &&
	    strstr(err, "duration") != NULL, "rc %d: %s", rc, err);
	rc = probe_finalize(state, "video/staging/r2.mp4", "RUN-1", "outro",
	    NULL, 1.0, PROBE_MIN_BYTES_DZINE, NULL, &item, err, sizeof(err));
	CHECK("reject_size", rc == PROBE_REJECTED &&
	    strstr(err, "min_size") != NULL, "rc %d: %s", rc, err);
	rc = probe_finalize(state, "video/staging/r2.mp4", "RUN_1", "outro",
	    NULL, 1.0, 0, NULL, &item, err, sizeof(err));
	CHECK("reject_bad_id", rc == PROBE_ERR, "rc %d", rc);
	rc = probe_finalize(state, "../r2.mp4", "RUN-1", "outro",
	    NULL, 1.0, 0, NULL, &item, err, sizeof(err));
	CHECK("reject_bad_path", rc == PROBE_ERR, "rc %d", rc);
	(void)fs_path(ipath, sizeof(ipath), "%s/video/index.json", state);
	(void)fs_write_atomic(ipath, "{garbage", 8);
	(void)fs_path(staged, sizeof(staged), "%s/video/staging/r2.mp4",
	    state);
	rc = probe_finalize(state, "video/staging/r2.mp4", "RUN-1", "outro",
	    NULL, 1.0, 0, NULL, &item, err, sizeof(err));
	CHECK("corrupt_index", rc == PROBE_ERR && strstr(err, "corrupt") !=
	    NULL && fs_exists(staged), "rc %d: %s", rc, err);
}

int
main(void)
{
	char state[] = "/tmp/rv-probe-rules-XXXXXX";

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_validate();
	test_wait_stable();
	if (mkdtemp(state) == NULL)
		return 2;
	test_finalize(state);
	test_finalize_reject(state);
	rm_rf(state);
	return test_exit();
}
