/* SPDX-License-Identifier: ISC */
/*
 * vindex.c: the video index, state/video/index.json (SPEC section 5):
 * its lock, loading and saving it, and its entries in memory.
 *
 * Keys are the sha8 of the file name, or the file stem for names without
 * one when the caller allows it.  Item paths are relative to the state
 * root, so the index survives a moved state directory; entries written by
 * older tools with other paths are kept as they are and reported by
 * vindex_repair().  The file format (decode with its checks, encode) is
 * in vindex_json.c.
 *
 * Locking: every writer holds an exclusive flock on index.json.lock
 * (vindex_lock); readers may hold a shared one.  vindex_load/vindex_save
 * do not lock: the caller holds the lock around them.  The operations
 * (vindex_put, vindex_refresh, vindex_repair, vindex_orphans,
 * vindex_clean_zombies, vindex_quarantine_corrupt) take it themselves.
 * The index is written only whole, as a new file fsynced and renamed
 * over the old one (fs_write_atomic, which also fsyncs the directory; a
 * refresh that changed no entry skips that last fsync, vindex_save_lazy).
 * Each save also writes index.json.cache, which vindex_load uses instead
 * of parsing the JSON when it was made from the very text it read
 * (vindex_cache.c).
 *
 * A missing index loads as empty with idx->missing set.  A corrupt one
 * (unparsable, too big, wrong shape) makes vindex_load return
 * VINDEX_CORRUPT and is never overwritten here: every writer refuses, and
 * a caller that wants to rebuild first moves it aside with
 * vindex_quarantine_corrupt().  Cleanup refuses without an index, so a
 * lost index never turns every video into an orphan.
 *
 * This file neither parses nor formats JSON (vindex_json.c does), nor
 * lists video/final/, nor probes anything: the refresh and its process
 * pool are in vindex_refresh.c; repair, orphans and clean-zombies in
 * vindex_clean.c.  The helpers they share with this file are declared in
 * vindex_shared.h.  Nothing here logs: functions return a vindex_rc and
 * fill err.
 *
 * Public: vindex_init, vindex_clear, vindex_find, vindex_upsert,
 * vindex_remove, vindex_history_add, vindex_rel_path_ok, vindex_item_fill,
 * vindex_lock, vindex_unlock, vindex_load, vindex_save, vindex_put,
 * vindex_quarantine_corrupt, vindex_notes_clear.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/errbuf.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/media/vindex.h"
#include "common/media/vindex_json.h"
#include "common/media/vindex_shared.h"

/* ---- helpers shared with the other vindex files (vindex_shared.h) ---- */

long long
vindex_st_mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL +
	    st->st_mtim.tv_nsec;
}

int
vindex_note_add(struct vindex_notes *nn, const char *name, const char *what,
    const char *fmt, ...)
{
	struct vindex_note *v, *n;
	va_list ap;
	size_t cap;

	if (nn->n >= VINDEX_NOTES_MAX) {
		nn->dropped++;
		return 0;
	}
	if (nn->n == nn->cap) {
		cap = nn->cap == 0 ? 16 : nn->cap * 2;
		if ((v = reallocarray(nn->v, cap, sizeof(*v))) == NULL) {
			nn->dropped++;
			return -1;
		}
		nn->v = v;
		nn->cap = cap;
	}
	n = &nn->v[nn->n++];
	(void)strlcpy(n->name, name, sizeof(n->name));
	(void)strlcpy(n->what, what, sizeof(n->what));
	va_start(ap, fmt);
	(void)vsnprintf(n->reason, sizeof(n->reason), fmt, ap);
	va_end(ap);
	return 0;
}

void
vindex_notes_clear(struct vindex_notes *nn)
{
	free(nn->v);
	memset(nn, 0, sizeof(*nn));
}

/* ---- items in memory (kept sorted by key) ---- */

void
vindex_init(struct vindex *idx)
{
	memset(idx, 0, sizeof(*idx));
}

/* Free everything the index owns; it is empty (and reusable) afterwards. */
void
vindex_clear(struct vindex *idx)
{
	free(idx->items);
	cJSON_Delete(idx->meta);
	vindex_init(idx);
}

int
vindex_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vindex_item *)a)->key,
	    ((const struct vindex_item *)b)->key);
}

/* Index of <key>, or -(insertion point) - 1. */
static long
item_search(const struct vindex *idx, const char *key)
{
	size_t lo = 0, hi = idx->nitems, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(idx->items[mid].key, key)) == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/*
 * The entry for <key>, or NULL.  The pointer is borrowed and valid until
 * the index is next changed.
 */
struct vindex_item *
vindex_find(struct vindex *idx, const char *key)
{
	long i = item_search(idx, key);

	return i >= 0 ? &idx->items[i] : NULL;
}

int
vindex_item_grow(struct vindex *idx, size_t need)
{
	struct vindex_item *v;
	size_t cap;

	if (need <= idx->cap)
		return 0;
	if (need > VINDEX_ITEMS_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	cap = idx->cap == 0 ? 64 : idx->cap;
	while (cap < need)
		cap *= 2;
	if ((v = reallocarray(idx->items, cap, sizeof(*v))) == NULL)
		return -1;
	idx->items = v;
	idx->cap = cap;
	return 0;
}

bool
vindex_key_ok(const char *k)
{
	size_t i;

	for (i = 0; k[i] != '\0'; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == '/' ||
		    k[i] == 0x7f || i >= VINDEX_KEY_MAX)
			return false;
	return i > 0;
}

/*
 * True when <rel> is a clean path relative to the state root: not empty,
 * not absolute, no "." or ".." component, no empty component.
 */
bool
vindex_rel_path_ok(const char *rel)
{
	const char *p, *e;
	size_t n;

	if (rel == NULL || rel[0] == '\0' || rel[0] == '/' ||
	    (n = strlen(rel)) >= VINDEX_PATH_MAX || rel[n - 1] == '/')
		return false;
	for (p = rel; *p != '\0'; p = *e == '/' ? e + 1 : e) {
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
	}
	return true;
}

/*
 * Insert or replace the entry item->key with a copy of <item>.  The path
 * must pass vindex_rel_path_ok.  Returns 0, or -1 with errno (EINVAL bad
 * key or path, EOVERFLOW too many items, ENOMEM).
 */
int
vindex_upsert(struct vindex *idx, const struct vindex_item *item)
{
	long i;
	size_t at;

	if (!vindex_key_ok(item->key) || !vindex_rel_path_ok(item->path)) {
		errno = EINVAL;
		return -1;
	}
	if ((i = item_search(idx, item->key)) >= 0) {
		idx->items[i] = *item;
		return 0;
	}
	at = (size_t)(-i - 1);
	if (vindex_item_grow(idx, idx->nitems + 1) == -1)
		return -1;
	memmove(&idx->items[at + 1], &idx->items[at],
	    (idx->nitems - at) * sizeof(*item));
	idx->items[at] = *item;
	idx->nitems++;
	return 0;
}

/* Remove <key>.  Returns 0, or -1 (ENOENT) when it is not there. */
int
vindex_remove(struct vindex *idx, const char *key)
{
	long i;

	if ((i = item_search(idx, key)) < 0) {
		errno = ENOENT;
		return -1;
	}
	memmove(&idx->items[i], &idx->items[i + 1],
	    (idx->nitems - (size_t)i - 1) * sizeof(idx->items[0]));
	idx->nitems--;
	return 0;
}

/*
 * Append <entry> to meta_info.<list> ("refresh_history",
 * "cleanup_history", "repair_history"), keeping the last
 * VINDEX_HISTORY_MAX.  Takes ownership of <entry>, also on failure.
 */
int
vindex_history_add(struct vindex *idx, const char *list, cJSON *entry)
{
	cJSON *arr;

	if (idx->meta == NULL && (idx->meta = cJSON_CreateObject()) == NULL)
		goto fail;
	arr = cJSON_GetObjectItemCaseSensitive(idx->meta, list);
	if (!cJSON_IsArray(arr)) {
		cJSON_DeleteItemFromObjectCaseSensitive(idx->meta, list);
		if ((arr = cJSON_AddArrayToObject(idx->meta, list)) == NULL)
			goto fail;
	}
	if (!cJSON_AddItemToArray(arr, entry))
		goto fail;
	while (cJSON_GetArraySize(arr) > VINDEX_HISTORY_MAX)
		cJSON_DeleteItemFromArray(arr, 0);
	return 0;
fail:
	cJSON_Delete(entry);
	errno = ENOMEM;
	return -1;
}

/* ---- the file and its lock ---- */

static int
index_path(char *buf, size_t size, const char *state_dir, const char *sfx)
{
	return fs_path(buf, size, "%s/video/index.json%s", state_dir, sfx);
}

/*
 * Open state/video/index.json.lock (created 0600, with its directory) and
 * flock it, shared or exclusive.  timeout_ms < 0 waits for ever, 0 tries
 * once.  Returns the descriptor to pass to vindex_unlock, or -1 with err
 * set (errno ETIMEDOUT when the lock stayed busy).
 */
int
vindex_lock(const char *state_dir, bool exclusive, int timeout_ms,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	int64_t deadline;
	int fd, op = exclusive ? LOCK_EX : LOCK_SH;

	if (fs_path(path, sizeof(path), "%s/video", state_dir) == -1 ||
	    fs_mkdirs(path, 0700) == -1 ||
	    index_path(path, sizeof(path), state_dir, ".lock") == -1)
		return errbuf_set(err, errlen, -1, "%s/video: %s", state_dir,
		    strerror(errno));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return errbuf_set(err, errlen, -1, "%s: %s", path,
		    strerror(errno));
	deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		if (flock(fd, op | (timeout_ms < 0 ? 0 : LOCK_NB)) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			(void)errbuf_set(err, errlen, -1, "flock %s: %s", path,
			    strerror(errno));
			break;
		}
		if (timeout_ms >= 0 && clock_mono_ms() >= deadline) {
			(void)errbuf_set(err, errlen, -1,
			    "%s is held by another process (waited %d ms)",
			    path, timeout_ms);
			errno = ETIMEDOUT;
			break;
		}
		if (timeout_ms >= 0)
			clock_sleep_ms(10);
	}
	(void)close(fd);
	return -1;
}

/* Release a lock taken by vindex_lock; -1 is ignored. */
void
vindex_unlock(int fd)
{
	if (fd != -1)
		(void)close(fd);	/* closing drops the flock */
}

/*
 * The cache beside the index, if it was made from <text> (<len> bytes):
 * returns 0 with <idx> filled, or -1 with it empty.
 */
static int
cache_read(const char *state_dir, const char *text, size_t len,
    struct vindex *idx)
{
	char path[PATH_MAX], *buf;
	size_t blen;
	int rc;

	if (index_path(path, sizeof(path), state_dir, ".cache") == -1 ||
	    fs_read_file(path, VINDEX_FILE_MAX, &buf, &blen) == -1)
		return -1;
	rc = vindex_cache_decode((const unsigned char *)buf, blen, len,
	    vindex_cache_hash(text, len), idx);
	free(buf);
	return rc;
}

/*
 * Read the index into <idx> (initialised by the caller; emptied first).
 * The caller holds the lock.  Returns VINDEX_OK (idx->missing set when
 * there is no file), VINDEX_CORRUPT (file left alone, err says what is
 * wrong) or VINDEX_ERR.  On failure <idx> is empty.
 */
int
vindex_load(const char *state_dir, struct vindex *idx, char *err,
    size_t errlen)
{
	char path[PATH_MAX], why[256];
	char *text;
	size_t len;
	int rc;

	vindex_clear(idx);
	if (index_path(path, sizeof(path), state_dir, "") == -1)
		return errbuf_set(err, errlen, VINDEX_ERR,
		    "index path too long");
	if (fs_read_file(path, VINDEX_FILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT) {
			idx->missing = true;
			return VINDEX_OK;
		}
		if (errno == EFBIG)
			return errbuf_set(err, errlen, VINDEX_CORRUPT,
			    "%s: corrupt: larger than %d bytes", path,
			    VINDEX_FILE_MAX);
		return errbuf_set(err, errlen, VINDEX_ERR, "%s: %s", path,
		    strerror(errno));
	}
	if (cache_read(state_dir, text, len, idx) == 0) {
		free(text);
		return VINDEX_OK;
	}
	rc = vindex_json_decode(text, len, idx, why, sizeof(why));
	if (rc == VINDEX_CORRUPT)
		return errbuf_set(err, errlen, rc, "%s: corrupt: %s", path,
		    why);
	if (rc != VINDEX_OK)
		return errbuf_set(err, errlen, rc, "%s: %s", path, why);
	return VINDEX_OK;
}

/*
 * fs_write_atomic without the final directory fsync: <path>.tmp.<pid> is
 * written (and fsynced if <sync>), then renamed over <path>.  Returns 0,
 * or -1 with errno set and <path> untouched.
 */
static int
write_replace(const char *path, const void *buf, size_t len, bool sync)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	ssize_t n;
	int fd, saved;

	if (fs_path(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) == -1 || (fd = open(tmp, O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	while (off < len) {
		if ((n = write(fd, (const char *)buf + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += (size_t)n;
	}
	if (sync && fsync(fd) == -1)
		goto fail;
	n = close(fd);
	fd = -1;
	if (n == 0 && rename(tmp, path) == 0)
		return 0;
fail:
	saved = errno;
	if (fd != -1)
		(void)close(fd);
	(void)unlink(tmp);
	errno = saved;
	return -1;
}

/*
 * Write index.json.cache for the index text just written (<text>, <len>
 * bytes, which this takes and frees): what decoding that text gives, so
 * that a reader of the cache sees exactly what a reader of the JSON
 * would.  Not fsynced: a cache lost or torn in a crash no longer matches
 * and is ignored.  Failures are not reported: they cost readers time.
 */
static void
cache_write(const char *state_dir, char *text, size_t len)
{
	char path[PATH_MAX], why[128];
	struct vindex back;
	unsigned char *buf;
	uint64_t hash = vindex_cache_hash(text, len);
	size_t blen;

	vindex_init(&back);
	if (vindex_json_decode(text, len, &back, why, sizeof(why)) !=
	    VINDEX_OK)
		return;
	buf = vindex_cache_encode(&back, len, hash, &blen);
	vindex_clear(&back);
	if (buf != NULL && index_path(path, sizeof(path), state_dir,
	    ".cache") == 0)
		(void)write_replace(path, buf, blen, false);
	free(buf);
}

static int
save(const char *state_dir, struct vindex *idx, bool sync_dir, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	char *text;
	size_t len;
	int r;

	if (fs_path(path, sizeof(path), "%s/video", state_dir) == -1 ||
	    fs_mkdirs(path, 0700) == -1)
		return errbuf_set(err, errlen, VINDEX_ERR, "%s: %s", path,
		    strerror(errno));
	if (index_path(path, sizeof(path), state_dir, "") == -1)
		return errbuf_set(err, errlen, VINDEX_ERR,
		    "index path too long");
	if ((text = vindex_json_encode(idx, state_dir)) == NULL)
		return errbuf_set(err, errlen, VINDEX_ERR,
		    "index: out of memory");
	len = strlen(text);
	r = sync_dir ? fs_write_atomic(path, text, len) :
	    write_replace(path, text, len, true);
	if (r == -1) {
		free(text);
		return errbuf_set(err, errlen, VINDEX_ERR, "write %s: %s",
		    path, strerror(errno));
	}
	cache_write(state_dir, text, len);
	idx->missing = false;
	return VINDEX_OK;
}

/*
 * Write <idx> atomically, with meta_info.state_root set to the real path
 * of <state_dir>.  The caller holds the exclusive lock and must have
 * loaded <idx> successfully (never call it to replace a corrupt file).
 */
int
vindex_save(const char *state_dir, struct vindex *idx, char *err,
    size_t errlen)
{
	return save(state_dir, idx, true, err, errlen);
}

int
vindex_save_lazy(const char *state_dir, struct vindex *idx, char *err,
    size_t errlen)
{
	return save(state_dir, idx, false, err, errlen);
}

/* Lock, load, run <fn>, save when it returns 1, unlock. */
static int
locked_update(const char *state_dir, int timeout_ms,
    int (*fn)(struct vindex *, const void *, char *, size_t),
    const void *arg, char *err, size_t errlen)
{
	struct vindex idx;
	int fd, rc;

	if ((fd = vindex_lock(state_dir, true, timeout_ms, err, errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) == VINDEX_OK &&
	    (rc = fn(&idx, arg, err, errlen)) == 1)
		rc = vindex_save(state_dir, &idx, err, errlen);
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}

static int
put_fn(struct vindex *idx, const void *arg, char *err, size_t errlen)
{
	const struct vindex_item *it = arg;

	if (vindex_upsert(idx, it) == -1)
		return errbuf_set(err, errlen, VINDEX_ERR,
		    "index entry %s (%s): %s", it->key, it->path,
		    strerror(errno));
	return 1;
}

/*
 * Upsert one entry under the exclusive lock (<timeout_ms> as for
 * vindex_lock).  A missing index is created; a corrupt one is left alone
 * and VINDEX_CORRUPT returned.
 */
int
vindex_put(const char *state_dir, const struct vindex_item *item,
    int timeout_ms, char *err, size_t errlen)
{
	return locked_update(state_dir, timeout_ms, put_fn, item, err,
	    errlen);
}

/*
 * Move a corrupt index aside to index.json.corrupt.<UTC stamp>[.N] so a
 * rebuild can start.  Refuses (VINDEX_ERR) when the index is missing or
 * loads fine.  <moved> (may be NULL) receives the new path.
 */
int
vindex_quarantine_corrupt(const char *state_dir, char *moved,
    size_t movedsz, char *err, size_t errlen)
{
	char path[PATH_MAX], dst[PATH_MAX], stamp[CLOCK_ISO_LEN];
	struct vindex idx;
	int fd, rc, i;

	if ((fd = vindex_lock(state_dir, true, VINDEX_LOCK_TIMEOUT_MS, err,
	    errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	rc = vindex_load(state_dir, &idx, err, errlen);
	if (rc == VINDEX_OK)
		rc = errbuf_set(err, errlen, VINDEX_ERR,
		    "index is %s; nothing to move aside",
		    idx.missing ? "missing" : "valid");
	vindex_clear(&idx);
	if (rc != VINDEX_CORRUPT)
		goto out;
	clock_utc_stamp(stamp);
	rc = VINDEX_ERR;
	for (i = 0; i < 100; i++) {
		if (index_path(path, sizeof(path), state_dir, "") == -1 ||
		    (i == 0 ? fs_path(dst, sizeof(dst), "%s.corrupt.%s", path,
		    stamp) : fs_path(dst, sizeof(dst), "%s.corrupt.%s.%d",
		    path, stamp, i)) == -1) {
			(void)errbuf_set(err, errlen, rc, "path too long");
			goto out;
		}
		if (!fs_exists(dst))
			break;
	}
	if (i == 100 || rename(path, dst) == -1 ||
	    fs_path(path, sizeof(path), "%s/video", state_dir) == -1 ||
	    fs_fsync_dir(path) == -1) {
		(void)errbuf_set(err, errlen, rc, "move %s aside: %s", path,
		    i == 100 ? "too many copies" : strerror(errno));
		goto out;
	}
	if (moved != NULL)
		(void)strlcpy(moved, dst, movedsz);
	rc = VINDEX_OK;
out:
	vindex_unlock(fd);
	return rc;
}

/*
 * Fill <item> for the file <rel> (relative to <state_dir>): path, stat
 * data, refreshed_at, the probe data from <pi> (may be NULL), and key,
 * run_id, segment_id parsed from a V_<run>_<seg>_<sha8>.mp4 name (key =
 * file stem otherwise; callers may override).  Returns 0 or -1 with err.
 */
int
vindex_item_fill(const char *state_dir, const char *rel,
    const struct probe_info *pi, struct vindex_item *it, char *err,
    size_t errlen)
{
	char abs[PATH_MAX], sha8[ID_SHA8_LEN + 1];
	const char *base, *dot;
	struct stat st;

	memset(it, 0, sizeof(*it));
	if (!vindex_rel_path_ok(rel))
		return errbuf_set(err, errlen, -1,
		    "%s: not a path inside the state root", rel);
	if (fs_path(abs, sizeof(abs), "%s/%s", state_dir, rel) == -1 ||
	    stat(abs, &st) == -1)
		return errbuf_set(err, errlen, -1, "%s: %s", abs,
		    strerror(errno));
	(void)strlcpy(it->path, rel, sizeof(it->path));
	base = (base = strrchr(rel, '/')) != NULL ? base + 1 : rel;
	if (id_parse_media_name(base, 'V', it->run_id, sizeof(it->run_id),
	    it->segment_id, sizeof(it->segment_id), sha8) == 0)
		(void)strlcpy(it->key, sha8, sizeof(it->key));
	else {
		it->run_id[0] = it->segment_id[0] = '\0';
		dot = strrchr(base, '.');
		(void)snprintf(it->key, sizeof(it->key), "%.*s",
		    (int)(dot != NULL ? dot - base : (long)strlen(base)), base);
	}
	it->file_bytes = (long long)st.st_size;
	it->file_mtime_ns = vindex_st_mtime_ns(&st);
	it->inode = (unsigned long long)st.st_ino;
	it->device = (unsigned long long)st.st_dev;
	clock_utc_iso(it->refreshed_at);
	if (pi != NULL) {
		it->duration = pi->duration;
		it->bitrate_bps = pi->bitrate_bps;
		(void)strlcpy(it->video_codec, pi->video_codec,
		    sizeof(it->video_codec));
		(void)strlcpy(it->audio_codec, pi->audio_codec,
		    sizeof(it->audio_codec));
	}
	return 0;
}
