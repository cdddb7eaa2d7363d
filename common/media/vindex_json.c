/* SPDX-License-Identifier: ISC */
/*
 * vindex_json.c: the file format of the video index, state/video/
 * index.json (SPEC section 5): text to entries in memory and back.
 *
 * The file is {"version":"1.0","schema_version":2,"items":{<key>:{...}},
 * "meta_info":{state_root, refresh_history, cleanup_history,
 * repair_history}}.  Decoding checks the whole shape (version, schema,
 * every item's fields, types and ranges, no duplicate key) and says what
 * is wrong in one phrase.  Integers are read back exactly: cJSON reads
 * every number as a double, which cannot hold a nanosecond mtime, so
 * long integers are tagged as strings before parsing (bigints_tag).
 * Encoding formats the items straight to text, byte for byte as
 * cJSON_Print would: building a cJSON tree only to print it cost a warm
 * refresh a fifth of its CPU time.
 *
 * This file neither reads nor writes files and takes no lock: vindex.c
 * does (vindex_load, vindex_save) and holds the paths for the messages.
 *
 * Public (to the vindex files, vindex_json.h): vindex_json_decode,
 * vindex_json_encode, vindex_json_meta_parse.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/errbuf.h"
#include "common/media/vindex.h"
#include "common/media/vindex_json.h"
#include "common/media/vindex_shared.h"

/* ---- decoding ---- */

static const char *bigint_text(const cJSON *);

/* The text member <v> (NULL: absent) into <buf>. */
static int
json_str(const cJSON *v, char *buf, size_t size, bool required)
{
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

/* The number member <v> (NULL: absent), 0 to <max>. */
static int
json_num(const cJSON *v, double max, double *out)
{
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

/* The whole-number member <v> (NULL: absent), 0 to <max>. */
static int
json_int(const cJSON *v, unsigned long long max, unsigned long long *out)
{
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

/* An entry's members, in the order vindex_json_encode writes them. */
enum {
	F_PATH, F_RUN, F_SEG, F_BYTES, F_MTIME, F_INODE, F_DEVICE, F_REFRESHED,
	F_DURATION, F_BITRATE, F_VCODEC, F_ACODEC, F_N
};
static const char *const field_names[F_N] = {
	"path", "run_id", "segment_id", "file_bytes", "file_mtime_ns",
	"inode", "device", "refreshed_at", "duration", "bitrate_bps",
	"video_codec", "audio_codec"
};

/*
 * The first member of each name of <o> into f[] (NULL: absent), in one
 * walk: each member's name is compared with the one expected after the
 * last match first, so an entry in our own order costs one strcmp a
 * member (a lookup by name walks the list from the start every time).
 */
static void
item_fields(const cJSON *o, const cJSON *f[F_N])
{
	const cJSON *c;
	size_t k, i, next = 0;

	for (k = 0; k < F_N; k++)
		f[k] = NULL;
	cJSON_ArrayForEach(c, o) {
		if (c->string == NULL)
			continue;
		for (i = 0; i < F_N; i++) {
			k = (next + i) % F_N;
			if (strcmp(c->string, field_names[k]) == 0) {
				if (f[k] == NULL)
					f[k] = c;
				next = k + 1;
				break;
			}
		}
	}
}

static int
item_from_json(const cJSON *o, struct vindex_item *it, char *err,
    size_t errlen)
{
	const cJSON *f[F_N];
	unsigned long long u[5];
	double dur;

	memset(it, 0, sizeof(*it));
	if (!cJSON_IsObject(o) || o->string == NULL ||
	    strlcpy(it->key, o->string, sizeof(it->key)) >= sizeof(it->key) ||
	    !vindex_key_ok(it->key))
		return errbuf_set(err, errlen, -1, "items: bad entry or key");
	item_fields(o, f);
	if (json_str(f[F_PATH], it->path, sizeof(it->path), true) == -1 ||
	    it->path[0] == '\0')
		return errbuf_set(err, errlen, -1,
		    "items.%s.path: missing or bad", it->key);
#define STR(k, fld) json_str(f[k], it->fld, sizeof(it->fld), false) == -1
	if (STR(F_RUN, run_id) || STR(F_SEG, segment_id) ||
	    STR(F_REFRESHED, refreshed_at) || STR(F_VCODEC, video_codec) ||
	    STR(F_ACODEC, audio_codec))
		return errbuf_set(err, errlen, -1,
		    "items.%s: a text field is not a string or too long",
		    it->key);
#undef STR
	if (json_int(f[F_BYTES], LLONG_MAX, &u[0]) == -1 ||
	    json_int(f[F_MTIME], LLONG_MAX, &u[1]) == -1 ||
	    json_int(f[F_INODE], ULLONG_MAX, &u[2]) == -1 ||
	    json_int(f[F_DEVICE], ULLONG_MAX, &u[3]) == -1 ||
	    json_num(f[F_DURATION], 1e9, &dur) == -1 ||
	    json_int(f[F_BITRATE], LLONG_MAX, &u[4]) == -1)
		return errbuf_set(err, errlen, -1,
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
		return errbuf_set(err, errlen, -1, "meta_info: not an object");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		l = cJSON_GetObjectItemCaseSensitive(meta, lists[i]);
		if (l != NULL && !cJSON_IsArray(l))
			return errbuf_set(err, errlen, -1,
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
		return errbuf_set(err, errlen, -1,
		    "top level is not an object");
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, VINDEX_VERSION) != 0)
		return errbuf_set(err, errlen, -1, "version: not \"%s\"",
		    VINDEX_VERSION);
	v = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
	if (!cJSON_IsNumber(v) || v->valuedouble != VINDEX_SCHEMA)
		return errbuf_set(err, errlen, -1, "schema_version: not %d",
		    VINDEX_SCHEMA);
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsObject(items))
		return errbuf_set(err, errlen, -1, "items: not an object");
	n = (size_t)cJSON_GetArraySize(items);
	if (vindex_item_grow(idx, n) == -1)
		return errbuf_set(err, errlen, -1, "items: %zu entries: %s", n,
		    strerror(errno));
	cJSON_ArrayForEach(o, items) {
		if (item_from_json(o, &idx->items[idx->nitems], err,
		    errlen) == -1)
			return -1;
		idx->nitems++;
	}
	/* we write the items by key: sort (moving whole items) only if not */
	for (n = 1; n < idx->nitems; n++)
		if (vindex_item_cmp(&idx->items[n - 1], &idx->items[n]) > 0)
			break;
	if (n < idx->nitems)
		qsort(idx->items, idx->nitems, sizeof(idx->items[0]),
		    vindex_item_cmp);
	for (n = 1; n < idx->nitems; n++)
		if (strcmp(idx->items[n - 1].key, idx->items[n].key) == 0)
			return errbuf_set(err, errlen, -1,
			    "items: duplicate key %s", idx->items[n].key);
	return meta_from_json(root, idx, err, errlen);
}

/*
 * meta_info as vindex_json_encode's caller keeps it (long integers raw)
 * from <len> bytes of its JSON text, which need no NUL.  Returns the
 * object, or NULL when the text is not one (or memory ran out).
 */
cJSON *
vindex_json_meta_parse(const char *text, size_t len)
{
	cJSON *meta;
	char *tagged;

	if (memchr(text, '\0', len) != NULL ||
	    (tagged = bigints_tag(text, len)) == NULL)
		return NULL;
	meta = cJSON_ParseWithOpts(tagged, NULL, true);
	free(tagged);
	if (meta != NULL && !cJSON_IsObject(meta)) {
		cJSON_Delete(meta);
		return NULL;
	}
	if (meta != NULL)
		bigints_untag(meta);
	return meta;
}

/*
 * Read the text of index.json into <idx> (empty, initialised by the
 * caller).  Takes <text> (<len> bytes, from malloc) and frees it as soon
 * as it is parsed.  Returns VINDEX_OK; VINDEX_CORRUPT with a phrase in
 * <why> (no path) for a NUL byte, text that is not JSON or the wrong
 * shape, <idx> left empty; VINDEX_ERR with <why> "out of memory".
 */
int
vindex_json_decode(char *text, size_t len, struct vindex *idx, char *why,
    size_t whylen)
{
	cJSON *root;
	char *tagged;
	int rc;

	if (memchr(text, '\0', len) != NULL) {
		free(text);
		return errbuf_set(why, whylen, VINDEX_CORRUPT,
		    "holds a NUL byte");
	}
	tagged = bigints_tag(text, len);
	free(text);
	if (tagged == NULL)
		return errbuf_set(why, whylen, VINDEX_ERR, "out of memory");
	root = cJSON_ParseWithOpts(tagged, NULL, true);	/* no trailing junk */
	free(tagged);
	if (root == NULL)
		return errbuf_set(why, whylen, VINDEX_CORRUPT,
		    "not valid JSON");
	rc = index_from_json(root, idx, why, whylen);
	cJSON_Delete(root);
	if (rc == -1) {
		vindex_clear(idx);
		return VINDEX_CORRUPT;
	}
	return VINDEX_OK;
}

/* ---- encoding ---- */

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

/*
 * The whole index as the text of index.json, cJSON_Print's layout, with
 * meta_info.state_root set to the real path of <state_dir> and each
 * history list cut to VINDEX_HISTORY_MAX.  The caller frees the result.
 * Returns NULL when memory runs out.
 */
char *
vindex_json_encode(const struct vindex *idx, const char *state_dir)
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
