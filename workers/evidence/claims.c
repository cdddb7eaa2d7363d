/* SPDX-License-Identifier: ISC */
/*
 * claims.c: what a product page says.
 *
 * Extraction reads the schema.org JSON-LD blocks of a page (several
 * blocks, arrays, @graph and mainEntity are followed) and its metadata
 * (<meta property="product:price:amount">, og:price:*, itemprop="gtin13"
 * and friends).  Claims come from the first Product object; later Product
 * objects fill gaps only when they share its @id, sku or name, because a
 * store page also lists related products.  JSON-LD wins over metadata,
 * which only fills what JSON-LD left out.  A malformed block is skipped
 * with a warning.  HTML-escaped JSON-LD (&quot;...) is decoded and retried.
 * Values are kept raw (entities decoded, trimmed): normalising and
 * comparing them is claims_norm.c's job.
 *
 * The module neither fetches nor decides what a disagreement means
 * (collect.c does); it never logs.  The HTML scanner is a bounded
 * tag tokenizer, not a full HTML parser: values inside comments, <style>
 * and non-JSON-LD scripts are ignored, text content is never read.
 *
 * Public: claims_extract_html, claims_kind_name, claims_html_unescape.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "workers/evidence/claims.h"
#include "workers/evidence/claims_text.h"

#define LD_DEPTH_MAX	8
#define IDENT_MAX	256

static const char *const claim_names[CLAIM_NKINDS] = {
	"price", "voltage", "compatibility", "model_id", "ean"
};

const char *
claims_kind_name(enum claim_kind kind)
{
	if ((unsigned)kind >= CLAIM_NKINDS)
		return "?";
	return claim_names[kind];
}

/* ---- HTML character references ---------------------------------- */

static size_t
utf8_put(char *out, unsigned long cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decode the reference at <s> ('&'), at most <n> bytes long.  Returns the
 * bytes consumed (0: not a reference) and writes its UTF-8 to <out>.
 */
static size_t
entity_decode(const char *s, size_t n, char *out, size_t *outn)
{
	static const struct { const char *name; unsigned long cp; } named[] = {
		{ "quot", '"' }, { "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "apos", '\'' }, { "nbsp", ' ' }, { "euro", 0x20ac },
		{ "pound", 0xa3 }, { "ndash", 0x2013 }, { "deg", 0xb0 }
	};
	const char *semi;
	unsigned long cp;
	char *endp;
	size_t i, len;

	if (n < 3 || (semi = memchr(s, ';', n < 12 ? n : 12)) == NULL)
		return 0;
	len = (size_t)(semi - s) + 1;
	if (s[1] == '#') {
		if (s[2] == 'x' || s[2] == 'X')
			cp = strtoul(s + 3, &endp, 16);
		else
			cp = strtoul(s + 2, &endp, 10);
		if (endp != semi || !isxdigit((unsigned char)s[len - 2]))
			return 0;
		*outn = utf8_put(out, cp);
		return len;
	}
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].name) == len - 2 &&
		    strncmp(s + 1, named[i].name, len - 2) == 0) {
			*outn = utf8_put(out, named[i].cp);
			return len;
		}
	return 0;
}

/* See claims.h.  Never grows the text, so one allocation is enough. */
char *
claims_html_unescape(const char *in, size_t len)
{
	char *out, tmp[4];
	size_t i = 0, o = 0, used, n;

	/* A reference never encodes to more bytes than it takes. */
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	while (i < len) {
		if (in[i] == '&' &&
		    (used = entity_decode(in + i, len - i, tmp, &n)) > 0) {
			memcpy(out + o, tmp, n);
			o += n;
			i += used;
		} else
			out[o++] = in[i++];
	}
	out[o] = '\0';
	return out;
}

/* ---- small string helpers ----------------------------------------- */

static const char *
ci_find(const char *hay, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay + n <= end; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

/* ---- page scanning ------------------------------------------------- */

struct page {
	cJSON	*claims;	/* from JSON-LD */
	cJSON	*meta;		/* from metadata, fills gaps at the end */
	cJSON	*warnings;
	int	 blocks;
	int	 products;	/* Product objects seen */
	int	 others;	/* ... ignored as other products */
	char	 id[IDENT_MAX], sku[IDENT_MAX], name[IDENT_MAX];
	bool	 oom;
};

static void
page_warn(struct page *pg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
page_warn(struct page *pg, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (pg->warnings == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (cJSON_AddItemToArray(pg->warnings, cJSON_CreateString(buf)) == 0)
		pg->oom = true;
}

/* Store <raw> (entities decoded, trimmed) as <key> unless already set. */
static void
claim_put(struct page *pg, cJSON *obj, const char *key, const char *raw,
    size_t len)
{
	char *v, *s, *e;

	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		return;
	if ((v = claims_html_unescape(raw, len)) == NULL) {
		pg->oom = true;
		return;
	}
	for (s = v; isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (strlen(s) > CLAIMS_VALUE_MAX)
		page_warn(pg, "%s value longer than %d bytes, ignored", key,
		    CLAIMS_VALUE_MAX);
	else if (*s != '\0' && cJSON_AddStringToObject(obj, key, s) == NULL)
		pg->oom = true;
	free(v);
}

/* ---- JSON-LD -------------------------------------------------------- */

#define LD_GET(o, k)	cJSON_GetObjectItemCaseSensitive((o), (k))

/* Store a JSON string or number as claim <key>; false for anything else. */
static bool
ld_put(struct page *pg, cJSON *obj, const char *key, const cJSON *v)
{
	char num[64];

	if (cJSON_IsString(v) && v->valuestring != NULL &&
	    v->valuestring[0] != '\0') {
		claim_put(pg, obj, key, v->valuestring, strlen(v->valuestring));
		return true;
	}
	if (cJSON_IsNumber(v)) {
		(void)snprintf(num, sizeof(num), "%.15g", v->valuedouble);
		claim_put(pg, obj, key, num, strlen(num));
		return true;
	}
	return false;
}

/* Price and currency of an Offer, AggregateOffer or an array of them. */
static bool
ld_offer(struct page *pg, cJSON *obj, const cJSON *o, const cJSON *cur,
    int depth)
{
	const cJSON *it, *price;

	if (o == NULL || depth > LD_DEPTH_MAX)
		return false;
	if (cJSON_IsArray(o)) {
		cJSON_ArrayForEach(it, o)
			if (ld_offer(pg, obj, it, cur, depth + 1))
				return true;
		return false;
	}
	if (!cJSON_IsObject(o))
		return false;
	if (LD_GET(o, "priceCurrency") != NULL)
		cur = LD_GET(o, "priceCurrency");
	if ((price = LD_GET(o, "price")) == NULL)
		price = LD_GET(o, "lowPrice");
	if (ld_put(pg, obj, claim_names[CLAIM_PRICE], price)) {
		(void)ld_put(pg, obj, CLAIMS_KEY_CURRENCY, cur);
		return true;
	}
	if (ld_offer(pg, obj, LD_GET(o, "priceSpecification"), cur, depth + 1))
		return true;
	return ld_offer(pg, obj, LD_GET(o, "offers"), cur, depth + 1);
}

/* A scalar, or an array of scalars joined with ", ", as text. */
static int
ld_join(const cJSON *v, char *buf, size_t size)
{
	const cJSON *it;
	size_t o = 0, sep;
	int r;

	buf[0] = '\0';
	if (!cJSON_IsArray(v)) {
		if (cJSON_IsString(v) && v->valuestring != NULL)
			r = snprintf(buf, size, "%s", v->valuestring);
		else if (cJSON_IsNumber(v))
			r = snprintf(buf, size, "%.15g", v->valuedouble);
		else
			return -1;
		return r < 0 || (size_t)r >= size ? -1 : 0;
	}
	cJSON_ArrayForEach(it, v) {
		sep = o > 0 ? 2 : 0;
		if (size - o <= sep + 1 ||
		    ld_join(it, buf + o + sep, size - o - sep) == -1)
			return -1;
		if (sep > 0)
			memcpy(buf + o, ", ", 2);
		o = strlen(buf);
	}
	return o > 0 ? 0 : -1;
}

/* A PropertyValue naming voltage or compatibility. */
static void
ld_property(struct page *pg, cJSON *obj, const cJSON *pv)
{
	const cJSON *name = LD_GET(pv, "name"), *val = LD_GET(pv, "value");
	const cJSON *unit = LD_GET(pv, "unitText");
	const cJSON *code = LD_GET(pv, "unitCode");
	char lname[128], buf[CLAIMS_VALUE_MAX + 1];
	const char *key, *suffix = "";
	size_t n;

	if (!cJSON_IsString(name) ||
	    !claims_lower_copy(name->valuestring, lname, sizeof(lname)))
		return;
	if (strstr(lname, "volt") != NULL || strncmp(lname, "tens", 4) == 0)
		key = claim_names[CLAIM_VOLTAGE];
	else if (strstr(lname, "compat") != NULL)
		key = claim_names[CLAIM_COMPAT];
	else
		return;
	if (ld_join(val, buf, sizeof(buf)) == -1) {
		page_warn(pg, "%s property without a usable value", key);
		return;
	}
	if (cJSON_IsNumber(val) && cJSON_IsString(unit))
		suffix = unit->valuestring;
	else if (cJSON_IsNumber(val) && cJSON_IsString(code) &&
	    strcmp(code->valuestring, "VLT") == 0)
		suffix = "V";
	n = strlen(buf);
	if (*suffix != '\0')
		(void)snprintf(buf + n, sizeof(buf) - n, " %s", suffix);
	claim_put(pg, obj, key, buf, strlen(buf));
}

static void
ld_product_claims(struct page *pg, cJSON *obj, const cJSON *prod)
{
	static const char *const gtins[] = {
		"gtin13", "gtin", "gtin12", "gtin8", "gtin14"
	};
	const cJSON *v, *it;
	size_t i;

	if (LD_GET(obj, claim_names[CLAIM_PRICE]) == NULL)
		(void)ld_offer(pg, obj, LD_GET(prod, "offers"), NULL, 0);
	for (i = 0; i < sizeof(gtins) / sizeof(gtins[0]); i++)
		if (ld_put(pg, obj, claim_names[CLAIM_EAN],
		    LD_GET(prod, gtins[i])))
			break;
	if (!ld_put(pg, obj, claim_names[CLAIM_MODEL], LD_GET(prod, "mpn"))) {
		v = LD_GET(prod, "model");
		if (cJSON_IsObject(v))
			v = LD_GET(v, "name");
		(void)ld_put(pg, obj, claim_names[CLAIM_MODEL], v);
	}
	v = LD_GET(prod, "additionalProperty");
	if (cJSON_IsObject(v))
		ld_property(pg, obj, v);
	else if (cJSON_IsArray(v))
		cJSON_ArrayForEach(it, v)
			if (cJSON_IsObject(it))
				ld_property(pg, obj, it);
}

static bool
ld_type_product(const cJSON *t)
{
	static const char *const types[] = {
		"Product", "IndividualProduct", "ProductModel", "SomeProducts"
	};
	const char *s, *b;
	size_t i;

	if (!cJSON_IsString(t) || (s = t->valuestring) == NULL)
		return false;
	if ((b = strrchr(s, '/')) != NULL || (b = strrchr(s, ':')) != NULL)
		s = b + 1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i]) == 0)
			return true;
	return false;
}

static bool
ld_is_product(const cJSON *o)
{
	const cJSON *t = LD_GET(o, "@type"), *it;

	if (!cJSON_IsArray(t))
		return ld_type_product(t);
	cJSON_ArrayForEach(it, t)
		if (ld_type_product(it))
			return true;
	return false;
}

static void
ident_keep(char *dst, const cJSON *v)
{
	if (cJSON_IsString(v) && v->valuestring != NULL)
		(void)strlcpy(dst, v->valuestring, IDENT_MAX);
}

static bool
ident_same(const char *mine, const cJSON *v)
{
	return mine[0] != '\0' && cJSON_IsString(v) &&
	    strncmp(mine, v->valuestring, IDENT_MAX - 1) == 0;
}

static void
ld_product(struct page *pg, const cJSON *prod)
{
	if (++pg->products == 1) {
		ident_keep(pg->id, LD_GET(prod, "@id"));
		ident_keep(pg->sku, LD_GET(prod, "sku"));
		ident_keep(pg->name, LD_GET(prod, "name"));
	} else if (!ident_same(pg->id, LD_GET(prod, "@id")) &&
	    !ident_same(pg->sku, LD_GET(prod, "sku")) &&
	    !ident_same(pg->name, LD_GET(prod, "name"))) {
		pg->others++;
		return;
	}
	/* claim_put() never overwrites: later blocks only fill gaps. */
	ld_product_claims(pg, pg->claims, prod);
}

static void
ld_walk(struct page *pg, const cJSON *n, int depth)
{
	const cJSON *it;

	if (n == NULL || depth > LD_DEPTH_MAX)
		return;
	if (cJSON_IsArray(n)) {
		cJSON_ArrayForEach(it, n)
			ld_walk(pg, it, depth + 1);
		return;
	}
	if (!cJSON_IsObject(n))
		return;
	if (ld_is_product(n)) {
		ld_product(pg, n);
		return;
	}
	ld_walk(pg, LD_GET(n, "@graph"), depth + 1);
	ld_walk(pg, LD_GET(n, "mainEntity"), depth + 1);
}

/* Drop white space and a <!-- --> or <![CDATA[ ]]> wrapper. */
static void
ld_trim(const char **text, size_t *len)
{
	const char *s = *text, *e = s + *len;

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e - s >= 7 && memcmp(s, "<!--", 4) == 0 &&
	    memcmp(e - 3, "-->", 3) == 0) {
		s += 4;
		e -= 3;
	} else if (e - s >= 12 && memcmp(s, "<![CDATA[", 9) == 0 &&
	    memcmp(e - 3, "]]>", 3) == 0) {
		s += 9;
		e -= 3;
	}
	*text = s;
	*len = (size_t)(e - s);
}

static void
ld_block(struct page *pg, const char *text, size_t len)
{
	char *copy, *dec;
	cJSON *doc;

	if (++pg->blocks > CLAIMS_LD_BLOCKS_MAX) {
		if (pg->blocks == CLAIMS_LD_BLOCKS_MAX + 1)
			page_warn(pg, "more than %d JSON-LD blocks, the rest "
			    "ignored", CLAIMS_LD_BLOCKS_MAX);
		return;
	}
	ld_trim(&text, &len);
	if ((copy = strndup(text, len)) == NULL) {
		pg->oom = true;
		return;
	}
	doc = cJSON_ParseWithOpts(copy, NULL, 1);
	if (doc == NULL && strchr(copy, '&') != NULL) {
		/* Some shops HTML-escape the block: &quot;@type&quot;... */
		if ((dec = claims_html_unescape(copy, strlen(copy))) != NULL)
			doc = cJSON_ParseWithOpts(dec, NULL, 1);
		free(dec);
	}
	free(copy);
	if (doc == NULL) {
		page_warn(pg, "JSON-LD block %d: malformed JSON, skipped",
		    pg->blocks);
		return;
	}
	ld_walk(pg, doc, 0);
	cJSON_Delete(doc);
}

/* ---- tags and metadata ---------------------------------------------- */

struct span {
	const char	*p;
	size_t		 n;
};

struct tag {
	struct span	 type, property, name, itemprop, content;
};

static bool
span_is(const struct span *s, const char *word)
{
	return s->p != NULL && strlen(word) == s->n &&
	    strncasecmp(s->p, word, s->n) == 0;
}

static void
tag_attr_keep(struct tag *t, const char *name, size_t nlen,
    const struct span *val)
{
	static const struct { const char *name; size_t off; } keep[] = {
		{ "type", offsetof(struct tag, type) },
		{ "property", offsetof(struct tag, property) },
		{ "name", offsetof(struct tag, name) },
		{ "itemprop", offsetof(struct tag, itemprop) },
		{ "content", offsetof(struct tag, content) }
	};
	struct span *dst;
	size_t i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (strlen(keep[i].name) != nlen ||
		    strncasecmp(name, keep[i].name, nlen) != 0)
			continue;
		dst = (struct span *)(void *)((char *)t + keep[i].off);
		if (dst->p == NULL)
			*dst = *val;
	}
}

/* Parse the attributes from <p> to the tag's '>'; returns it (or end). */
static const char *
tag_parse(const char *p, const char *end, struct tag *t)
{
	const char *name;
	struct span val;
	size_t nlen;
	char q;

	memset(t, 0, sizeof(*t));
	while (p < end && *p != '>') {
		if (isspace((unsigned char)*p) || *p == '/' || *p == '"' ||
		    *p == '\'' || *p == '=') {
			p++;
			continue;
		}
		for (name = p; p < end && !isspace((unsigned char)*p) &&
		    *p != '=' && *p != '>' && *p != '/'; p++)
			;
		nlen = (size_t)(p - name);
		while (p < end && isspace((unsigned char)*p))
			p++;
		val.p = "";
		val.n = 0;
		if (p < end && *p == '=') {
			for (p++; p < end && isspace((unsigned char)*p); p++)
				;
			if (p < end && (*p == '"' || *p == '\'')) {
				q = *p++;
				for (val.p = p; p < end && *p != q; p++)
					;
				val.n = (size_t)(p - val.p);
				if (p < end)
					p++;
			} else {
				for (val.p = p; p < end && *p != '>' &&
				    !isspace((unsigned char)*p); p++)
					;
				val.n = (size_t)(p - val.p);
			}
		}
		tag_attr_keep(t, name, nlen, &val);
	}
	return p;
}

struct meta_map {
	const char	*attr;
	const char	*claim;
};

static const struct meta_map meta_props[] = {
	{ "product:price:amount", "price" },
	{ "og:price:amount", "price" },
	{ "product:price:currency", CLAIMS_KEY_CURRENCY },
	{ "og:price:currency", CLAIMS_KEY_CURRENCY },
	{ "product:mfr_part_no", "model_id" },
	{ "product:ean", "ean" },
	{ "product:gtin", "ean" },
	{ "product:upc", "ean" },
	{ "product:retailer_item_id", CLAIMS_KEY_RETAILER_ID },
	{ NULL, NULL }
};

static const struct meta_map itemprops[] = {
	{ "price", "price" },
	{ "priceCurrency", CLAIMS_KEY_CURRENCY },
	{ "gtin13", "ean" },
	{ "gtin", "ean" },
	{ "gtin12", "ean" },
	{ "gtin8", "ean" },
	{ "gtin14", "ean" },
	{ "mpn", "model_id" },
	{ "model", "model_id" },
	{ NULL, NULL }
};

static const char *
meta_lookup(const struct meta_map *m, const struct span *key)
{
	for (; key->p != NULL && m->attr != NULL; m++)
		if (span_is(key, m->attr))
			return m->claim;
	return NULL;
}

static void
meta_tag(struct page *pg, const struct tag *t, bool is_meta)
{
	const char *claim = NULL;

	if (t->content.p == NULL)
		return;
	if (is_meta && (claim = meta_lookup(meta_props, &t->property)) == NULL)
		claim = meta_lookup(meta_props, &t->name);
	if (claim == NULL)
		claim = meta_lookup(itemprops, &t->itemprop);
	if (claim != NULL)
		claim_put(pg, pg->meta, claim, t->content.p, t->content.n);
}

/* Handle <script>/<style>: returns where scanning goes on. */
static const char *
page_raw_text(struct page *pg, const struct tag *t, bool script,
    const char *body, const char *end)
{
	const char *close;

	if ((close = ci_find(body, end, script ? "</script" : "</style")) ==
	    NULL)
		close = end;
	if (script && t->type.p != NULL && t->type.n >= 19 &&
	    strncasecmp(t->type.p, "application/ld+json", 19) == 0)
		ld_block(pg, body, (size_t)(close - body));
	return close;
}

static void
page_scan(struct page *pg, const char *p, const char *end)
{
	const char *lt, *te, *nm;
	struct tag t;
	struct span name;

	while (p < end && (lt = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if (end - lt >= 4 && memcmp(lt, "<!--", 4) == 0) {
			te = memmem(lt + 4, (size_t)(end - lt - 4), "-->", 3);
			p = te != NULL ? te + 3 : end;
			continue;
		}
		nm = lt + 1;
		if (nm >= end || !isalpha((unsigned char)*nm)) {
			p = nm;
			continue;
		}
		for (name.p = nm; nm < end && isalnum((unsigned char)*nm); nm++)
			;
		name.n = (size_t)(nm - name.p);
		if ((te = tag_parse(nm, end, &t)) >= end)
			break;
		if (span_is(&name, "script") || span_is(&name, "style")) {
			p = page_raw_text(pg, &t, span_is(&name, "script"),
			    te + 1, end);
			continue;
		}
		meta_tag(pg, &t, span_is(&name, "meta"));
		p = te + 1;
	}
}

/*
 * Scan the page, then let metadata fill what JSON-LD left out.  Returns a
 * new object (caller deletes), NULL only when memory runs out.
 */
cJSON *
claims_extract_html(const char *html, size_t len, cJSON *warnings)
{
	struct page pg;
	const cJSON *it;

	memset(&pg, 0, sizeof(pg));
	pg.warnings = warnings;
	if ((pg.claims = cJSON_CreateObject()) == NULL ||
	    (pg.meta = cJSON_CreateObject()) == NULL)
		goto fail;
	page_scan(&pg, html, html + len);
	if (pg.others > 0)
		page_warn(&pg, "%d other Product object%s on the page ignored; "
		    "claims come from the first (%.80s)", pg.others,
		    pg.others == 1 ? "" : "s",
		    pg.name[0] != '\0' ? pg.name : "unnamed");
	cJSON_ArrayForEach(it, pg.meta)
		if (LD_GET(pg.claims, it->string) == NULL &&
		    cJSON_AddStringToObject(pg.claims, it->string,
		    it->valuestring) == NULL)
			pg.oom = true;
	if (pg.oom)
		goto fail;
	cJSON_Delete(pg.meta);
	return pg.claims;
fail:
	cJSON_Delete(pg.meta);
	cJSON_Delete(pg.claims);
	return NULL;
}
