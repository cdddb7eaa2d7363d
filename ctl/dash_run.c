/* SPDX-License-Identifier: ISC */
/*
 * dash_run.c: the run page.
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
 * with a note that a refetch is under way), drawn by dash_diff.c with
 * the evidence file state/evidence/<run_id>.json for what the gate does
 * not carry.
 *
 * Public: dash_run_page, dash_gate_evidence, dash_read_json.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/checkpoint.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "ctl/dash.h"
#include "ctl/mhd_dl.h"

#define EVFILE_MAX	(8 * 1024 * 1024)
#define EVENTS_SHOWN	60

/* The gate_opened payload's evidence for <nonce> in <events>, or NULL. */
static const cJSON *
gate_event(const cJSON *events, const char *nonce)
{
	const cJSON *e, *p;

	if (nonce[0] == '\0')
		return NULL;
	cJSON_ArrayForEach(e, events) {
		p = cJSON_GetObjectItem(e, "payload");
		if (strcmp(ctl_jstr(e, "event_type"), "gate_opened") == 0 &&
		    strcmp(ctl_jstr(p, "nonce"), nonce) == 0)
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

cJSON *
dash_read_json(const char *state_dir, const char *dir, const char *run_id)
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
    const cJSON *file, const char *csrf, bool terminal, long queued)
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
		    "decide");
		if (run->lock_token[0] != '\0' && run->worker_id[0] != '\0') {
			db_raw(b, "; worker ");
			db_text(b, run->worker_id);
			db_raw(b, " keeps this run and takes no other");
		}
		if (queued > 0)
			db_fmt(b, "; %ld run%s queued behind it", queued,
			    queued == 1 ? " is" : "s are");
		db_raw(b, ".</p>\n");
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
		dash_diff_table(b, ev, file);
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
	int n = cJSON_GetArraySize(events), i, shown = 0, hidden = 0;
	const cJSON *e;
	char *p;

	db_raw(b, "<section id=\"events\" data-live><h2>Events</h2><div "
	    "class=\"scroll\"><table><thead><tr><th>When</th><th>Severity</th>"
	    "<th>Event</th><th>Detail</th></tr></thead><tbody>");
	for (i = n - 1; i >= 0 && shown < EVENTS_SHOWN; i--) {
		e = cJSON_GetArrayItem(events, i);
		/* the lease's routine beats would bury what happened */
		if (strcmp(ctl_jstr(e, "severity"), "DEBUG") == 0) {
			hidden++;
			continue;
		}
		shown++;
		db_raw(b, "<tr><td>");
		db_text(b, ctl_jstr(e, "occurred_at"));
		db_raw(b, "</td><td>");
		db_text(b, ctl_jstr(e, "severity"));
		db_raw(b, "</td><td>");
		db_text(b, ctl_jstr(e, "event_type"));
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
	db_raw(b, "</tbody></table></div>");
	if (hidden > 0)
		db_fmt(b, "<p class=\"note\">%d debug events (lease "
		    "heartbeats) not shown; <code>rvctl events</code> lists "
		    "them all.</p>", hidden);
	db_raw(b, "</section>\n");
}

void
dash_run_page(struct dash_req *q, const char *run_id, struct dash_resp *r)
{
	struct dash *d = q->d;
	struct dash_buf *b = &r->b;
	struct store_ledger *ledger = NULL;
	struct store_run run, *all = NULL;
	size_t nall = 0, i;
	long queued = 0;
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
	if (rc == 0 && store_list_runs(&d->env->st, &all, &nall, err,
	    sizeof(err)) == 0) {
		for (i = 0; i < nall; i++)
			if (all[i].lock_token[0] == '\0' &&
			    (strcmp(all[i].status, RUN_RUNNING) == 0 ||
			    strcmp(all[i].status, RUN_APPROVED) == 0))
				queued++;
		free(all);
	} else
		queued = -1;	/* unknown: not said */
	pthread_mutex_unlock(&d->lock);
	if (rc == -1) {
		dash_error_page(r, e == ENOENT ? MHD_HTTP_NOT_FOUND :
		    MHD_HTTP_SERVICE_UNAVAILABLE, e == ENOENT ? "No such run" :
		    "Store unreachable", err);
		cJSON_Delete(events);
		return;
	}
	file = dash_read_json(d->env->cfg.state_dir, "evidence", run.run_id);
	ck = dash_read_json(d->env->cfg.state_dir, "checkpoints",
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
	    terminal, queued);
	run_facts(b, &run);
	if (run.lock_token[0] != '\0' || !terminal)
		unlock_form(b, &run, q->csrf);
	stages(b, ck);
	credits(b, ledger, nl, led_ok);
	events_list(b, events);
	db_raw(b, "<section id=\"files\"><h2>Files</h2><p><a href=\"/runs/");
	db_text(b, run.run_id);
	db_raw(b, "/evidence\">Evidence sources</a></p><p>");
	if (dash_timeline_file(d, &run, "csv", NULL, 0)) {
		db_raw(b, "<a href=\"/runs/");
		db_text(b, run.run_id);
		db_raw(b, "/timeline.csv\">Timeline CSV</a> | <a href=\"/runs/");
		db_text(b, run.run_id);
		db_raw(b, "/timeline.edl\">EDL</a> (the latest of <code>rvctl "
		    "timeline --video ");
		db_text(b, run.video_id);
		db_raw(b, "</code>)");
	} else {
		db_raw(b, "No timeline yet: <code>rvctl timeline --video ");
		db_text(b, run.video_id);
		db_raw(b, "</code> makes the CSV and the EDL.");
	}
	db_raw(b, "</p></section>\n");
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
	free(ledger);
	cJSON_Delete(events);
	cJSON_Delete(file);
	cJSON_Delete(ck);
}
