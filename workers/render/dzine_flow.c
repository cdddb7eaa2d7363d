/* SPDX-License-Identifier: ISC */
/*
 * dzine_flow.c: the Dzine flow file, parsed and validated.
 *
 * The flow file (config/dzine_flow.json by default, DZINE_FLOW_FILE
 * elsewhere; described in docs/dzine.md) says how to drive the site: the
 * base URL and two step lists, "preflight" (read the credits balance) and
 * "render" (upload, prompt, generate, wait, download).  Selectors, URLs
 * and texts are values in the file, never in the program, because the
 * operator verifies them against the live site.  Everything is checked
 * when the file is read, before a browser starts: unknown steps or keys,
 * missing or oversized fields, unknown {placeholders}, timeouts out of
 * range, and the shape of the render list (exactly one generate click,
 * a download after it), and every problem names the step.  The steps are
 * played by workers/render/dzine_run.c.
 *
 * Also here: the small text helpers both sides share (placeholders,
 * numbers and credit balances as the page shows them, JavaScript string
 * literals).  Nothing here logs.
 *
 * Public: dz_flow_parse, dz_flow_load, dz_flow_free, dz_expand,
 * dz_parse_credits, dz_parse_number, dz_js_string, dz_kind_name.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "workers/render/dzine_flow.h"

#define TIMEOUT_MAX_MS	(4 * 3600 * 1000)

struct kind_def {
	const char	*name;
	enum dz_kind	 kind;
	int		 timeout_ms;	/* default */
	const char	*keys;		/* allowed keys besides step, comment */
};

static const struct kind_def kind_defs[] = {
	{ "navigate", DZ_NAVIGATE, 30000, ",url,timeout_ms," },
	{ "wait_selector", DZ_WAIT_SELECTOR, 30000,
	    ",selector,error_selector,timeout_ms," },
	{ "set_files", DZ_SET_FILES, DZ_CMD_MS,
	    ",selector,files,optional,timeout_ms," },
	{ "type", DZ_TYPE, DZ_CMD_MS, ",selector,text,timeout_ms," },
	{ "click", DZ_CLICK, DZ_CMD_MS, ",selector,generate,timeout_ms," },
	{ "wait_progress", DZ_WAIT_PROGRESS, 1800000,
	    ",selector,attribute,done_selector,error_selector,timeout_ms," },
	{ "read_credits", DZ_READ_CREDITS, 15000,
	    ",selector,as,timeout_ms," },
	{ "wait_download", DZ_WAIT_DOWNLOAD, 600000,
	    ",selector,timeout_ms," },
	{ "read_error", DZ_READ_ERROR, DZ_CMD_MS, ",selector,timeout_ms," },
};
#define NKINDS	(sizeof(kind_defs) / sizeof(kind_defs[0]))

static const char *slot_names[DZ_NSLOTS] = { "balance", "before", "after" };

/* A step kind's name in the flow file; a static string. */
const char *
dz_kind_name(enum dz_kind k)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (kind_defs[i].kind == k)
			return kind_defs[i].name;
	return "?";
}

/*
 * Expand {base} {image} {audio} {prompt} in <tmpl> into <out>.  Returns
 * 0, or -1: EINVAL for an unknown placeholder, ENAMETOOLONG when the
 * result does not fit.
 */
int
dz_expand(const char *tmpl, const struct dz_vars *v, char *out, size_t size)
{
	static const char *names[] = { "base", "image", "audio", "prompt" };
	const char *vals[4], *p = tmpl, *end, *add;
	size_t o = 0, n, i;

	vals[0] = v->base;
	vals[1] = v->image;
	vals[2] = v->audio;
	vals[3] = v->prompt;
	while (*p != '\0') {
		add = p;
		n = 1;
		if (*p == '{' && (end = strchr(p, '}')) != NULL) {
			for (i = 0; i < 4; i++)
				if (strlen(names[i]) == (size_t)(end - p - 1) &&
				    strncmp(p + 1, names[i], (size_t)(end - p -
				    1)) == 0)
					break;
			if (i == 4) {
				errno = EINVAL;
				return -1;
			}
			add = vals[i] != NULL ? vals[i] : "";
			n = strlen(add);
			p = end;
		}
		if (o + n >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(out + o, add, n);
		o += n;
		p++;
	}
	out[o] = '\0';
	return 0;
}

/*
 * A credits balance as a page shows it ("1,250", "1.250 credits",
 * "Credits: 980"): the first run of digits, group separators skipped.
 * Returns the number, or -1 when there is none (or it is absurd).
 */
long
dz_parse_credits(const char *text)
{
	const char *p = text;
	long v = 0;
	int digits = 0;

	while (*p != '\0' && !isdigit((unsigned char)*p))
		p++;
	for (; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p)) {
			if (++digits > 12)
				return -1;
			v = v * 10 + (*p - '0');
		} else if ((*p == ',' || *p == '.' || *p == ' ' ||
		    *p == '\'') && isdigit((unsigned char)p[1]))
			continue;
		else
			break;
	}
	return digits > 0 ? v : -1;
}

/* The first decimal number in <text> ("37%", "0.37", "Step 2: 40"). */
int
dz_parse_number(const char *text, double *out)
{
	const char *p = text;
	char *end;

	while (*p != '\0' && !isdigit((unsigned char)*p))
		p++;
	if (*p == '\0')
		return -1;
	errno = 0;
	*out = strtod(p, &end);
	return end == p || errno != 0 ? -1 : 0;
}

/* <s> as a JavaScript string literal (a JSON string) in <out>. */
int
dz_js_string(const char *s, char *out, size_t size)
{
	cJSON *j = cJSON_CreateString(s);
	char *t = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
	int rc = -1;

	if (t != NULL && strlcpy(out, t, size) < size)
		rc = 0;
	free(t);
	cJSON_Delete(j);
	return rc;
}

static bool
key_allowed(const struct kind_def *d, const char *key)
{
	char pat[80];

	if (strcmp(key, "step") == 0 || strcmp(key, "comment") == 0)
		return true;
	snprintf(pat, sizeof(pat), ",%s,", key);
	return strstr(d->keys, pat) != NULL;
}

static bool
text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

/* Copy the string member <key> of <o>; -1 with <err> when it is bad. */
static int
get_str(const cJSON *o, const char *key, bool required, char *dst,
    size_t size, const char *where, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	const char *s = cJSON_GetStringValue(v);

	if (v == NULL && !required)
		return 0;
	if (s == NULL || (required && s[0] == '\0')) {
		snprintf(err, errlen, "%s: \"%s\" must be a non-empty string",
		    where, key);
		return -1;
	}
	if (strlen(s) >= size || !text_ok(s)) {
		snprintf(err, errlen, "%s: \"%s\" is too long or has control "
		    "characters", where, key);
		return -1;
	}
	strlcpy(dst, s, size);
	return 0;
}

static int
check_template(const char *t, const char *key, const char *where, char *err,
    size_t errlen)
{
	struct dz_vars v = { "", "", "", "" };
	char out[DZ_TEXT_MAX];

	if (dz_expand(t, &v, out, sizeof(out)) == -1 && errno == EINVAL) {
		snprintf(err, errlen, "%s: \"%s\" has an unknown {placeholder} "
		    "(known: {base} {image} {audio} {prompt})", where, key);
		return -1;
	}
	return 0;
}

static int
get_files(const cJSON *o, struct dz_step *s, const char *where, char *err,
    size_t errlen)
{
	const cJSON *a = cJSON_GetObjectItem(o, "files"), *f;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 ||
	    cJSON_GetArraySize(a) > DZ_FILES_MAX) {
		snprintf(err, errlen, "%s: \"files\" must be an array of 1 to "
		    "%d templates", where, DZ_FILES_MAX);
		return -1;
	}
	cJSON_ArrayForEach(f, a) {
		if (!cJSON_IsString(f) || strlen(f->valuestring) >=
		    sizeof(s->files[0]) || check_template(f->valuestring,
		    "files", where, err, errlen) == -1) {
			if (err[0] == '\0')
				snprintf(err, errlen, "%s: \"files\" holds a "
				    "bad template", where);
			return -1;
		}
		strlcpy(s->files[s->nfiles++], f->valuestring,
		    sizeof(s->files[0]));
	}
	return 0;
}

static int
get_options(const cJSON *o, const struct kind_def *d, struct dz_step *s,
    const char *where, char *err, size_t errlen)
{
	const cJSON *t = cJSON_GetObjectItem(o, "timeout_ms");
	const char *as = cJSON_GetStringValue(cJSON_GetObjectItem(o, "as"));
	int i;

	s->timeout_ms = d->timeout_ms;
	if (t != NULL && (!cJSON_IsNumber(t) || t->valuedouble < 1 ||
	    t->valuedouble > TIMEOUT_MAX_MS)) {
		snprintf(err, errlen, "%s: \"timeout_ms\" must be a number "
		    "from 1 to %d", where, TIMEOUT_MAX_MS);
		return -1;
	}
	if (t != NULL)
		s->timeout_ms = (int)t->valuedouble;
	s->optional = cJSON_IsTrue(cJSON_GetObjectItem(o, "optional"));
	s->generate = cJSON_IsTrue(cJSON_GetObjectItem(o, "generate"));
	s->slot = DZ_SLOT_BALANCE;
	if (cJSON_GetObjectItem(o, "as") == NULL)
		return 0;
	for (i = 0; as != NULL && i < DZ_NSLOTS; i++)
		if (strcmp(as, slot_names[i]) == 0) {
			s->slot = (enum dz_slot)i;
			return 0;
		}
	snprintf(err, errlen, "%s: \"as\" must be balance, before or after",
	    where);
	return -1;
}

static int
parse_fields(const cJSON *o, struct dz_step *s, const char *where, char *err,
    size_t errlen)
{
	bool sel = s->kind != DZ_NAVIGATE;

	if (get_str(o, "selector", sel, s->selector, sizeof(s->selector),
	    where, err, errlen) == -1 ||
	    get_str(o, "error_selector", false, s->error_selector,
	    sizeof(s->error_selector), where, err, errlen) == -1 ||
	    get_str(o, "done_selector", s->kind == DZ_WAIT_PROGRESS,
	    s->done_selector, sizeof(s->done_selector), where, err,
	    errlen) == -1 ||
	    get_str(o, "attribute", false, s->attribute, sizeof(s->attribute),
	    where, err, errlen) == -1)
		return -1;
	if (s->kind == DZ_NAVIGATE && (get_str(o, "url", true, s->text,
	    sizeof(s->text), where, err, errlen) == -1 ||
	    check_template(s->text, "url", where, err, errlen) == -1))
		return -1;
	if (s->kind == DZ_TYPE && (get_str(o, "text", true, s->text,
	    sizeof(s->text), where, err, errlen) == -1 ||
	    check_template(s->text, "text", where, err, errlen) == -1))
		return -1;
	if (s->kind == DZ_SET_FILES && get_files(o, s, where, err,
	    errlen) == -1)
		return -1;
	return 0;
}

static int
parse_step(const cJSON *o, const char *where, struct dz_step *s, char *err,
    size_t errlen)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(o,
	    "step"));
	const struct kind_def *d = NULL;
	const cJSON *k;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (!cJSON_IsObject(o) || name == NULL) {
		snprintf(err, errlen, "%s: not an object with a \"step\"",
		    where);
		return -1;
	}
	for (i = 0; i < NKINDS && d == NULL; i++)
		if (strcmp(kind_defs[i].name, name) == 0)
			d = &kind_defs[i];
	if (d == NULL) {
		snprintf(err, errlen, "%s: unknown step \"%.40s\"", where,
		    name);
		return -1;
	}
	s->kind = d->kind;
	cJSON_ArrayForEach(k, o)
		if (!key_allowed(d, k->string)) {
			snprintf(err, errlen, "%s (%s): unknown key \"%.40s\"",
			    where, d->name, k->string);
			return -1;
		}
	if (parse_fields(o, s, where, err, errlen) == -1)
		return -1;
	return get_options(o, d, s, where, err, errlen);
}

static int
parse_list(const cJSON *root, const char *name, struct dz_step *steps,
    size_t *n, char *err, size_t errlen)
{
	const cJSON *a = cJSON_GetObjectItem(root, name), *o;
	char where[64];

	*n = 0;
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 ||
	    cJSON_GetArraySize(a) > DZ_STEPS_MAX) {
		snprintf(err, errlen, "\"%s\" must be an array of 1 to %d "
		    "steps", name, DZ_STEPS_MAX);
		return -1;
	}
	cJSON_ArrayForEach(o, a) {
		snprintf(where, sizeof(where), "%s[%zu]", name, *n);
		if (parse_step(o, where, &steps[*n], err, errlen) == -1)
			return -1;
		(*n)++;
	}
	return 0;
}

/*
 * The render list: one generate click, a download after it; the
 * preflight: a balance read, and nothing that spends.
 */
static int
check_render(const struct dz_flow *f, char *err, size_t errlen)
{
	size_t i, gen = f->nrender, ngen = 0;
	bool dl = false;

	for (i = 0; i < f->nrender; i++) {
		if (f->render[i].kind == DZ_CLICK && f->render[i].generate) {
			gen = i;
			ngen++;
		}
		if (f->render[i].kind == DZ_WAIT_DOWNLOAD && ngen > 0)
			dl = true;
	}
	if (ngen != 1) {
		snprintf(err, errlen, "\"render\" needs exactly one click with "
		    "\"generate\": true (has %zu)", ngen);
		return -1;
	}
	if (!dl) {
		snprintf(err, errlen, "\"render\" needs a wait_download step "
		    "after the generate click (render[%zu])", gen);
		return -1;
	}
	for (i = 0; i < f->npreflight; i++)
		if (f->preflight[i].generate ||
		    f->preflight[i].kind == DZ_WAIT_DOWNLOAD) {
			snprintf(err, errlen, "preflight[%zu]: the preflight "
			    "only reads; it may not generate or download", i);
			return -1;
		}
	for (i = 0; i < f->npreflight; i++)
		if (f->preflight[i].kind == DZ_READ_CREDITS &&
		    f->preflight[i].slot == DZ_SLOT_BALANCE)
			return 0;
	snprintf(err, errlen, "\"preflight\" needs a read_credits step (as "
	    "balance)");
	return -1;
}

/*
 * Build a flow from the parsed JSON <root> (borrowed).  Returns a new flow
 * (free with dz_flow_free), or NULL with every problem's first in <err>.
 */
struct dz_flow *
dz_flow_parse(const cJSON *root, char *err, size_t errlen)
{
	const cJSON *ver = cJSON_GetObjectItem(root, "flow_version");
	struct dz_flow *f;

	err[0] = '\0';
	if (!cJSON_IsObject(root) || !cJSON_IsNumber(ver) ||
	    ver->valuedouble != 1) {
		snprintf(err, errlen, "not a flow file (\"flow_version\": 1 "
		    "expected)");
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (get_str(root, "base_url", true, f->base_url, sizeof(f->base_url),
	    "flow", err, errlen) == -1)
		goto fail;
	if (strncmp(f->base_url, "https://", 8) != 0 &&
	    strncmp(f->base_url, "http://", 7) != 0) {
		snprintf(err, errlen, "flow: \"base_url\" must be an http(s) "
		    "URL");
		goto fail;
	}
	if (parse_list(root, "preflight", f->preflight, &f->npreflight, err,
	    errlen) == -1 || parse_list(root, "render", f->render,
	    &f->nrender, err, errlen) == -1 || check_render(f, err,
	    errlen) == -1)
		goto fail;
	return f;
fail:
	free(f);
	return NULL;
}

/* Read and parse the flow file <path>; NULL with <err> naming the file. */
struct dz_flow *
dz_flow_load(const char *path, char *err, size_t errlen)
{
	char *txt = NULL, why[512];
	struct dz_flow *f;
	cJSON *root;
	size_t len;

	if (fs_read_file(path, DZ_FLOW_BYTES, &txt, &len) == -1) {
		snprintf(err, errlen, "flow file %s: %s", path,
		    errno == EFBIG ? "too large" : strerror(errno));
		return NULL;
	}
	root = cJSON_ParseWithLength(txt, len);
	free(txt);
	if (root == NULL) {
		snprintf(err, errlen, "flow file %s: not valid JSON", path);
		return NULL;
	}
	f = dz_flow_parse(root, why, sizeof(why));
	cJSON_Delete(root);
	if (f == NULL)
		snprintf(err, errlen, "flow file %s: %s", path, why);
	return f;
}

/* Free a flow from dz_flow_parse() or dz_flow_load(); NULL is fine. */
void
dz_flow_free(struct dz_flow *f)
{
	free(f);
}
