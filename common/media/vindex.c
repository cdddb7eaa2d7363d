/* SPDX-License-Identifier: ISC */
/*
 * vindex.c: the video index, state/video/index.json (SPEC section 5):
 * its file format, its lock, loading and saving it, and its entries in
 * memory.
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
 * The index is written only whole, as a new file fsynced and renamed
 * over the old one (fs_write_atomic, which also fsyncs the directory; a
 * refresh that changed no entry skips that last fsync, vindex_save_lazy).
 * The items are formatted straight to text, byte for byte as cJSON would
 * print them: building a cJSON tree only to print it cost a warm refresh
 * a fifth of its CPU time.
 *
 * A missing index loads as empty with idx->missing set.  A corrupt one
 * (unparsable, too big, wrong shape) makes vindex_load return
 * VINDEX_CORRUPT and is never overwritten here: every writer refuses, and
 * a caller that wants to rebuild first moves it aside with
 * vindex_quarantine_corrupt().  Cleanup refuses without an index, so a
 * lost index never turns every video into an orphan.
 *
 * This file neither lists video/final/ nor probes anything: the refresh
 * and its process pool are in vindex_refresh.c; repair, orphans and
 * clean-zombies in vindex_clean.c.  The helpers they share with this
 * file are declared in vindex_int.h.  Nothing here logs: functions
 * return a vindex_rc and fill err.
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
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/media/vindex.h"
#include "common/media/vindex_int.h"

static const char *bigint_text(const cJSON *);

/* ---- internals shared with the other vindex files (vindex_int.h) ---- */

int
vindex_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

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
	    !vindex_key_ok(it->key))
		return vindex_fail(err, errlen, -1, "items: bad entry or key");
	if (json_str(o, "path", it->path, sizeof(it->path), true) == -1 ||
	    it->path[0] == '\0')
		return vindex_fail(err, errlen, -1,
		    "items.%s.path: missing or bad", it->key);
#define STR(f) json_str(o, #f, it->f, sizeof(it->f), false) == -1
	if (STR(run_id) || STR(segment_id) || STR(refreshed_at) ||
	    STR(video_codec) || STR(audio_codec))
		return vindex_fail(err, errlen, -1,
		    "items.%s: a text field is not a string or too long",
		    it->key);
#undef STR
	if (json_int(o, "file_bytes", LLONG_MAX, &u[0]) == -1 ||
	    json_int(o, "file_mtime_ns", LLONG_MAX, &u[1]) == -1 ||
	    json_int(o, "inode", ULLONG_MAX, &u[2]) == -1 ||
	    json_int(o, "device", ULLONG_MAX, &u[3]) == -1 ||
	    json_num(o, "duration", 1e9, &dur) == -1 ||
	    json_int(o, "bitrate_bps", LLONG_MAX, &u[4]) == -1)
		return vindex_fail(err, errlen, -1,
		    "items.%s: a number field is not a number or out of range",
		    it->key);
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
		return vindex_fail(err, errlen, -1, "meta_info: not an object");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		l = cJSON_GetObjectItemCaseSensitive(meta, lists[i]);
		if (l != NULL && !cJSON_IsArray(l))
			return vindex_fail(err, errlen, -1,
			    "meta_info.%s: not an array", lists[i]);
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
		return vindex_fail(err, errlen, -1,
		    "top level is not an object");
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, VINDEX_VERSION) != 0)
		return vindex_fail(err, errlen, -1, "version: not \"%s\"",
		    VINDEX_VERSION);
	v = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
	if (!cJSON_IsNumber(v) || v->valuedouble != VINDEX_SCHEMA)
		return vindex_fail(err, errlen, -1, "schema_version: not %d",
		    VINDEX_SCHEMA);
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsObject(items))
		return vindex_fail(err, errlen, -1, "items: not an object");
	n = (size_t)cJSON_GetArraySize(items);
	if (vindex_item_grow(idx, n) == -1)
		return vindex_fail(err, errlen, -1, "items: %zu entries: %s", n,
		    strerror(errno));
	cJSON_ArrayForEach(o, items) {
		if (item_from_json(o, &idx->items[idx->nitems], err,
		    errlen) == -1)
			return -1;
		idx->nitems++;
	}
	if (idx->nitems > 1)
		qsort(idx->items, idx->nitems, sizeof(idx->items[0]),
		    vindex_item_cmp);
	for (n = 1; n < idx->nitems; n++)
		if (strcmp(idx->items[n - 1].key, idx->items[n].key) == 0)
			return vindex_fail(err, errlen, -1,
			    "items: duplicate key %s", idx->items[n].key);
	return meta_from_json(root, idx, err, errlen);
}

/* A string as cJSON prints it: quotes, backslashes, controls escaped. */
static void
put_str(FILE *f, const char *s)
{
	static const char ctl[] = "\b\f\n\r\t", name[] = "bfnrt";
	const unsigned char *p = (const unsigned char *)s, *q;
	const char *c;

	(void)putc('"', f);
	for (;;) {
		for (q = p; *q >= 0x20 && *q != '"' && *q != '\\'; q++)
			;
		(void)fwrite(p, 1, (size_t)(q - p), f);
		if (*q == '\0')
			break;
		if (*q == '"' || *q == '\\')
			(void)fprintf(f, "\\%c", *q);
		else if ((c = strchr(ctl, *q)) != NULL)
			(void)fprintf(f, "\\%c", name[c - ctl]);
		else
			(void)fprintf(f, "\\u%04x", *q);
		p = q + 1;
	}
	(void)putc('"', f);
}

/* A double as cJSON prints it (15 digits when they read back). */
static void
put_num(FILE *f, double d)
{
	char buf[32];
	double back;
	int i;

	if (!isfinite(d)) {
		(void)fputs("null", f);
		return;
	}
	i = d >= INT_MAX ? INT_MAX : d <= INT_MIN ? INT_MIN : (int)d;
	if (d == (double)i) {
		(void)fprintf(f, "%d", i);
		return;
	}
	(void)snprintf(buf, sizeof(buf), "%1.15g", d);
	back = strtod(buf, NULL);
	if (fabs(back - d) > fmax(fabs(back), fabs(d)) * DBL_EPSILON)
		(void)snprintf(buf, sizeof(buf), "%1.17g", d);
	(void)fputs(buf, f);
}

static void
put_field(FILE *f, const char *name, const char *s, bool last)
{
	(void)fprintf(f, "\t\t\t\"%s\":\t", name);
	put_str(f, s);
	(void)fputs(last ? "\n" : ",\n", f);
}

/*
 * The items object as text, formatted exactly as cJSON_Print would at
 * this depth, but written straight out instead of through a tree of
 * twelve cJSON nodes an item.  Returns NULL when memory runs out.
 */
static char *
items_text(const struct vindex *idx)
{
	const struct vindex_item *it;
	char *text = NULL;
	size_t i, len;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	(void)fputs("{\n", f);
	for (i = 0; i < idx->nitems; i++) {
		it = &idx->items[i];
		(void)fputs("\t\t", f);
		put_str(f, it->key);
		(void)fputs(":\t{\n", f);
		put_field(f, "path", it->path, false);
		put_field(f, "run_id", it->run_id, false);
		put_field(f, "segment_id", it->segment_id, false);
		(void)fprintf(f, "\t\t\t\"file_bytes\":\t%lld,\n"
		    "\t\t\t\"file_mtime_ns\":\t%lld,\n"
		    "\t\t\t\"inode\":\t%llu,\n\t\t\t\"device\":\t%llu,\n",
		    it->file_bytes, it->file_mtime_ns, it->inode, it->device);
		put_field(f, "refreshed_at", it->refreshed_at, false);
		(void)fputs("\t\t\t\"duration\":\t", f);
		put_num(f, it->duration);
		(void)fprintf(f, ",\n\t\t\t\"bitrate_bps\":\t%lld,\n",
		    it->bitrate_bps);
		put_field(f, "video_codec", it->video_codec, false);
		put_field(f, "audio_codec", it->audio_codec, true);
		(void)fputs(i + 1 < idx->nitems ? "\t\t},\n" : "\t\t}\n", f);
	}
	(void)fputs("\t}", f);
	if (ferror(f) != 0) {
		(void)fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
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
	cJSON *root, *meta;
	char *text = NULL, *items;

	if ((items = items_text(idx)) == NULL)
		return NULL;
	if ((root = cJSON_CreateObject()) == NULL) {
		free(items);
		return NULL;
	}
	if (cJSON_AddStringToObject(root, "version", VINDEX_VERSION) == NULL ||
	    cJSON_AddNumberToObject(root, "schema_version", VINDEX_SCHEMA) ==
	    NULL || cJSON_AddRawToObject(root, "items", items) == NULL)
		goto out;
	if ((meta = meta_to_json(idx, state_dir)) == NULL)
		goto out;
	if (!cJSON_AddItemToObject(root, "meta_info", meta)) {
		cJSON_Delete(meta);
		goto out;
	}
	text = cJSON_Print(root);
out:
	cJSON_Delete(root);
	free(items);
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
		return vindex_fail(err, errlen, -1, "%s/video: %s", state_dir,
		    strerror(errno));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return vindex_fail(err, errlen, -1, "%s: %s", path,
		    strerror(errno));
	deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		if (flock(fd, op | (timeout_ms < 0 ? 0 : LOCK_NB)) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			(void)vindex_fail(err, errlen, -1, "flock %s: %s", path,
			    strerror(errno));
			break;
		}
		if (timeout_ms >= 0 && clock_mono_ms() >= deadline) {
			(void)vindex_fail(err, errlen, -1,
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
		return vindex_fail(err, errlen, VINDEX_ERR,
		    "index path too long");
	if (fs_read_file(path, VINDEX_FILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT) {
			idx->missing = true;
			return VINDEX_OK;
		}
		if (errno == EFBIG)
			return vindex_fail(err, errlen, VINDEX_CORRUPT,
			    "%s: corrupt: larger than %d bytes", path,
			    VINDEX_FILE_MAX);
		return vindex_fail(err, errlen, VINDEX_ERR, "%s: %s", path,
		    strerror(errno));
	}
	if (memchr(text, '\0', len) != NULL) {
		free(text);
		return vindex_fail(err, errlen, VINDEX_CORRUPT,
		    "%s: corrupt: holds a NUL byte", path);
	}
	tagged = bigints_tag(text, len);
	free(text);
	if (tagged == NULL)
		return vindex_fail(err, errlen, VINDEX_ERR, "%s: out of memory",
		    path);
	root = cJSON_ParseWithOpts(tagged, NULL, true);	/* no trailing junk */
	free(tagged);
	if (root == NULL)
		return vindex_fail(err, errlen, VINDEX_CORRUPT,
		    "%s: corrupt: not valid JSON", path);
	rc = index_from_json(root, idx, why, sizeof(why));
	cJSON_Delete(root);
	if (rc == -1) {
		vindex_clear(idx);
		return vindex_fail(err, errlen, VINDEX_CORRUPT,
		    "%s: corrupt: %s", path, why);
	}
	return VINDEX_OK;
}

/*
 * fs_write_atomic without the final directory fsync: <path>.tmp.<pid> is
 * written and fsynced, then renamed over <path>.  Returns 0, or -1 with
 * errno set and <path> untouched.
 */
static int
write_replace(const char *path, const char *buf, size_t len)
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
		if ((n = write(fd, buf + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
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
		return vindex_fail(err, errlen, VINDEX_ERR, "%s: %s", path,
		    strerror(errno));
	if (index_path(path, sizeof(path), state_dir, "") == -1)
		return vindex_fail(err, errlen, VINDEX_ERR,
		    "index path too long");
	if ((text = index_to_text(idx, state_dir)) == NULL)
		return vindex_fail(err, errlen, VINDEX_ERR,
		    "index: out of memory");
	len = strlen(text);
	r = sync_dir ? fs_write_atomic(path, text, len) :
	    write_replace(path, text, len);
	free(text);
	if (r == -1)
		return vindex_fail(err, errlen, VINDEX_ERR, "write %s: %s",
		    path, strerror(errno));
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
		return vindex_fail(err, errlen, VINDEX_ERR,
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
		rc = vindex_fail(err, errlen, VINDEX_ERR,
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
			(void)vindex_fail(err, errlen, rc, "path too long");
			goto out;
		}
		if (!fs_exists(dst))
			break;
	}
	if (i == 100 || rename(path, dst) == -1 ||
	    fs_path(path, sizeof(path), "%s/video", state_dir) == -1 ||
	    fs_fsync_dir(path) == -1) {
		(void)vindex_fail(err, errlen, rc, "move %s aside: %s", path,
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
		return vindex_fail(err, errlen, -1,
		    "%s: not a path inside the state root", rel);
	if (fs_path(abs, sizeof(abs), "%s/%s", state_dir, rel) == -1 ||
	    stat(abs, &st) == -1)
		return vindex_fail(err, errlen, -1, "%s: %s", abs,
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
