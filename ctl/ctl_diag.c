/* SPDX-License-Identifier: ISC */
/*
 * ctl_diag.c: the checks a diagnostic command collects, and how they are
 * shown.
 *
 * doctor, check-contract and baptism add one struct ctl_check per thing
 * they looked at: a short name, a level (OK, WARN, CRIT), a plain
 * sentence saying what was found, and, when something is wrong, the one
 * thing to do about it.  Every text goes through config_redact() first,
 * so a secret that slipped into a store error is never printed.  The
 * list prints as "[OK] name: detail" (doctor) or "[PASS|WARN|FAIL] name:
 * detail" (baptism), closes with numbered next actions (worst first, each
 * once), converts to JSON, and gives the exit code 0 / 1 / 2.
 *
 * Colour: only when the stream is a terminal, NO_COLOR is not set and
 * TERM is not "dumb".
 *
 * Public: ctl_diag_init, ctl_diag_clear, ctl_diag_add, ctl_diag_print,
 * ctl_diag_print_actions, ctl_diag_json, ctl_diag_exit, ctl_level_name,
 * ctl_color, ctl_paint, ctl_unpaint.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/config.h"
#include "ctl/ctl.h"

#define DIAG_MAX	4096

void
ctl_diag_init(struct ctl_diag *d, const struct rv_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->worst = CTL_LVL_OK;
	d->cfg = cfg;
}

void
ctl_diag_clear(struct ctl_diag *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static void
masked(const struct ctl_diag *d, const char *in, char *out, size_t size)
{
	if (d->cfg != NULL)
		(void)config_redact(d->cfg, in, out, size);
	else
		(void)strlcpy(out, in, size);
}

/* Multi-line text ("KEY: problem" lines) as one line. */
static void
one_line(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	for (; *s != '\0'; s++)
		if (*s == '\n')
			*s = ';';
}

/*
 * Add a check.  <action> (may be NULL) says what the operator should do;
 * it is shown among the next actions (those of OK checks last).  Out of
 * memory or past DIAG_MAX checks, the check only raises the verdict.
 */
void
ctl_diag_add(struct ctl_diag *d, enum ctl_level lvl, const char *name,
    const char *action, const char *fmt, ...)
{
	struct ctl_check *c, *nv;
	char text[sizeof(c->detail)];
	va_list ap;
	size_t cap;

	if (lvl > d->worst)
		d->worst = lvl;
	if (d->n == d->cap) {
		cap = d->cap == 0 ? 16 : d->cap * 2;
		if (cap > DIAG_MAX ||
		    (nv = reallocarray(d->v, cap, sizeof(*nv))) == NULL)
			return;
		d->v = nv;
		d->cap = cap;
	}
	c = &d->v[d->n++];
	memset(c, 0, sizeof(*c));
	(void)strlcpy(c->name, name, sizeof(c->name));
	c->level = lvl;
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	one_line(text);
	masked(d, text, c->detail, sizeof(c->detail));
	if (action != NULL)
		masked(d, action, c->action, sizeof(c->action));
}

const char *
ctl_level_name(enum ctl_level lvl, bool pass_fail)
{
	static const char *doc[] = { "OK", "WARN", "CRIT" };
	static const char *bap[] = { "PASS", "WARN", "FAIL" };

	if (lvl > CTL_LVL_CRIT)
		lvl = CTL_LVL_CRIT;
	return pass_fail ? bap[lvl] : doc[lvl];
}

bool
ctl_color(FILE *fp)
{
	const char *term = getenv("TERM");

	if (getenv("NO_COLOR") != NULL)
		return false;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(fp)) == 1;
}

const char *
ctl_paint(FILE *fp, enum ctl_level lvl)
{
	static const char *esc[] = { "\033[32m", "\033[33m", "\033[1;31m" };

	if (!ctl_color(fp))
		return "";
	return esc[lvl > CTL_LVL_CRIT ? CTL_LVL_CRIT : lvl];
}

const char *
ctl_unpaint(FILE *fp)
{
	return ctl_color(fp) ? "\033[0m" : "";
}

/* One line per check: "[WARN] name: detail". */
void
ctl_diag_print(const struct ctl_diag *d, FILE *fp, bool pass_fail)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(fp, "%s[%s]%s %s: %s\n", ctl_paint(fp, d->v[i].level),
		    ctl_level_name(d->v[i].level, pass_fail), ctl_unpaint(fp),
		    d->v[i].name, d->v[i].detail);
}

static bool
seen_before(const struct ctl_diag *d, size_t upto, const char *action,
    enum ctl_level lvl)
{
	size_t i;

	for (i = 0; i < d->n && i < upto; i++)
		if (d->v[i].level == lvl && strcmp(d->v[i].action,
		    action) == 0)
			return true;
	return false;
}

/*
 * Walk the distinct actions, critical ones first.  An OK check may carry
 * an action too (work waiting for the operator that is not a problem,
 * such as a young gate): it comes last and leaves the exit code alone.
 */
static size_t
actions_walk(const struct ctl_diag *d, FILE *fp, cJSON *arr)
{
	size_t i, k = 0;
	int lvl;

	for (lvl = CTL_LVL_CRIT; lvl >= CTL_LVL_OK; lvl--)
		for (i = 0; i < d->n; i++) {
			if ((int)d->v[i].level != lvl ||
			    d->v[i].action[0] == '\0' ||
			    seen_before(d, i, d->v[i].action, d->v[i].level))
				continue;
			k++;
			if (fp != NULL)
				fprintf(fp, "  %zu. %s\n", k, d->v[i].action);
			if (arr != NULL)
				cJSON_AddItemToArray(arr,
				    cJSON_CreateString(d->v[i].action));
		}
	return k;
}

/* "Next actions:" and the numbered list, or "Nothing to do." */
void
ctl_diag_print_actions(const struct ctl_diag *d, FILE *fp)
{
	if (actions_walk(d, NULL, NULL) == 0) {
		fprintf(fp, "\nNext actions: nothing to do.\n");
		return;
	}
	fprintf(fp, "\nNext actions:\n");
	(void)actions_walk(d, fp, NULL);
}

/*
 * {"verdict", "exit", "checks": [{name, level, detail, action}],
 * "next_actions": [...]}; the caller deletes it.
 */
cJSON *
ctl_diag_json(const struct ctl_diag *d, bool pass_fail)
{
	static const char *verdicts[] = { "ok", "warn", "critical" };
	cJSON *o = cJSON_CreateObject(), *arr, *c;
	size_t i;

	cJSON_AddStringToObject(o, "verdict", pass_fail ? (d->worst ==
	    CTL_LVL_CRIT ? "FAIL" : "PASS") : verdicts[d->worst]);
	cJSON_AddNumberToObject(o, "exit", ctl_diag_exit(d));
	arr = cJSON_AddArrayToObject(o, "checks");
	for (i = 0; i < d->n; i++) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", d->v[i].name);
		cJSON_AddStringToObject(c, pass_fail ? "result" : "level",
		    ctl_level_name(d->v[i].level, pass_fail));
		cJSON_AddStringToObject(c, "detail", d->v[i].detail);
		if (d->v[i].action[0] != '\0')
			cJSON_AddStringToObject(c, "action", d->v[i].action);
		cJSON_AddItemToArray(arr, c);
	}
	arr = cJSON_AddArrayToObject(o, "next_actions");
	(void)actions_walk(d, NULL, arr);
	return o;
}

/* 0 when all is well, 1 when something warned, 2 when critical. */
int
ctl_diag_exit(const struct ctl_diag *d)
{
	return d->worst == CTL_LVL_CRIT ? CTL_CRIT :
	    d->worst == CTL_LVL_WARN ? CTL_WARN : CTL_OK;
}
