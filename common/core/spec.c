/* SPDX-License-Identifier: ISC */
/*
 * spec.c: validation of a run spec, the JSON file `rvctl enqueue` queues
 * (SPEC section 2, "Queue input").
 *
 * A spec is outside input: every field the pipeline uses is checked for
 * type, size and shape before anything is queued, and the first problem
 * is reported as one line naming the field, e.g.
 * `segments[2].segment_id: "a_b" is not a valid segment id (letters,
 * digits and '-' only, at most 40)`.  Local files (saved source pages,
 * images) are relative paths that must resolve, after symlinks, inside
 * the spec's own directory and be regular files; images must also start
 * like a PNG, JPEG or WebP file.  Strings must be well-formed UTF-8
 * without control characters (text may hold tabs and newlines); lengths
 * marked "characters" count code points.  No string or key, known or
 * not, may hold "\u0000" (see spec_nul below).  Unknown keys are ignored,
 * a key given twice is an error.  The spec is returned as parsed, not
 * rewritten; nothing here logs or queues.
 *
 * Public: spec_parse, spec_load_file, spec_resolve_path, spec_text_chars.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/errbuf.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/spec.h"

#define FIELD_MAX	96

/* One validation in progress. */
struct vctx {
	const char	*dir;		/* spec's directory, or NULL */
	char		*err;
	size_t		 errlen;
};

static int verr(struct vctx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- "\u0000" inside strings ----------------------------------------
 *
 * cJSON decodes "\u0000" into a NUL byte and hands strings over as C
 * strings, so "RAY-NUL\u0000x" would silently become "RAY-NUL"; the
 * decoded length is not kept.  The escape is therefore found in the raw
 * text: in valid JSON every backslash starts an escape inside a string,
 * and an escape is the backslash and one character (four more hex digits
 * for \u), so stepping escape by escape never takes an escaped backslash
 * followed by "u0000" for the escape.  (Invalid JSON is refused by the
 * parser anyway.)  To name the field, the text is parsed once more with
 * every "\u0000" turned into "\u00XX" for a control character XX that
 * occurs nowhere else in the document (neither raw nor escaped), and the
 * tree is searched for the first key or string holding it.
 */

/* The value of the hex digit <c>, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Step through the escapes of <text>: returns 1 when a "\u0000" occurs,
 * 0 when none does, -1 with *bad at the backslash of a "\u" escape
 * without 4 hex digits (cJSON reads one as U+0000 and cuts the string
 * there); sets bit c of *seen for every control character c (below 0x20)
 * an escape or a raw byte puts in the document.
 */
static int
nul_scan(const char *text, size_t len, uint32_t *seen, size_t *bad)
{
	static const char shorts[] = "b\bf\fn\nr\rt\t";
	const char *sp;
	int nul = 0, a, b, k;
	size_t i;

	*seen = 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)text[i] < 0x20) {
			*seen |= 1U << (unsigned char)text[i];
			continue;
		}
		if (text[i] != '\\' || i + 1 >= len)
			continue;
		i++;
		if (text[i] != 'u') {
			for (sp = shorts; *sp != '\0'; sp += 2)
				if (text[i] == sp[0])
					*seen |= 1U << (unsigned char)sp[1];
			continue;
		}
		for (k = 1; k <= 4; k++)
			if (i + k >= len || hexval(text[i + k]) < 0) {
				*bad = i - 1;
				return -1;
			}
		a = hexval(text[i + 3]);
		b = hexval(text[i + 4]);
		if (text[i + 1] != '0' || text[i + 2] != '0')
			continue;
		if (a == 0 && b == 0)
			nul = 1;
		else if (a == 0 || a == 1)
			*seen |= 1U << (a * 16 + b);
	}
	return nul;
}

/*
 * Find the first key or string under <it> (whose path is <path>) holding
 * the byte <mark>; write its path into <out> and whether it is a key into
 * *key.  Returns true when found.
 */
static bool
nul_find(const cJSON *it, const char *path, char mark, char *out,
    size_t outlen, bool *key)
{
	const cJSON *c;
	char sub[256];
	int i = 0;

	if (cJSON_IsString(it) && strchr(it->valuestring, mark) != NULL) {
		(void)snprintf(out, outlen, "%s", path);
		*key = false;
		return true;
	}
	cJSON_ArrayForEach(c, it) {
		if (cJSON_IsObject(it) && c->string != NULL &&
		    strchr(c->string, mark) != NULL) {
			(void)snprintf(out, outlen, "%s", path);
			*key = true;
			return true;
		}
		if (cJSON_IsObject(it))
			(void)snprintf(sub, sizeof(sub), "%s%s%s",
			    strcmp(path, "spec") == 0 ? "" : path,
			    strcmp(path, "spec") == 0 ? "" : ".",
			    c->string != NULL ? c->string : "?");
		else
			(void)snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		i++;
		if (nul_find(c, sub, mark, out, outlen, key))
			return true;
	}
	return false;
}

/*
 * When <text> holds "\u0000" in a string or key, report the field (or
 * "spec" when it cannot be told) and return -1; else return 0.
 */
static int
spec_nul(struct vctx *v, const char *text, size_t len)
{
	static const char marks[] = "\x01\x02\x03\x04\x05\x06\x07\x0b\x0e"
	    "\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
	    "\x1e\x1f";
	char field[256], *copy;
	const char *end = NULL;
	const char *m;
	uint32_t seen;
	cJSON *root;
	bool key = false, found = false;
	size_t i, bad = 0;
	int r;

	if ((r = nul_scan(text, len, &seen, &bad)) == -1)
		return verr(v, "spec", "not valid JSON (near byte %zu): a "
		    "\\u escape without 4 hex digits", bad);
	if (r == 0)
		return 0;
	for (m = marks; *m != '\0' && (seen & (1U << *m)) != 0; m++)
		;
	if (*m != '\0' && (copy = malloc(len)) != NULL) {
		memcpy(copy, text, len);
		for (i = 0; i + 5 < len; i++) {
			if (copy[i] != '\\')
				continue;
			if (memcmp(copy + i + 1, "u0000", 5) == 0) {
				copy[i + 4] = "0123456789abcdef"[*m >> 4];
				copy[i + 5] = "0123456789abcdef"[*m & 15];
			}
			i++;	/* skip the escaped character */
		}
		root = cJSON_ParseWithLengthOpts(copy, len, &end, false);
		i = end != NULL && end >= copy ? (size_t)(end - copy) : 0;
		free(copy);
		if (root == NULL)
			return verr(v, "spec", "not valid JSON (near byte %zu)",
			    i);
		found = nul_find(root, "spec", *m, field, sizeof(field), &key);
		cJSON_Delete(root);
	}
	if (!found)
		return verr(v, "spec", "a string holds \\u0000 (a NUL "
		    "character), which is not allowed");
	return verr(v, field, "%s \\u0000 (a NUL character), which is not "
	    "allowed", key ? "a key holds" : "holds");
}

/* Report "<field>: <problem>"; returns -1. */
static int
verr(struct vctx *v, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(v->err, v->errlen, "%s: %s", field, msg);
	return -1;
}

/*
 * Count the code points of <s>: -1 when it is not well-formed UTF-8 or
 * holds a control character (tabs and newlines only when <multiline>).
 */
static long
u8_count(const char *s, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;
	int i, more;
	unsigned int cp, min;

	while (*p != '\0') {
		if (*p < 0x80) {
			if ((*p < 0x20 && !(multiline && (*p == '\t' ||
			    *p == '\n' || *p == '\r'))) || *p == 0x7f)
				return -1;
			p++;
			n++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			more = 1;
		else if ((*p & 0xf0) == 0xe0)
			more = 2;
		else if ((*p & 0xf8) == 0xf0)
			more = 3;
		else
			return -1;
		cp = *p & (0x3f >> more);
		min = more == 1 ? 0x80 : more == 2 ? 0x800 : 0x10000;
		for (i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		p += more + 1;
		n++;
	}
	return n;
}

/*
 * Member <key> of <obj>; a key given twice is an error.  Returns 0 with
 * *item (NULL when absent), or -1.
 */
static int
member(struct vctx *v, const cJSON *obj, const char *key, const char *field,
    const cJSON **item)
{
	const cJSON *c;
	int n = 0;

	*item = NULL;
	cJSON_ArrayForEach(c, obj) {
		if (c->string == NULL || strcmp(c->string, key) != 0)
			continue;
		if (n++ > 0)
			return verr(v, field, "given twice");
		*item = c;
	}
	return 0;
}

/*
 * String member <key>: absent is fine unless <required>; otherwise a
 * string of <minc>..<maxc> characters.  *out gets it (NULL when absent).
 */
static int
str_member(struct vctx *v, const cJSON *obj, const char *key,
    const char *field, bool required, long minc, long maxc, bool multiline,
    const char **out)
{
	const cJSON *it;
	long n;

	*out = NULL;
	if (member(v, obj, key, field, &it) == -1)
		return -1;
	if (it == NULL)
		return required ? verr(v, field, "required") : 0;
	if (!cJSON_IsString(it))
		return verr(v, field, "must be a string");
	if ((n = u8_count(it->valuestring, multiline)) == -1)
		return verr(v, field, "not valid UTF-8 text, or holds a "
		    "control character");
	if (n < minc || n > maxc)
		return verr(v, field, "%ld characters, must be %ld to %ld", n,
		    minc, maxc);
	*out = it->valuestring;
	return 0;
}

/* An object member, required or not; *out NULL when absent. */
static int
obj_member(struct vctx *v, const cJSON *obj, const char *key,
    const char *field, bool required, const cJSON **out)
{
	if (member(v, obj, key, field, out) == -1)
		return -1;
	if (*out == NULL)
		return required ? verr(v, field, "required") : 0;
	if (!cJSON_IsObject(*out))
		return verr(v, field, "must be an object");
	return 0;
}

static bool
is_image(const char *path)
{
	static const unsigned char png[8] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'
	};
	unsigned char b[12];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, b, sizeof(b));
	close(fd);
	if (n >= 8 && memcmp(b, png, 8) == 0)
		return true;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return true;
	return n >= 12 && memcmp(b, "RIFF", 4) == 0 &&
	    memcmp(b + 8, "WEBP", 4) == 0;
}

/* A local file member: resolved inside the spec's directory. */
static int
local_file(struct vctx *v, const char *field, const char *rel, bool image)
{
	char path[PATH_MAX], msg[512], q[64];

	if (spec_resolve_path(v->dir, rel, path, sizeof(path), msg,
	    sizeof(msg)) == -1)
		return verr(v, field, "%s", msg);
	if (image && !is_image(path))
		return verr(v, field, "\"%s\" is not a PNG, JPEG or WebP image",
		    errbuf_quote(rel, q, sizeof(q)));
	return 0;
}

static int
check_product(struct vctx *v, const cJSON *root)
{
	const cJSON *prod;
	const char *s;
	size_t i;
	char q[64];

	if (obj_member(v, root, "product", "product", true, &prod) == -1 ||
	    str_member(v, prod, "name", "product.name", true, 1,
	    SPEC_NAME_MAX, false, &s) == -1 ||
	    str_member(v, prod, "asin", "product.asin", false, 0, 20, false,
	    &s) == -1)
		return -1;
	for (i = 0; s != NULL && s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return verr(v, "product.asin", "\"%s\" is not letters "
			    "and digits", errbuf_quote(s, q, sizeof(q)));
	if (str_member(v, prod, "image", "product.image", false, 1, PATH_MAX,
	    false, &s) == -1)
		return -1;
	return s != NULL ? local_file(v, "product.image", s, true) : 0;
}

static int
check_url(struct vctx *v, const char *field, const char *url)
{
	const char *host;
	char q[64];
	size_t i;

	if (strlen(url) > SPEC_URL_MAX)
		return verr(v, field, "longer than %d bytes", SPEC_URL_MAX);
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return verr(v, field, "\"%s\": only http:// and https:// "
		    "URLs", errbuf_quote(url, q, sizeof(q)));
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return verr(v, field, "\"%s\" has no host",
		    errbuf_quote(url, q, sizeof(q)));
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			return verr(v, field, "\"%s\" holds a space or a "
			    "character that must be escaped",
			    errbuf_quote(url, q, sizeof(q)));
	return 0;
}

static int
check_tier(struct vctx *v, const cJSON *src, const char *field)
{
	const cJSON *t;

	if (member(v, src, "tier", field, &t) == -1)
		return -1;
	if (t == NULL)
		return verr(v, field, "required (an integer 1 to 5)");
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) ||
	    t->valuedouble != floor(t->valuedouble) || t->valuedouble < 1 ||
	    t->valuedouble > 5)
		return verr(v, field, "must be an integer 1 to 5");
	return 0;
}

static int
check_source(struct vctx *v, const cJSON *src, int i)
{
	char f[FIELD_MAX], fu[FIELD_MAX], fp[FIELD_MAX], ft[FIELD_MAX];
	const char *url, *path;

	snprintf(f, sizeof(f), "sources[%d]", i);
	snprintf(fu, sizeof(fu), "sources[%d].url", i);
	snprintf(fp, sizeof(fp), "sources[%d].path", i);
	snprintf(ft, sizeof(ft), "sources[%d].tier", i);
	if (!cJSON_IsObject(src))
		return verr(v, f, "must be an object");
	if (str_member(v, src, "url", fu, false, 1, SPEC_URL_MAX, false,
	    &url) == -1 || str_member(v, src, "path", fp, false, 1, PATH_MAX,
	    false, &path) == -1)
		return -1;
	if ((url == NULL) == (path == NULL))
		return verr(v, f, "needs exactly one of url and path");
	if (url != NULL && check_url(v, fu, url) == -1)
		return -1;
	if (path != NULL && local_file(v, fp, path, false) == -1)
		return -1;
	return check_tier(v, src, ft);
}

static int
check_sources(struct vctx *v, const cJSON *root)
{
	const cJSON *arr, *src;
	int i = 0;

	if (member(v, root, "sources", "sources", &arr) == -1)
		return -1;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return verr(v, "sources", "must be an array");
	if (cJSON_GetArraySize(arr) > SPEC_SOURCES_MAX)
		return verr(v, "sources", "%d entries, at most %d",
		    cJSON_GetArraySize(arr), SPEC_SOURCES_MAX);
	cJSON_ArrayForEach(src, arr)
		if (check_source(v, src, i++) == -1)
			return -1;
	return 0;
}

static int
check_segment_id(struct vctx *v, const cJSON *seg, int i, const char **ids)
{
	char f[FIELD_MAX], q[64];
	const cJSON *it;
	int j;

	snprintf(f, sizeof(f), "segments[%d].segment_id", i);
	if (member(v, seg, "segment_id", f, &it) == -1)
		return -1;
	if (it == NULL)
		return verr(v, f, "required");
	if (!cJSON_IsString(it))
		return verr(v, f, "must be a string");
	if (!id_segment_valid(it->valuestring))
		return verr(v, f, "\"%s\" is not a valid segment id (letters, "
		    "digits and '-' only, at most %d)",
		    errbuf_quote(it->valuestring, q, sizeof(q)),
		    ID_SEGMENT_MAX);
	for (j = 0; j < i; j++)
		if (strcmp(ids[j], it->valuestring) == 0)
			return verr(v, f, "\"%s\" is already used by "
			    "segments[%d]", it->valuestring, j);
	ids[i] = it->valuestring;
	return 0;
}

static int
check_kind(struct vctx *v, const cJSON *seg, int i)
{
	static const char *const kinds[] = {
		"intro", "product", "transition", "outro"
	};
	char f[FIELD_MAX], q[64];
	const char *k;
	size_t j;

	snprintf(f, sizeof(f), "segments[%d].kind", i);
	if (str_member(v, seg, "kind", f, true, 1, 32, false, &k) == -1)
		return -1;
	for (j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++)
		if (strcmp(k, kinds[j]) == 0)
			return 0;
	return verr(v, f, "\"%s\" is not one of intro, product, transition, "
	    "outro", errbuf_quote(k, q, sizeof(q)));
}

static int
check_duration(struct vctx *v, const cJSON *seg, int i)
{
	char f[FIELD_MAX];
	const cJSON *d;

	snprintf(f, sizeof(f), "segments[%d].approx_duration_sec", i);
	if (member(v, seg, "approx_duration_sec", f, &d) == -1)
		return -1;
	if (d == NULL)
		return verr(v, f, "required (seconds, 0.5 to 600)");
	if (!cJSON_IsNumber(d) || !isfinite(d->valuedouble) ||
	    d->valuedouble < 0.5 || d->valuedouble > 600)
		return verr(v, f, "must be a number of seconds, 0.5 to 600");
	return 0;
}

static int
check_visual(struct vctx *v, const cJSON *seg, int i)
{
	char f[FIELD_MAX], fp[FIELD_MAX], fi[FIELD_MAX];
	const cJSON *vis;
	const char *s;

	snprintf(f, sizeof(f), "segments[%d].visual", i);
	snprintf(fp, sizeof(fp), "segments[%d].visual.prompt", i);
	snprintf(fi, sizeof(fi), "segments[%d].visual.image", i);
	if (obj_member(v, seg, "visual", f, false, &vis) == -1)
		return -1;
	if (vis == NULL)
		return 0;
	if (str_member(v, vis, "prompt", fp, false, 0, SPEC_PROMPT_MAX, true,
	    &s) == -1 || str_member(v, vis, "image", fi, false, 1, PATH_MAX,
	    false, &s) == -1)
		return -1;
	return s != NULL ? local_file(v, fi, s, true) : 0;
}

static int
check_segment(struct vctx *v, const cJSON *seg, int i, const char **ids)
{
	char f[FIELD_MAX];
	const char *text;

	snprintf(f, sizeof(f), "segments[%d]", i);
	if (!cJSON_IsObject(seg))
		return verr(v, f, "must be an object");
	if (check_segment_id(v, seg, i, ids) == -1 ||
	    check_kind(v, seg, i) == -1)
		return -1;
	snprintf(f, sizeof(f), "segments[%d].text", i);
	if (str_member(v, seg, "text", f, true, 1, SPEC_TEXT_MAX, true,
	    &text) == -1)
		return -1;
	if (check_duration(v, seg, i) == -1)
		return -1;
	return check_visual(v, seg, i);
}

static int
check_segments(struct vctx *v, const cJSON *root)
{
	const char *ids[SPEC_SEGMENTS_MAX];
	const cJSON *arr, *seg;
	int i = 0, n;

	if (member(v, root, "segments", "segments", &arr) == -1)
		return -1;
	if (arr == NULL)
		return verr(v, "segments", "required (1 to %d segments)",
		    SPEC_SEGMENTS_MAX);
	if (!cJSON_IsArray(arr))
		return verr(v, "segments", "must be an array");
	n = cJSON_GetArraySize(arr);
	if (n < 1 || n > SPEC_SEGMENTS_MAX)
		return verr(v, "segments", "%d entries, must be 1 to %d", n,
		    SPEC_SEGMENTS_MAX);
	cJSON_ArrayForEach(seg, arr)
		if (check_segment(v, seg, i++, ids) == -1)
			return -1;
	return 0;
}

static int
check_top(struct vctx *v, const cJSON *root)
{
	const char *s;
	char q[64];
	size_t i;

	if (!cJSON_IsObject(root))
		return verr(v, "spec", "must be a JSON object");
	if (str_member(v, root, "video_id", "video_id", true, 1, ID_VIDEO_MAX,
	    false, &s) == -1)
		return -1;
	if (!id_video_valid(s))
		return verr(v, "video_id", "\"%s\" is not a valid video id "
		    "(letters, digits and '-' only, at most %d)",
		    errbuf_quote(s, q, sizeof(q)), ID_VIDEO_MAX);
	if (str_member(v, root, "task_type", "task_type", false, 0,
	    SPEC_TASK_TYPE_MAX, false, &s) == -1)
		return -1;
	for (i = 0; s != NULL && s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return verr(v, "task_type", "\"%s\": printable "
			    "ASCII without spaces only",
			    errbuf_quote(s, q, sizeof(q)));
	if (check_product(v, root) == -1 || check_sources(v, root) == -1)
		return -1;
	return check_segments(v, root);
}

/*
 * Parse and validate the run spec in <text> (<len> bytes, need not be
 * NUL-terminated).  Local paths resolve against <spec_dir> (NULL: a spec
 * with local paths is refused).  Returns the spec, which the caller
 * deletes, or NULL with <err> naming the first problem.
 */
cJSON *
spec_parse(const char *text, size_t len, const char *spec_dir, char *err,
    size_t errlen)
{
	struct vctx v = { spec_dir, err, errlen };
	const char *end = NULL;
	cJSON *root;

	if (text == NULL || len == 0) {
		verr(&v, "spec", "empty");
		return NULL;
	}
	if (len > SPEC_FILE_MAX) {
		verr(&v, "spec", "larger than %d bytes", SPEC_FILE_MAX);
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		verr(&v, "spec", "holds a NUL byte");
		return NULL;
	}
	if (spec_nul(&v, text, len) == -1)
		return NULL;
	if ((root = cJSON_ParseWithLengthOpts(text, len, &end, false)) ==
	    NULL) {
		verr(&v, "spec", "not valid JSON (near byte %zu)",
		    end != NULL && end >= text ? (size_t)(end - text) : 0);
		return NULL;
	}
	while (end < text + len && (*end == ' ' || *end == '\t' ||
	    *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len) {
		verr(&v, "spec", "data after the JSON value (byte %zu)",
		    (size_t)(end - text));
		cJSON_Delete(root);
		return NULL;
	}
	if (check_top(&v, root) == -1) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/*
 * Read, parse and validate the spec file <path> (at most 1 MiB); its
 * local paths resolve in the file's own directory.  Returns the spec,
 * which the caller deletes, or NULL with <err> filled.
 */
cJSON *
spec_load_file(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX], *slash, *buf;
	struct stat sb;
	size_t len;
	cJSON *root;

	if (stat(path, &sb) == -1 || realpath(path, real) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return NULL;
	}
	if (fs_read_file(real, SPEC_FILE_MAX, &buf, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "larger than 1 MiB" : strerror(errno));
		return NULL;
	}
	if ((slash = strrchr(real, '/')) == real)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	root = spec_parse(buf, len, real, err, errlen);
	free(buf);
	return root;
}

static bool
has_dotdot(const char *rel)
{
	const char *p = rel;

	for (;;) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return true;
		if ((p = strchr(p, '/')) == NULL)
			return false;
		p++;
	}
}

static bool
inside(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/' &&
	    path[n + 1] != '\0';
}

/*
 * Resolve <rel>, a path relative to <spec_dir>, into the absolute path
 * <out>: no leading '/', no ".." component, and after symlinks it must
 * still be inside <spec_dir> and be an existing regular file.  Returns 0,
 * or -1 with <err> (a phrase quoting <rel>, without a field name).
 */
int
spec_resolve_path(const char *spec_dir, const char *rel, char *out,
    size_t outsz, char *err, size_t errlen)
{
	char dir[PATH_MAX], joined[PATH_MAX], real[PATH_MAX], q[64];
	struct stat sb;

	if (rel == NULL || *rel == '\0')
		return errbuf_set(err, errlen, -1, "empty path");
	(void)errbuf_quote(rel, q, sizeof(q));
	if (spec_dir == NULL || *spec_dir == '\0')
		return errbuf_set(err, errlen, -1, "\"%s\": local paths need "
		    "the spec's directory", q);
	if (rel[0] == '/')
		return errbuf_set(err, errlen, -1, "\"%s\" is absolute; paths "
		    "are relative to the spec's directory", q);
	if (has_dotdot(rel))
		return errbuf_set(err, errlen, -1, "\"%s\" contains \"..\"", q);
	if (realpath(spec_dir, dir) == NULL)
		return errbuf_set(err, errlen, -1, "spec directory %s: %s",
		    spec_dir, strerror(errno));
	if (fs_path(joined, sizeof(joined), "%s/%s", dir, rel) == -1)
		return errbuf_set(err, errlen, -1, "\"%s\": path too long", q);
	if (realpath(joined, real) == NULL)
		return errbuf_set(err, errlen, -1, "\"%s\": %s", q,
		    errno == ENOENT ? "no such file in the spec's directory" :
		    strerror(errno));
	if (!inside(dir, real))
		return errbuf_set(err, errlen, -1, "\"%s\" leads outside the "
		    "spec's directory", q);
	if (stat(real, &sb) == -1 || !S_ISREG(sb.st_mode))
		return errbuf_set(err, errlen, -1, "\"%s\" is not a regular "
		    "file", q);
	if (strlcpy(out, real, outsz) >= outsz)
		return errbuf_set(err, errlen, -1, "\"%s\": path too long", q);
	return 0;
}

/*
 * The length in characters of <s> as a segment's text (tabs and newlines
 * allowed), or -1 when it is not well-formed UTF-8 or holds another
 * control character.  rvctl amend checks a new text with it.
 */
long
spec_text_chars(const char *s)
{
	return s != NULL ? u8_count(s, true) : -1;
}
