/* SPDX-License-Identifier: ISC */
/*
 * claims_test.c: claim extraction, normalisation and the evidence rules.
 *
 * Tables of normalisation pairs (equal and conflicting) for voltage,
 * price, EAN, model id and compatibility; price parsing; EAN check
 * digits; extraction from the saved pages in tests/unit/data/pages; and
 * evidence_collect() over local pages (tier rules, bad checksums, paths
 * leaving the spec directory, stop requests, the alert diff).  No network
 * is used: HTTP is covered by tests/integration/evidence_http.sh.
 *
 * Run from the repository root (or set RV_SRCDIR to it).  Prints
 * "FAIL <case>: <detail>" per failure and "N passed, M failed".
 */
#include <sys/stat.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "workers/evidence/claims.h"
#include "workers/evidence/collect.h"
#include "tests/unit/test.h"

static char datadir[512];

static void
check_str(const char *name, const char *got, const char *want)
{
	if (want == NULL)
		CHECK(name, got == NULL, "got \"%s\", want nothing",
		    got != NULL ? got : "");
	else
		CHECK(name, got != NULL && strcmp(got, want) == 0,
		    "got \"%s\", want \"%s\"", got != NULL ? got : "(none)",
		    want);
}

/* ---- normalisation pairs ------------------------------------------- */

struct pair {
	enum claim_kind	 kind;
	const char	*a, *a_cur;
	const char	*b, *b_cur;
	bool		 equal;
};

static const struct pair pairs[] = {
	{ CLAIM_VOLTAGE, "220V", NULL, "220 V", NULL, true },
	{ CLAIM_VOLTAGE, "220 volts", NULL, "220V", NULL, true },
	{ CLAIM_VOLTAGE, "220v~", NULL, "220V", NULL, true },
	{ CLAIM_VOLTAGE, "220 Volts", NULL, "220 V", NULL, true },
	{ CLAIM_VOLTAGE, "220", NULL, "220V", NULL, true },
	{ CLAIM_VOLTAGE, "AC 220V 60Hz", NULL, "220 VAC", NULL, true },
	{ CLAIM_VOLTAGE, "Tensão: 220 V~", NULL, "220v", NULL, true },
	{ CLAIM_VOLTAGE, "127V", NULL, "127 v", NULL, true },
	{ CLAIM_VOLTAGE, "bivolt", NULL, "Bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "Bivolt automático", NULL, "BIVOLT", NULL, true },
	{ CLAIM_VOLTAGE, "110-220V", NULL, "bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "110/220V", NULL, "Bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "110V/220V", NULL, "bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "127/220 V", NULL, "bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "100-240V", NULL, "bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "100~240V", NULL, "bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "110 a 220 volts", NULL, "bivolt", NULL, true },
	{ CLAIM_VOLTAGE, "100 to 240 V", NULL, "bi-volt", NULL, true },
	{ CLAIM_VOLTAGE, "220-240V", NULL, "220 - 240 V", NULL, true },
	{ CLAIM_VOLTAGE, "110V", NULL, "220V", NULL, false },
	{ CLAIM_VOLTAGE, "127V", NULL, "220V", NULL, false },
	{ CLAIM_VOLTAGE, "110V", NULL, "127V", NULL, false },
	{ CLAIM_VOLTAGE, "bivolt", NULL, "220V", NULL, false },
	{ CLAIM_VOLTAGE, "220-240V", NULL, "bivolt", NULL, false },
	{ CLAIM_VOLTAGE, "12V", NULL, "24 V", NULL, false },
	{ CLAIM_PRICE, "R$ 1.299,00", NULL, "1299.00", "BRL", true },
	{ CLAIM_PRICE, "1299", "BRL", "R$1299,00", NULL, true },
	{ CLAIM_PRICE, "1,299.00 USD", NULL, "US$ 1299", NULL, true },
	{ CLAIM_PRICE, "$19.99", NULL, "19.99", "USD", true },
	{ CLAIM_PRICE, "R$ 1 299,00", NULL, "1299.00", "brl", true },
	{ CLAIM_PRICE, "1299.00", NULL, "R$ 1.299,00", NULL, true },
	{ CLAIM_PRICE, "R$ 1.299,00", NULL, "R$ 1.299,01", NULL, false },
	{ CLAIM_PRICE, "R$ 1.299,00", NULL, "1299.00", "USD", false },
	{ CLAIM_PRICE, "19.99", "EUR", "19.99", "USD", false },
	{ CLAIM_MODEL, "TP-900 X", NULL, "tp900x", NULL, true },
	{ CLAIM_MODEL, "SM-A155M", NULL, "sm a155m", NULL, true },
	{ CLAIM_MODEL, "CE_17", NULL, "ce-17", NULL, true },
	{ CLAIM_MODEL, "A155", NULL, "A156", NULL, false },
	{ CLAIM_COMPAT, "Copo 2L, Copo 3L", NULL, "copo 3l; COPO 2L", NULL,
	    true },
	{ CLAIM_COMPAT, "Copo  Turbo;iPhone 15", NULL, "iphone 15,copo turbo",
	    NULL, true },
	{ CLAIM_COMPAT, "A, B, A", NULL, "b;a", NULL, true },
	{ CLAIM_COMPAT, "A, B", NULL, "A", NULL, false },
	{ CLAIM_COMPAT, "iPhone 15", NULL, "iPhone 15 Pro", NULL, false },
	{ CLAIM_EAN, "7891234567895", NULL, "789-1234-567895", NULL, true },
	{ CLAIM_EAN, "036000291452", NULL, "0036000291452", NULL, true },
	{ CLAIM_EAN, "07891234567895", NULL, "7891234567895", NULL, true },
	{ CLAIM_EAN, "96385074", NULL, "00000 96385074", NULL, true },
	{ CLAIM_EAN, "7891234567895", NULL, "7891000024683", NULL, false },
};

static void
test_pairs(void)
{
	char na[CLAIMS_NORM_MAX], nb[CLAIMS_NORM_MAX], name[160];
	const struct pair *p;
	size_t i;
	int ra, rb;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		p = &pairs[i];
		(void)snprintf(name, sizeof(name), "pair %s \"%s\" ~ \"%s\"",
		    claims_kind_name(p->kind), p->a, p->b);
		ra = claims_normalize(p->kind, p->a, p->a_cur, na, sizeof(na));
		rb = claims_normalize(p->kind, p->b, p->b_cur, nb, sizeof(nb));
		CHECK(name, ra == 0 && rb == 0, "normalise returned %d, %d",
		    ra, rb);
		if (ra != 0 || rb != 0)
			continue;
		CHECK(name, claims_equal(p->kind, na, nb, 0) == p->equal,
		    "\"%s\" vs \"%s\": want %s", na, nb,
		    p->equal ? "equal" : "conflict");
	}
}

struct norm_case {
	enum claim_kind	 kind;
	const char	*raw, *cur;
	int		 rc;
	const char	*want;
};

static const struct norm_case norms[] = {
	{ CLAIM_VOLTAGE, "220 V", NULL, 0, "220V" },
	{ CLAIM_VOLTAGE, "127V", NULL, 0, "127V" },
	{ CLAIM_VOLTAGE, "110V", NULL, 0, "110V" },
	{ CLAIM_VOLTAGE, "100-240V", NULL, 0, "bivolt" },
	{ CLAIM_VOLTAGE, "220-240V", NULL, 0, "220-240V" },
	{ CLAIM_VOLTAGE, "3,7 V", NULL, 0, "3.7V" },
	{ CLAIM_VOLTAGE, "1200W 220V", NULL, 0, "220V" },
	{ CLAIM_VOLTAGE, "", NULL, -1, NULL },
	{ CLAIM_VOLTAGE, "N/A", NULL, -1, NULL },
	{ CLAIM_VOLTAGE, "110V ou 220V", NULL, -1, NULL },
	{ CLAIM_VOLTAGE, "selecione", NULL, -1, NULL },
	{ CLAIM_VOLTAGE, "60 Hz", NULL, -1, NULL },
	{ CLAIM_VOLTAGE, "110/220", NULL, 0, "bivolt" },
	{ CLAIM_VOLTAGE, "Tensão 220", NULL, 0, "220V" },
	{ CLAIM_VOLTAGE, "127V - 60Hz", NULL, 0, "127V" },
	{ CLAIM_VOLTAGE, "Modelo 2023 - 220V", NULL, 0, "220V" },
	{ CLAIM_VOLTAGE, "110 ou 220", NULL, -1, NULL },
	{ CLAIM_VOLTAGE, "220 very", NULL, -1, NULL },
	{ CLAIM_PRICE, "R$ 1.299,00", NULL, 0, "BRL 1299.00" },
	{ CLAIM_PRICE, "19.9", "usd", 0, "USD 19.90" },
	{ CLAIM_PRICE, "1299", NULL, 0, "1299.00" },
	{ CLAIM_PRICE, "R$ 10", "USD", -1, NULL },
	{ CLAIM_PRICE, "R$ 1.299,00 USD", NULL, -1, NULL },
	{ CLAIM_MODEL, "TP-900 X", NULL, 0, "tp900x" },
	{ CLAIM_MODEL, " - ", NULL, -1, NULL },
	{ CLAIM_COMPAT, "Copo 3L; copo 2l, COPO 2L", NULL, 0,
	    "copo 2l;copo 3l" },
	{ CLAIM_COMPAT, " ; , ", NULL, -1, NULL },
	{ CLAIM_EAN, "789 1234 567895", NULL, 0, "7891234567895" },
	{ CLAIM_EAN, "036000291452", NULL, 0, "0036000291452" },
	{ CLAIM_EAN, "96385074", NULL, 0, "0000096385074" },
	{ CLAIM_EAN, "07891234567895", NULL, 0, "7891234567895" },
	{ CLAIM_EAN, "17891234567892", NULL, 0, "17891234567892" },
	{ CLAIM_EAN, "7891234567890", NULL, -2, "7891234567890" },
	{ CLAIM_EAN, "036000291453", NULL, -2, "0036000291453" },
	{ CLAIM_EAN, "96385075", NULL, -2, "0000096385075" },
	{ CLAIM_EAN, "789123456789X", NULL, -1, NULL },
	{ CLAIM_EAN, "12345", NULL, -1, NULL },
	{ CLAIM_EAN, "789.1234.567895", NULL, -1, NULL },
	{ CLAIM_EAN, "", NULL, -1, NULL },
};

static void
test_norms(void)
{
	char out[CLAIMS_NORM_MAX], name[160];
	const struct norm_case *n;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(norms) / sizeof(norms[0]); i++) {
		n = &norms[i];
		(void)snprintf(name, sizeof(name), "normalise %s \"%s\"",
		    claims_kind_name(n->kind), n->raw);
		out[0] = '\0';
		rc = claims_normalize(n->kind, n->raw, n->cur, out,
		    sizeof(out));
		CHECK(name, rc == n->rc, "returned %d, want %d", rc, n->rc);
		if (rc == n->rc && n->want != NULL)
			check_str(name, out, n->want);
	}
	/* A buffer too small is an error, never a truncated value. */
	CHECK("model small buf", claims_norm_model("ABCDEFGH", out, 4) == -1,
	    "want -1");
	CHECK("voltage small buf", claims_norm_voltage("bivolt", out, 4) == -1,
	    "want -1");
}

/* ---- price parsing and equality ------------------------------------ */

struct price_case {
	const char	*raw, *hint;
	int		 rc;
	long long	 minor;
	const char	*cur;
};

static const struct price_case prices[] = {
	{ "R$ 1.299,00", NULL, 0, 129900, "BRL" },
	{ "1299.00", "BRL", 0, 129900, "BRL" },
	{ "1,299.00 USD", NULL, 0, 129900, "USD" },
	{ "$19.99", NULL, 0, 1999, "USD" },
	{ "$19.99", "BRL", 0, 1999, "BRL" },
	{ "US$ 5", NULL, 0, 500, "USD" },
	{ "R$ 19,9", NULL, 0, 1990, "BRL" },
	{ "1.299", "BRL", 0, 129900, "BRL" },
	{ "1,5", NULL, 0, 150, "" },
	{ "\xe2\x82\xac 10,00", NULL, 0, 1000, "EUR" },
	{ "R$ 1 299,90", NULL, 0, 129990, "BRL" },
	{ "1.234.567,89", "BRL", 0, 123456789, "BRL" },
	{ "1,299.995", "USD", 0, 130000, "USD" },
	{ "499.9", "brl", 0, 49990, "BRL" },
	{ "por R$ 89,90 no pix", NULL, 0, 8990, "BRL" },
	{ "R$ 1.299,00 USD", NULL, -1, 0, "" },
	{ "R$ 10", "USD", -1, 0, "" },
	{ "10.00", "BR", -1, 0, "" },
	{ "-10.00", "BRL", -1, 0, "" },
	{ "grátis", NULL, -1, 0, "" },
	{ "", "BRL", -1, 0, "" },
	{ "1234567890123456789", "BRL", -1, 0, "" },
};

static void
test_prices(void)
{
	struct claims_price p, a, b;
	const struct price_case *c;
	char name[160];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
		c = &prices[i];
		(void)snprintf(name, sizeof(name), "price \"%s\" hint %s",
		    c->raw, c->hint != NULL ? c->hint : "-");
		rc = claims_parse_price(c->raw, c->hint, &p);
		CHECK(name, rc == c->rc, "returned %d, want %d", rc, c->rc);
		if (rc != 0 || c->rc != 0)
			continue;
		CHECK(name, p.minor == c->minor, "minor %lld, want %lld",
		    p.minor, c->minor);
		check_str(name, p.currency, c->cur);
	}
	(void)claims_parse_price("259.80", "USD", &a);
	(void)claims_parse_price("R$ 1.299,00", NULL, &b);
	CHECK("usd/brl without rate", !claims_price_equal(&a, &b, 0),
	    "must conflict");
	CHECK("usd/brl rate 5", claims_price_equal(&a, &b, 5.0),
	    "259.80 USD x 5 = 1299 BRL must agree");
	CHECK("brl/usd rate 5", claims_price_equal(&b, &a, 5.0),
	    "order must not matter");
	(void)claims_parse_price("261.00", "USD", &a);
	CHECK("usd/brl within 1%", claims_price_equal(&a, &b, 5.0),
	    "1305 vs 1299 must agree");
	(void)claims_parse_price("250.00", "USD", &a);
	CHECK("usd/brl beyond 1%", !claims_price_equal(&a, &b, 5.0),
	    "1250 vs 1299 must conflict");
	(void)claims_parse_price("259.80", "EUR", &a);
	CHECK("eur/brl with usd rate", !claims_price_equal(&a, &b, 5.0),
	    "must conflict");
	(void)claims_parse_price("1299", NULL, &a);
	CHECK("unknown currency", claims_price_equal(&a, &b, 0),
	    "amount alone must agree");
	CHECK("claims_equal price rate", claims_equal(CLAIM_PRICE, "USD 259.80",
	    "BRL 1299.00", 5.0), "must agree");
}

static void
test_unescape(void)
{
	char *s;
	const char *in = "&quot;a&quot; &amp; &#39;b&#39; &#x41;"
	    "&#227;&nbsp;x &unknown; & &#;";

	s = claims_html_unescape(in, strlen(in));
	check_str("unescape", s, "\"a\" & 'b' A\xc3\xa3 x &unknown; & &#;");
	free(s);
	s = claims_html_unescape("&#x1F600;", 9);
	check_str("unescape astral", s, "\xf0\x9f\x98\x80");
	free(s);
	s = claims_html_unescape("&amp", 4);
	check_str("unescape unterminated", s, "&amp");
	free(s);
}

/* ---- extraction from saved pages ----------------------------------- */

static cJSON *
extract_page(const char *file, cJSON *warnings)
{
	char path[1024], *buf;
	size_t len;
	cJSON *c;

	(void)snprintf(path, sizeof(path), "%s/pages/%s", datadir, file);
	if (fs_read_file(path, 1 << 20, &buf, &len) == -1) {
		CHECK(file, false, "cannot read %s", path);
		return NULL;
	}
	c = claims_extract_html(buf, len, warnings);
	free(buf);
	CHECK(file, c != NULL, "extraction returned NULL");
	return c;
}

static const char *
claim(const cJSON *c, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool
has_warning(const cJSON *w, const char *needle)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, w)
		if (cJSON_IsString(it) && strstr(it->valuestring, needle))
			return true;
	return false;
}

struct page_case {
	const char	*file;
	const char	*price, *currency, *voltage, *compat, *model, *ean;
	const char	*retailer;
	const char	*warning;	/* NULL: no warning expected */
};

static const struct page_case pages[] = {
	{ "store_multi.html", "1299.00", "BRL", "220 V",
	    "Copo Turbo 2L; Copo Turbo 3L", "TP-900 X", "7891234567895", NULL,
	    "1 other Product object on the page ignored" },
	{ "graph.html", "499.9", "BRL", "Bivolt", "Forma AFC, Grelha AFC",
	    "AFC-5000", "7895550001231", NULL, NULL },
	{ "escaped.html", "R$ 1.299,00", "BRL", "127 V", NULL, "BD-650-K",
	    "789 1234 567895", NULL, NULL },
	{ "malformed.html", "1,299.00", "USD", "220 V", NULL, "CEB-20",
	    "7891234567890", NULL, "JSON-LD block 1: malformed JSON, skipped" },
	{ "meta_only.html", "149.90", "BRL", NULL, NULL, "VM 40-6P",
	    "7891000024683", "MLB-123456", NULL },
	{ "no_claims.html", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "volt_110.html", "189.90", "BRL", "110V", NULL, "CE-17",
	    "7891234567895", NULL, NULL },
	{ "volt_220.html", "189.90", "BRL", "220 volts", NULL, "ce 17",
	    "7891234567895", NULL, NULL },
};

static void
test_pages(void)
{
	const struct page_case *p;
	char name[160];
	cJSON *c, *w;
	size_t i;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		p = &pages[i];
		w = cJSON_CreateArray();
		if ((c = extract_page(p->file, w)) != NULL) {
#define PAGE_CLAIM(key, want) do {					\
	(void)snprintf(name, sizeof(name), "%s %s", p->file, key);	\
	check_str(name, claim(c, key), want);				\
} while (0)
			PAGE_CLAIM("price", p->price);
			PAGE_CLAIM("currency", p->currency);
			PAGE_CLAIM("voltage", p->voltage);
			PAGE_CLAIM("compatibility", p->compat);
			PAGE_CLAIM("model_id", p->model);
			PAGE_CLAIM("ean", p->ean);
			PAGE_CLAIM("retailer_item_id", p->retailer);
#undef PAGE_CLAIM
			(void)snprintf(name, sizeof(name), "%s warnings",
			    p->file);
			if (p->warning != NULL)
				CHECK(name, has_warning(w, p->warning),
				    "no warning \"%s\"", p->warning);
			else
				CHECK(name, cJSON_GetArraySize(w) == 0,
				    "%d unexpected warnings",
				    cJSON_GetArraySize(w));
		}
		cJSON_Delete(c);
		cJSON_Delete(w);
	}
}

/* Odd and hostile inputs: no crash, bounded work, sensible result. */
static void
test_odd_pages(void)
{
	static const char *const odd[] = {
		"",
		"<",
		"<script type=\"application/ld+json\">{\"@type\":\"Product\"",
		"<meta property=\"product:price:amount\" content=\"12",
		"<meta property=product:price:amount content=12>x",
		"<!-- never closed <meta itemprop=\"gtin13\" content=\"1\">",
		"<script type=\"application/ld+json\">[[[[[[[[[[[[[[[[[[{"
		    "\"@type\":\"Product\",\"mpn\":\"deep\"}]]]]]]]]]]]]]]]]]]"
		    "</script>",
		"<p a=\"1' b='2\">&#xFFFFFFFF; &#99999999999;</p>",
	};
	char big[8192], name[64];
	cJSON *c, *w;
	size_t i, o = 0;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		(void)snprintf(name, sizeof(name), "odd page %zu", i);
		c = claims_extract_html(odd[i], strlen(odd[i]), NULL);
		CHECK(name, c != NULL, "returned NULL");
		if (i == 4)
			check_str(name, claim(c, "price"), "12");
		if (i == 6)
			check_str(name, claim(c, "model_id"), NULL);
		cJSON_Delete(c);
	}
	for (i = 0; i < CLAIMS_LD_BLOCKS_MAX + 3; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
		    "<script type=\"application/ld+json\">{\"@type\":"
		    "\"Product\",\"name\":\"p\",\"mpn\":\"M%zu\"}</script>", i);
	w = cJSON_CreateArray();
	c = claims_extract_html(big, o, w);
	check_str("many blocks first wins", claim(c, "model_id"), "M0");
	CHECK("many blocks", has_warning(w, "more than 32 JSON-LD blocks"),
	    "no warning about the block limit");
	cJSON_Delete(c);
	cJSON_Delete(w);
}

/* ---- evidence_collect over local pages ------------------------------ */

static char tmpdir[] = "/tmp/claims_test.XXXXXX";

static cJSON *
spec_of(const char *s1, int t1, const char *s2, int t2)
{
	char text[1024];

	if (s2 == NULL)
		(void)snprintf(text, sizeof(text), "{\"video_id\":\"T-1\","
		    "\"sources\":[{\"path\":\"%s\",\"tier\":%d}]}", s1, t1);
	else
		(void)snprintf(text, sizeof(text), "{\"video_id\":\"T-1\","
		    "\"sources\":[{\"path\":\"%s\",\"tier\":%d},"
		    "{\"path\":\"%s\",\"tier\":%d}]}", s1, t1, s2, t2);
	return cJSON_Parse(text);
}

static int
collect(const char *name, cJSON *spec, double rate, cJSON **res,
    char *err, size_t errlen)
{
	char out[600];
	int rc;

	(void)snprintf(out, sizeof(out), "%s/ev/%s.json", tmpdir, name);
	rc = evidence_collect(spec, datadir, out, rate, 0, false, NULL, res,
	    err, errlen);
	cJSON_Delete(spec);
	return rc;
}

static const char *
conflict_claims(const cJSON *res, char *buf, size_t size)
{
	const cJSON *it;

	buf[0] = '\0';
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(res, "conflicts")) {
		if (buf[0] != '\0')
			(void)strlcat(buf, ",", size);
		(void)strlcat(buf,
		    cJSON_GetObjectItem(it, "claim")->valuestring, size);
	}
	return buf;
}

static void
test_evidence_tiers(void)
{
	char err[512], list[128];
	cJSON *res = NULL;
	int rc;

	rc = collect("t55", spec_of("pages/volt_110.html", 5,
	    "pages/volt_220.html", 5), 0, &res, err, sizeof(err));
	CHECK("tier 5 vs 5", rc == 0, "rc %d: %s", rc, err);
	check_str("tier 5 vs 5 conflicts", conflict_claims(res, list,
	    sizeof(list)), "voltage");
	cJSON_Delete(res);

	rc = collect("t25", spec_of("pages/volt_110.html", 2,
	    "pages/volt_220.html", 5), 0, &res, err, sizeof(err));
	CHECK("tier 2 vs 5", rc == 0, "rc %d: %s", rc, err);
	check_str("tier 2 vs 5 conflicts", conflict_claims(res, list,
	    sizeof(list)), "");
	CHECK("tier 2 vs 5 warning", has_warning(cJSON_GetObjectItem(res,
	    "warnings"), "voltage: sources below tier 4 disagree"),
	    "no low-tier warning");
	cJSON_Delete(res);

	rc = collect("t45", spec_of("pages/escaped.html", 4,
	    "pages/store_multi.html", 5), 0, &res, err, sizeof(err));
	CHECK("tier 4 vs 5", rc == 0, "rc %d: %s", rc, err);
	check_str("tier 4 vs 5 conflicts", conflict_claims(res, list,
	    sizeof(list)), "voltage,model_id");
	cJSON_Delete(res);
}

static void
test_evidence_checksum(void)
{
	char err[512], list[128];
	cJSON *res = NULL;
	int rc;

	/* malformed.html: USD price, bad EAN; store_multi.html: BRL. */
	rc = collect("cks", spec_of("pages/malformed.html", 5,
	    "pages/store_multi.html", 5), 0, &res, err, sizeof(err));
	CHECK("bad checksum", rc == 0, "rc %d: %s", rc, err);
	CHECK("bad checksum warning", has_warning(cJSON_GetObjectItem(res,
	    "warnings"),
	    "ean 7891234567890 from pages/malformed.html: bad checksum"),
	    "missing");
	check_str("bad checksum not compared", conflict_claims(res, list,
	    sizeof(list)), "price,model_id");
	cJSON_Delete(res);

	rc = collect("rate", spec_of("pages/malformed.html", 5,
	    "pages/store_multi.html", 5), 5.0, &res, err, sizeof(err));
	CHECK("usd rate", rc == 0, "rc %d: %s", rc, err);
	/* 1299 USD x 5 is far from 1299 BRL: still a conflict. */
	check_str("usd rate conflicts", conflict_claims(res, list,
	    sizeof(list)), "price,model_id");
	cJSON_Delete(res);
}

static void
test_evidence_errors(void)
{
	char err[512], path[700];
	cJSON *res = NULL, *file;
	char *text;
	int rc;

	rc = collect("esc", spec_of("../claims_test.c", 5, "/etc/passwd", 5),
	    0, &res, err, sizeof(err));
	CHECK("all sources fail", rc == -1 && res == NULL, "rc %d", rc);
	CHECK("all sources fail err", strstr(err, "all 2 sources failed") !=
	    NULL && strstr(err, "outside the spec directory") != NULL, "%s",
	    err);
	(void)snprintf(path, sizeof(path), "%s/ev/esc.json", tmpdir);
	CHECK("all sources fail file", !fs_exists(path), "was written");

	rc = collect("one", spec_of("pages/missing.html", 5,
	    "pages/graph.html", 5), 0, &res, err, sizeof(err));
	CHECK("one source fails", rc == 0, "rc %d: %s", rc, err);
	CHECK("one source fails counts", cJSON_GetObjectItem(res,
	    "sources_failed")->valueint == 1 && cJSON_GetObjectItem(res,
	    "sources_ok")->valueint == 1, "wrong counts");
	cJSON_Delete(res);
	(void)snprintf(path, sizeof(path), "%s/ev/one.json", tmpdir);
	file = NULL;
	if (fs_read_file(path, 1 << 20, &text, NULL) == 0) {
		file = cJSON_Parse(text);
		free(text);
	}
	CHECK("evidence file", file != NULL, "unreadable %s", path);
	if (file != NULL) {
		const cJSON *s0 = cJSON_GetArrayItem(
		    cJSON_GetObjectItem(file, "sources"), 0);
		const cJSON *s1 = cJSON_GetArrayItem(
		    cJSON_GetObjectItem(file, "sources"), 1);
		CHECK("evidence file error",
		    cJSON_IsString(cJSON_GetObjectItem(s0, "error")),
		    "source 0 has no error");
		CHECK("evidence file sha256",
		    cJSON_IsString(cJSON_GetObjectItem(s1, "sha256")) &&
		    strlen(cJSON_GetObjectItem(s1, "sha256")->valuestring) ==
		    64, "missing");
		check_str("evidence file video_id", cJSON_GetObjectItem(file,
		    "video_id")->valuestring, "T-1");
		check_str("evidence normalized", cJSON_GetObjectItem(
		    cJSON_GetObjectItem(s1, "normalized"), "voltage")->
		    valuestring, "bivolt");
	}
	cJSON_Delete(file);

	rc = collect("bad", cJSON_Parse("{\"video_id\":\"T-1\",\"sources\":"
	    "[{\"path\":\"pages/graph.html\",\"tier\":7}]}"), 0, &res, err,
	    sizeof(err));
	CHECK("bad tier", rc == -1 && strstr(err, "sources[0].tier") != NULL,
	    "rc %d: %s", rc, err);
}

static int
stop_tick(void *arg, long long v)
{
	(void)arg;
	(void)v;
	return -1;
}

static void
test_evidence_stop_and_diff(void)
{
	struct progress stop = { stop_tick, NULL, 0 };
	char err[512], out[600], *d;
	cJSON *res = NULL, *spec;
	int rc;

	spec = spec_of("pages/volt_110.html", 5, "pages/volt_220.html", 5);
	(void)snprintf(out, sizeof(out), "%s/ev/stop.json", tmpdir);
	rc = evidence_collect(spec, datadir, out, 0, 0, false, &stop, &res,
	    err, sizeof(err));
	cJSON_Delete(spec);
	CHECK("stop", rc == -2 && res == NULL && !fs_exists(out),
	    "rc %d, want -2 and no file", rc);

	rc = collect("diff", spec_of("pages/volt_110.html", 5,
	    "pages/volt_220.html", 4), 0, &res, err, sizeof(err));
	d = evidence_diff_text(cJSON_GetObjectItem(res, "conflicts"), 4000);
	CHECK("diff text", d != NULL && strstr(d, "voltage:") != NULL &&
	    strstr(d, "tier 5 pages/volt_110.html: 110V") != NULL &&
	    strstr(d, "tier 4 pages/volt_220.html: 220V (page says "
	    "\"220 volts\")") != NULL, "%s", d ? d : "NULL");
	free(d);
	d = evidence_diff_text(cJSON_GetObjectItem(res, "conflicts"), 50);
	CHECK("diff text bounded", d != NULL && strlen(d) <= 50 && strstr(d,
	    "...") != NULL, "%zu bytes: %s", d ? strlen(d) : 0, d ? d : "NULL");
	free(d);
	cJSON_Delete(res);
}

static void
cleanup(void)
{
	char cmd[600];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

int
main(void)
{
	const char *src = getenv("RV_SRCDIR");

	(void)snprintf(datadir, sizeof(datadir), "%s/tests/unit/data",
	    src != NULL ? src : ".");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_pairs();
	test_norms();
	test_prices();
	test_unescape();
	test_pages();
	test_odd_pages();
	test_evidence_tiers();
	test_evidence_checksum();
	test_evidence_errors();
	test_evidence_stop_and_diff();
	cleanup();
	return test_exit();
}
