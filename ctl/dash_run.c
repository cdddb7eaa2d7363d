/* SPDX-License-Identifier: ISC */
/*
 * dash_run.c: the run page and the evidence page.
 *
 * The run page puts the decision first: status, then the gate panel with
 * the evidence diff and, after it in document order, Approve / Refetch /
 * Abort (the gate's nonce and the session's CSRF token as hidden
 * fields), then what the run holds: lease, stages and segments from the
 * checkpoint, credits from the ledger, events, timeline files.
 *
 * The diff is the one stored with the gate: the evidence of the store's
 * gate_opened event whose nonce is the open gate's (or, while a refetch
 * decided that gate and no new one is open yet, the gate just decided,
 * with a note that a refetch is under way).  Rows are the critical
 * claims (price, voltage, compatibility, model_id, ean), columns the
 * sources, tier 5 and 4 first and lower tiers greyed; each cell holds the
 * raw value as the page states it and the normalised one.  A claim the
 * gate's conflicts name, or on which two tier 4-5 values shown disagree,
 * is a critical conflict (class "conflict").  Values the gate does not
 * carry (agreeing claims, lower tiers) come from the evidence file
 * state/evidence/<run_id>.json when it is there.  Everything from a web
 * page is inserted as escaped text only: never as an attribute, a URL
 * or markup.
 *
 * Public: dash_run_page, dash_evidence_page, dash_gate_evidence.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/core/checkpoint.h"
#include "common/core/fsutil.h"
#include "ctl/dash.h"

#define EVFILE_MAX	(8 * 1024 * 1024)
#define COLS_MAX	32
#define EVENTS_SHOWN	60

static const char *const claims[] = { "price", "voltage", "compatibility",
	"model_id", "ean", NULL };

/* The gate_opened payload's evidence for <nonce> in <events>, or NULL. */
static const cJSON *
gate_event(const cJSON *events, const char *nonce)
{
	const cJSON *e, *p;

	if (nonce[0] == '\0')
		return NULL;
	cJSON_ArrayForEach(e, events) {
		p = cJSON_GetObjectItem(e, "payload");
		if (strcmp(dash_jstr(e, "event_type"), "gate_opened") == 0 &&
		    strcmp(dash_jstr(p, "nonce"), nonce) == 0)
			return cJSON_GetObjectItem(p, "evidence");
	}
	return NULL;
}

/* The evidence stored with the run's gate (see above); borrowed. */
cJSON *
dash_gate_evidence(struct dash *d, const struct store_run *run,
    const cJSON *events)
{
	const cJSON *ev = gate_event(events, run->gate_nonce);

	(void)d;
	if (ev == NULL && run->gate_nonce[0] == '\0')
		ev = gate_event(events, run->decided_nonce);
	return (cJSON *)(uintptr_t)ev;
}

static cJSON *
read_json(const char *state_dir, const char *dir, const char *run_id)
{
	char path[PATH_MAX], *txt;
	cJSON *j;

	if (fs_path(path, sizeof(path), "%s/%s/%s.json", state_dir, dir,
	    run_id) == -1 ||
	    fs_read_file(path, EVFILE_MAX, &txt, NULL) == -1)
		return NULL;
	j = cJSON_Parse(txt);
	free(txt);
	return j;
}

static const char *
src_name(const cJSON *s)
{
	const char *n = dash_jstr(s, "url");

	return n[0] != '\0' ? n : dash_jstr(s, "path");
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
		if (strcmp(dash_jstr(c, "claim"), claim) == 0)
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
		if (strcmp(src_name(s), col->name) == 0) {
			cur = dash_jstr(s, "currency");
			(void)snprintf(raw, rsize, "%s%s%s", dash_jstr(s,
			    "raw"), cur[0] ? " " : "", cur);
			strlcpy(norm, dash_jstr(s, "normalized"), nsize);
			return;
		}
	if (col->file == NULL)
		return;
	cl = cJSON_GetObjectItem(col->file, "claims");
	nm = cJSON_GetObjectItem(col->file, "normalized");
	cur = strcmp(claim, "price") == 0 ? dash_jstr(cl, "currency") : "";
	if (dash_jstr(cl, claim)[0] != '\0')
		(void)snprintf(raw, rsize, "%s%s%s", dash_jstr(cl, claim),
		    cur[0] ? " " : "", cur);
	strlcpy(norm, dash_jstr(nm, claim), nsize);
}

static int
by_tier(const void *a, const void *b)
{
	const struct col *x = a, *y = b;

	return y->tier - x->tier;
}

/* The diff table of <ev> (the gate's evidence) and <file>. */
static void
diff_table(struct dash_buf *b, const cJSON *ev, const cJSON *file)
{
	const cJSON *conflicts = cJSON_GetObjectItem(ev, "conflicts"), *c, *s;
	struct col cols[COLS_MAX];
	char raw[COLS_MAX][512], norm[COLS_MAX][256], first[256];
	size_t n = 0, i, k;
	bool conflict, any;

	cJSON_ArrayForEach(c, conflicts)
		cJSON_ArrayForEach(s, cJSON_GetObjectItem(c, "sources"))
			n = add_col(cols, n, src_name(s), (int)
			    cJSON_GetNumberValue(cJSON_GetObjectItem(s,
			    "tier")), NULL);
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(file, "sources"))
		n = add_col(cols, n, src_name(s), (int)cJSON_GetNumberValue(
		    cJSON_GetObjectItem(s, "tier")), s);
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

static void
hidden(struct dash_buf *b, const char *name, const char *value)
{
	db_fmt(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	db_text(b, value);
	db_raw(b, "\">");
}

/* The Approve / Refetch / Abort form (abort only, without a gate). */
static void
decide_form(struct dash_buf *b, const struct store_run *run,
    const char *csrf, bool gate)
{
	db_raw(b, "<form id=\"decide\" method=\"post\" action=\"/runs/");
	db_text(b, run->run_id);
	db_raw(b, "/action\">");
	hidden(b, "nonce", gate ? run->gate_nonce : "");
	hidden(b, "csrf", csrf);
	if (gate)
		db_raw(b, "<button name=\"action\" value=\"approve\">Approve"
		    "</button><button name=\"action\" value=\"refetch\">"
		    "Refetch</button>");
	db_raw(b, "<button name=\"action\" value=\"abort\">Abort...</button>"
	    "</form>\n");
	if (gate)
		db_raw(b, "<p class=\"note\">Approve: go on with the evidence "
		    "as it is.  Refetch: collect the sources again (a "
		    "conflict that survives it opens a new gate).  Abort: "
		    "stop the run for good (asks once more).</p>\n");
}

static void
gate_panel(struct dash_buf *b, const struct store_run *run, const cJSON *ev,
    const cJSON *file, const char *csrf, bool terminal)
{
	char dur[48];
	bool refetching = run->gate_nonce[0] == '\0' &&
	    strcmp(run->decision, "refetch") == 0 && !terminal;

	db_raw(b, "<section id=\"gate\" data-live><h2>Gate</h2>");
	if (run->gate_nonce[0] != '\0') {
		dash_duration(dur, sizeof(dur), run->gate_age_sec);
		db_raw(b, "<p><span class=\"tag warn\">waiting for you</span> ");
		db_text(b, run->gate_reason);
		db_textf(b, " (gate %.8s, open for %s).", run->gate_nonce,
		    dur);
		db_raw(b, " Nothing is rendered or published until you "
		    "decide.</p>\n");
	} else if (refetching)
		db_raw(b, "<p id=\"refetching\"><span class=\"tag warn\">"
		    "refetch under way</span> The sources are being collected "
		    "again; below is the diff of the gate just decided.</p>\n");
	else {
		db_raw(b, "<p>No open gate.");
		if (run->decision[0] != '\0')
			db_textf(b, " Last decision: %s (gate %.8s).",
			    run->decision, run->decided_nonce);
		db_raw(b, "</p>\n");
	}
	if (ev != NULL && (run->gate_nonce[0] != '\0' || refetching)) {
		db_raw(b, "<h3>Evidence diff</h3>\n");
		diff_table(b, ev, file);
	} else if (run->gate_nonce[0] != '\0')
		db_raw(b, "<p>This gate carries no evidence diff (it is not an "
		    "evidence gate): read the events below.</p>\n");
	if (!terminal)
		decide_form(b, run, csrf, run->gate_nonce[0] != '\0');
	db_raw(b, "</section>\n");
}

static void
unlock_form(struct dash_buf *b, const struct store_run *run, const char *csrf)
{
	db_raw(b, "<section id=\"unlock-panel\"><h2>Unlock</h2><p class=\"note"
	    "\">Clears the run's lease so another worker can claim it.  "
	    "Without force a live lease is refused.</p><form id=\"unlock\" "
	    "method=\"post\" action=\"/runs/");
	db_text(b, run->run_id);
	db_raw(b, "/unlock\">");
	hidden(b, "csrf", csrf);
	db_raw(b, "<label>Reason <input type=\"text\" name=\"reason\" "
	    "required maxlength=\"400\"></label> <label><input type=\""
	    "checkbox\" name=\"force\" value=\"1\"> force (even a live "
	    "lease)</label> <button name=\"action\" value=\"unlock\">Unlock"
	    "</button></form></section>\n");
}

static void
run_facts(struct dash_buf *b, const struct store_run *run)
{
	char dur[48];

	db_raw(b, "<section id=\"run\" data-live><h2>Run</h2><dl><dt>Run id"
	    "</dt><dd><code>");
	db_text(b, run->run_id);
	db_raw(b, "</code></dd><dt>Worker</dt><dd>");
	db_text(b, run->worker_id[0] ? run->worker_id : "-");
	db_raw(b, " (");
	db_text(b, run->worker_state);
	db_raw(b, ")</dd><dt>Lease</dt><dd>");
	if (run->lock_token[0] == '\0')
		db_raw(b, "not held");
	else {
		dash_duration(dur, sizeof(dur), run->lease_seconds_left);
		db_fmt(b, "epoch %lld, %s %s%s", run->lease_epoch,
		    run->lease_expired ? "expired" : "expires in", dur,
		    run->lease_expired ? " ago" : "");
	}
	db_raw(b, "</dd><dt>Last heartbeat</dt><dd>");
	if (run->heartbeat_age_sec < 0)
		db_raw(b, "never");
	else {
		dash_duration(dur, sizeof(dur), run->heartbeat_age_sec);
		db_fmt(b, "%s ago, latency %lld ms", dur,
		    run->heartbeat_latency_ms);
	}
	db_raw(b, "</dd><dt>Created</dt><dd>");
	db_text(b, run->created_at);
	db_raw(b, "</dd>");
	if (run->error[0] != '\0') {
		db_raw(b, "<dt>Error</dt><dd>");
		db_text(b, run->error);
		db_raw(b, "</dd>");
	}
	db_raw(b, "</dl></section>\n");
}

/* Stages and segments of the checkpoint (every scalar field as text). */
static void
stages(struct dash_buf *b, const cJSON *ck)
{
	const cJSON *s, *f;

	db_raw(b, "<section id=\"stages\" data-live><h2>Stages and segments"
	    "</h2>");
	if (ck == NULL) {
		db_raw(b, "<p>No checkpoint yet.</p></section>\n");
		return;
	}
	db_raw(b, "<p>");
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(ck, "stages")) {
		db_raw(b, "<span class=\"tag\">");
		db_text(b, s->string);
		db_raw(b, ": ");
		db_text(b, cJSON_GetStringValue(s));
		db_raw(b, "</span> ");
	}
	db_raw(b, "</p><div class=\"scroll\"><table><thead><tr><th>Segment"
	    "</th><th>State</th></tr></thead><tbody>");
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(ck, "segments")) {
		db_raw(b, "<tr><td>");
		db_text(b, s->string);
		db_raw(b, "</td><td>");
		cJSON_ArrayForEach(f, s) {
			if (cJSON_IsString(f))
				db_textf(b, "%s: %s; ", f->string,
				    f->valuestring);
			else if (cJSON_IsNumber(f))
				db_textf(b, "%s: %g; ", f->string,
				    f->valuedouble);
			else if (cJSON_IsBool(f))
				db_textf(b, "%s: %s; ", f->string,
				    cJSON_IsTrue(f) ? "yes" : "no");
		}
		db_raw(b, "</td></tr>");
	}
	db_raw(b, "</tbody></table></div></section>\n");
}

static void
credits(struct dash_buf *b, const struct store_ledger *l, size_t n, bool ok)
{
	size_t i;
	long spent = 0;

	db_raw(b, "<section id=\"credits\" data-live><h2>Credits</h2>");
	if (!ok) {
		db_raw(b, "<p>The ledger could not be read.</p></section>\n");
		return;
	}
	db_raw(b, "<div class=\"scroll\"><table><thead><tr><th>Segment</th>"
	    "<th>State</th><th>Credits</th><th>Attempts</th></tr></thead>"
	    "<tbody>");
	for (i = 0; i < n; i++) {
		db_raw(b, "<tr><td>");
		db_text(b, l[i].segment_id);
		db_raw(b, "</td><td>");
		db_text(b, l[i].state);
		db_fmt(b, "</td><td>%d</td><td>%d</td></tr>", l[i].credits,
		    l[i].attempts);
		if (strcmp(l[i].state, "done") == 0)
			spent += l[i].credits;
	}
	db_fmt(b, "</tbody></table></div><p>Spent: %ld credits.</p></section>\n",
	    spent);
}

static void
events_list(struct dash_buf *b, const cJSON *events)
{
	int n = cJSON_GetArraySize(events), i, shown = 0;
	const cJSON *e;
	char *p;

	db_raw(b, "<section id=\"events\" data-live><h2>Events</h2><div "
	    "class=\"scroll\"><table><thead><tr><th>When</th><th>Severity</th>"
	    "<th>Event</th><th>Detail</th></tr></thead><tbody>");
	for (i = n - 1; i >= 0 && shown < EVENTS_SHOWN; i--, shown++) {
		e = cJSON_GetArrayItem(events, i);
		db_raw(b, "<tr><td>");
		db_text(b, dash_jstr(e, "occurred_at"));
		db_raw(b, "</td><td>");
		db_text(b, dash_jstr(e, "severity"));
		db_raw(b, "</td><td>");
		db_text(b, dash_jstr(e, "event_type"));
		db_raw(b, "</td><td class=\"mono\">");
		p = cJSON_PrintUnformatted(cJSON_GetObjectItem(e, "payload"));
		if (p != NULL && strlen(p) > 300) {
			size_t cut = 296;

			while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
				cut--;	/* not inside a UTF-8 character */
			strlcpy(p + cut, "...", 4);
		}
		db_text(b, p);
		free(p);
		db_raw(b, "</td></tr>");
	}
	db_raw(b, "</tbody></table></div></section>\n");
}

void
dash_run_page(struct dash_req *q, const char *run_id, struct dash_resp *r)
{
	struct dash *d = q->d;
	struct dash_buf *b = &r->b;
	struct store_ledger *ledger = NULL;
	struct store_run run;
	char err[512], title[128];
	cJSON *events = NULL, *file, *ck;
	size_t nl = 0;
	bool led_ok, terminal;
	int rc, e = 0;

	pthread_mutex_lock(&d->lock);
	rc = dash_store(d, err, sizeof(err)) ? store_get_run(&d->env->st,
	    run_id, &run, NULL, err, sizeof(err)) : -1;
	if (rc == -1)
		e = errno;
	else if (store_list_events(&d->env->st, run.run_id, &events, err,
	    sizeof(err)) == -1)
		rc = -1;
	led_ok = rc == 0 && store_ledger_list(&d->env->st, run.run_id,
	    &ledger, &nl, err, sizeof(err)) == 0;
	pthread_mutex_unlock(&d->lock);
	if (rc == -1) {
		dash_error_page(r, e == ENOENT ? MHD_HTTP_NOT_FOUND :
		    MHD_HTTP_SERVICE_UNAVAILABLE, e == ENOENT ? "No such run" :
		    "Store unreachable", err);
		cJSON_Delete(events);
		return;
	}
	file = read_json(d->env->cfg.state_dir, "evidence", run.run_id);
	ck = read_json(d->env->cfg.state_dir, "checkpoints",
	    run.run_id);
	terminal = strcmp(run.status, RUN_DONE) == 0 ||
	    strcmp(run.status, RUN_FAILED) == 0 ||
	    strcmp(run.status, RUN_ABORTED) == 0;
	(void)snprintf(title, sizeof(title), "Run %s", run.video_id);
	dash_page_begin(b, title, run.run_id);
	db_raw(b, "<h1>");
	db_text(b, run.video_id);
	db_raw(b, " <span id=\"run-status\">");
	db_text(b, run.status);
	db_raw(b, "</span></h1>\n");
	gate_panel(b, &run, dash_gate_evidence(d, &run, events), file, q->csrf,
	    terminal);
	run_facts(b, &run);
	if (run.lock_token[0] != '\0' || !terminal)
		unlock_form(b, &run, q->csrf);
	stages(b, ck);
	credits(b, ledger, nl, led_ok);
	events_list(b, events);
	db_raw(b, "<section id=\"files\"><h2>Files</h2><p><a href=\"/runs/");
	db_text(b, run.run_id);
	db_raw(b, "/evidence\">Evidence sources</a></p><p>Timeline: <code>");
	db_textf(b, "%s/timeline/timeline_%s_latest.csv", d->env->cfg.state_dir,
	    run.video_id);
	db_raw(b, "</code> and its EDL (<code>rvctl timeline --video ");
	db_text(b, run.video_id);
	db_raw(b, "</code> makes them).</p></section>\n");
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
	free(ledger);
	cJSON_Delete(events);
	cJSON_Delete(file);
	cJSON_Delete(ck);
}

void
dash_evidence_page(struct dash *d, const char *run_id, struct dash_resp *r)
{
	struct dash_buf *b = &r->b;
	struct store_run run;
	char err[512], title[128];
	const cJSON *s, *c, *e;
	cJSON *file, *events = NULL;
	int rc, er = 0;

	pthread_mutex_lock(&d->lock);
	rc = dash_store(d, err, sizeof(err)) ? store_get_run(&d->env->st,
	    run_id, &run, NULL, err, sizeof(err)) : -1;
	if (rc == -1)
		er = errno;
	else if (store_list_events(&d->env->st, run.run_id, &events, err,
	    sizeof(err)) == -1)
		events = NULL;
	pthread_mutex_unlock(&d->lock);
	if (rc == -1) {
		dash_error_page(r, er == ENOENT ? MHD_HTTP_NOT_FOUND :
		    MHD_HTTP_SERVICE_UNAVAILABLE, er == ENOENT ?
		    "No such run" : "Store unreachable", err);
		return;
	}
	file = read_json(d->env->cfg.state_dir, "evidence", run.run_id);
	(void)snprintf(title, sizeof(title), "Evidence %s", run.video_id);
	dash_page_begin(b, title, run.run_id);
	db_raw(b, "<h1>Evidence of <a href=\"/runs/");
	db_text(b, run.run_id);
	db_raw(b, "\">");
	db_text(b, run.video_id);
	db_raw(b, "</a></h1>\n<section id=\"sources\"><h2>Sources</h2>");
	if (file == NULL)
		db_raw(b, "<p>No evidence file yet.</p>");
	db_raw(b, "<div class=\"scroll\"><table><thead><tr><th>Tier</th>"
	    "<th>Source</th><th>Fetched</th><th>Claims found</th></tr></thead>"
	    "<tbody>");
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(file, "sources")) {
		int tier = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(s,
		    "tier"));

		db_fmt(b, "<tr%s><td>%d</td><td class=\"mono\">", tier >= 4 ?
		    "" : " class=\"low-tier\"", tier);
		db_text(b, src_name(s));
		if (dash_jstr(s, "error")[0] != '\0') {
			db_raw(b, "<br>error: ");
			db_text(b, dash_jstr(s, "error"));
		}
		db_raw(b, "</td><td>");
		db_text(b, dash_jstr(s, "fetched_at"));
		db_raw(b, "</td><td>");
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(s, "claims")) {
			db_raw(b, "<span class=\"raw\">");
			db_textf(b, "%s: %s", c->string,
			    cJSON_IsString(c) ? c->valuestring : "?");
			db_raw(b, "</span><span class=\"norm\">");
			db_text(b, dash_jstr(cJSON_GetObjectItem(s,
			    "normalized"), c->string));
			db_raw(b, "</span>");
		}
		db_raw(b, "</td></tr>\n");
	}
	db_raw(b, "</tbody></table></div></section>\n<section id=\"history\">"
	    "<h2>Collections and refetches</h2><ul>");
	cJSON_ArrayForEach(e, events) {
		const char *t = dash_jstr(e, "event_type");

		if (strcmp(t, "evidence_collected") != 0 &&
		    strcmp(t, "gate_opened") != 0 &&
		    strcmp(t, "operator_action") != 0)
			continue;
		db_raw(b, "<li>");
		db_text(b, dash_jstr(e, "occurred_at"));
		db_raw(b, " ");
		db_text(b, t);
		db_raw(b, " ");
		db_text(b, dash_jstr(e, "reason_key"));
		db_raw(b, "</li>\n");
	}
	db_raw(b, "</ul></section>\n");
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
	cJSON_Delete(file);
	cJSON_Delete(events);
}
