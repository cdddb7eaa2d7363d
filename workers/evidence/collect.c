/* SPDX-License-Identifier: ISC */
/*
 * collect.c: the evidence stage without its worker wrapping.
 *
 * evidence_collect() fetches every source of a run spec (fetch.c),
 * extracts and normalises its claims (claims.c), compares the critical
 * claims between sources and writes the evidence file with
 * fs_write_atomic().  The file holds, per source: "url" or "path",
 * "tier", "fetched_at", "final_url" (for a URL: where the body came from
 * after redirects, or the last URL tried; null when no request was made),
 * "sha256" and "bytes" of the body, "http_status", "error", "claims" (raw,
 * as the page states them), "normalized" and "warnings"; then "conflicts"
 * and "warnings" for the whole run.
 *
 * Rules.  Only sources of tier 4 and 5 are trusted: when two of them
 * disagree on price, voltage, compatibility, model_id or ean after
 * normalisation, that claim is a conflict and the run must gate.  A
 * disagreement involving a lower tier is a warning and never a conflict.
 * A value that cannot be normalised, or an EAN with a bad check digit,
 * is warned about and left out of every comparison.  A failed source is
 * recorded with its error; only when all sources fail is the collection
 * an error (nothing is written, the stage fails and is retried).
 *
 * The module never logs and never opens a gate itself: it reports what
 * it found and the caller decides.  Conflicts name URLs without their
 * query strings, as they end up in alerts.
 *
 * Public: evidence_collect, evidence_diff_text.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "workers/evidence/claims.h"
#include "workers/evidence/collect.h"
#include "workers/evidence/fetch.h"

#define EV_NAME_MAX	300
#define EV_MSG_MAX	1024

struct ev_src {
	char		 name[EV_NAME_MAX];	/* path or redacted URL */
	const char	*key;			/* "url" or "path" */
	int		 tier;
	bool		 ok;
	cJSON		*entry;			/* in the file's sources */
	const char	*raw[CLAIM_NKINDS];	/* borrowed from entry */
	const char	*currency;
	bool		 trusted[CLAIM_NKINDS];
	char		 norm[CLAIM_NKINDS][CLAIMS_NORM_MAX];
};

struct ev_ctx {
	const char	*spec_dir;
	double		 usd_brl;
	long		 timeout_ms;
	struct progress	*parent;
	struct progress	 sub;
	long long	 base;		/* bytes of the sources done */
	struct fetcher	*fetcher;
	cJSON		*doc;		/* the evidence file */
	cJSON		*sources;	/* borrowed from doc */
	cJSON		*conflicts;	/* borrowed from doc */
	cJSON		*warnings;	/* borrowed from doc */
	struct ev_src	*src;
	size_t		 nsrc;
	int		 ok, failed;
	char		 first_err[EV_MSG_MAX];
	bool		 oom;
};

static void
ev_add(struct ev_ctx *c, cJSON *parent, const char *key, cJSON *item)
{
	if (item == NULL) {
		c->oom = true;
		return;
	}
	if (key != NULL ? !cJSON_AddItemToObject(parent, key, item) :
	    !cJSON_AddItemToArray(parent, item)) {
		cJSON_Delete(item);
		c->oom = true;
	}
}

static void
ev_warn(struct ev_ctx *c, struct ev_src *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A run warning, also listed under source <s> when given. */
static void
ev_warn(struct ev_ctx *c, struct ev_src *s, const char *fmt, ...)
{
	char buf[EV_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ev_add(c, c->warnings, NULL, cJSON_CreateString(buf));
	if (s != NULL)
		ev_add(c, cJSON_GetObjectItem(s->entry, "warnings"), NULL,
		    cJSON_CreateString(buf));
}

static int
ev_tick(void *arg, long long value)
{
	struct ev_ctx *c = arg;

	return progress_tick(c->parent, c->base + value);
}

/* ---- spec ----------------------------------------------------------- */

static int
ev_check_source(const cJSON *s, size_t i, char *err, size_t errlen)
{
	const cJSON *url, *path, *tier;

	url = cJSON_GetObjectItemCaseSensitive(s, "url");
	path = cJSON_GetObjectItemCaseSensitive(s, "path");
	tier = cJSON_GetObjectItemCaseSensitive(s, "tier");
	if (!cJSON_IsObject(s)) {
		(void)snprintf(err, errlen, "sources[%zu]: not an object", i);
		return -1;
	}
	if ((url != NULL) == (path != NULL) ||
	    !cJSON_IsString(url != NULL ? url : path) ||
	    (url != NULL ? url : path)->valuestring[0] == '\0') {
		(void)snprintf(err, errlen,
		    "sources[%zu]: needs exactly one of url or path (a string)",
		    i);
		return -1;
	}
	if (!cJSON_IsNumber(tier) || tier->valuedouble < 1 ||
	    tier->valuedouble > 5 ||
	    tier->valuedouble != (double)(int)tier->valuedouble) {
		(void)snprintf(err, errlen,
		    "sources[%zu].tier: must be an integer 1..5", i);
		return -1;
	}
	return 0;
}

static int
ev_check_spec(const cJSON *spec, char *err, size_t errlen)
{
	const cJSON *vid, *sources, *s;
	size_t i = 0, n;

	vid = cJSON_GetObjectItemCaseSensitive(spec, "video_id");
	sources = cJSON_GetObjectItemCaseSensitive(spec, "sources");
	if (!cJSON_IsString(vid) || !id_video_valid(vid->valuestring)) {
		(void)snprintf(err, errlen, "video_id: missing or invalid");
		return -1;
	}
	if (!cJSON_IsArray(sources) ||
	    (n = (size_t)cJSON_GetArraySize(sources)) == 0 ||
	    n > EVIDENCE_SOURCES_MAX) {
		(void)snprintf(err, errlen, "sources: must be an array of 1 to "
		    "%d sources", EVIDENCE_SOURCES_MAX);
		return -1;
	}
	cJSON_ArrayForEach(s, sources)
		if (ev_check_source(s, i++, err, errlen) == -1)
			return -1;
	return 0;
}

/* ---- fetching ------------------------------------------------------- */

/* The entry of a source with what is known before fetching. */
static cJSON *
ev_entry_new(struct ev_ctx *c, struct ev_src *s, const cJSON *spec_src)
{
	const cJSON *v;
	cJSON *e;

	if ((e = cJSON_CreateObject()) == NULL) {
		c->oom = true;
		return NULL;
	}
	ev_add(c, c->sources, NULL, e);
	if (c->oom)
		return NULL;
	s->entry = e;
	s->key = cJSON_GetObjectItemCaseSensitive(spec_src, "url") != NULL ?
	    "url" : "path";
	v = cJSON_GetObjectItemCaseSensitive(spec_src, s->key);
	s->tier = (int)cJSON_GetObjectItemCaseSensitive(spec_src,
	    "tier")->valuedouble;
	if (strcmp(s->key, "url") == 0)
		fetch_url_redact(v->valuestring, s->name, sizeof(s->name));
	else
		(void)snprintf(s->name, sizeof(s->name), "%s", v->valuestring);
	ev_add(c, e, s->key, cJSON_CreateString(v->valuestring));
	ev_add(c, e, "tier", cJSON_CreateNumber(s->tier));
	ev_add(c, e, "warnings", cJSON_CreateArray());
	return e;
}

/* Record a fetched body (or the error) in the source's entry. */
static void
ev_entry_fill(struct ev_ctx *c, struct ev_src *s, int rc,
    const struct fetch_result *res, const char *ferr)
{
	char now[CLOCK_ISO_LEN], hex[65];
	cJSON *e = s->entry, *claims = NULL;

	clock_utc_iso(now);
	ev_add(c, e, "fetched_at", cJSON_CreateString(now));
	if (strcmp(s->key, "url") == 0)
		ev_add(c, e, "final_url", res->final_url != NULL ?
		    cJSON_CreateString(res->final_url) : cJSON_CreateNull());
	ev_add(c, e, "http_status", res->http_status > 0 ?
	    cJSON_CreateNumber((double)res->http_status) : cJSON_CreateNull());
	if (rc == 0) {
		id_sha256_buf(res->body, res->len, hex);
		ev_add(c, e, "sha256", cJSON_CreateString(hex));
		ev_add(c, e, "bytes", cJSON_CreateNumber((double)res->len));
		ev_add(c, e, "error", cJSON_CreateNull());
		claims = claims_extract_html(res->body, res->len,
		    cJSON_GetObjectItem(e, "warnings"));
		s->ok = true;
		c->ok++;
	} else {
		ev_add(c, e, "sha256", cJSON_CreateNull());
		ev_add(c, e, "bytes", cJSON_CreateNull());
		ev_add(c, e, "error", cJSON_CreateString(ferr));
		claims = cJSON_CreateObject();
		if (c->failed++ == 0)
			(void)snprintf(c->first_err, sizeof(c->first_err), "%s",
			    ferr);
	}
	ev_add(c, e, "claims", claims);
}

static int
ev_fetch_one(struct ev_ctx *c, struct ev_src *s, const cJSON *spec_src)
{
	struct fetch_result res;
	char ferr[EV_MSG_MAX];
	const cJSON *v;
	int rc;

	if (ev_entry_new(c, s, spec_src) == NULL)
		return -1;
	if (progress_tick(c->parent, c->base) == -1)
		return -2;
	v = cJSON_GetObjectItemCaseSensitive(spec_src, s->key);
	c->sub.value = 0;
	if (strcmp(s->key, "url") == 0)
		rc = fetch_url(c->fetcher, v->valuestring, c->timeout_ms,
		    &c->sub, &res, ferr, sizeof(ferr));
	else
		rc = fetch_local(c->spec_dir, v->valuestring, &res, ferr,
		    sizeof(ferr));
	if (rc == -2) {
		fetch_result_clear(&res);
		return -2;
	}
	ev_entry_fill(c, s, rc, &res, ferr);
	c->base += (long long)res.len;
	fetch_result_clear(&res);
	return c->oom ? -1 : 0;
}

/* ---- normalising and comparing ------------------------------------- */

static void
ev_normalize(struct ev_ctx *c, struct ev_src *s)
{
	const cJSON *claims = cJSON_GetObjectItem(s->entry, "claims"), *v;
	cJSON *norm;
	int k, r;

	if ((norm = cJSON_CreateObject()) == NULL) {
		c->oom = true;
		return;
	}
	ev_add(c, s->entry, "normalized", norm);
	/* Move "warnings" last, after what it comments on. */
	ev_add(c, s->entry, "warnings", cJSON_DetachItemFromObject(s->entry,
	    "warnings"));
	if (c->oom || !s->ok)
		return;
	if (cJSON_GetArraySize(claims) == 0)
		ev_warn(c, s, "%s: no claims found", s->name);
	v = cJSON_GetObjectItemCaseSensitive(claims, CLAIMS_KEY_CURRENCY);
	s->currency = cJSON_IsString(v) ? v->valuestring : NULL;
	for (k = 0; k < CLAIM_NKINDS; k++) {
		v = cJSON_GetObjectItemCaseSensitive(claims,
		    claims_kind_name(k));
		if (!cJSON_IsString(v))
			continue;
		s->raw[k] = v->valuestring;
		r = claims_normalize(k, s->raw[k], s->currency, s->norm[k],
		    sizeof(s->norm[k]));
		if (r == 0) {
			s->trusted[k] = true;
			ev_add(c, norm, claims_kind_name(k),
			    cJSON_CreateString(s->norm[k]));
		} else if (r == -2)
			ev_warn(c, s, "ean %.80s from %s: bad checksum",
			    s->raw[k], s->name);
		else
			ev_warn(c, s, "%s \"%.80s\" from %s: not understood, "
			    "not compared", claims_kind_name(k), s->raw[k],
			    s->name);
	}
}

/* One source's line in a conflict. */
static cJSON *
ev_conflict_source(struct ev_ctx *c, const struct ev_src *s,
    enum claim_kind k)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL) {
		c->oom = true;
		return NULL;
	}
	ev_add(c, o, s->key, cJSON_CreateString(s->name));
	ev_add(c, o, "tier", cJSON_CreateNumber(s->tier));
	ev_add(c, o, "raw", cJSON_CreateString(s->raw[k]));
	if (k == CLAIM_PRICE && s->currency != NULL)
		ev_add(c, o, "currency", cJSON_CreateString(s->currency));
	ev_add(c, o, "normalized", cJSON_CreateString(s->norm[k]));
	return o;
}

static void
ev_add_conflict(struct ev_ctx *c, enum claim_kind k, const size_t *idx,
    size_t n)
{
	cJSON *conf, *list;
	size_t i;

	if ((conf = cJSON_CreateObject()) == NULL) {
		c->oom = true;
		return;
	}
	ev_add(c, c->conflicts, NULL, conf);
	ev_add(c, conf, "claim", cJSON_CreateString(claims_kind_name(k)));
	if (c->oom || (list = cJSON_AddArrayToObject(conf, "sources")) ==
	    NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < n; i++)
		ev_add(c, list, NULL,
		    ev_conflict_source(c, &c->src[idx[i]], k));
}

/* A disagreement that involves a low tier: warn, listing every value. */
static void
ev_low_tier_warning(struct ev_ctx *c, enum claim_kind k, const size_t *idx,
    size_t n)
{
	char msg[EV_MSG_MAX];
	const struct ev_src *s;
	size_t i, o;

	o = (size_t)snprintf(msg, sizeof(msg), "%s: sources below tier %d "
	    "disagree (not a conflict):", claims_kind_name(k),
	    EVIDENCE_TRUSTED_TIER);
	for (i = 0; i < n && o < sizeof(msg); i++) {
		s = &c->src[idx[i]];
		o += (size_t)snprintf(msg + o, sizeof(msg) - o,
		    "%s %s (tier %d) %.60s", i > 0 ? ";" : "", s->name,
		    s->tier, s->norm[k]);
	}
	ev_warn(c, NULL, "%s", msg);
}

static void
ev_compare(struct ev_ctx *c, enum claim_kind k)
{
	size_t idx[EVIDENCE_SOURCES_MAX], n = 0, i, j;
	bool high = false, any = false;
	const struct ev_src *a, *b;

	for (i = 0; i < c->nsrc; i++)
		if (c->src[i].trusted[k])
			idx[n++] = i;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			a = &c->src[idx[i]];
			b = &c->src[idx[j]];
			if (claims_equal(k, a->norm[k], b->norm[k], c->usd_brl))
				continue;
			any = true;
			if (a->tier >= EVIDENCE_TRUSTED_TIER &&
			    b->tier >= EVIDENCE_TRUSTED_TIER)
				high = true;
		}
	if (high)
		ev_add_conflict(c, k, idx, n);
	else if (any)
		ev_low_tier_warning(c, k, idx, n);
}

/* ---- the evidence file and the result ------------------------------ */

static int
ev_write(struct ev_ctx *c, const char *out_path, char *err, size_t errlen)
{
	char dir[PATH_MAX], *slash;
	char *text;
	int r;

	if (strlcpy(dir, out_path, sizeof(dir)) >= sizeof(dir)) {
		(void)snprintf(err, errlen, "%s: path too long", out_path);
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (fs_mkdirs(dir, 0700) == -1) {
			(void)snprintf(err, errlen, "%s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	if ((text = cJSON_Print(c->doc)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = fs_write_atomic(out_path, text, strlen(text));
	if (r == -1)
		(void)snprintf(err, errlen, "%s: %s", out_path,
		    strerror(errno));
	free(text);
	return r;
}

static cJSON *
ev_result(struct ev_ctx *c, const char *out_path)
{
	cJSON *res;

	if ((res = cJSON_CreateObject()) == NULL)
		return NULL;
	ev_add(c, res, "evidence_path", cJSON_CreateString(out_path));
	ev_add(c, res, "conflicts", cJSON_Duplicate(c->conflicts, 1));
	ev_add(c, res, "warnings", cJSON_Duplicate(c->warnings, 1));
	ev_add(c, res, "sources_ok", cJSON_CreateNumber(c->ok));
	ev_add(c, res, "sources_failed", cJSON_CreateNumber(c->failed));
	if (c->oom) {
		cJSON_Delete(res);
		return NULL;
	}
	return res;
}

static int
ev_doc_new(struct ev_ctx *c, const cJSON *spec)
{
	char now[CLOCK_ISO_LEN];

	if ((c->doc = cJSON_CreateObject()) == NULL)
		return -1;
	clock_utc_iso(now);
	ev_add(c, c->doc, "video_id", cJSON_CreateString(
	    cJSON_GetObjectItemCaseSensitive(spec, "video_id")->valuestring));
	ev_add(c, c->doc, "collected_at", cJSON_CreateString(now));
	if (c->usd_brl > 0)
		ev_add(c, c->doc, "usd_brl", cJSON_CreateNumber(c->usd_brl));
	c->sources = cJSON_AddArrayToObject(c->doc, "sources");
	c->conflicts = cJSON_AddArrayToObject(c->doc, "conflicts");
	c->warnings = cJSON_AddArrayToObject(c->doc, "warnings");
	if (c->oom || c->sources == NULL || c->conflicts == NULL ||
	    c->warnings == NULL)
		return -1;
	return 0;
}

/* Fetch, normalise and compare; 0, -1 (err set) or -2. */
static int
ev_run(struct ev_ctx *c, const cJSON *spec, char *err, size_t errlen)
{
	const cJSON *s;
	size_t i;
	int k, r, trusted_ok = 0;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(spec,
	    "sources")) {
		if ((r = ev_fetch_one(c, &c->src[c->nsrc], s)) != 0) {
			if (r == -1)
				(void)snprintf(err, errlen, "out of memory");
			return r;
		}
		c->nsrc++;
	}
	if (c->ok == 0) {
		(void)snprintf(err, errlen, "all %zu sources failed (first: "
		    "%s)", c->nsrc, c->first_err);
		return -1;
	}
	for (i = 0; i < c->nsrc; i++) {
		ev_normalize(c, &c->src[i]);
		if (c->src[i].ok && c->src[i].tier >= EVIDENCE_TRUSTED_TIER)
			trusted_ok++;
	}
	if (trusted_ok == 0)
		ev_warn(c, NULL, "no source of tier %d or 5 was collected: "
		    "critical claims are unconfirmed", EVIDENCE_TRUSTED_TIER);
	for (k = 0; k < CLAIM_NKINDS; k++)
		ev_compare(c, k);
	if (c->oom) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * See collect.h.  <spec> is borrowed; *result is new on 0 and NULL
 * otherwise.  errno means nothing.
 */
int
evidence_collect(const cJSON *spec, const char *spec_dir,
    const char *out_path, double usd_brl, long fetch_timeout_ms,
    bool allow_private, struct progress *prog, cJSON **result, char *err,
    size_t errlen)
{
	struct ev_ctx c;
	int r = -1;

	*result = NULL;
	memset(&c, 0, sizeof(c));
	if (ev_check_spec(spec, err, errlen) == -1)
		return -1;
	c.spec_dir = spec_dir;
	c.usd_brl = usd_brl > 0 ? usd_brl : 0;
	c.timeout_ms = fetch_timeout_ms > 0 ? fetch_timeout_ms :
	    FETCH_TIMEOUT_MS;
	c.parent = prog;
	c.sub.tick = ev_tick;
	c.sub.arg = &c;
	(void)snprintf(err, errlen, "out of memory");
	if ((c.src = calloc(EVIDENCE_SOURCES_MAX, sizeof(*c.src))) == NULL ||
	    (c.fetcher = fetch_new(allow_private)) == NULL ||
	    ev_doc_new(&c, spec) == -1)
		goto done;
	if ((r = ev_run(&c, spec, err, errlen)) != 0)
		goto done;
	if ((r = ev_write(&c, out_path, err, errlen)) == -1)
		goto done;
	if ((*result = ev_result(&c, out_path)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		r = -1;
	}
done:
	cJSON_Delete(c.doc);
	fetch_free(c.fetcher);
	free(c.src);
	return r;
}

/* ---- the diff for alerts -------------------------------------------- */

static void
diff_source(FILE *fp, const cJSON *s)
{
	const cJSON *name = cJSON_GetObjectItem(s, "url");
	const cJSON *tier = cJSON_GetObjectItem(s, "tier");
	const cJSON *raw = cJSON_GetObjectItem(s, "raw");
	const cJSON *norm = cJSON_GetObjectItem(s, "normalized");
	const cJSON *cur = cJSON_GetObjectItem(s, "currency");

	if (name == NULL)
		name = cJSON_GetObjectItem(s, "path");
	(void)fprintf(fp, "  tier %d %s: %s (page says \"%.120s%s%s\")\n",
	    cJSON_IsNumber(tier) ? tier->valueint : 0,
	    cJSON_IsString(name) ? name->valuestring : "?",
	    cJSON_IsString(norm) ? norm->valuestring : "?",
	    cJSON_IsString(raw) ? raw->valuestring : "?",
	    cJSON_IsString(cur) ? " " : "",
	    cJSON_IsString(cur) ? cur->valuestring : "");
}

/* See collect.h: "<claim>:" then one line per source. */
char *
evidence_diff_text(const cJSON *conflicts, size_t max)
{
	const cJSON *conf, *claim, *s;
	char *text = NULL;
	size_t len = 0, cut;
	FILE *fp;
	int n = cJSON_GetArraySize(conflicts);

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	(void)fprintf(fp, "%d evidence conflict%s between tier 4-5 sources:\n",
	    n, n == 1 ? "" : "s");
	cJSON_ArrayForEach(conf, conflicts) {
		claim = cJSON_GetObjectItem(conf, "claim");
		(void)fprintf(fp, "%s:\n", cJSON_IsString(claim) ?
		    claim->valuestring : "?");
		cJSON_ArrayForEach(s, cJSON_GetObjectItem(conf, "sources"))
			diff_source(fp, s);
	}
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	if (len <= max)
		return text;
	cut = max >= 3 ? max - 3 : max;
	while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
		cut--;
	(void)snprintf(text + cut, len + 1 - cut, "%s", max >= 3 ? "..." : "");
	return text;
}
