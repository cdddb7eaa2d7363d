/* SPDX-License-Identifier: ISC */
/*
 * vindex.c: the video index, state/video/index.json, and the operator
 * operations built on it (SPEC sections 5 and 6).
 *
 * The file is {"version":"1.0","schema_version":2,"items":{<key>:{...}},
 * "meta_info":{state_root, refresh_history, cleanup_history,
 * repair_history}}.  Keys are the sha8 of the file name, or the file stem
 * for names without one when the caller allows it.  Item paths are
 * relative to the state root, so the index survives a moved state
 * directory; entries written by older tools with other paths are kept as
 * they are and reported by vindex_repair().  Integers are written and read
 * back exactly (nanosecond mtimes do not fit a double; see bigints_tag).
 *
 * Locking: every writer holds an exclusive flock on index.json.lock
 * (vindex_lock); readers may hold a shared one.  vindex_load/vindex_save
 * do not lock: the caller holds the lock around them.  The operations
 * (vindex_put, vindex_refresh, vindex_repair, vindex_orphans,
 * vindex_clean_zombies, vindex_quarantine_corrupt) take it themselves.
 * The index is written only with fs_write_atomic.
 *
 * A missing index loads as empty with idx->missing set.  A corrupt one
 * (unparsable, too big, wrong shape) makes vindex_load return
 * VINDEX_CORRUPT and is never overwritten here: every writer refuses, and
 * a caller that wants to rebuild first moves it aside with
 * vindex_quarantine_corrupt().  Cleanup refuses without an index, so a
 * lost index never turns every video into an orphan.
 *
 * vindex_refresh probes in parallel with a pool of forked processes (not
 * threads: probe_file forks ffprobe and makes no thread-safety promise);
 * results come back through shared memory.  The index is read under a
 * shared lock, files are probed without any lock, and the results are
 * merged into a freshly loaded index under the exclusive lock, so a probe
 * stage upserting meanwhile loses nothing.  Files written in the last
 * 2 s get one common 300 ms stability check; older files none.
 *
 * Nothing here logs: functions return a vindex_rc and fill err.
 *
 * Public: vindex_init, vindex_clear, vindex_find, vindex_upsert,
 * vindex_remove, vindex_history_add, vindex_rel_path_ok, vindex_item_fill,
 * vindex_lock, vindex_unlock, vindex_load, vindex_save, vindex_put,
 * vindex_quarantine_corrupt, vindex_refresh, vindex_repair,
 * vindex_orphans, vindex_clean_zombies and the report _clear functions.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/ids.h"
#include "common/probe.h"
#include "common/subproc.h"
#include "common/vindex.h"

#define RECENT_NS	2000000000LL	/* younger: check stability first */
#define STABLE_WAIT_MS	300
#define JOBS_MAX	64

static int	fail(char *, size_t, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static const char *bigint_text(const cJSON *);

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static long long
st_mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL +
	    st->st_mtim.tv_nsec;
}

static int	note_add(struct vindex_notes *, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

static int
note_add(struct vindex_notes *nn, const char *name, const char *what,
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

void
vindex_files_clear(struct vindex_files *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}

void
vindex_refresh_report_clear(struct vindex_refresh_report *rep)
{
	vindex_notes_clear(&rep->notes);
	memset(rep, 0, sizeof(*rep));
}

void
vindex_repair_report_clear(struct vindex_repair_report *rep)
{
	vindex_notes_clear(&rep->notes);
	memset(rep, 0, sizeof(*rep));
}

void
vindex_zombie_report_clear(struct vindex_zombie_report *rep)
{
	vindex_notes_clear(&rep->notes);
	memset(rep, 0, sizeof(*rep));
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

static int
item_cmp(const void *a, const void *b)
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

static int
item_grow(struct vindex *idx, size_t need)
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

static bool
key_ok(const char *k)
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

	if (!key_ok(item->key) || !vindex_rel_path_ok(item->path)) {
		errno = EINVAL;
		return -1;
	}
	if ((i = item_search(idx, item->key)) >= 0) {
		idx->items[i] = *item;
		return 0;
	}
	at = (size_t)(-i - 1);
	if (item_grow(idx, idx->nitems + 1) == -1)
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

/* ---- JSON <-> items ---- */

static int
json_str(const cJSON *o, const char *name, char *buf, size_t size,
    bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	buf[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return required ? -1 : 0;
	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    bigint_text(v) != NULL)
		return -1;
	return strlcpy(buf, v->valuestring, size) < size ? 0 : -1;
}

/*
 * cJSON reads every number as a double, which cannot hold a nanosecond
 * mtime exactly.  Before parsing, integers of BIGINT_DIGITS or more digits
 * outside strings become strings tagged with BIGINT_MARK (a byte no valid
 * JSON text holds raw); they are read back exactly below.
 */
#define BIGINT_MARK	'\x01'
#define BIGINT_DIGITS	16

static char *
bigints_tag(const char *t, size_t len)
{
	bool in_str = false, esc = false;
	size_t i, j, k;
	char *out, *o;

	if ((out = malloc(len + len / 4 + 16)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		if (in_str || t[i] == '"') {
			if (!in_str)
				in_str = true;
			else if (esc)
				esc = false;
			else if (t[i] == '\\')
				esc = true;
			else if (t[i] == '"')
				in_str = false;
			*o++ = t[i];
			continue;
		}
		if (t[i] != '-' && !isdigit((unsigned char)t[i])) {
			*o++ = t[i];
			continue;
		}
		for (j = i + 1; j < len && isdigit((unsigned char)t[j]); j++)
			;
		for (k = j; k < len && t[k] != '\0' &&
		    strchr("0123456789.eE+-", t[k]) != NULL; k++)
			;
		if (k == j && j - i >= BIGINT_DIGITS + (t[i] == '-')) {
			*o++ = '"';
			*o++ = BIGINT_MARK;
		}
		memcpy(o, t + i, k - i);
		o += k - i;
		if (k == j && j - i >= BIGINT_DIGITS + (t[i] == '-'))
			*o++ = '"';
		i = k - 1;
	}
	*o = '\0';
	return out;
}

static const char *
bigint_text(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring != NULL &&
	    v->valuestring[0] == BIGINT_MARK ? v->valuestring + 1 : NULL;
}

/* Tagged integers left in meta_info go back to exact raw numbers. */
static void
bigints_untag(cJSON *node)
{
	cJSON *c;

	for (c = node->child; c != NULL; c = c->next) {
		if (bigint_text(c) != NULL) {
			memmove(c->valuestring, c->valuestring + 1,
			    strlen(c->valuestring));
			c->type = cJSON_Raw;
		} else
			bigints_untag(c);
	}
}

static int
json_num(const cJSON *o, const char *name, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	const char *t;
	char *end;

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if ((t = bigint_text(v)) != NULL) {
		errno = 0;
		*out = strtod(t, &end);
		if (errno != 0 || *end != '\0')
			return -1;
	} else if (cJSON_IsNumber(v))
		*out = v->valuedouble;
	else
		return -1;
	return isfinite(*out) && *out >= 0 && *out <= max ? 0 : -1;
}

static int
json_int(const cJSON *o, const char *name, unsigned long long max,
    unsigned long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	const char *t;
	char *end;

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if ((t = bigint_text(v)) != NULL) {
		if (!isdigit((unsigned char)t[0]))
			return -1;
		errno = 0;
		*out = strtoull(t, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
	} else if (cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
	    v->valuedouble >= 0 && v->valuedouble < 1.8e19)
		*out = (unsigned long long)v->valuedouble;
	else
		return -1;
	return *out <= max ? 0 : -1;
}

static int
item_from_json(const cJSON *o, struct vindex_item *it, char *err,
    size_t errlen)
{
	unsigned long long u[5];
	double dur;

	memset(it, 0, sizeof(*it));
	if (!cJSON_IsObject(o) || o->string == NULL ||
	    strlcpy(it->key, o->string, sizeof(it->key)) >= sizeof(it->key) ||
	    !key_ok(it->key))
		return fail(err, errlen, -1, "items: bad entry or key");
	if (json_str(o, "path", it->path, sizeof(it->path), true) == -1 ||
	    it->path[0] == '\0')
		return fail(err, errlen, -1, "items.%s.path: missing or bad",
		    it->key);
#define STR(f) json_str(o, #f, it->f, sizeof(it->f), false) == -1
	if (STR(run_id) || STR(segment_id) || STR(refreshed_at) ||
	    STR(video_codec) || STR(audio_codec))
		return fail(err, errlen, -1, "items.%s: a text field is not "
		    "a string or too long", it->key);
#undef STR
	if (json_int(o, "file_bytes", LLONG_MAX, &u[0]) == -1 ||
	    json_int(o, "file_mtime_ns", LLONG_MAX, &u[1]) == -1 ||
	    json_int(o, "inode", ULLONG_MAX, &u[2]) == -1 ||
	    json_int(o, "device", ULLONG_MAX, &u[3]) == -1 ||
	    json_num(o, "duration", 1e9, &dur) == -1 ||
	    json_int(o, "bitrate_bps", LLONG_MAX, &u[4]) == -1)
		return fail(err, errlen, -1, "items.%s: a number field is "
		    "not a number or out of range", it->key);
	it->file_bytes = (long long)u[0];
	it->file_mtime_ns = (long long)u[1];
	it->inode = u[2];
	it->device = u[3];
	it->duration = dur;
	it->bitrate_bps = (long long)u[4];
	return 0;
}

static int
meta_from_json(cJSON *root, struct vindex *idx, char *err, size_t errlen)
{
	static const char *lists[] = { "refresh_history", "cleanup_history",
	    "repair_history" };
	cJSON *meta, *l;
	size_t i;

	meta = cJSON_GetObjectItemCaseSensitive(root, "meta_info");
	if (meta == NULL || cJSON_IsNull(meta))
		return 0;
	if (!cJSON_IsObject(meta))
		return fail(err, errlen, -1, "meta_info: not an object");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		l = cJSON_GetObjectItemCaseSensitive(meta, lists[i]);
		if (l != NULL && !cJSON_IsArray(l))
			return fail(err, errlen, -1, "meta_info.%s: not an "
			    "array", lists[i]);
	}
	idx->meta = cJSON_DetachItemViaPointer(root, meta);
	bigints_untag(idx->meta);
	return 0;
}

static int
index_from_json(cJSON *root, struct vindex *idx, char *err, size_t errlen)
{
	const cJSON *v, *items, *o;
	size_t n;

	if (!cJSON_IsObject(root))
		return fail(err, errlen, -1, "top level is not an object");
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, VINDEX_VERSION) != 0)
		return fail(err, errlen, -1, "version: not \"%s\"",
		    VINDEX_VERSION);
	v = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
	if (!cJSON_IsNumber(v) || v->valuedouble != VINDEX_SCHEMA)
		return fail(err, errlen, -1, "schema_version: not %d",
		    VINDEX_SCHEMA);
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsObject(items))
		return fail(err, errlen, -1, "items: not an object");
	n = (size_t)cJSON_GetArraySize(items);
	if (item_grow(idx, n) == -1)
		return fail(err, errlen, -1, "items: %zu entries: %s", n,
		    strerror(errno));
	cJSON_ArrayForEach(o, items) {
		if (item_from_json(o, &idx->items[idx->nitems], err,
		    errlen) == -1)
			return -1;
		idx->nitems++;
	}
	if (idx->nitems > 1)
		qsort(idx->items, idx->nitems, sizeof(idx->items[0]),
		    item_cmp);
	for (n = 1; n < idx->nitems; n++)
		if (strcmp(idx->items[n - 1].key, idx->items[n].key) == 0)
			return fail(err, errlen, -1, "items: duplicate key %s",
			    idx->items[n].key);
	return meta_from_json(root, idx, err, errlen);
}

static bool
add_int(cJSON *o, const char *name, long long v)
{
	char buf[32];

	(void)snprintf(buf, sizeof(buf), "%lld", v);
	return cJSON_AddRawToObject(o, name, buf) != NULL;
}

static bool
add_uint(cJSON *o, const char *name, unsigned long long v)
{
	char buf[32];

	(void)snprintf(buf, sizeof(buf), "%llu", v);
	return cJSON_AddRawToObject(o, name, buf) != NULL;
}

static cJSON *
item_to_json(const struct vindex_item *it)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "path", it->path) == NULL ||
	    cJSON_AddStringToObject(o, "run_id", it->run_id) == NULL ||
	    cJSON_AddStringToObject(o, "segment_id", it->segment_id) == NULL ||
	    !add_int(o, "file_bytes", it->file_bytes) ||
	    !add_int(o, "file_mtime_ns", it->file_mtime_ns) ||
	    !add_uint(o, "inode", it->inode) ||
	    !add_uint(o, "device", it->device) ||
	    cJSON_AddStringToObject(o, "refreshed_at", it->refreshed_at) ==
	    NULL ||
	    cJSON_AddNumberToObject(o, "duration", it->duration) == NULL ||
	    !add_int(o, "bitrate_bps", it->bitrate_bps) ||
	    cJSON_AddStringToObject(o, "video_codec", it->video_codec) ==
	    NULL ||
	    cJSON_AddStringToObject(o, "audio_codec", it->audio_codec) ==
	    NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *
meta_to_json(const struct vindex *idx, const char *state_dir)
{
	static const char *lists[] = { "refresh_history", "cleanup_history",
	    "repair_history" };
	char root[PATH_MAX];
	cJSON *m, *l;
	size_t i;

	m = idx->meta != NULL ? cJSON_Duplicate(idx->meta, true) :
	    cJSON_CreateObject();
	if (m == NULL)
		return NULL;
	if (realpath(state_dir, root) == NULL)
		(void)strlcpy(root, state_dir, sizeof(root));
	cJSON_DeleteItemFromObjectCaseSensitive(m, "state_root");
	if (cJSON_AddStringToObject(m, "state_root", root) == NULL)
		goto fail;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		l = cJSON_GetObjectItemCaseSensitive(m, lists[i]);
		if (l == NULL && (l = cJSON_AddArrayToObject(m, lists[i])) ==
		    NULL)
			goto fail;
		while (cJSON_GetArraySize(l) > VINDEX_HISTORY_MAX)
			cJSON_DeleteItemFromArray(l, 0);
	}
	return m;
fail:
	cJSON_Delete(m);
	return NULL;
}

static char *
index_to_text(const struct vindex *idx, const char *state_dir)
{
	cJSON *root, *items, *o, *meta;
	char *text = NULL;
	size_t i;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(root, "version", VINDEX_VERSION) == NULL ||
	    cJSON_AddNumberToObject(root, "schema_version", VINDEX_SCHEMA) ==
	    NULL || (items = cJSON_AddObjectToObject(root, "items")) == NULL)
		goto out;
	for (i = 0; i < idx->nitems; i++) {
		if ((o = item_to_json(&idx->items[i])) == NULL)
			goto out;
		if (!cJSON_AddItemToObject(items, idx->items[i].key, o)) {
			cJSON_Delete(o);
			goto out;
		}
	}
	if ((meta = meta_to_json(idx, state_dir)) == NULL)
		goto out;
	if (!cJSON_AddItemToObject(root, "meta_info", meta)) {
		cJSON_Delete(meta);
		goto out;
	}
	text = cJSON_Print(root);
out:
	cJSON_Delete(root);
	return text;
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
		return fail(err, errlen, -1, "%s/video: %s", state_dir,
		    strerror(errno));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return fail(err, errlen, -1, "%s: %s", path, strerror(errno));
	deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		if (flock(fd, op | (timeout_ms < 0 ? 0 : LOCK_NB)) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			(void)fail(err, errlen, -1, "flock %s: %s", path,
			    strerror(errno));
			break;
		}
		if (timeout_ms >= 0 && clock_mono_ms() >= deadline) {
			(void)fail(err, errlen, -1, "%s is held by another "
			    "process (waited %d ms)", path, timeout_ms);
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
	cJSON *root;
	char *text, *tagged;
	size_t len;
	int rc;

	vindex_clear(idx);
	if (index_path(path, sizeof(path), state_dir, "") == -1)
		return fail(err, errlen, VINDEX_ERR, "index path too long");
	if (fs_read_file(path, VINDEX_FILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT) {
			idx->missing = true;
			return VINDEX_OK;
		}
		if (errno == EFBIG)
			return fail(err, errlen, VINDEX_CORRUPT, "%s: corrupt: "
			    "larger than %d bytes", path, VINDEX_FILE_MAX);
		return fail(err, errlen, VINDEX_ERR, "%s: %s", path,
		    strerror(errno));
	}
	if (memchr(text, '\0', len) != NULL) {
		free(text);
		return fail(err, errlen, VINDEX_CORRUPT, "%s: corrupt: holds "
		    "a NUL byte", path);
	}
	tagged = bigints_tag(text, len);
	free(text);
	if (tagged == NULL)
		return fail(err, errlen, VINDEX_ERR, "%s: out of memory", path);
	root = cJSON_ParseWithOpts(tagged, NULL, true);	/* no trailing junk */
	free(tagged);
	if (root == NULL)
		return fail(err, errlen, VINDEX_CORRUPT, "%s: corrupt: not "
		    "valid JSON", path);
	rc = index_from_json(root, idx, why, sizeof(why));
	cJSON_Delete(root);
	if (rc == -1) {
		vindex_clear(idx);
		return fail(err, errlen, VINDEX_CORRUPT, "%s: corrupt: %s",
		    path, why);
	}
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
	char path[PATH_MAX];
	char *text;
	int r;

	if (fs_path(path, sizeof(path), "%s/video", state_dir) == -1 ||
	    fs_mkdirs(path, 0700) == -1)
		return fail(err, errlen, VINDEX_ERR, "%s: %s", path,
		    strerror(errno));
	if (index_path(path, sizeof(path), state_dir, "") == -1)
		return fail(err, errlen, VINDEX_ERR, "index path too long");
	if ((text = index_to_text(idx, state_dir)) == NULL)
		return fail(err, errlen, VINDEX_ERR, "index: out of memory");
	r = fs_write_atomic(path, text, strlen(text));
	free(text);
	if (r == -1)
		return fail(err, errlen, VINDEX_ERR, "write %s: %s", path,
		    strerror(errno));
	idx->missing = false;
	return VINDEX_OK;
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
		return fail(err, errlen, VINDEX_ERR, "index entry %s (%s): %s",
		    it->key, it->path, strerror(errno));
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
		rc = fail(err, errlen, VINDEX_ERR, "index is %s; nothing to "
		    "move aside", idx.missing ? "missing" : "valid");
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
			(void)fail(err, errlen, rc, "path too long");
			goto out;
		}
		if (!fs_exists(dst))
			break;
	}
	if (i == 100 || rename(path, dst) == -1 ||
	    fs_path(path, sizeof(path), "%s/video", state_dir) == -1 ||
	    fs_fsync_dir(path) == -1) {
		(void)fail(err, errlen, rc, "move %s aside: %s", path,
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
		return fail(err, errlen, -1, "%s: not a path inside the state "
		    "root", rel);
	if (fs_path(abs, sizeof(abs), "%s/%s", state_dir, rel) == -1 ||
	    stat(abs, &st) == -1)
		return fail(err, errlen, -1, "%s: %s", abs, strerror(errno));
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
	it->file_mtime_ns = st_mtime_ns(&st);
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

static bool
is_mp4(const char *name)
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
		(void)note_add(nn, e->name, "skipped", "no sha8 in the name "
		    "(V_<run>_<segment>_<sha8>.mp4)");
		return false;
	}
	if (n > VINDEX_KEY_MAX) {
		(void)note_add(nn, e->name, "skipped", "name too long");
		return false;
	}
	memcpy(e->key, e->name, n);
	e->key[n] = '\0';
	return key_ok(e->key);
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
		return fail(err, errlen, VINDEX_ERR, "state path too long");
	if ((d = opendir(sc->dir)) == NULL)
		return errno == ENOENT ? 0 : fail(err, errlen, VINDEX_ERR,
		    "%s: %s", sc->dir, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!is_mp4(de->d_name) || strlen(de->d_name) >= 256)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode)) {
			(void)note_add(nn, de->d_name, "skipped",
			    "not a regular file");
			(*skipped)++;
			continue;
		}
		if (sc->n >= VINDEX_ITEMS_MAX || scan_add(sc, de->d_name,
		    &st) == -1) {
			(void)closedir(d);
			return fail(err, errlen, VINDEX_ERR, "%s: more than %d "
			    "files or out of memory", sc->dir,
			    VINDEX_ITEMS_MAX);
		}
	}
	if (errno != 0) {
		(void)fail(err, errlen, VINDEX_ERR, "readdir %s: %s", sc->dir,
		    strerror(errno));
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
			(void)note_add(&rep->notes, e->name, "skipped",
			    "key %s already used by another file", e->key);
			continue;
		}
		(void)snprintf(rel, sizeof(rel), VINDEX_FINAL_DIR "/%s",
		    e->name);
		it = vindex_find(idx, e->key);
		if (!o->force && it != NULL && strcmp(it->path, rel) == 0 &&
		    it->file_bytes == (long long)e->st.st_size &&
		    it->file_mtime_ns == st_mtime_ns(&e->st))
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
		    now_ns - st_mtime_ns(&sc->v[i].st) < RECENT_NS)
			recent++;
	if (recent == 0)
		return 0;
	if (wait_ticking(STABLE_WAIT_MS, prog) == -1)
		return -1;
	for (i = 0; i < sc->n; i++) {
		e = &sc->v[i];
		if (e->what != ENT_PROBE ||
		    now_ns - st_mtime_ns(&e->st) >= RECENT_NS)
			continue;
		if (fs_path(path, sizeof(path), "%s/%s", sc->dir,
		    e->name) == 0 && lstat(path, &st) == 0 &&
		    st.st_size == e->st.st_size &&
		    st_mtime_ns(&st) == st_mtime_ns(&e->st))
			continue;
		e->what = ENT_SKIP;
		(void)note_add(nn, e->name, "skipped", "still being written");
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
		return fail(err, errlen, VINDEX_ERR, "mmap: %s",
		    strerror(errno));
	memset(p, 0, sz);
	p->n = n;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		(void)munmap(p, sz);
		return fail(err, errlen, VINDEX_ERR, "pipe: %s",
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
	rc = started == 0 ? fail(err, errlen, VINDEX_ERR, "fork: %s",
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
	return rc == -1 ? fail(err, errlen, VINDEX_STOPPED, "stopped") : 0;
}

static int
refresh_jobs(const struct vindex_refresh_opts *o)
{
	long n = o->jobs > 0 ? o->jobs : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > JOBS_MAX ? JOBS_MAX : (int)n;
}

static int
refresh_probe(struct scan *sc, const struct vindex_refresh_opts *o,
    struct progress *prog, struct vindex_refresh_report *rep, char *err,
    size_t errlen)
{
	struct scan_ent **work;
	size_t i, n = 0;
	int rc;

	if ((work = calloc(sc->n + 1, sizeof(*work))) == NULL)
		return fail(err, errlen, VINDEX_ERR, "out of memory");
	for (i = 0; i < sc->n; i++)
		if (sc->v[i].what == ENT_PROBE)
			work[n++] = &sc->v[i];
	rc = n == 0 ? 0 : pool_run(work, n, refresh_jobs(o), sc->dir, prog,
	    err, errlen);
	for (i = 0; rc == 0 && i < n; i++) {
		rep->probed++;
		if (work[i]->rc != 0) {
			rep->failed++;
			(void)note_add(&rep->notes, work[i]->name, "failed",
			    "%s", work[i]->err);
		}
	}
	free(work);
	return rc;
}

/*
 * Merge one scanned file into the freshly loaded <idx>.  Returns 1 when
 * *out holds a new entry to append, 0 otherwise.
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
		if (it != NULL && strcmp(it->path, rel) == 0 &&
		    it->file_mtime_ns == st_mtime_ns(&e->st)) {
			it->inode = (unsigned long long)e->st.st_ino;
			it->device = (unsigned long long)e->st.st_dev;
		}
		return 0;
	}
	if (e->what != ENT_PROBE || e->rc != 0)
		return 0;
	if (vindex_item_fill(state_dir, rel, &e->info, out, why,
	    sizeof(why)) == -1 || out->file_bytes !=
	    (long long)e->st.st_size || out->file_mtime_ns !=
	    st_mtime_ns(&e->st)) {
		rep->failed++;
		(void)note_add(&rep->notes, e->name, "failed", "changed or "
		    "vanished while being probed");
		return 0;
	}
	(void)strlcpy(out->key, e->key, sizeof(out->key));
	(void)strlcpy(out->run_id, e->run_id, sizeof(out->run_id));
	(void)strlcpy(out->segment_id, e->segment_id,
	    sizeof(out->segment_id));
	if (it == NULL)
		return 1;
	*it = *out;
	return 0;
}

/* Append the new entries of a refresh in one go, then sort once. */
static int
apply_new(struct vindex *idx, const struct vindex_item *nv, size_t n)
{
	if (n == 0)
		return 0;
	if (item_grow(idx, idx->nitems + n) == -1)
		return -1;
	memcpy(&idx->items[idx->nitems], nv, n * sizeof(*nv));
	idx->nitems += n;
	qsort(idx->items, idx->nitems, sizeof(idx->items[0]), item_cmp);
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
			(void)note_add(&rep->notes, idx->items[i].path,
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

static int
refresh_apply(const char *state_dir, struct scan *sc,
    const struct vindex_refresh_opts *o, struct vindex_refresh_report *rep,
    char *err, size_t errlen)
{
	struct vindex idx;
	struct vindex_item *nv;
	size_t i, n = 0;
	int fd, rc;

	if ((nv = calloc(sc->n + 1, sizeof(*nv))) == NULL)
		return fail(err, errlen, VINDEX_ERR, "out of memory");
	if ((fd = vindex_lock(state_dir, true, o->lock_timeout_ms > 0 ?
	    o->lock_timeout_ms : VINDEX_LOCK_TIMEOUT_MS, err, errlen)) == -1) {
		free(nv);
		return VINDEX_ERR;
	}
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) != VINDEX_OK)
		goto out;
	for (i = 0; i < sc->n; i++)
		n += (size_t)apply_ent(state_dir, &idx, &sc->v[i], &nv[n],
		    rep);
	if (apply_new(&idx, nv, n) == -1) {
		rc = fail(err, errlen, VINDEX_ERR, "index: %s",
		    strerror(errno));
		goto out;
	}
	if (o->prune)
		apply_prune(state_dir, &idx, rep);
	if (vindex_history_add(&idx, "refresh_history",
	    refresh_entry(o, rep)) == -1)
		rc = fail(err, errlen, VINDEX_ERR, "out of memory");
	else
		rc = vindex_save(state_dir, &idx, err, errlen);
out:
	vindex_clear(&idx);
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
	size_t i;
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	memset(&sc, 0, sizeof(sc));
	vindex_init(&idx);
	if ((fd = vindex_lock(state_dir, false, o->lock_timeout_ms > 0 ?
	    o->lock_timeout_ms : VINDEX_LOCK_TIMEOUT_MS, err, errlen)) == -1)
		return VINDEX_ERR;
	rc = vindex_load(state_dir, &idx, err, errlen);
	vindex_unlock(fd);
	if (rc != VINDEX_OK)
		return rc;
	rep->index_missing = idx.missing;
	if ((rc = scan_final(state_dir, &sc, &rep->notes, &rep->skipped, err,
	    errlen)) != 0)
		goto out;
	rep->scanned = sc.n + rep->skipped;
	scan_classify(&sc, &idx, o, rep);
	if (!o->dry_run && scan_stabilise(&sc, prog, &rep->notes) == -1) {
		rc = fail(err, errlen, VINDEX_STOPPED, "stopped");
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
	    (rc = refresh_apply(state_dir, &sc, o, rep, err, errlen)) != 0)
		goto out;
	rc = rep->failed > INT_MAX ? INT_MAX : (int)rep->failed;
out:
	vindex_clear(&idx);
	free(sc.v);
	return rc;
}

/* ---- repair, orphans, clean-zombies ---- */

enum path_class { PATH_OK, PATH_MISSING, PATH_OUTSIDE };

/* Where does an entry's path lead?  <root> is the real state root. */
static enum path_class
path_classify(const char *state_dir, const char *root, const char *rel)
{
	char abs[PATH_MAX], real[PATH_MAX];
	size_t n = strlen(root);

	if (!vindex_rel_path_ok(rel))
		return PATH_OUTSIDE;
	if (fs_path(abs, sizeof(abs), "%s/%s", state_dir, rel) == -1)
		return PATH_OUTSIDE;
	if (realpath(abs, real) == NULL)
		return PATH_MISSING;
	if (strncmp(real, root, n) != 0 || real[n] != '/')
		return PATH_OUTSIDE;
	return PATH_OK;
}

static cJSON *
repair_entry(const struct vindex_repair_report *rep)
{
	char at[CLOCK_ISO_LEN];
	cJSON *h;

	if ((h = cJSON_CreateObject()) == NULL)
		return NULL;
	clock_utc_iso(at);
	(void)cJSON_AddStringToObject(h, "at", at);
	(void)cJSON_AddNumberToObject(h, "checked", (double)rep->checked);
	(void)cJSON_AddNumberToObject(h, "missing", (double)rep->missing);
	(void)cJSON_AddNumberToObject(h, "outside", (double)rep->outside);
	(void)cJSON_AddNumberToObject(h, "removed", (double)rep->removed);
	return h;
}

/* Classify every entry; with <apply>, drop the bad ones. */
static void
repair_scan(const char *state_dir, const char *root, struct vindex *idx,
    bool apply, struct vindex_repair_report *rep)
{
	struct vindex_item *it;
	enum path_class c;
	size_t i, j;

	for (i = j = 0; i < idx->nitems; i++) {
		it = &idx->items[i];
		rep->checked++;
		if ((c = path_classify(state_dir, root, it->path)) == PATH_OK) {
			idx->items[j++] = *it;
			continue;
		}
		if (c == PATH_MISSING)
			rep->missing++;
		else
			rep->outside++;
		(void)note_add(&rep->notes, it->path, c == PATH_MISSING ?
		    "missing" : "outside", "entry %s: %s", it->key,
		    c == PATH_MISSING ? "file is gone" :
		    "path leaves the state root");
		if (apply)
			rep->removed++;
		else
			idx->items[j++] = *it;
	}
	idx->nitems = j;
}

/*
 * Find entries whose file is gone or whose path leaves the state root;
 * with <apply>, remove them and append a repair_history entry (a dry run
 * writes nothing).  Returns VINDEX_OK, VINDEX_NOINDEX, VINDEX_CORRUPT or
 * VINDEX_ERR.
 */
int
vindex_repair(const char *state_dir, bool apply,
    struct vindex_repair_report *rep, char *err, size_t errlen)
{
	struct vindex idx;
	char root[PATH_MAX];
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	if (realpath(state_dir, root) == NULL)
		return fail(err, errlen, VINDEX_ERR, "%s: %s", state_dir,
		    strerror(errno));
	if ((fd = vindex_lock(state_dir, apply, VINDEX_LOCK_TIMEOUT_MS, err,
	    errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) != VINDEX_OK)
		goto out;
	if (idx.missing) {
		rc = fail(err, errlen, VINDEX_NOINDEX, "index missing: "
		    "nothing to repair");
		goto out;
	}
	repair_scan(state_dir, root, &idx, apply, rep);
	if (apply) {
		rep->applied = true;
		if (vindex_history_add(&idx, "repair_history",
		    repair_entry(rep)) == -1)
			rc = fail(err, errlen, VINDEX_ERR, "out of memory");
		else
			rc = vindex_save(state_dir, &idx, err, errlen);
	}
out:
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}

struct devino {
	unsigned long long dev, ino;
};

static int
devino_cmp(const void *a, const void *b)
{
	const struct devino *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static bool
file_indexed(const struct vindex *idx, const struct devino *di,
    const char *name, const struct stat *st)
{
	struct devino k;
	char rel[VINDEX_PATH_MAX];
	long i;

	(void)snprintf(rel, sizeof(rel), VINDEX_FINAL_DIR "/%s", name);
	k.dev = (unsigned long long)st->st_dev;
	k.ino = (unsigned long long)st->st_ino;
	if (di != NULL && idx->nitems > 0 && bsearch(&k, di, idx->nitems,
	    sizeof(*di), devino_cmp) != NULL)
		return true;
	for (i = 0; i < (long)idx->nitems; i++)
		if (strcmp(idx->items[i].path, rel) == 0)
			return true;
	return false;
}

static int
files_add(struct vindex_files *f, const char *name, const struct stat *st)
{
	struct vindex_file *v;
	size_t cap;

	if (f->n == f->cap) {
		cap = f->cap == 0 ? 16 : f->cap * 2;
		if (cap > VINDEX_ITEMS_MAX ||
		    (v = reallocarray(f->v, cap, sizeof(*v))) == NULL)
			return -1;
		f->v = v;
		f->cap = cap;
	}
	v = &f->v[f->n++];
	(void)strlcpy(v->name, name, sizeof(v->name));
	v->bytes = (long long)st->st_size;
	v->mtime_ns = st_mtime_ns(st);
	return 0;
}

/*
 * Regular final/<name>.mp4 files that no entry names, by path or by device
 * and inode (so an entry written with another path still counts).
 */
static int
orphans_scan(const char *state_dir, const struct vindex *idx,
    struct vindex_files *out, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct devino *di;
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;
	int rc = 0;

	if (fs_path(dir, sizeof(dir), "%s/" VINDEX_FINAL_DIR, state_dir) == -1)
		return fail(err, errlen, VINDEX_ERR, "state path too long");
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : fail(err, errlen, VINDEX_ERR,
		    "%s: %s", dir, strerror(errno));
	if ((di = calloc(idx->nitems + 1, sizeof(*di))) != NULL) {
		for (i = 0; i < idx->nitems; i++) {
			di[i].dev = idx->items[i].device;
			di[i].ino = idx->items[i].inode;
		}
		qsort(di, idx->nitems, sizeof(*di), devino_cmp);
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_mp4(de->d_name) || strlen(de->d_name) >= 256 ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) ||
		    file_indexed(idx, di, de->d_name, &st))
			continue;
		if (files_add(out, de->d_name, &st) == -1) {
			rc = fail(err, errlen, VINDEX_ERR, "%s: too many "
			    "orphans or out of memory", dir);
			break;
		}
	}
	free(di);
	(void)closedir(d);
	return rc;
}

/*
 * Files in video/final/ that the index does not know, into <out> (the
 * caller clears it with vindex_files_clear).  Refuses with VINDEX_NOINDEX
 * when there is no index (every file would look orphaned) and with
 * VINDEX_CORRUPT when it cannot be read.
 */
int
vindex_orphans(const char *state_dir, struct vindex_files *out, char *err,
    size_t errlen)
{
	struct vindex idx;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((fd = vindex_lock(state_dir, false, VINDEX_LOCK_TIMEOUT_MS, err,
	    errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) == VINDEX_OK) {
		if (idx.missing)
			rc = fail(err, errlen, VINDEX_NOINDEX, "index missing: "
			    "run index-refresh first");
		else
			rc = orphans_scan(state_dir, &idx, out, err, errlen);
	}
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}

static int
file_newest_first(const void *a, const void *b)
{
	const struct vindex_file *x = a, *y = b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns > y->mtime_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Rename final/<name> to quarantine/<name>[.N]. */
static int
zombie_move(const char *state_dir, const char *name, char *why,
    size_t whylen)
{
	char src[PATH_MAX], dst[PATH_MAX], qdir[PATH_MAX];
	int i;

	if (fs_path(src, sizeof(src), "%s/" VINDEX_FINAL_DIR "/%s", state_dir,
	    name) == -1 || fs_path(qdir, sizeof(qdir), "%s/"
	    VINDEX_QUARANTINE_DIR, state_dir) == -1 ||
	    fs_mkdirs(qdir, 0700) == -1)
		return fail(why, whylen, -1, "%s: %s", qdir, strerror(errno));
	for (i = 0; i < 100; i++) {
		if ((i == 0 ? fs_path(dst, sizeof(dst), "%s/%s", qdir, name) :
		    fs_path(dst, sizeof(dst), "%s/%s.%d", qdir, name, i)) == -1)
			return fail(why, whylen, -1, "path too long");
		if (!fs_exists(dst))
			break;
	}
	if (i == 100 || rename(src, dst) == -1)
		return fail(why, whylen, -1, "move to %s: %s", qdir,
		    i == 100 ? "too many copies" : strerror(errno));
	return 0;
}

/* Decide and act on one orphan (sorted newest first, <rank> 0-based). */
static void
zombie_one(const char *state_dir, const struct vindex_zombie_opts *o,
    const struct vindex_file *f, size_t *rank,
    struct vindex_zombie_report *rep)
{
	char path[PATH_MAX], why[256];
	long long age = (long long)o->now - f->mtime_ns / 1000000000LL;

	if (f->bytes < o->min_size_kb * 1024) {
		rep->kept_small++;
		(void)note_add(&rep->notes, f->name, "kept", "smaller than "
		    "%lld KB", o->min_size_kb);
	} else if ((*rank)++ < (size_t)o->keep_last_n) {
		rep->kept_recent++;
		(void)note_add(&rep->notes, f->name, "kept", "one of the %d "
		    "newest", o->keep_last_n);
	} else if (o->delete && age > o->delete_age_sec) {
		if (!o->dry_run && (fs_path(path, sizeof(path), "%s/"
		    VINDEX_FINAL_DIR "/%s", state_dir, f->name) == -1 ||
		    unlink(path) == -1)) {
			rep->errors++;
			(void)note_add(&rep->notes, f->name, "error", "delete: "
			    "%s", strerror(errno));
			return;
		}
		rep->deleted++;
		(void)note_add(&rep->notes, f->name, "deleted", "orphan "
		    "%lld s old", age);
	} else if (age > o->quarantine_age_sec) {
		if (!o->dry_run && zombie_move(state_dir, f->name, why,
		    sizeof(why)) == -1) {
			rep->errors++;
			(void)note_add(&rep->notes, f->name, "error", "%s",
			    why);
			return;
		}
		rep->quarantined++;
		(void)note_add(&rep->notes, f->name, "quarantined", "orphan "
		    "%lld s old", age);
	} else {
		rep->kept_young++;
		(void)note_add(&rep->notes, f->name, "kept", "younger than "
		    "%ld s", o->quarantine_age_sec);
	}
}

static cJSON *
zombie_entry(const struct vindex_zombie_opts *o,
    const struct vindex_zombie_report *rep)
{
	char at[CLOCK_ISO_LEN];
	cJSON *h;

	if ((h = cJSON_CreateObject()) == NULL)
		return NULL;
	clock_utc_iso(at);
	(void)cJSON_AddStringToObject(h, "at", at);
	(void)cJSON_AddStringToObject(h, "mode", o->delete ? "delete" :
	    "quarantine");
	(void)cJSON_AddNumberToObject(h, "orphans", (double)rep->orphans);
	(void)cJSON_AddNumberToObject(h, "quarantined",
	    (double)rep->quarantined);
	(void)cJSON_AddNumberToObject(h, "deleted", (double)rep->deleted);
	(void)cJSON_AddNumberToObject(h, "kept_small",
	    (double)rep->kept_small);
	(void)cJSON_AddNumberToObject(h, "kept_recent",
	    (double)rep->kept_recent);
	(void)cJSON_AddNumberToObject(h, "kept_young",
	    (double)rep->kept_young);
	(void)cJSON_AddNumberToObject(h, "errors", (double)rep->errors);
	return h;
}

/* Zero fields take the defaults; negative ones mean "none". */
static void
zombie_defaults(const struct vindex_zombie_opts *in,
    struct vindex_zombie_opts *o)
{
	*o = *in;
	if (o->min_size_kb == 0)
		o->min_size_kb = 500;
	else if (o->min_size_kb < 0)
		o->min_size_kb = 0;
	if (o->keep_last_n == 0)
		o->keep_last_n = 2;
	else if (o->keep_last_n < 0)
		o->keep_last_n = 0;
	if (o->quarantine_age_sec <= 0)
		o->quarantine_age_sec = 6 * 3600;
	if (o->delete_age_sec <= 0)
		o->delete_age_sec = 48 * 3600;
	if (o->now == 0)
		o->now = time(NULL);
}

/*
 * clean-zombies (SPEC section 6).  Orphans under min_size_kb are kept;
 * of the rest, the keep_last_n newest are kept; older than delete_age
 * are deleted when opts->delete; older than quarantine_age are moved to
 * video/quarantine/; younger ones are kept.  All of it happens under the
 * exclusive lock, so a video being finalized is never taken for an
 * orphan.  Refuses with VINDEX_NOINDEX or VINDEX_CORRUPT when the index
 * is missing or unreadable.  Appends cleanup_history unless dry_run.
 * Returns VINDEX_OK (per-file errors are counted in rep->errors).
 */
int
vindex_clean_zombies(const char *state_dir,
    const struct vindex_zombie_opts *opts, struct vindex_zombie_report *rep,
    char *err, size_t errlen)
{
	struct vindex_zombie_opts o;
	struct vindex_files orphans;
	struct vindex idx;
	char dir[PATH_MAX];
	size_t i, rank = 0;
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	memset(&orphans, 0, sizeof(orphans));
	zombie_defaults(opts, &o);
	if ((fd = vindex_lock(state_dir, true, VINDEX_LOCK_TIMEOUT_MS, err,
	    errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) != VINDEX_OK)
		goto out;
	if (idx.missing) {
		rc = fail(err, errlen, VINDEX_NOINDEX, "index missing: "
		    "refusing to clean (every video would look orphaned); run "
		    "index-refresh first");
		goto out;
	}
	if ((rc = orphans_scan(state_dir, &idx, &orphans, err, errlen)) != 0)
		goto out;
	rep->orphans = orphans.n;
	if (orphans.n > 1)
		qsort(orphans.v, orphans.n, sizeof(orphans.v[0]),
		    file_newest_first);
	for (i = 0; i < orphans.n; i++)
		zombie_one(state_dir, &o, &orphans.v[i], &rank, rep);
	if (!o.dry_run && rep->quarantined + rep->deleted > 0 &&
	    fs_path(dir, sizeof(dir), "%s/" VINDEX_FINAL_DIR, state_dir) == 0)
		(void)fs_fsync_dir(dir);
	if (!o.dry_run && rep->quarantined > 0 && fs_path(dir, sizeof(dir),
	    "%s/" VINDEX_QUARANTINE_DIR, state_dir) == 0)
		(void)fs_fsync_dir(dir);
	if (o.dry_run)
		goto out;
	if (vindex_history_add(&idx, "cleanup_history",
	    zombie_entry(&o, rep)) == -1)
		rc = fail(err, errlen, VINDEX_ERR, "out of memory");
	else
		rc = vindex_save(state_dir, &idx, err, errlen);
out:
	vindex_files_clear(&orphans);
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}
