/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_EVIDENCE_CLAIMS_H
#define RV_WORKERS_EVIDENCE_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#define CLAIMS_VALUE_MAX	2048	/* longest raw claim kept, bytes */
#define CLAIMS_NORM_MAX		2048	/* normalised value buffer size */
#define CLAIMS_LD_BLOCKS_MAX	32	/* JSON-LD blocks read per page */

/* The critical claims, compared between sources. */
enum claim_kind {
	CLAIM_PRICE = 0,
	CLAIM_VOLTAGE,
	CLAIM_COMPAT,
	CLAIM_MODEL,
	CLAIM_EAN,
	CLAIM_NKINDS
};

/* Member names used in a claims object. */
#define CLAIMS_KEY_CURRENCY	"currency"
#define CLAIMS_KEY_RETAILER_ID	"retailer_item_id"

/* A price in minor units (cents) and an ISO 4217 code ("" = unknown). */
struct claims_price {
	long long	minor;
	char		currency[4];
};

/*
 * Extract the claims of an HTML page of <len> bytes.  Returns a new object
 * (caller deletes) whose members are strings, each present only when the
 * page states it: "price", "currency", "voltage", "compatibility",
 * "model_id", "ean" and "retailer_item_id" (kept for the record, never
 * compared).  Non-fatal problems (malformed JSON-LD, too many blocks) are
 * appended to <warnings> (an array, borrowed; may be NULL) as strings.
 * Returns NULL only when memory runs out.
 */
cJSON	*claims_extract_html(const char *html, size_t len, cJSON *warnings);

/* "price", "voltage", "compatibility", "model_id", "ean". */
const char *claims_kind_name(enum claim_kind kind);

/*
 * Normalise the raw value of a claim into <out>.  <currency> is the
 * page's separate currency for CLAIM_PRICE (may be NULL or "").  Returns
 * 0, -1 when the value is not understood, -2 for an EAN with a bad check
 * digit (out still holds the digits).
 */
int	claims_normalize(enum claim_kind kind, const char *raw,
	    const char *currency, char *out, size_t outlen);

/*
 * Whether two values normalised by claims_normalize() agree.  <usd_brl>
 * (0: none) allows USD and BRL prices to agree within 1 %.
 */
bool	claims_equal(enum claim_kind kind, const char *a, const char *b,
	    double usd_brl);

/*
 * Single normalisers, each 0 on success and -1 when not understood.
 * Voltage: "220V", "127V", "bivolt" (the word, or two voltages joined by
 * '-', '/', '~', "a" or "to" spanning <=127 and >=220: "110/220V",
 * "100-240V" universal supplies included), or a range such as
 * "220-240V".  Bare numbers count as volts when no number has a unit
 * ("110/220"); numbers with another unit ("60Hz") never do; unjoined
 * different voltages ("110V ou 220V") are ambiguous (-1).  110V and 127V
 * stay different.  Model: lower case without white space, '-' and '_'.
 * Compatibility: lower-case items split on ',' ';' '|' '\n', trimmed,
 * sorted, de-duplicated, joined with ";".  EAN: digits only after
 * removing spaces and dashes, 8, 12, 13 or 14 of them; EAN-8 and UPC-A
 * are zero padded to 13 and a GTIN-14 with indicator 0 loses it; -2 on
 * a bad check digit (<out> still holds the digits).
 */
int	claims_norm_voltage(const char *raw, char *out, size_t outlen);
int	claims_norm_model(const char *raw, char *out, size_t outlen);
int	claims_norm_compat(const char *raw, char *out, size_t outlen);
int	claims_norm_ean(const char *raw, char *out, size_t outlen);

/*
 * Parse a price such as "R$ 1.299,00", "1,299.00 USD", "$19.99" or
 * "1299.00" (with <currency_hint> "BRL").  A plain "$" means USD unless the
 * hint names another currency.  A lone separator followed by exactly
 * three digits is a thousands separator.  Returns 0, or -1 when there is
 * no amount or the symbol contradicts the hint.
 */
int	claims_parse_price(const char *raw, const char *currency_hint,
	    struct claims_price *p);

/*
 * Prices agree when the currencies match and the amounts are equal; a
 * missing currency on either side compares the amounts alone.  USD and
 * BRL agree within 1 % when <usd_brl> > 0; other pairs never agree.
 */
bool	claims_price_equal(const struct claims_price *a,
	    const struct claims_price *b, double usd_brl);

/*
 * Decode HTML character references (&quot; &amp; &#39; &#x2F; &nbsp;
 * ...) of <len> bytes of <in> into a new NUL-terminated string (caller
 * frees); NULL when memory runs out.  Unknown references stay as they
 * are; &nbsp; becomes a plain space.
 */
char	*claims_html_unescape(const char *in, size_t len);

#endif
