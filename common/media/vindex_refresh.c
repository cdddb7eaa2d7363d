/* SPDX-License-Identifier: ISC */
/*
 * vindex_refresh.c: index-refresh (SPEC section 5), which brings the
 * video index in line with the files in video/final/, and the bounded
 * pool of processes that probes them with ffprobe when it has to.
 *
 * A file to probe is first read by mp4 in this process: its boxes
 * give the same duration, size, bitrate and codecs as ffprobe, in tens
 * of microseconds, so neither threads nor processes would pay for
 * themselves.  Whatever mp4 refuses, or names only by a fourcc, is
 * probed by ffprobe (probe_file) in a pool of at most JOBS_MAX forked
 * processes (not threads: probe_file forks ffprobe and makes no thread-
 * safety promise), results coming back through shared memory; so
 * nothing ffprobe accepts is lost, and the probe rules judge the same
 * answers.  Files written in the last 2 s get one common 300 ms
 * stability check; older files none, and no file ever waits on its own.
 * A stop asked for through the progress callback kills the pool and
 * writes nothing.
 *
 * The index is read under a shared lock, files are probed without any
 * lock, and the results are merged under the exclusive lock into the
 * index as it is then: the one read at the start when index.json is
 * still the same file (the common, warm case), else a fresh load, so a
 * probe stage upserting meanwhile loses nothing.  The index is written
 * once; when no entry changed (only the history line is new) the final
 * directory fsync is skipped (vindex_save_lazy).
 *
 * This file does not parse or write index.json itself (vindex_load and
 * vindex_save in vindex.c do, with the format of vindex_json.c) and
 * never moves or deletes a video; prune drops only entries whose file is
 * gone.  Nothing here logs: functions return a vindex_rc and fill err.
 *
 * Public: vindex_refresh, vindex_refresh_report_clear.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/errbuf.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/mp4.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "common/media/vindex.h"
#include "common/media/vindex_shared.h"

#define RECENT_NS	2000000000LL	/* younger: check stability first */
#define STABLE_WAIT_MS	300
#define JOBS_MAX	64
#define TICK_EVERY	32	/* files read in the main thread per tick */

void
vindex_refresh_report_clear(struct vindex_refresh_report *rep)
{
	vindex_notes_clear(&rep->notes);
	memset(rep, 0, sizeof(*rep));
}

/* ---- refresh ---- */

enum ent_what { ENT_PROBE, ENT_UNCHANGED, ENT_SKIP };

struct scan_ent {
	char		 name[256];
	char		 key[VINDEX_KEY_MAX + 1];
	char		 run_id[ID_VIDEO_MAX + 1];
	char		 segment_id[ID_SEGMENT_MAX + 1];
	struct stat	 st;
	enum ent_what	 what;
	int		 rc;	/* probe result */
	struct probe_info info;
	char		 err[256];
};

struct scan {
	struct scan_ent	*v;
	size_t		 n, cap;
	char		 dir[PATH_MAX];	/* state/video/final */
};

static int
ent_cmp(const void *a, const void *b)
{
	const struct scan_ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->name, y->name);
}

bool
vindex_is_mp4(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".mp4") == 0;
}

/* Key an entry by its name; false when it cannot be indexed. */
static bool
ent_key(struct scan_ent *e, bool allow_stem, struct vindex_notes *nn)
{
	char sha8[ID_SHA8_LEN + 1];
	size_t n;

	if (id_parse_media_name(e->name, 'V', e->run_id, sizeof(e->run_id),
	    e->segment_id, sizeof(e->segment_id), sha8) == 0) {
		(void)strlcpy(e->key, sha8, sizeof(e->key));
		return true;
	}
	e->run_id[0] = e->segment_id[0] = '\0';
	n = strlen(e->name) - 4;
	if (!allow_stem) {
		(void)vindex_note_add(nn, e->name, "skipped",
		    "no sha8 in the name (V_<run>_<segment>_<sha8>.mp4)");
		return false;
	}
	if (n > VINDEX_KEY_MAX) {
		(void)vindex_note_add(nn, e->name, "skipped", "name too long");
		return false;
	}
	memcpy(e->key, e->name, n);
	e->key[n] = '\0';
	return vindex_key_ok(e->key);
}

static int
scan_add(struct scan *sc, const char *name, const struct stat *st)
{
	struct scan_ent *v;
	size_t cap;

	if (sc->n == sc->cap) {
		cap = sc->cap == 0 ? 64 : sc->cap * 2;
		if ((v = reallocarray(sc->v, cap, sizeof(*v))) == NULL)
			return -1;
		sc->v = v;
		sc->cap = cap;
	}
	v = &sc->v[sc->n++];
	memset(v, 0, sizeof(*v));
	(void)strlcpy(v->name, name, sizeof(v->name));
	v->st = *st;
	return 0;
}

/* List final/<name>.mp4 (regular files only); no directory: empty. */
static int
scan_final(const char *state_dir, struct scan *sc, struct vindex_notes *nn,
    size_t *skipped, char *err, size_t errlen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fs_path(sc->dir, sizeof(sc->dir), "%s/" VINDEX_FINAL_DIR,
	    state_dir) == -1)
		return errbuf_set(err, errlen, VINDEX_ERR,
		    "state path too long");
	if ((d = opendir(sc->dir)) == NULL)
		return errno == ENOENT ? 0 : errbuf_set(err, errlen,
		    VINDEX_ERR, "%s: %s", sc->dir, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!vindex_is_mp4(de->d_name) || strlen(de->d_name) >= 256)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode)) {
			(void)vindex_note_add(nn, de->d_name, "skipped",
			    "not a regular file");
			(*skipped)++;
			continue;
		}
		if (sc->n >= VINDEX_ITEMS_MAX || scan_add(sc, de->d_name,
		    &st) == -1) {
			(void)closedir(d);
			return errbuf_set(err, errlen, VINDEX_ERR,
			    "%s: more than %d files or out of memory", sc->dir,
			    VINDEX_ITEMS_MAX);
		}
	}
	if (errno != 0) {
		(void)errbuf_set(err, errlen, VINDEX_ERR, "readdir %s: %s",
		    sc->dir, strerror(errno));
		(void)closedir(d);
		return VINDEX_ERR;
	}
	(void)closedir(d);
	return 0;
}

/* Decide for each scanned file: probe, unchanged or skip. */
static void
scan_classify(struct scan *sc, struct vindex *idx,
    const struct vindex_refresh_opts *o, struct vindex_refresh_report *rep)
{
	struct vindex_item *it;
	struct scan_ent *e;
	char rel[VINDEX_PATH_MAX];
	size_t i;

	for (i = 0; i < sc->n; i++) {
		e = &sc->v[i];
		if (!ent_key(e, o->allow_missing_sha8, &rep->notes)) {
			e->what = ENT_SKIP;
			e->key[0] = '\0';
		}
	}
	if (sc->n > 1)
		qsort(sc->v, sc->n, sizeof(sc->v[0]), ent_cmp);
	for (i = 0; i < sc->n; i++) {
		e = &sc->v[i];
		if (e->what == ENT_SKIP)
			continue;
		if (i > 0 && strcmp(sc->v[i - 1].key, e->key) == 0) {
			e->what = ENT_SKIP;
			(void)vindex_note_add(&rep->notes, e->name, "skipped",
			    "key %s already used by another file", e->key);
			continue;
		}
		(void)snprintf(rel, sizeof(rel), VINDEX_FINAL_DIR "/%s",
		    e->name);
		it = vindex_find(idx, e->key);
		if (!o->force && it != NULL && strcmp(it->path, rel) == 0 &&
		    it->file_bytes == (long long)e->st.st_size &&
		    it->file_mtime_ns == vindex_st_mtime_ns(&e->st))
			e->what = ENT_UNCHANGED;
		else
			e->what = ENT_PROBE;
	}
}

static int
wait_ticking(int ms, struct progress *prog)
{
	int64_t end = clock_mono_ms() + ms, left;

	while ((left = end - clock_mono_ms()) > 0) {
		clock_sleep_ms(left < 100 ? left : 100);
		if (progress_tick(prog, prog != NULL ? prog->value : 0) == -1)
			return -1;
	}
	return 0;
}

/*
 * Files modified in the last 2 s (or in the future) are probed only if
 * their size and mtime stay the same over one common 300 ms wait.
 */
static int
scan_stabilise(struct scan *sc, struct progress *prog,
    struct vindex_notes *nn)
{
	struct timespec now;
	struct scan_ent *e;
	struct stat st;
	char path[PATH_MAX];
	long long now_ns;
	size_t i, recent = 0;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
	for (i = 0; i < sc->n; i++)
		if (sc->v[i].what == ENT_PROBE &&
		    now_ns - vindex_st_mtime_ns(&sc->v[i].st) < RECENT_NS)
			recent++;
	if (recent == 0)
		return 0;
	if (wait_ticking(STABLE_WAIT_MS, prog) == -1)
		return -1;
	for (i = 0; i < sc->n; i++) {
		e = &sc->v[i];
		if (e->what != ENT_PROBE ||
		    now_ns - vindex_st_mtime_ns(&e->st) >= RECENT_NS)
			continue;
		if (fs_path(path, sizeof(path), "%s/%s", sc->dir,
		    e->name) == 0 && lstat(path, &st) == 0 &&
		    st.st_size == e->st.st_size &&
		    vindex_st_mtime_ns(&st) == vindex_st_mtime_ns(&e->st))
			continue;
		e->what = ENT_SKIP;
		(void)vindex_note_add(nn, e->name, "skipped",
		    "still being written");
	}
	return 0;
}

/* Shared between the refresh and its probe processes. */
struct pool_slot {
	atomic_int	 state;		/* 0 waiting, 1 probing, 2 done */
	int		 rc;
	struct probe_info info;
	char		 err[256];
};

struct pool {
	atomic_size_t	 next;
	size_t		 n;
	struct pool_slot slot[];
};

static void __attribute__((noreturn))
pool_child(struct pool *p, struct scan_ent **work, const char *dir, int wfd)
{
	struct pool_slot *s;
	char path[PATH_MAX];
	size_t i;

	for (;;) {
		if ((i = atomic_fetch_add(&p->next, 1)) >= p->n)
			break;
		s = &p->slot[i];
		atomic_store(&s->state, 1);
		if (fs_path(path, sizeof(path), "%s/%s", dir,
		    work[i]->name) == -1) {
			s->rc = -1;
			(void)strlcpy(s->err, "path too long", sizeof(s->err));
		} else
			s->rc = probe_file(path, NULL, &s->info, s->err,
			    sizeof(s->err));
		atomic_store(&s->state, 2);
		if (write(wfd, "x", 1) == -1)
			break;
	}
	_exit(0);
}

/* Wait for the children, ticking; returns -1 when asked to stop. */
static int
pool_wait(int rfd, struct progress *prog)
{
	struct pollfd pfd;
	char buf[256];
	long long done = 0;
	ssize_t n;

	pfd.fd = rfd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, 100) > 0) {
			if ((n = read(rfd, buf, sizeof(buf))) == 0)
				return 0;	/* every child has exited */
			if (n > 0)
				done += n;
			else if (errno != EINTR && errno != EAGAIN)
				return 0;
		}
		if (progress_tick(prog, done) == -1)
			return -1;
	}
}

static void
pool_collect(struct pool *p, struct scan_ent **work, bool stopped)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (atomic_load(&p->slot[i].state) == 2) {
			work[i]->rc = p->slot[i].rc;
			work[i]->info = p->slot[i].info;
			(void)strlcpy(work[i]->err, p->slot[i].err,
			    sizeof(work[i]->err));
		} else {
			work[i]->rc = -1;
			(void)strlcpy(work[i]->err, stopped ? "stopped" :
			    "probe process died", sizeof(work[i]->err));
		}
	}
}

/* Probe work[0..n) with up to <jobs> processes. */
static int
pool_run(struct scan_ent **work, size_t n, int jobs, const char *dir,
    struct progress *prog, char *err, size_t errlen)
{
	struct pool *p;
	pid_t pids[JOBS_MAX];
	size_t sz = sizeof(*p) + n * sizeof(p->slot[0]);
	int pfd[2], k, started = 0, rc;

	if ((p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return errbuf_set(err, errlen, VINDEX_ERR, "mmap: %s",
		    strerror(errno));
	memset(p, 0, sz);
	p->n = n;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		(void)munmap(p, sz);
		return errbuf_set(err, errlen, VINDEX_ERR, "pipe: %s",
		    strerror(errno));
	}
	for (k = 0; k < jobs && (size_t)k < n; k++) {
		if ((pids[k] = fork()) == 0) {
			(void)close(pfd[0]);
			pool_child(p, work, dir, pfd[1]);
		}
		if (pids[k] == -1)
			break;
		started++;
	}
	(void)close(pfd[1]);
	rc = started == 0 ? errbuf_set(err, errlen, VINDEX_ERR, "fork: %s",
	    strerror(errno)) : pool_wait(pfd[0], prog);
	for (k = 0; k < started; k++) {
		if (rc == -1)
			(void)kill(pids[k], SIGKILL);	/* may block TERM */
		while (waitpid(pids[k], NULL, 0) == -1 && errno == EINTR)
			;
	}
	(void)close(pfd[0]);
	pool_collect(p, work, rc == -1);
	(void)munmap(p, sz);
	if (started == 0)
		return VINDEX_ERR;
	return rc == -1 ? errbuf_set(err, errlen, VINDEX_STOPPED,
	    "stopped") : 0;
}

static int
refresh_jobs(const struct vindex_refresh_opts *o)
{
	long n = o->jobs > 0 ? o->jobs : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > JOBS_MAX ? JOBS_MAX : (int)n;
}

/*
 * The fast path: read the boxes of <e> in this process.  True when that
 * gave a full answer with codec names as ffprobe spells them; anything
 * else is left to ffprobe.
 */
static bool
probe_fast(const char *dir, struct scan_ent *e)
{
	char path[PATH_MAX];

	if (fs_path(path, sizeof(path), "%s/%s", dir, e->name) == -1 ||
	    mp4_file(path, &e->info, e->err, sizeof(e->err)) == -1 ||
	    !mp4_codec_known(e->info.video_codec) ||
	    !mp4_codec_known(e->info.audio_codec))
		return false;
	e->rc = 0;
	e->err[0] = '\0';
	return true;
}

/*
 * Probe every ENT_PROBE file: mp4 here first (tens of microseconds a
 * file, so neither threads nor processes pay off), then ffprobe in the
 * process pool for the files it could not read.
 */
static int
refresh_probe(struct scan *sc, const struct vindex_refresh_opts *o,
    struct progress *prog, struct vindex_refresh_report *rep, char *err,
    size_t errlen)
{
	struct scan_ent **work;
	size_t i, n = 0, done = 0;
	int rc = 0;

	if ((work = calloc(sc->n + 1, sizeof(*work))) == NULL)
		return errbuf_set(err, errlen, VINDEX_ERR, "out of memory");
	for (i = 0; i < sc->n && rc == 0; i++) {
		if (sc->v[i].what != ENT_PROBE)
			continue;
		if (done++ % TICK_EVERY == 0 &&
		    progress_tick(prog, (long long)done) == -1)
			rc = errbuf_set(err, errlen, VINDEX_STOPPED,
			    "stopped");
		else if (!probe_fast(sc->dir, &sc->v[i]))
			work[n++] = &sc->v[i];
	}
	if (rc == 0 && n > 0)
		rc = pool_run(work, n, refresh_jobs(o), sc->dir, prog, err,
		    errlen);
	for (i = 0; rc == 0 && i < sc->n; i++) {
		if (sc->v[i].what != ENT_PROBE)
			continue;
		rep->probed++;
		if (sc->v[i].rc != 0) {
			rep->failed++;
			(void)vindex_note_add(&rep->notes, sc->v[i].name,
			    "failed", "%s", sc->v[i].err);
		}
	}
	free(work);
	return rc;
}

/*
 * Merge one scanned file into the freshly loaded <idx>.  Returns 1 when
 * *out holds a new entry to append, 2 when an entry was changed in
 * place, 0 when nothing changed.
 */
static int
apply_ent(const char *state_dir, struct vindex *idx, struct scan_ent *e,
    struct vindex_item *out, struct vindex_refresh_report *rep)
{
	struct vindex_item *it;
	char rel[VINDEX_PATH_MAX], why[256];

	(void)snprintf(rel, sizeof(rel), VINDEX_FINAL_DIR "/%s", e->name);
	it = vindex_find(idx, e->key);
	if (e->what == ENT_UNCHANGED) {
		if (it == NULL || strcmp(it->path, rel) != 0 ||
		    it->file_mtime_ns != vindex_st_mtime_ns(&e->st) ||
		    (it->inode == (unsigned long long)e->st.st_ino &&
		    it->device == (unsigned long long)e->st.st_dev))
			return 0;
		it->inode = (unsigned long long)e->st.st_ino;
		it->device = (unsigned long long)e->st.st_dev;
		return 2;
	}
	if (e->what != ENT_PROBE || e->rc != 0)
		return 0;
	if (vindex_item_fill(state_dir, rel, &e->info, out, why,
	    sizeof(why)) == -1 || out->file_bytes !=
	    (long long)e->st.st_size || out->file_mtime_ns !=
	    vindex_st_mtime_ns(&e->st)) {
		rep->failed++;
		(void)vindex_note_add(&rep->notes, e->name, "failed",
		    "changed or vanished while being probed");
		return 0;
	}
	(void)strlcpy(out->key, e->key, sizeof(out->key));
	(void)strlcpy(out->run_id, e->run_id, sizeof(out->run_id));
	(void)strlcpy(out->segment_id, e->segment_id,
	    sizeof(out->segment_id));
	if (it == NULL)
		return 1;
	*it = *out;
	return 2;
}

/* Append the new entries of a refresh in one go, then sort once. */
static int
apply_new(struct vindex *idx, const struct vindex_item *nv, size_t n)
{
	if (n == 0)
		return 0;
	if (vindex_item_grow(idx, idx->nitems + n) == -1)
		return -1;
	memcpy(&idx->items[idx->nitems], nv, n * sizeof(*nv));
	idx->nitems += n;
	qsort(idx->items, idx->nitems, sizeof(idx->items[0]), vindex_item_cmp);
	return 0;
}

static void
apply_prune(const char *state_dir, struct vindex *idx,
    struct vindex_refresh_report *rep)
{
	char abs[PATH_MAX];
	size_t i, j;

	for (i = j = 0; i < idx->nitems; i++) {
		if (strncmp(idx->items[i].path, VINDEX_FINAL_DIR "/",
		    sizeof(VINDEX_FINAL_DIR)) == 0 &&
		    fs_path(abs, sizeof(abs), "%s/%s", state_dir,
		    idx->items[i].path) == 0 && !fs_exists(abs)) {
			rep->removed++;
			(void)vindex_note_add(&rep->notes, idx->items[i].path,
			    "removed", "file is gone");
			continue;
		}
		idx->items[j++] = idx->items[i];
	}
	idx->nitems = j;
}

static cJSON *
refresh_entry(const struct vindex_refresh_opts *o,
    const struct vindex_refresh_report *rep)
{
	char at[CLOCK_ISO_LEN];
	cJSON *h;

	if ((h = cJSON_CreateObject()) == NULL)
		return NULL;
	clock_utc_iso(at);
	(void)cJSON_AddStringToObject(h, "at", at);
	(void)cJSON_AddNumberToObject(h, "scanned", (double)rep->scanned);
	(void)cJSON_AddNumberToObject(h, "probed", (double)rep->probed);
	(void)cJSON_AddNumberToObject(h, "unchanged", (double)rep->unchanged);
	(void)cJSON_AddNumberToObject(h, "skipped", (double)rep->skipped);
	(void)cJSON_AddNumberToObject(h, "failed", (double)rep->failed);
	(void)cJSON_AddNumberToObject(h, "removed", (double)rep->removed);
	(void)cJSON_AddBoolToObject(h, "force", o->force);
	(void)cJSON_AddBoolToObject(h, "allow_missing_sha8",
	    o->allow_missing_sha8);
	return h;
}

/*
 * What index.json was when it was loaded.  The file is kept open, so its
 * inode cannot be reused while we look; every writer replaces it through
 * fs_write_atomic (a new inode), and an edit in place would change its
 * size, mtime or ctime.
 */
struct stamp {
	int		 fd;	/* -1: no file (or it could not be opened) */
	bool		 ok;	/* the stamp can be trusted */
	struct stat	 st;
};

static int
stamp_path(char *buf, size_t size, const char *state_dir)
{
	return fs_path(buf, size, "%s/video/index.json", state_dir);
}

/* Called under the lock, just before vindex_load. */
static void
stamp_take(const char *state_dir, struct stamp *s)
{
	char path[PATH_MAX];

	s->fd = -1;
	s->ok = false;
	if (stamp_path(path, sizeof(path), state_dir) == -1)
		return;
	if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		s->ok = errno == ENOENT;
		return;
	}
	s->ok = fstat(s->fd, &s->st) == 0;
}

/* Is index.json still the file stamp_take saw?  Called under the lock. */
static bool
stamp_same(const char *state_dir, const struct stamp *s)
{
	char path[PATH_MAX];
	struct stat st;

	if (!s->ok || stamp_path(path, sizeof(path), state_dir) == -1)
		return false;
	if (stat(path, &st) == -1)
		return s->fd == -1 && errno == ENOENT;
	return s->fd != -1 && st.st_dev == s->st.st_dev &&
	    st.st_ino == s->st.st_ino && st.st_size == s->st.st_size &&
	    vindex_st_mtime_ns(&st) == vindex_st_mtime_ns(&s->st) &&
	    st.st_ctim.tv_sec == s->st.st_ctim.tv_sec &&
	    st.st_ctim.tv_nsec == s->st.st_ctim.tv_nsec;
}

/*
 * Merge the scan into the index under the exclusive lock and write it
 * once.  <idx> holds the index as loaded at the start; it is loaded again
 * only if the file changed since (a probe stage upserted meanwhile).
 */
static int
refresh_apply(const char *state_dir, struct scan *sc, struct vindex *idx,
    const struct stamp *stamp, const struct vindex_refresh_opts *o,
    struct vindex_refresh_report *rep, char *err, size_t errlen)
{
	struct vindex_item *nv;
	size_t i, n = 0, removed;
	bool dirty = false;
	int fd, r, rc = VINDEX_OK;

	if ((nv = calloc(sc->n + 1, sizeof(*nv))) == NULL)
		return errbuf_set(err, errlen, VINDEX_ERR, "out of memory");
	if ((fd = vindex_lock(state_dir, true, o->lock_timeout_ms > 0 ?
	    o->lock_timeout_ms : VINDEX_LOCK_TIMEOUT_MS, err, errlen)) == -1) {
		free(nv);
		return VINDEX_ERR;
	}
	if (!stamp_same(state_dir, stamp) &&
	    (rc = vindex_load(state_dir, idx, err, errlen)) != VINDEX_OK)
		goto out;
	for (i = 0; i < sc->n; i++) {
		r = apply_ent(state_dir, idx, &sc->v[i], &nv[n], rep);
		n += r == 1;
		dirty |= r != 0;
	}
	if (apply_new(idx, nv, n) == -1) {
		rc = errbuf_set(err, errlen, VINDEX_ERR, "index: %s",
		    strerror(errno));
		goto out;
	}
	removed = rep->removed;
	if (o->prune)
		apply_prune(state_dir, idx, rep);
	dirty |= idx->missing || rep->removed != removed;
	if (vindex_history_add(idx, "refresh_history",
	    refresh_entry(o, rep)) == -1)
		rc = errbuf_set(err, errlen, VINDEX_ERR, "out of memory");
	else if (dirty)
		rc = vindex_save(state_dir, idx, err, errlen);
	else
		rc = vindex_save_lazy(state_dir, idx, err, errlen);
out:
	vindex_unlock(fd);
	free(nv);
	return rc;
}

/*
 * Bring the index in line with video/final/<name>.mp4 (SPEC section 5,
 * index-refresh).  <opts> may be NULL (defaults), <prog> may be NULL;
 * <rep> is filled (clear it with vindex_refresh_report_clear).  Returns
 * the number of files whose probe failed (>= 0), or VINDEX_ERR,
 * VINDEX_CORRUPT (index left alone) or VINDEX_STOPPED (nothing written).
 * With dry_run, rep->probed counts the files that would be probed.
 */
int
vindex_refresh(const char *state_dir, const struct vindex_refresh_opts *opts,
    struct progress *prog, struct vindex_refresh_report *rep, char *err,
    size_t errlen)
{
	static const struct vindex_refresh_opts defaults;
	const struct vindex_refresh_opts *o = opts != NULL ? opts : &defaults;
	struct scan sc;
	struct vindex idx;
	struct stamp stamp;
	size_t i;
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	memset(&sc, 0, sizeof(sc));
	vindex_init(&idx);
	if ((fd = vindex_lock(state_dir, false, o->lock_timeout_ms > 0 ?
	    o->lock_timeout_ms : VINDEX_LOCK_TIMEOUT_MS, err, errlen)) == -1)
		return VINDEX_ERR;
	stamp_take(state_dir, &stamp);
	rc = vindex_load(state_dir, &idx, err, errlen);
	vindex_unlock(fd);
	if (rc != VINDEX_OK)
		goto out;
	rep->index_missing = idx.missing;
	if ((rc = scan_final(state_dir, &sc, &rep->notes, &rep->skipped, err,
	    errlen)) != 0)
		goto out;
	rep->scanned = sc.n + rep->skipped;
	scan_classify(&sc, &idx, o, rep);
	if (!o->dry_run && scan_stabilise(&sc, prog, &rep->notes) == -1) {
		rc = errbuf_set(err, errlen, VINDEX_STOPPED, "stopped");
		goto out;
	}
	for (i = 0; i < sc.n; i++) {
		rep->unchanged += sc.v[i].what == ENT_UNCHANGED;
		rep->skipped += sc.v[i].what == ENT_SKIP;
		rep->probed += o->dry_run && sc.v[i].what == ENT_PROBE;
	}
	if (o->dry_run)
		goto out;
	if ((rc = refresh_probe(&sc, o, prog, rep, err, errlen)) != 0 ||
	    (rc = refresh_apply(state_dir, &sc, &idx, &stamp, o, rep, err,
	    errlen)) != 0)
		goto out;
	rc = rep->failed > INT_MAX ? INT_MAX : (int)rep->failed;
out:
	if (stamp.fd != -1)
		(void)close(stamp.fd);
	vindex_clear(&idx);
	free(sc.v);
	return rc;
}
