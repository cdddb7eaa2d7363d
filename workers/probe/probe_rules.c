/* SPDX-License-Identifier: ISC */
/*
 * probe_rules.c: the probe stage's rules (SPEC section 3, "Probe").
 *
 * A staged render is judged only once it is stable: its size and mtime
 * stay the same for 300 ms, or its mtime is already more than 2 s old.
 * Then ffprobe measures it (probe_file, which retries once) and
 * probe_validate applies the rules: minimum size (when the caller gives
 * one: 500 KB for Dzine exports or RAYVAULT_MIN_VIDEO_BYTES, 0 for the
 * local ffmpeg renderer), duration within 0.15 s of the target, video
 * h264/hevc, audio aac/mp3.  A rejection names the rule and the values.
 *
 * probe_finalize renames a valid render to
 * video/final/V_<run_id>_<segment_id>_<sha8>.mp4 and upserts the index;
 * the rename and the upsert happen under the index's exclusive lock, so
 * clean-zombies never sees a finalized but unindexed file.  It is
 * idempotent: when the final file already exists and is valid it only
 * makes sure the index has it, which is also how a crash between the
 * rename and the index write is repaired.  The staged file is left in
 * place in that case; removing it is the caller's choice.
 *
 * Nothing here logs: functions return an enum probe_rc and fill err.  It
 * does not decide what a rejection means for the run (a Dzine render
 * panics, a local one fails the stage): the caller does.
 *
 * Public: probe_wait_stable, probe_validate, probe_finalize.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/core/errbuf.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "common/media/vindex.h"
#include "workers/probe/probe_rules.h"

#define POLL_MS		100
#define LOCK_POLL_MS	50

static long long
mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL +
	    st->st_mtim.tv_nsec;
}

static bool
is_old(const struct stat *st)
{
	struct timespec now;
	long long now_ns;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
	return now_ns - mtime_ns(st) >= PROBE_OLD_MS * 1000000LL;
}

/*
 * Wait until <path> is a regular file whose size and mtime have not
 * changed for PROBE_STABLE_MS (at once when its mtime is older than
 * PROBE_OLD_MS).  <prog> (may be NULL) is ticked every 100 ms with the
 * file size.  <timeout_ms> <= 0 means PROBE_STABLE_TIMEOUT_MS.  Returns
 * PROBE_OK, PROBE_ERR (gone, not a file, still changing at the timeout)
 * or PROBE_STOPPED.
 */
int
probe_wait_stable(const char *path, struct progress *prog, int timeout_ms,
    char *err, size_t errlen)
{
	struct stat a, b;
	int64_t start, since, now;

	if (timeout_ms <= 0)
		timeout_ms = PROBE_STABLE_TIMEOUT_MS;
	if (stat(path, &a) == -1)
		return errbuf_set(err, errlen, PROBE_ERR, "%s: %s", path,
		    strerror(errno));
	if (!S_ISREG(a.st_mode))
		return errbuf_set(err, errlen, PROBE_ERR,
		    "%s: not a regular file", path);
	if (is_old(&a))
		return PROBE_OK;
	start = since = clock_mono_ms();
	for (;;) {
		if (progress_tick(prog, (long long)a.st_size) == -1 ||
		    progress_sleep(prog, POLL_MS) == -1)
			return errbuf_set(err, errlen, PROBE_STOPPED,
			    "stopped");
		if (stat(path, &b) == -1)
			return errbuf_set(err, errlen, PROBE_ERR, "%s: %s "
			    "while waiting for it to settle", path,
			    strerror(errno));
		now = clock_mono_ms();
		if (b.st_size != a.st_size || mtime_ns(&b) != mtime_ns(&a)) {
			a = b;
			since = now;
		} else if (now - since >= PROBE_STABLE_MS)
			return PROBE_OK;
		if (now - start >= timeout_ms)
			return errbuf_set(err, errlen, PROBE_ERR, "%s: still "
			    "changing after %d ms", path, timeout_ms);
	}
}

/* Probe <path> and apply the rules; PROBE_REJECTED covers both. */
static int
probe_check(const char *path, double target, long long min_bytes,
    struct progress *prog, struct probe_info *pi, char *err, size_t errlen)
{
	char why[512];

	if (probe_file(path, prog, pi, why, sizeof(why)) == -1) {
		if (prog != NULL && progress_tick(prog, prog->value) == -1)
			return errbuf_set(err, errlen, PROBE_STOPPED,
			    "stopped");
		return errbuf_set(err, errlen, PROBE_REJECTED, "probe: %s",
		    why);
	}
	return probe_validate(pi, target, min_bytes, err, errlen) == 0 ?
	    PROBE_OK : PROBE_REJECTED;
}

/* The exclusive index lock, ticking the progress while it is busy. */
static int
lock_ticking(const char *state_dir, struct progress *prog, char *err,
    size_t errlen)
{
	int64_t deadline = clock_mono_ms() + VINDEX_LOCK_TIMEOUT_MS;
	int fd;

	for (;;) {
		if ((fd = vindex_lock(state_dir, true, 0, err, errlen)) != -1)
			return fd;
		if (errno != ETIMEDOUT)
			return -1;
		if (clock_mono_ms() >= deadline)
			return errbuf_set(err, errlen, -1, "the index lock "
			    "stayed busy for %d ms", VINDEX_LOCK_TIMEOUT_MS);
		if (progress_sleep(prog, LOCK_POLL_MS) == -1) {
			(void)errbuf_set(err, errlen, -1, "stopped");
			errno = EINTR;
			return -1;
		}
	}
}

struct fin {
	const char	*state_dir;
	char		 staged[PATH_MAX];	/* absolute */
	char		 final_rel[VINDEX_PATH_MAX];
	char		 final_abs[PATH_MAX];
	char		 sha8[ID_SHA8_LEN + 1];
	const char	*run_id, *segment_id;
};

/* Fill and index <item> for the final file, lock held by the caller. */
static int
index_final(struct fin *f, const struct probe_info *pi,
    struct vindex_item *item, char *err, size_t errlen)
{
	struct vindex idx;
	int rc;

	if (vindex_item_fill(f->state_dir, f->final_rel, pi, item, err,
	    errlen) == -1)
		return PROBE_ERR;
	(void)strlcpy(item->key, f->sha8, sizeof(item->key));
	(void)strlcpy(item->run_id, f->run_id, sizeof(item->run_id));
	(void)strlcpy(item->segment_id, f->segment_id,
	    sizeof(item->segment_id));
	vindex_init(&idx);
	if ((rc = vindex_load(f->state_dir, &idx, err, errlen)) == VINDEX_OK) {
		if (vindex_upsert(&idx, item) == -1)
			rc = errbuf_set(err, errlen, VINDEX_ERR, "index %s: %s",
			    f->final_rel, strerror(errno));
		else
			rc = vindex_save(f->state_dir, &idx, err, errlen);
	}
	vindex_clear(&idx);
	return rc == VINDEX_OK ? PROBE_OK : PROBE_ERR;
}

/* Under the lock: rename staged -> final, fsync both dirs, index. */
static int
move_and_index(struct fin *f, const struct probe_info *pi,
    struct progress *prog, struct vindex_item *item, char *err,
    size_t errlen)
{
	struct vindex idx;
	char dir[PATH_MAX], *slash;
	int fd, rc;

	if ((fd = lock_ticking(f->state_dir, prog, err, errlen)) == -1)
		return errno == EINTR ? PROBE_STOPPED : PROBE_ERR;
	vindex_init(&idx);	/* refuse before moving if the index is bad */
	rc = vindex_load(f->state_dir, &idx, err, errlen);
	vindex_clear(&idx);
	if (rc != VINDEX_OK) {
		vindex_unlock(fd);
		return PROBE_ERR;
	}
	if (rename(f->staged, f->final_abs) == -1) {
		vindex_unlock(fd);
		return errbuf_set(err, errlen, PROBE_ERR, "rename %s to %s: %s",
		    f->staged, f->final_abs, strerror(errno));
	}
	(void)strlcpy(dir, f->staged, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	(void)fs_fsync_dir(dir);
	(void)strlcpy(dir, f->final_abs, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (fs_fsync_dir(dir) == -1)
		rc = errbuf_set(err, errlen, PROBE_ERR, "fsync %s: %s", dir,
		    strerror(errno));
	else
		rc = index_final(f, pi, item, err, errlen);
	vindex_unlock(fd);
	return rc;
}

static int
fin_setup(struct fin *f, const char *state_dir, const char *staged_rel,
    const char *run_id, const char *segment_id, const char *sha8,
    char *err, size_t errlen)
{
	char dir[PATH_MAX];

	memset(f, 0, sizeof(*f));
	f->state_dir = state_dir;
	f->run_id = run_id;
	f->segment_id = segment_id;
	if (run_id == NULL || !id_video_valid(run_id) ||
	    segment_id == NULL || !id_segment_valid(segment_id))
		return errbuf_set(err, errlen, PROBE_ERR,
		    "bad run or segment id");
	if (!vindex_rel_path_ok(staged_rel))
		return errbuf_set(err, errlen, PROBE_ERR, "%s: staged path "
		    "must be relative to the state root", staged_rel);
	if (fs_path(f->staged, sizeof(f->staged), "%s/%s", state_dir,
	    staged_rel) == -1)
		return errbuf_set(err, errlen, PROBE_ERR,
		    "staged path too long");
	if (sha8 == NULL && id_sha8_file(f->staged, f->sha8) == -1)
		return errbuf_set(err, errlen, PROBE_ERR, "sha8 of %s: %s",
		    f->staged, strerror(errno));
	if (sha8 != NULL)
		(void)strlcpy(f->sha8, sha8, sizeof(f->sha8));
	if (!id_sha8_valid(f->sha8))
		return errbuf_set(err, errlen, PROBE_ERR, "bad sha8");
	if (fs_path(f->final_rel, sizeof(f->final_rel), VINDEX_FINAL_DIR
	    "/V_%s_%s_%s.mp4", run_id, segment_id, f->sha8) == -1 ||
	    fs_path(f->final_abs, sizeof(f->final_abs), "%s/%s", state_dir,
	    f->final_rel) == -1 ||
	    fs_path(dir, sizeof(dir), "%s/" VINDEX_FINAL_DIR, state_dir) == -1)
		return errbuf_set(err, errlen, PROBE_ERR,
		    "final path too long");
	if (fs_mkdirs(dir, 0700) == -1)
		return errbuf_set(err, errlen, PROBE_ERR, "%s: %s", dir,
		    strerror(errno));
	return PROBE_OK;
}

/* The final file exists: valid -> index it (under the lock) and done. */
static int
finalize_existing(struct fin *f, double target, long long min_bytes,
    struct progress *prog, struct vindex_item *item, char *err,
    size_t errlen)
{
	struct probe_info pi;
	int fd, rc;

	rc = probe_check(f->final_abs, target, min_bytes, prog, &pi, err,
	    errlen);
	if (rc != PROBE_OK)
		return rc;
	if ((fd = lock_ticking(f->state_dir, prog, err, errlen)) == -1)
		return errno == EINTR ? PROBE_STOPPED : PROBE_ERR;
	rc = index_final(f, &pi, item, err, errlen);
	vindex_unlock(fd);
	return rc;
}

/*
 * Finalize the render <staged_rel> (relative to <state_dir>) of segment
 * <segment_id> of run <run_id>: wait until stable, probe, validate
 * against <target> seconds and <min_bytes> (see probe_validate), rename
 * to video/final/V_<run_id>_<segment_id>_<sha8>.mp4, fsync, and upsert
 * the index.  <sha8> (may be NULL: computed from the staged file) names
 * the result.  <prog> and <item> may be NULL.  On PROBE_OK *item
 * describes the indexed file.  Returns PROBE_OK, PROBE_REJECTED (the
 * render broke a rule; the staged file stays where it was),
 * PROBE_STOPPED or PROBE_ERR (including a corrupt index: then nothing is
 * moved).
 */
int
probe_finalize(const char *state_dir, const char *staged_rel,
    const char *run_id, const char *segment_id, const char *sha8,
    double target, long long min_bytes, struct progress *prog,
    struct vindex_item *item, char *err, size_t errlen)
{
	struct vindex_item local;
	struct probe_info pi;
	struct fin f;
	char why[512];
	int rc;

	if (item == NULL)
		item = &local;
	if ((rc = fin_setup(&f, state_dir, staged_rel, run_id, segment_id,
	    sha8, err, errlen)) != PROBE_OK)
		return rc;
	if (fs_exists(f.final_abs)) {
		why[0] = '\0';
		rc = finalize_existing(&f, target, min_bytes, prog, item, why,
		    sizeof(why));
		if (rc == PROBE_OK)
			return PROBE_OK;
		if (rc != PROBE_REJECTED || !fs_exists(f.staged))
			return errbuf_set(err, errlen, rc, "%s: %s",
			    f.final_rel, why);
		/* An invalid final file: replace it with a valid render. */
	}
	if ((rc = probe_wait_stable(f.staged, prog, 0, err, errlen)) !=
	    PROBE_OK)
		return rc;
	if ((rc = probe_check(f.staged, target, min_bytes, prog, &pi, err,
	    errlen)) != PROBE_OK)
		return rc;
	return move_and_index(&f, &pi, prog, item, err, errlen);
}
