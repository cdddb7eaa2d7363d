/* SPDX-License-Identifier: ISC */
/*
 * dash_diff.c: the evidence diff as an HTML table.
 *
 * Rows are the critical claims (price, voltage, compatibility, model_id,
 * ean), columns the sources, tier 5 and 4 first and lower tiers greyed
 * (class "low-tier"); each cell holds the raw value as the page states
 * it (span.raw) and the normalised one (span.norm).  A claim the gate's
 * conflicts name, or on which two tier 4-5 values shown disagree, is a
 * critical conflict (class "conflict").  Values the gate's evidence
 * <ev> does not carry (agreeing claims, lower tiers) come from the
 * evidence file <file> when there is one.  Everything from a web page is
 * inserted as escaped text only: never as an attribute, a URL or markup
 * (tests/fuzz/dash_fuzz.c checks that no input makes an element of its
 * own).
 *
 * Public: dash_diff_table, dash_src_name.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "ctl/dash.h"

#define COLS_MAX	32

static const char *const claims[] = { "price", "voltage", "compatibility",
	"model_id", "ean", NULL };

const char *
dash_src_name(const cJSON *s)
{
	const char *n = ctl_jstr(s, "url");

	return n[0] != '\0' ? n : ctl_jstr(s, "path");
}

struct col {
	const char	*name;
	int		 tier;
	const cJSON	*file;	/* the evidence file's source, or NULL */
};

static size_t
add_col(struct col *cols, size_t n, const char *name, int tier,
    const cJSON *file)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0) {
			if (cols[i].file == NULL)
				cols[i].file = file;
			return n;
		}
	if (n == COLS_MAX || name[0] == '\0')
		return n;
	cols[n].name = name;
	cols[n].tier = tier;
	cols[n].file = file;
	return n + 1;
}

/* The conflict entry of <claim> in the gate's conflicts, or NULL. */
static const cJSON *
conflict_of(const cJSON *conflicts, const char *claim)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, conflicts)
		if (strcmp(ctl_jstr(c, "claim"), claim) == 0)
			return c;
	return NULL;
}

/* Raw and normalised value of <claim> at column <col>. */
static void
cell_values(const cJSON *conf, const struct col *col, const char *claim,
    char *raw, size_t rsize, char *norm, size_t nsize)
{
	const cJSON *s, *cl, *nm;
	const char *cur;

	raw[0] = norm[0] = '\0';
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(conf, "sources"))
		if (strcmp(dash_src_name(s), col->name) == 0) {
			cur = ctl_jstr(s, "currency");
			(void)snprintf(raw, rsize, "%s%s%s", ctl_jstr(s,
			    "raw"), cur[0] ? " " : "", cur);
			strlcpy(norm, ctl_jstr(s, "normalized"), nsize);
			return;
		}
	if (col->file == NULL)
		return;
	cl = cJSON_GetObjectItem(col->file, "claims");
	nm = cJSON_GetObjectItem(col->file, "normalized");
	cur = strcmp(claim, "price") == 0 ? ctl_jstr(cl, "currency") : "";
	if (ctl_jstr(cl, claim)[0] != '\0')
		(void)snprintf(raw, rsize, "%s%s%s", ctl_jstr(cl, claim),
		    cur[0] ? " " : "", cur);
	strlcpy(norm, ctl_jstr(nm, claim), nsize);
}

static int
by_tier(const void *a, const void *b)
{
	const struct col *x = a, *y = b;

	return (y->tier > x->tier) - (y->tier < x->tier);
}

/* The diff table of <ev> (the gate's evidence) and <file>. */
void
dash_diff_table(struct dash_buf *b, const cJSON *ev, const cJSON *file)
{
	const cJSON *conflicts = cJSON_GetObjectItem(ev, "conflicts"), *c, *s;
	struct col cols[COLS_MAX];
	char raw[COLS_MAX][512], norm[COLS_MAX][256], first[256];
	size_t n = 0, i, k;
	bool conflict, any;

	cJSON_ArrayForEach(c, conflicts)
		cJSON_ArrayForEach(s, cJSON_GetObjectItem(c, "sources"))
			n = add_col(cols, n, dash_src_name(s),
			    ctl_jint(s, "tier"), NULL);
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(file, "sources"))
		n = add_col(cols, n, dash_src_name(s), ctl_jint(s, "tier"),
		    s);
	/* a stable sort: insertion, tier 5 first */
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && by_tier(&cols[k - 1], &cols[k]) > 0;
		    k--) {
			struct col t = cols[k];

			cols[k] = cols[k - 1];
			cols[k - 1] = t;
		}
	db_raw(b, "<div class=\"scroll\"><table id=\"evidence-diff\"><thead>"
	    "<tr><th scope=\"col\">Claim</th>");
	for (i = 0; i < n; i++) {
		db_fmt(b, "<th scope=\"col\"%s>tier %d<br><span class=\"src\">",
		    cols[i].tier >= 4 ? "" : " class=\"low-tier\"",
		    cols[i].tier);
		db_text(b, cols[i].name);
		db_raw(b, "</span></th>");
	}
	db_raw(b, "</tr></thead><tbody>\n");
	for (k = 0; claims[k] != NULL; k++) {
		c = conflict_of(conflicts, claims[k]);
		conflict = c != NULL;
		any = false;
		first[0] = '\0';
		for (i = 0; i < n; i++) {
			cell_values(c, &cols[i], claims[k], raw[i],
			    sizeof(raw[i]), norm[i], sizeof(norm[i]));
			any = any || raw[i][0] != '\0' || norm[i][0] != '\0';
			if (cols[i].tier < 4 || norm[i][0] == '\0')
				continue;
			if (first[0] == '\0')
				strlcpy(first, norm[i], sizeof(first));
			else if (strcmp(first, norm[i]) != 0)
				conflict = true;
		}
		if (!any && !conflict)
			continue;
		db_fmt(b, "<tr data-claim=\"%s\"%s><th scope=\"row\">%s%s</th>",
		    claims[k], conflict ? " class=\"conflict\"" : "",
		    claims[k], conflict ? " <span class=\"tag crit\">critical "
		    "conflict</span>" : "");
		for (i = 0; i < n; i++) {
			db_raw(b, cols[i].tier >= 4 ? "<td>" :
			    "<td class=\"low-tier\">");
			db_raw(b, "<span class=\"raw\">");
			db_text(b, raw[i][0] ? raw[i] : "-");
			db_raw(b, "</span><span class=\"norm\">");
			db_text(b, norm[i][0] ? norm[i] : "-");
			db_raw(b, "</span></td>");
		}
		db_raw(b, "</tr>\n");
	}
	db_raw(b, "</tbody></table></div>\n<p class=\"note\">Each cell: what "
	    "the page says, then the normalised value compared.  Only tier 4 "
	    "and 5 sources are trusted; lower tiers are shown greyed.</p>\n");
}

