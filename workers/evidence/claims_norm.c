/* SPDX-License-Identifier: ISC */
/*
 * claims_norm.c: whether two pages say the same, by normalising each
 * critical claim and comparing the results.
 *
 * Normalisation is a set of pure functions, so the comparison rules can be
 * tested without pages: voltages become "220V", "bivolt" (two linked
 * voltages spanning the 127 V and 220 V grids, which includes universal
 * 100-240V supplies) or a range such as "220-240V"; 110V and 127V are kept
 * apart on purpose (an operator decides, never a guess).  Prices become
 * minor units plus an ISO code; EANs are check-digit validated; model ids
 * and compatibility lists ignore case and spacing.
 *
 * This file reads no HTML (claims.c extracts the raw values) and does not
 * decide what a disagreement means (collect.c does); it never logs
 * and keeps no state.
 *
 * Public: claims_normalize, claims_equal, claims_norm_voltage,
 * claims_norm_model, claims_norm_compat, claims_norm_ean,
 * claims_parse_price, claims_price_equal.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workers/evidence/claims.h"
#include "workers/evidence/claims_text.h"

#define VOLT_NUMS_MAX	16
#define COMPAT_ITEMS_MAX 128

/* ---- shared with claims.c (claims_text.h) -------------------------- */

/* Copy <s> lower-cased (ASCII) into a bounded buffer; false if too long. */
bool
claims_lower_copy(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= outlen)
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[i] = '\0';
	return true;
}

/* ---- voltage ------------------------------------------------------ */

enum volt_unit {
	VU_NONE = 0,	/* a bare number */
	VU_VOLT,	/* "v", "volts", "vac", "v~" */
	VU_OTHER	/* "hz", "w", "l"...: never a voltage */
};

struct volt_num {
	double		 v;
	enum volt_unit	 unit;
	bool		 linked;	/* joined to the next by a range mark */
};

static bool
volt_joiner(const char *w, size_t n)
{
	static const char *const words[] = {
		"a", "to", "ou", "or", "e", "and"
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && strncmp(w, words[i], n) == 0)
			return true;
	return false;
}

/* Classify and skip the unit after a number at <p>. */
static const char *
volt_unit(const char *p, enum volt_unit *unit)
{
	static const char *const units[] = { "volts", "volt", "vac", "v" };
	size_t i, n;

	while (*p == ' ')
		p++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		n = strlen(units[i]);
		if (strncmp(p, units[i], n) == 0 &&
		    !isalpha((unsigned char)p[n])) {
			*unit = VU_VOLT;
			return p + n + (p[n] == '~');
		}
	}
	/* A joining word is no unit: "110 a 220", "110 ou 220". */
	for (n = 0; isalpha((unsigned char)p[n]); n++)
		;
	*unit = n == 0 || volt_joiner(p, n) ? VU_NONE : VU_OTHER;
	return p;
}

/* A range mark between two numbers: "-", "/", "~", en dash, "a", "to". */
static bool
volt_range_mark(const char *p, const char *q)
{
	while (p < q && *p == ' ')
		p++;
	while (q > p && q[-1] == ' ')
		q--;
	if (q - p == 1 && strchr("-/~", *p) != NULL)
		return true;
	if (q - p == 3 && memcmp(p, "\xe2\x80\x93", 3) == 0)
		return true;
	return (q - p == 1 && *p == 'a') ||
	    (q - p == 2 && memcmp(p, "to", 2) == 0);
}

/* Find the numbers of lower-cased <s>; returns how many, -1 if too many. */
static int
volt_scan(const char *s, struct volt_num *nums)
{
	const char *p = s, *prev = NULL;
	char numbuf[32], *c;
	size_t k;
	int n = 0;

	while (*p != '\0') {
		if (!isdigit((unsigned char)*p)) {
			p++;
			continue;
		}
		if (n == VOLT_NUMS_MAX)
			return -1;
		for (k = 0; (isdigit((unsigned char)p[k]) || ((p[k] == '.' ||
		    p[k] == ',') && isdigit((unsigned char)p[k + 1]))) &&
		    k + 1 < sizeof(numbuf); k++)
			numbuf[k] = p[k];
		numbuf[k] = '\0';
		if ((c = strchr(numbuf, ',')) != NULL)
			*c = '.';
		if (n > 0)
			nums[n - 1].linked = volt_range_mark(prev, p);
		nums[n].v = strtod(numbuf, NULL);
		nums[n].linked = false;
		p = prev = volt_unit(p + k, &nums[n].unit);
		n++;
	}
	return n;
}

/*
 * Decide which numbers are voltages.  With no volt unit anywhere, bare
 * numbers are (the claim is a voltage by construction: "110/220").
 * Otherwise a bare number becomes one only through a range mark to a
 * voltage ("110-220V"), and only when plausible (<= 1000).
 */
static void
volt_mark(struct volt_num *nums, int n)
{
	bool any_volt = false;
	int i;

	for (i = 0; i < n; i++)
		any_volt |= nums[i].unit == VU_VOLT;
	for (i = 0; i < n; i++)
		if (!any_volt && nums[i].unit == VU_NONE)
			nums[i].unit = VU_VOLT;
	for (i = n - 2; i >= 0; i--)
		if (nums[i].linked && nums[i].unit == VU_NONE &&
		    nums[i + 1].unit == VU_VOLT && nums[i].v <= 1000)
			nums[i].unit = VU_VOLT;
	for (i = 1; i < n; i++)
		if (nums[i - 1].linked && nums[i].unit == VU_NONE &&
		    nums[i - 1].unit == VU_VOLT && nums[i].v <= 1000)
			nums[i].unit = VU_VOLT;
}

/* Format the voltages of a chain of linked numbers. */
static int
volt_format(double lo, double hi, char *out, size_t outlen)
{
	int r;

	if (lo == hi)
		r = snprintf(out, outlen, "%gV", lo);
	else if (lo <= 127 && hi >= 220)
		r = snprintf(out, outlen, "bivolt");
	else
		r = snprintf(out, outlen, "%g-%gV", lo, hi);
	return r < 0 || (size_t)r >= outlen ? -1 : 0;
}

/* "220 volts" -> "220V", "110-220V" -> "bivolt"; rules in claims.h. */
int
claims_norm_voltage(const char *raw, char *out, size_t outlen)
{
	struct volt_num nums[VOLT_NUMS_MAX];
	char s[256];
	double lo = 0, hi = 0;
	bool any = false, chain;
	int i, n;

	if (!claims_lower_copy(raw, s, sizeof(s)))
		return -1;
	if (strstr(s, "bivolt") != NULL || strstr(s, "bi-volt") != NULL)
		return snprintf(out, outlen, "bivolt") >= (int)outlen ? -1 : 0;
	if ((n = volt_scan(s, nums)) <= 0)
		return -1;
	volt_mark(nums, n);
	for (i = 0; i < n; i++) {
		if (nums[i].unit != VU_VOLT || nums[i].v <= 0)
			continue;
		chain = i > 0 && nums[i - 1].unit == VU_VOLT &&
		    nums[i - 1].linked;
		if (any && !chain && (nums[i].v < lo || nums[i].v > hi))
			return -1;	/* "110V or 220V": ambiguous */
		if (!any || nums[i].v < lo)
			lo = nums[i].v;
		if (!any || nums[i].v > hi)
			hi = nums[i].v;
		any = true;
	}
	return any ? volt_format(lo, hi, out, outlen) : -1;
}

/* ---- model id, compatibility -------------------------------------- */

int
claims_norm_model(const char *raw, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *raw != '\0'; raw++) {
		if (isspace((unsigned char)*raw) || *raw == '-' || *raw == '_')
			continue;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)tolower((unsigned char)*raw);
	}
	if (outlen > 0)
		out[o] = '\0';
	return o == 0 ? -1 : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lower-case, trim and squeeze the spaces of one item, in place. */
static char *
compat_item(char *s)
{
	char *r = s, *w = s;

	while (isspace((unsigned char)*r))
		r++;
	for (; *r != '\0'; r++) {
		if (isspace((unsigned char)*r)) {
			if (w > s && w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = (char)tolower((unsigned char)*r);
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
	return s;
}

int
claims_norm_compat(const char *raw, char *out, size_t outlen)
{
	char *items[COMPAT_ITEMS_MAX], *copy, *tok, *save = NULL;
	size_t n = 0, i, o = 0, l;
	int r = -1;

	if ((copy = strdup(raw)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ",;|\n", &save); tok != NULL;
	    tok = strtok_r(NULL, ",;|\n", &save)) {
		if (*compat_item(tok) == '\0')
			continue;
		if (n == COMPAT_ITEMS_MAX)
			goto done;
		items[n++] = tok;
	}
	qsort(items, n, sizeof(items[0]), cmp_str);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(items[i], items[i - 1]) == 0)
			continue;
		l = strlen(items[i]);
		if (o + l + 2 > outlen)
			goto done;
		if (o > 0)
			out[o++] = ';';
		memcpy(out + o, items[i], l);
		o += l;
		out[o] = '\0';
	}
	r = n > 0 ? 0 : -1;
done:
	free(copy);
	return r;
}

/* ---- EAN / GTIN ---------------------------------------------------- */

int
claims_norm_ean(const char *raw, char *out, size_t outlen)
{
	char d[15];
	size_t n = 0, i;
	int sum = 0;

	for (; *raw != '\0'; raw++) {
		if (*raw == ' ' || *raw == '-')
			continue;
		if (!isdigit((unsigned char)*raw) || n == 14)
			return -1;
		d[n++] = *raw;
	}
	if (n != 8 && n != 12 && n != 13 && n != 14)
		return -1;
	/* Zero padding to 14 does not change the GS1 check digit. */
	memmove(d + 14 - n, d, n);
	memset(d, '0', 14 - n);
	d[14] = '\0';
	for (i = 0; i < 13; i++)
		sum += (d[i] - '0') * ((12 - i) % 2 == 0 ? 3 : 1);
	if (strlcpy(out, d[0] == '0' ? d + 1 : d, outlen) >= outlen)
		return -1;
	return (10 - sum % 10) % 10 == d[13] - '0' ? 0 : -2;
}

/* ---- prices -------------------------------------------------------- */

static const char *const price_codes[] = {
	"BRL", "USD", "EUR", "GBP", "ARS", "CAD", "AUD", "MXN", "CLP",
	"COP", "PEN", "UYU", "PYG", "CNY", "JPY", "CHF"
};

/* An ISO code from the known list as a separate word of <s>. */
static const char *
price_code_in(const char *s)
{
	size_t i, k;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isalpha((unsigned char)s[i]) ||
		    (i > 0 && isalpha((unsigned char)s[i - 1])))
			continue;
		for (k = 0; k < sizeof(price_codes) / sizeof(price_codes[0]);
		    k++)
			if (strncasecmp(s + i, price_codes[k], 3) == 0 &&
			    !isalpha((unsigned char)s[i + 3]))
				return price_codes[k];
	}
	return NULL;
}

/* The currency named by <raw> itself: a code or a symbol, "$" if bare. */
static int
price_text_currency(const char *raw, char cur[4])
{
	const char *code = price_code_in(raw), *sym = NULL;

	if (strstr(raw, "R$") != NULL)
		sym = "BRL";
	else if (strstr(raw, "US$") != NULL)
		sym = "USD";
	else if (strstr(raw, "\xe2\x82\xac") != NULL)
		sym = "EUR";
	else if (strstr(raw, "\xc2\xa3") != NULL)
		sym = "GBP";
	else if (strchr(raw, '$') != NULL)
		sym = "$";
	if (code != NULL && sym != NULL && strcmp(sym, "$") != 0 &&
	    strcmp(code, sym) != 0)
		return -1;
	(void)strlcpy(cur, code != NULL ? code : sym != NULL ? sym : "", 4);
	return 0;
}

/* Resolve text currency against the page's separate currency. */
static int
price_currency(const char *raw, const char *hint, char cur[4])
{
	char h[4] = "";
	size_t i;

	if (price_text_currency(raw, cur) == -1)
		return -1;
	if (hint != NULL && hint[0] != '\0') {
		for (i = 0; i < 3; i++) {
			if (!isalpha((unsigned char)hint[i]))
				return -1;
			h[i] = (char)toupper((unsigned char)hint[i]);
		}
		if (hint[3] != '\0')
			return -1;
	}
	if (strcmp(cur, "$") == 0)
		(void)strlcpy(cur, h[0] != '\0' ? h : "USD", 4);
	else if (cur[0] == '\0')
		(void)strlcpy(cur, h, 4);
	else if (h[0] != '\0' && strcmp(cur, h) != 0)
		return -1;
	return 0;
}

/* Which of '.' and ',' is the decimal mark in <num> ('\0': none). */
static char
price_decimal_mark(const char *num, size_t n)
{
	const char *dot = NULL, *comma = NULL, *last;
	size_t i, count = 0, after;

	for (i = 0; i < n; i++) {
		if (num[i] == '.')
			dot = num + i;
		else if (num[i] == ',')
			comma = num + i;
		else
			continue;
		count++;
	}
	if (dot != NULL && comma != NULL)
		return dot > comma ? '.' : ',';
	if ((last = dot != NULL ? dot : comma) == NULL || count > 1)
		return '\0';
	after = n - (size_t)(last - num) - 1;
	return after == 3 ? '\0' : *last;
}

/* A space grouping thousands: "1 299,00" (digit, space, three digits). */
static bool
price_group_space(const char *s, size_t i)
{
	size_t k;

	if (s[i] != ' ' || i == 0 || !isdigit((unsigned char)s[i - 1]))
		return false;
	for (k = 1; k <= 3; k++)
		if (!isdigit((unsigned char)s[i + k]))
			return false;
	return !isdigit((unsigned char)s[i + 4]);
}

int
claims_parse_price(const char *raw, const char *currency_hint,
    struct claims_price *p)
{
	const char *s;
	long long units = 0, frac = 0;
	size_t n, i, ndig = 0, nfrac = 0;
	bool infrac = false;
	char mark;

	memset(p, 0, sizeof(*p));
	if (price_currency(raw, currency_hint, p->currency) == -1)
		return -1;
	for (s = raw; *s != '\0' && !isdigit((unsigned char)*s); s++)
		if (*s == '-')
			return -1;
	for (n = 0; isdigit((unsigned char)s[n]) || s[n] == '.' ||
	    s[n] == ',' || price_group_space(s, n); n++)
		;
	while (n > 0 && !isdigit((unsigned char)s[n - 1]))
		n--;
	if (n == 0)
		return -1;
	mark = price_decimal_mark(s, n);
	for (i = 0; i < n; i++) {
		if (s[i] == mark) {
			infrac = true;
		} else if (!isdigit((unsigned char)s[i])) {
			continue;
		} else if (!infrac) {
			if (++ndig > 15)
				return -1;
			units = units * 10 + (s[i] - '0');
		} else if (nfrac < 3) {
			frac = frac * 10 + (s[i] - '0');
			nfrac++;
		}
	}
	while (nfrac < 3) {
		frac *= 10;
		nfrac++;
	}
	p->minor = units * 100 + (frac + 5) / 10;	/* half up */
	return 0;
}

bool
claims_price_equal(const struct claims_price *a, const struct claims_price *b,
    double usd_brl)
{
	double x, y;

	if (a->currency[0] == '\0' || b->currency[0] == '\0' ||
	    strcmp(a->currency, b->currency) == 0)
		return a->minor == b->minor;
	if (usd_brl <= 0)
		return false;
	if (strcmp(a->currency, "USD") == 0 &&
	    strcmp(b->currency, "BRL") == 0) {
		x = (double)a->minor * usd_brl;
		y = (double)b->minor;
	} else if (strcmp(a->currency, "BRL") == 0 &&
	    strcmp(b->currency, "USD") == 0) {
		x = (double)a->minor;
		y = (double)b->minor * usd_brl;
	} else
		return false;
	return fabs(x - y) <= 0.01 * fmax(x, y);
}

static int
price_normalize(const char *raw, const char *currency, char *out,
    size_t outlen)
{
	struct claims_price p;
	int r;

	if (claims_parse_price(raw, currency, &p) == -1)
		return -1;
	r = snprintf(out, outlen, "%s%s%lld.%02lld", p.currency,
	    p.currency[0] != '\0' ? " " : "", p.minor / 100, p.minor % 100);
	return r < 0 || (size_t)r >= outlen ? -1 : 0;
}

int
claims_normalize(enum claim_kind kind, const char *raw, const char *currency,
    char *out, size_t outlen)
{
	switch (kind) {
	case CLAIM_PRICE:
		return price_normalize(raw, currency, out, outlen);
	case CLAIM_VOLTAGE:
		return claims_norm_voltage(raw, out, outlen);
	case CLAIM_COMPAT:
		return claims_norm_compat(raw, out, outlen);
	case CLAIM_MODEL:
		return claims_norm_model(raw, out, outlen);
	case CLAIM_EAN:
		return claims_norm_ean(raw, out, outlen);
	default:
		return -1;
	}
}

bool
claims_equal(enum claim_kind kind, const char *a, const char *b,
    double usd_brl)
{
	struct claims_price pa, pb;

	if (kind != CLAIM_PRICE)
		return strcmp(a, b) == 0;
	if (claims_parse_price(a, NULL, &pa) == -1 ||
	    claims_parse_price(b, NULL, &pb) == -1)
		return strcmp(a, b) == 0;
	return claims_price_equal(&pa, &pb, usd_brl);
}

