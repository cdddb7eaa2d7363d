/* SPDX-License-Identifier: ISC */
/*
 * dash_pages.c: the dashboard's list pages.
 *
 * /: the supervisor card (pid, worker, state, its run with the lease
 * countdown, its children; "not running" when no rvsup holds the state
 * directory: runs wait), the runs waiting for the operator (oldest gate
 * first, with how long they have waited), the open incidents and the
 * recent runs.  /runs?status=S: every run (or those of status S), newest
 * first.  /incidents: stale, panicked and critical runs of the last 24
 * hours.  The supervisor is asked over its control endpoint with a short
 * wait, the runs come from the store; when either does not answer the
 * page says so instead of guessing.  Every section an update may change
 * carries data-live, so /static/app.js can swap it for a fresh copy.
 *
 * Public: dash_overview, dash_runs_page, dash_incidents,
 * dash_run_incident, dash_status_cell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/runtime.h"
#include "ctl/dash.h"
#include "ctl/mhd_dl.h"
#include "ipc/proto.h"

#define RECENT_MAX	15
#define INCIDENT_AGE	(24 * 3600.0)

static const char *const statuses[] = { RUN_RUNNING, RUN_WAITING_APPROVAL,
	RUN_APPROVED, RUN_DONE, RUN_FAILED, RUN_ABORTED, NULL };

static bool
terminal(const struct store_run *r)
{
	return strcmp(r->status, RUN_DONE) == 0 ||
	    strcmp(r->status, RUN_FAILED) == 0 ||
	    strcmp(r->status, RUN_ABORTED) == 0;
}

/* Is run <r> an incident (SPEC 6.1)?  <why> says which. */
bool
dash_run_incident(const struct dash *d, const struct store_run *r, char *why,
    size_t size)
{
	int hb = d->env->cfg.heartbeat_interval_sec;

	if (r->age_sec > INCIDENT_AGE && r->gate_age_sec < 0 &&
	    r->heartbeat_age_sec > INCIDENT_AGE)
		return false;
	if (strcmp(r->worker_state, WS_PANIC) == 0) {
		(void)snprintf(why, size, "panic: %s", r->gate_reason[0] ?
		    r->gate_reason : "worker in panic");
		return true;
	}
	if (!terminal(r) && r->lock_token[0] != '\0' && (r->lease_expired ||
	    (strcmp(r->worker_state, WS_ACTIVE) == 0 &&
	    r->heartbeat_age_sec > 3.0 * hb))) {
		(void)snprintf(why, size, "stale worker %s: %s",
		    r->worker_id, r->lease_expired ? "lease expired" :
		    "no heartbeat for 3 intervals");
		return true;
	}
	if (strcmp(r->status, RUN_FAILED) == 0 && r->age_sec <= INCIDENT_AGE) {
		(void)snprintf(why, size, "failed: %s", r->error[0] ?
		    r->error : "no error text");
		return true;
	}
	return false;
}

/* A link to the run, its status in a tag. */
void
dash_status_cell(struct dash_buf *b, const struct store_run *r)
{
	const char *cls = "";

	if (strcmp(r->status, RUN_WAITING_APPROVAL) == 0)
		cls = " warn";
	else if (strcmp(r->status, RUN_FAILED) == 0 ||
	    strcmp(r->status, RUN_ABORTED) == 0)
		cls = " crit";
	else if (strcmp(r->status, RUN_DONE) == 0)
		cls = " ok";
	db_fmt(b, "<span class=\"tag%s\">", cls);
	db_text(b, r->status);
	if (strcmp(r->status, RUN_RUNNING) == 0 && r->lock_token[0] == '\0')
		db_raw(b, " (queued)");
	db_raw(b, "</span>");
}

static void
run_link(struct dash_buf *b, const struct store_run *r)
{
	db_run_link(b, r->run_id, r->video_id);
}

static void
runs_table(struct dash_buf *b, const struct store_run *v, size_t n,
    size_t max, const char *status)
{
	size_t i, shown = 0;

	db_raw(b, "<div class=\"scroll\"><table><thead><tr><th>Video</th>"
	    "<th>Status</th><th>Worker</th><th>Created</th><th>Gate</th>"
	    "</tr></thead><tbody>\n");
	for (i = n; i > 0 && shown < max; i--) {
		const struct store_run *r = &v[i - 1];

		if (status != NULL && strcmp(r->status, status) != 0)
			continue;
		shown++;
		db_raw(b, "<tr><td>");
		run_link(b, r);
		db_raw(b, "</td><td>");
		dash_status_cell(b, r);
		db_raw(b, " ");
		db_text(b, r->worker_state);
		db_raw(b, "</td><td>");
		db_text(b, r->worker_id[0] ? r->worker_id : "-");
		db_raw(b, "</td><td>");
		db_text(b, r->created_at);
		db_raw(b, "</td><td>");
		if (r->gate_nonce[0] != '\0')
			db_textf(b, "%.8s %s", r->gate_nonce, r->gate_reason);
		else if (r->decision[0] != '\0')
			db_textf(b, "decided: %s", r->decision);
		db_raw(b, "</td></tr>\n");
	}
	if (shown == 0)
		db_raw(b, "<tr><td colspan=\"5\">No runs.</td></tr>\n");
	db_raw(b, "</tbody></table></div>\n");
}

/* The supervisor card. */
static void
supervisor_card(struct dash *d, struct dash_buf *b, const struct store_run *v,
    size_t n)
{
	char err[512], dur[48];
	const cJSON *s, *run, *c;
	cJSON *st = NULL;
	pid_t pid = rt_held_pid(d->env->cfg.state_dir);
	size_t i;

	db_raw(b, "<section id=\"supervisor\" data-live><h2>Supervisor</h2>");
	if (pid <= 0) {
		db_raw(b, "<p><span class=\"tag crit\">not running</span> No "
		    "rvsup holds ");
		db_text(b, d->env->cfg.state_dir);
		db_raw(b, ": queued and approved runs wait until one starts "
		    "(<code>rvsup start</code>). Decisions made here are "
		    "recorded and taken when it does.</p></section>\n");
		return;
	}
	st = ctl_control_request(d->env, IPC_CTL_STATUS, NULL, 1000, err,
	    sizeof(err));
	if (st == NULL) {
		db_fmt(b, "<p><span class=\"tag warn\">running</span> pid %ld "
		    "holds the state directory but did not answer: ",
		    (long)pid);
		db_text(b, err);
		db_raw(b, "</p></section>\n");
		return;
	}
	s = cJSON_GetObjectItem(st, "supervisor");
	db_fmt(b, "<p><span class=\"tag ok\">running</span> pid %d, worker ",
	    ctl_jint(s, "pid"));
	db_text(b, ctl_jstr(s, "worker_id"));
	db_raw(b, ", state ");
	db_text(b, ctl_jstr(s, "state"));
	db_raw(b, ", since ");
	db_text(b, ctl_jstr(s, "started_at"));
	if (strcmp(ctl_jstr(s, "store_state"), "up") != 0 &&
	    ctl_jstr(s, "store_state")[0] != '\0') {
		db_raw(b, "<br><span class=\"tag crit\">store ");
		db_text(b, ctl_jstr(s, "store_state"));
		db_raw(b, "</span> ");
		db_text(b, ctl_jstr(s, "store_error"));
	}
	db_raw(b, "</p>");
	run = cJSON_GetObjectItem(st, "run");
	if (cJSON_IsObject(run)) {
		db_raw(b, "<p>Run ");
		db_run_link(b, ctl_jstr(run, "run_id"),
		    ctl_jstr(run, "video_id"));
		db_raw(b, ": stage ");
		db_text(b, ctl_jstr(run, "stage"));
		db_raw(b, ", status ");
		db_text(b, ctl_jstr(run, "status"));
		for (i = 0; i < n; i++)
			if (strcmp(v[i].run_id, ctl_jstr(run, "run_id")) == 0) {
				dash_duration(dur, sizeof(dur),
				    v[i].lease_seconds_left);
				db_fmt(b, ", lease %s %s%s",
				    v[i].lease_expired ? "expired" :
				    "expires in", dur, v[i].lease_expired ?
				    " ago" : "");
			}
		db_raw(b, "</p>");
	} else
		db_raw(b, "<p>No run: waiting for work.</p>");
	db_raw(b, "<div class=\"scroll\"><table><thead><tr><th>Child</th>"
	    "<th>Pid</th><th>State</th><th>Restarts</th><th>Last heartbeat"
	    "</th></tr></thead><tbody>");
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "children")) {
		db_raw(b, "<tr><td>");
		db_text(b, ctl_jstr(c, "kind"));
		db_fmt(b, "</td><td>%d</td><td>", ctl_jint(c, "pid"));
		db_text(b, ctl_jstr(c, "state"));
		db_fmt(b, "</td><td>%d</td><td>%d ms ago", ctl_jint(c,
		    "restarts"), ctl_jint(c, "last_heartbeat_ms_ago"));
		if (ctl_jint(c, "heartbeat_every_ms") > 0)
			db_fmt(b, " (every %d ms)", ctl_jint(c,
			    "heartbeat_every_ms"));
		db_raw(b, "</td></tr>");
	}
	db_raw(b, "</tbody></table></div></section>\n");
	cJSON_Delete(st);
}

/* The runs, or NULL with the page saying why not. */
static struct store_run *
load_runs(struct dash *d, struct dash_buf *b, size_t *n)
{
	struct store_run *v = NULL;
	char err[512];
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = dash_store(d, err, sizeof(err)) ? store_list_runs(&d->env->st, &v,
	    n, err, sizeof(err)) : -1;
	pthread_mutex_unlock(&d->lock);
	if (rc == -1) {
		db_raw(b, "<section id=\"store\" data-live><p><span class=\""
		    "tag crit\">store unreachable</span> ");
		db_text(b, err);
		db_raw(b, " (nothing below is known until it answers)</p>"
		    "</section>\n");
		*n = 0;
		return NULL;
	}
	return v;
}

static void
incident_list(struct dash *d, struct dash_buf *b, const struct store_run *v,
    size_t n)
{
	char why[400];
	size_t i, k = 0;

	db_raw(b, "<ul>");
	for (i = n; i > 0; i--)
		if (dash_run_incident(d, &v[i - 1], why, sizeof(why))) {
			db_raw(b, "<li>");
			run_link(b, &v[i - 1]);
			db_raw(b, " ");
			dash_status_cell(b, &v[i - 1]);
			db_raw(b, " ");
			db_text(b, why);
			db_raw(b, "</li>\n");
			k++;
		}
	if (k == 0)
		db_raw(b, "<li>None.</li>");
	db_raw(b, "</ul>\n");
}

void
dash_overview(struct dash *d, struct dash_resp *r)
{
	struct dash_buf *b = &r->b;
	struct store_run *v;
	char dur[48];
	size_t n, i, k = 0;

	dash_page_begin(b, "Overview", NULL);
	db_raw(b, "<h1>RayVault</h1>\n");
	v = load_runs(d, b, &n);
	supervisor_card(d, b, v, n);
	db_raw(b, "<section id=\"waiting\" data-live><h2>Waiting for you</h2>"
	    "<ul>");
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].status, RUN_WAITING_APPROVAL) != 0)
			continue;
		k++;
		db_raw(b, "<li>");
		run_link(b, &v[i]);
		db_raw(b, " ");
		db_text(b, v[i].gate_reason[0] ? v[i].gate_reason : "gated");
		if (v[i].gate_age_sec >= 0) {
			dash_duration(dur, sizeof(dur), v[i].gate_age_sec);
			db_fmt(b, ", waiting %s", dur);
		}
		db_raw(b, " <a href=\"/runs/");
		db_text(b, v[i].run_id);
		db_raw(b, "#gate\">read the diff and decide</a></li>\n");
	}
	if (k == 0)
		db_raw(b, "<li>Nothing waits for a decision.</li>");
	db_raw(b, "</ul></section>\n<section id=\"incidents\" data-live>"
	    "<h2>Open incidents</h2>");
	incident_list(d, b, v, n);
	db_raw(b, "</section>\n<section id=\"recent\" data-live><h2>Recent "
	    "runs</h2>");
	runs_table(b, v, n, RECENT_MAX, NULL);
	db_raw(b, "<p><a href=\"/runs\">All runs</a></p></section>\n");
	free(v);
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
}

void
dash_runs_page(struct dash *d, const char *status, struct dash_resp *r)
{
	struct dash_buf *b = &r->b;
	struct store_run *v;
	size_t n, i;

	if (status != NULL && status[0] == '\0')
		status = NULL;
	for (i = 0; status != NULL && statuses[i] != NULL; i++)
		if (strcmp(status, statuses[i]) == 0)
			break;
	if (status != NULL && statuses[i] == NULL) {
		dash_error_page(r, MHD_HTTP_BAD_REQUEST, "Unknown status",
		    "status must be one of running, waiting_approval, "
		    "approved, done, failed, aborted.");
		return;
	}
	dash_page_begin(b, "Runs", NULL);
	db_raw(b, "<h1>Runs</h1><p>");
	db_raw(b, "<a href=\"/runs\">all</a>");
	for (i = 0; statuses[i] != NULL; i++)
		db_fmt(b, " | <a href=\"/runs?status=%s\">%s</a>", statuses[i],
		    statuses[i]);
	db_raw(b, "</p>\n");
	v = load_runs(d, b, &n);
	db_raw(b, "<section id=\"runs\" data-live>");
	runs_table(b, v, n, (size_t)-1, status);
	db_raw(b, "</section>\n");
	free(v);
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
}

void
dash_incidents(struct dash *d, struct dash_resp *r)
{
	struct dash_buf *b = &r->b;
	struct store_run *v;
	size_t n;

	dash_page_begin(b, "Incidents", NULL);
	db_raw(b, "<h1>Incidents of the last 24 hours</h1>\n<p class=\"note\">"
	    "Stale workers (lease expired, or no heartbeat for three "
	    "intervals), runs in panic, failed runs.</p>\n");
	v = load_runs(d, b, &n);
	db_raw(b, "<section id=\"incidents\" data-live>");
	incident_list(d, b, v, n);
	db_raw(b, "</section>\n");
	free(v);
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
}
