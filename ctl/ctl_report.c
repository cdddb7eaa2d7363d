/* SPDX-License-Identifier: ISC */
/*
 * ctl_report.c: rvctl preflight and rvctl report [--video ID], and the
 * two-line summary rvctl status shows.
 *
 * preflight answers "can the queue be rendered with the credits I have?":
 * for every run not finished, the segments that still have no final video
 * times the price of a render (DZINE_CREDITS_PER_SEGMENT with the dzine
 * renderer, nothing with ffmpeg), against DZINE_CREDITS_AVAILABLE, in
 * credits, US$ (DZINE_CREDIT_PRICE_USD) and R$ (USD_BRL).  Exit 0 GO,
 * 1 when the credits available are unknown, 2 NO_GO.
 *
 * report adds what was saved (videos reused instead of rendered) and
 * spent (the credit ledger), a per-run table, and quality: missing
 * segments, the worst segment drift, the cumulative drift, and videos
 * under 1 Mbps.  With --video the run's segments are listed too.  Exit 0
 * ok, 1 when something deserves a look (missing videos of a done run,
 * drift over 0.5 s, low bitrate, unresolved ledger intents, a spec that
 * cannot be read), 2 when a done run drifts more than 1 s.  Both work
 * from the spec mirrors when the store is unreachable, and say so.
 *
 * The numbers come from ctl_runinfo.c.  Nothing here writes.
 *
 * Public: ctl_preflight, ctl_report, ctl_report_summary,
 * ctl_report_summary_json.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/media/timeline.h"
#include "ctl/ctl.h"

struct verdict {
	enum ctl_level	 level;
	char		 why[512];
};

static void
why_add(struct verdict *v, enum ctl_level lvl, const char *text)
{
	if (lvl > v->level)
		v->level = lvl;
	if (v->why[0] != '\0')
		(void)strlcat(v->why, "; ", sizeof(v->why));
	(void)strlcat(v->why, text, sizeof(v->why));
}

/* GO / unknown / NO_GO for <needed> credits. */
static enum ctl_level
preflight_level(const struct ctl_env *env, long needed, char *why,
    size_t size)
{
	long avail = env->cfg.dzine_credits_available;

	if (needed == 0) {
		snprintf(why, size, "GO: nothing left to pay for");
		return CTL_LVL_OK;
	}
	if (avail < 0) {
		snprintf(why, size, "UNKNOWN: %ld credits needed but "
		    "DZINE_CREDITS_AVAILABLE is not set", needed);
		return CTL_LVL_WARN;
	}
	if (needed > avail) {
		snprintf(why, size, "NO_GO: %ld credits needed, %ld available; "
		    "buy credits or take runs out of the queue before the "
		    "worker renders", needed, avail);
		return CTL_LVL_CRIT;
	}
	snprintf(why, size, "GO: %ld credits needed of %ld available (%ld "
	    "left after the queue)", needed, avail, avail - needed);
	return CTL_LVL_OK;
}

static void
quality_verdict(const struct ctl_runs *runs, const struct ctl_totals *t,
    struct verdict *v)
{
	char buf[160];
	size_t i, nospec = 0;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < runs->n; i++)
		nospec += !runs->v[i].have_spec;
	if (t->verdict == TIMELINE_CRITICAL)
		why_add(v, CTL_LVL_CRIT, "a done run drifts more than 1.0 s");
	else if (t->verdict == TIMELINE_WARN)
		why_add(v, CTL_LVL_WARN, "a done run drifts more than 0.5 s");
	if (t->missing_finished > 0) {
		snprintf(buf, sizeof(buf), "%zu video%s of done runs %s "
		    "missing", t->missing_finished, t->missing_finished == 1 ?
		    "" : "s", t->missing_finished == 1 ? "is" : "are");
		why_add(v, CTL_LVL_WARN, buf);
	}
	if (t->low_bitrate > 0) {
		snprintf(buf, sizeof(buf), "%zu video%s under 1 Mbps",
		    t->low_bitrate, t->low_bitrate == 1 ? "" : "s");
		why_add(v, CTL_LVL_WARN, buf);
	}
	if (t->intents_open > 0) {
		snprintf(buf, sizeof(buf), "%zu ledger intent%s without a "
		    "result (rvctl events shows the render)", t->intents_open,
		    t->intents_open == 1 ? "" : "s");
		why_add(v, CTL_LVL_WARN, buf);
	}
	if (nospec > 0) {
		snprintf(buf, sizeof(buf), "%zu run%s without a readable spec",
		    nospec, nospec == 1 ? "" : "s");
		why_add(v, CTL_LVL_WARN, buf);
	}
	if (v->why[0] == '\0')
		(void)strlcpy(v->why, "nothing to look at", sizeof(v->why));
}

static const char *
drift_text(const struct ctl_run *r, char *buf, size_t size, bool cum)
{
	if (r->qc.ready == 0)
		return "-";
	snprintf(buf, size, "%+.3f", cum ? r->qc.cum_drift :
	    r->qc.worst_delta);
	return buf;
}

static void
source_line(const struct ctl_env *env, const struct ctl_runs *runs)
{
	if (runs->from_store)
		printf("store %s", env->st.backend);
	else
		printf("store UNREACHABLE (%s): runs from the spec mirrors, "
		    "status and spent unknown", runs->store_err);
	printf("; index %s\n", runs->index_state == CTL_INDEX_OK ? "ok" :
	    runs->index_state == CTL_INDEX_MISSING ? "missing (run "
	    "rvctl index-refresh)" : runs->index_state == CTL_INDEX_BUSY ?
	    "BUSY (locked by another command; try again)" : "UNREADABLE "
	    "(rvctl index-refresh --rebuild)");
	printf("renderer %s: %ld credits per segment, US$ %.4f per credit, "
	    "US$ 1 = R$ %.2f\n\n", env->cfg.renderer, runs->per_segment,
	    env->cfg.dzine_credit_price_usd, env->cfg.usd_brl);
}

static void
run_row(const struct ctl_run *r)
{
	char w[16], c[16];

	printf("%-20s %-16s %4zu %5zu %4zu %6ld %5ld %5ld %7s %7s %4zu  %s\n",
	    r->r.video_id, r->r.status, r->nsegs, r->qc.ready, r->qc.missing,
	    r->needed, r->saved, r->spent, drift_text(r, w, sizeof(w), false),
	    drift_text(r, c, sizeof(c), true), r->low_bitrate,
	    !r->have_spec ? "NO SPEC" : r->qc.ready == 0 ? "-" :
	    timeline_verdict_name(r->qc.verdict));
}

static void
seg_rows(const struct ctl_run *r)
{
	const struct ctl_seg *s;
	const char *base;
	size_t i;

	if (!r->have_spec) {
		printf("\n%s: %s\n", r->r.video_id, r->spec_err);
		return;
	}
	printf("\n%-5s %-20s %-10s %7s %7s %7s %9s %-7s %s\n", "ORDER",
	    "SEGMENT", "KIND", "TARGET", "PROBE", "DELTA", "KBPS", "STATUS",
	    "FILE");
	for (i = 0; i < r->nsegs; i++) {
		s = &r->segs[i];
		base = strrchr(s->file, '/');
		if (s->ready)
			printf("%-5zu %-20s %-10s %7.3f %7.3f %+7.3f %9lld "
			    "%-7s %s%s\n", i + 1, s->segment_id, s->kind,
			    s->target, s->duration, s->duration - s->target,
			    s->bitrate_bps / 1000, "READY", base ? base + 1 :
			    s->file, s->bitrate_bps > 0 && s->bitrate_bps <
			    CTL_LOW_BITRATE_BPS ? "  (low bitrate)" : "");
		else
			printf("%-5zu %-20s %-10s %7.3f %7s %7s %9s %-7s -\n",
			    i + 1, s->segment_id, s->kind, s->target, "-", "-",
			    "-", "MISSING");
	}
}

static void
totals_lines(const struct ctl_env *env, const struct ctl_runs *runs,
    const struct ctl_totals *t)
{
	char m1[64], m2[64], m3[64];

	ctl_money(&env->cfg, t->needed, m1, sizeof(m1));
	ctl_money(&env->cfg, t->saved, m2, sizeof(m2));
	ctl_money(&env->cfg, t->spent, m3, sizeof(m3));
	printf("credits   needed %ld (%s)   saved %ld (%s)   ", t->needed, m1,
	    t->saved, m2);
	if (runs->ledger)
		printf("spent %ld (%s)\n", t->spent, m3);
	else
		printf("spent unknown (no ledger: store unreachable)\n");
	printf("quality   missing %zu (%zu in done runs", t->missing,
	    t->missing_finished);
	if (t->missing_run != NULL)
		printf(", first %s/%s", t->missing_run->r.video_id,
		    t->missing_run->qc.first_missing);
	printf(")   ");
	if (t->worst_run != NULL)
		printf("worst drift %+.3f s (%s/%s)   max cumulative drift "
		    "%.3f s (%s)   ", t->worst_run->qc.worst_delta,
		    t->worst_run->r.video_id, t->worst_run->qc.worst_segment,
		    t->drift_run->qc.max_drift, t->drift_run->r.video_id);
	else
		printf("no video to measure   ");
	printf("low bitrate (< 1 Mbps) %zu\n", t->low_bitrate);
}

static void
report_print(const struct ctl_env *env, const struct ctl_runs *runs,
    const char *only, const struct verdict *v)
{
	struct ctl_totals t;
	size_t i;

	ctl_runs_totals(runs, &t);
	printf("RayVault report: %s%zu run%s\n", only ? "" : "all ",
	    runs->n, runs->n == 1 ? "" : "s");
	source_line(env, runs);
	printf("%-20s %-16s %4s %5s %4s %6s %5s %5s %7s %7s %4s  %s\n",
	    "VIDEO", "STATUS", "SEGS", "READY", "MISS", "NEEDED", "SAVED",
	    "SPENT", "WORST", "CUM", "LOWB", "QC");
	for (i = 0; i < runs->n; i++)
		run_row(&runs->v[i]);
	if (only != NULL && runs->n == 1)
		seg_rows(&runs->v[0]);
	printf("\n");
	totals_lines(env, runs, &t);
	printf("verdict   %s%s%s: %s\n", ctl_paint(stdout, v->level),
	    ctl_level_name(v->level, false), ctl_unpaint(stdout), v->why);
}

static cJSON *
seg_json(const struct ctl_seg *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "segment_id", s->segment_id);
	cJSON_AddStringToObject(o, "kind", s->kind);
	cJSON_AddNumberToObject(o, "target", s->target);
	cJSON_AddStringToObject(o, "status", s->ready ? "READY" : "MISSING");
	if (s->ready) {
		cJSON_AddStringToObject(o, "file", s->file);
		cJSON_AddNumberToObject(o, "probe_duration", s->duration);
		cJSON_AddNumberToObject(o, "delta", round((s->duration -
		    s->target) * 1000) / 1000);
		cJSON_AddNumberToObject(o, "bitrate_bps",
		    (double)s->bitrate_bps);
	}
	cJSON_AddBoolToObject(o, "paid", s->paid);
	return o;
}

static cJSON *
run_json(const struct ctl_run *r, bool segs)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	cJSON_AddStringToObject(o, "run_id", r->r.run_id);
	cJSON_AddStringToObject(o, "video_id", r->r.video_id);
	cJSON_AddStringToObject(o, "status", r->r.status);
	if (!r->have_spec)
		cJSON_AddStringToObject(o, "spec_error", r->spec_err);
	cJSON_AddNumberToObject(o, "segments", (double)r->nsegs);
	cJSON_AddNumberToObject(o, "ready", (double)r->qc.ready);
	cJSON_AddNumberToObject(o, "missing", (double)r->qc.missing);
	cJSON_AddStringToObject(o, "first_missing", r->qc.first_missing);
	cJSON_AddStringToObject(o, "worst_segment", r->qc.worst_segment);
	cJSON_AddNumberToObject(o, "worst_delta", r->qc.worst_delta);
	cJSON_AddNumberToObject(o, "cum_drift", round(r->qc.cum_drift *
	    1e6) / 1e6);
	cJSON_AddNumberToObject(o, "max_drift", r->qc.max_drift);
	cJSON_AddStringToObject(o, "qc", timeline_verdict_name(r->qc.verdict));
	cJSON_AddNumberToObject(o, "low_bitrate", (double)r->low_bitrate);
	cJSON_AddNumberToObject(o, "credits_needed", (double)r->needed);
	cJSON_AddNumberToObject(o, "credits_saved", (double)r->saved);
	cJSON_AddNumberToObject(o, "credits_spent", (double)r->spent);
	cJSON_AddNumberToObject(o, "intents_open", (double)r->intents_open);
	if (segs) {
		a = cJSON_AddArrayToObject(o, "segment_list");
		for (i = 0; i < r->nsegs; i++)
			cJSON_AddItemToArray(a, seg_json(&r->segs[i]));
	}
	return o;
}

static void
money_json(cJSON *o, const struct ctl_env *env, const char *name, long c)
{
	cJSON *m = cJSON_AddObjectToObject(o, name);
	double usd = (double)c * env->cfg.dzine_credit_price_usd;

	cJSON_AddNumberToObject(m, "credits", (double)c);
	cJSON_AddNumberToObject(m, "usd", round(usd * 100) / 100);
	cJSON_AddNumberToObject(m, "brl", round(usd * env->cfg.usd_brl * 100) /
	    100);
}

static cJSON *
report_json(const struct ctl_env *env, const struct ctl_runs *runs,
    const char *only, const struct verdict *v)
{
	struct ctl_totals t;
	cJSON *o = cJSON_CreateObject(), *q, *a;
	size_t i;

	ctl_runs_totals(runs, &t);
	cJSON_AddStringToObject(o, "store", runs->from_store ?
	    env->st.backend : "unreachable");
	cJSON_AddStringToObject(o, "renderer", env->cfg.renderer);
	cJSON_AddNumberToObject(o, "credits_per_segment",
	    (double)runs->per_segment);
	cJSON_AddNumberToObject(o, "credit_price_usd",
	    env->cfg.dzine_credit_price_usd);
	cJSON_AddNumberToObject(o, "usd_brl", env->cfg.usd_brl);
	money_json(o, env, "needed", t.needed);
	money_json(o, env, "saved", t.saved);
	if (runs->ledger)
		money_json(o, env, "spent", t.spent);
	else
		cJSON_AddNullToObject(o, "spent");
	q = cJSON_AddObjectToObject(o, "quality");
	cJSON_AddNumberToObject(q, "missing", (double)t.missing);
	cJSON_AddNumberToObject(q, "missing_in_done_runs",
	    (double)t.missing_finished);
	cJSON_AddNumberToObject(q, "worst_delta", t.worst_run ?
	    t.worst_run->qc.worst_delta : 0);
	cJSON_AddNumberToObject(q, "max_cum_drift", t.drift_run ?
	    t.drift_run->qc.max_drift : 0);
	cJSON_AddNumberToObject(q, "low_bitrate", (double)t.low_bitrate);
	cJSON_AddStringToObject(o, "verdict", ctl_level_name(v->level, false));
	cJSON_AddStringToObject(o, "why", v->why);
	a = cJSON_AddArrayToObject(o, "runs");
	for (i = 0; i < runs->n; i++)
		cJSON_AddItemToArray(a, run_json(&runs->v[i], only != NULL));
	return o;
}

static int
load(struct ctl_env *env, const char *cmd, const char *only,
    struct ctl_runs *runs)
{
	char err[512];
	int rc;

	if (!ctl_settings_ok(env, cmd))
		return CTL_USAGE;
	rc = ctl_runs_load(env, only, CTL_RI_LEDGER, runs, err, sizeof(err));
	if (rc != CTL_OK)
		fprintf(stderr, "rvctl %s: %s\n", cmd, err);
	return rc;
}

int
ctl_report(struct ctl_env *env, int argc, char **argv)
{
	const char *only = NULL;
	const struct ctl_opt opts[] = {
		{ "--video", CTL_OPT_STR, &only, 0, 0 },
		{ "--run", CTL_OPT_STR, &only, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	struct ctl_runs runs;
	struct ctl_totals t;
	struct verdict v;
	cJSON *j;
	int rc;

	if (ctl_opts_parse("report", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("report"));
	if ((rc = load(env, "report", only, &runs)) != CTL_OK)
		return rc;
	ctl_runs_totals(&runs, &t);
	quality_verdict(&runs, &t, &v);
	if (!runs.from_store)
		why_add(&v, CTL_LVL_WARN, "the store is unreachable");
	if (env->json) {
		j = report_json(env, &runs, only, &v);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else
		report_print(env, &runs, only, &v);
	ctl_runs_clear(&runs);
	return v.level == CTL_LVL_CRIT ? CTL_CRIT : v.level == CTL_LVL_WARN ?
	    CTL_WARN : CTL_OK;
}

static void
preflight_print(const struct ctl_env *env, const struct ctl_runs *runs,
    const struct ctl_totals *t, enum ctl_level lvl, const char *why)
{
	const struct ctl_run *r;
	char m[64];
	size_t i, k = 0;

	printf("rvctl preflight: %zu run%s not finished\n", t->active,
	    t->active == 1 ? "" : "s");
	source_line(env, runs);
	printf("%-20s %-16s %4s %5s %9s %7s  %s\n", "VIDEO", "STATUS", "SEGS",
	    "READY", "TO_RENDER", "CREDITS", "COST");
	for (i = 0; i < runs->n; i++) {
		r = &runs->v[i];
		if (ctl_run_terminal(r))
			continue;
		k++;
		ctl_money(&env->cfg, r->needed, m, sizeof(m));
		printf("%-20s %-16s %4zu %5zu %9zu %7ld  %s\n", r->r.video_id,
		    r->r.status, r->nsegs, r->qc.ready, r->qc.missing,
		    r->needed, m);
	}
	if (k == 0)
		printf("(no run waits to be rendered)\n");
	ctl_money(&env->cfg, t->needed, m, sizeof(m));
	printf("\nneeded    %ld credits (%s)\n", t->needed, m);
	ctl_money(&env->cfg, t->saved, m, sizeof(m));
	printf("saved     %ld credits by reusing videos already final (%s)\n",
	    t->saved, m);
	ctl_money(&env->cfg, t->spent, m, sizeof(m));
	if (runs->ledger)
		printf("spent     %ld credits so far (%s)\n", t->spent, m);
	if (env->cfg.dzine_credits_available >= 0)
		printf("available %ld credits (DZINE_CREDITS_AVAILABLE)\n",
		    env->cfg.dzine_credits_available);
	else
		printf("available unknown (DZINE_CREDITS_AVAILABLE not set)\n");
	printf("verdict   %s%s%s\n", ctl_paint(stdout, lvl), why,
	    ctl_unpaint(stdout));
}

int
ctl_preflight(struct ctl_env *env, int argc, char **argv)
{
	const struct ctl_opt opts[] = { { NULL, 0, NULL, 0, 0 } };
	struct ctl_runs runs;
	struct ctl_totals t;
	enum ctl_level lvl;
	char why[256];
	cJSON *j;
	int rc;

	if (ctl_opts_parse("preflight", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("preflight"));
	if ((rc = load(env, "preflight", NULL, &runs)) != CTL_OK)
		return rc;
	ctl_runs_totals(&runs, &t);
	lvl = preflight_level(env, t.needed, why, sizeof(why));
	if (env->json) {
		j = report_json(env, &runs, NULL, &(struct verdict){ lvl, "" });
		cJSON_ReplaceItemInObject(j, "why", cJSON_CreateString(why));
		cJSON_AddNumberToObject(j, "credits_available",
		    (double)env->cfg.dzine_credits_available);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else
		preflight_print(env, &runs, &t, lvl, why);
	ctl_runs_clear(&runs);
	return lvl == CTL_LVL_CRIT ? CTL_CRIT : lvl == CTL_LVL_WARN ?
	    CTL_WARN : CTL_OK;
}

/* The preflight and quality lines of rvctl status. */
void
ctl_report_summary(const struct ctl_env *env, const struct ctl_runs *runs,
    FILE *fp)
{
	struct ctl_totals t;
	struct verdict v;
	char why[256], m[64];
	enum ctl_level lvl;

	ctl_runs_totals(runs, &t);
	lvl = preflight_level(env, t.needed, why, sizeof(why));
	ctl_money(&env->cfg, t.needed, m, sizeof(m));
	fprintf(fp, "preflight   %s%s%s (%zu run%s not finished, %zu "
	    "segment%s to render, %s)\n", ctl_paint(fp, lvl), why,
	    ctl_unpaint(fp), t.active, t.active == 1 ? "" : "s",
	    t.to_render, t.to_render == 1 ? "" : "s", m);
	quality_verdict(runs, &t, &v);
	fprintf(fp, "quality     %s%s%s: %zu done run%s, %zu missing, ",
	    ctl_paint(fp, v.level), ctl_level_name(v.level, false),
	    ctl_unpaint(fp), t.finished, t.finished == 1 ? "" : "s",
	    t.missing_finished);
	if (t.worst_run != NULL)
		fprintf(fp, "worst drift %+.3f s (%s/%s), ",
		    t.worst_run->qc.worst_delta, t.worst_run->r.video_id,
		    t.worst_run->qc.worst_segment);
	fprintf(fp, "%zu low bitrate (%s)\n", t.low_bitrate, v.why);
}

cJSON *
ctl_report_summary_json(const struct ctl_env *env,
    const struct ctl_runs *runs)
{
	struct ctl_totals t;
	struct verdict v;
	cJSON *o = cJSON_CreateObject(), *p, *q;
	char why[256];
	enum ctl_level lvl;

	ctl_runs_totals(runs, &t);
	lvl = preflight_level(env, t.needed, why, sizeof(why));
	p = cJSON_AddObjectToObject(o, "preflight");
	cJSON_AddStringToObject(p, "verdict", lvl == CTL_LVL_CRIT ? "NO_GO" :
	    lvl == CTL_LVL_WARN ? "UNKNOWN" : "GO");
	cJSON_AddStringToObject(p, "why", why);
	cJSON_AddNumberToObject(p, "runs", (double)t.active);
	cJSON_AddNumberToObject(p, "segments_to_render",
	    (double)t.to_render);
	money_json(p, env, "needed", t.needed);
	cJSON_AddNumberToObject(p, "credits_available",
	    (double)env->cfg.dzine_credits_available);
	quality_verdict(runs, &t, &v);
	q = cJSON_AddObjectToObject(o, "qc");
	cJSON_AddStringToObject(q, "verdict", ctl_level_name(v.level, false));
	cJSON_AddStringToObject(q, "why", v.why);
	cJSON_AddNumberToObject(q, "done_runs", (double)t.finished);
	cJSON_AddNumberToObject(q, "missing", (double)t.missing_finished);
	cJSON_AddNumberToObject(q, "worst_delta", t.worst_run ?
	    t.worst_run->qc.worst_delta : 0);
	cJSON_AddNumberToObject(q, "low_bitrate", (double)t.low_bitrate);
	return o;
}
