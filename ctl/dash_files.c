/* SPDX-License-Identifier: ISC */
/*
 * dash_files.c: what the dashboard shows of a run's files.
 *
 * /runs/<run_id>/evidence: every source of the evidence file
 * (state/evidence/<run_id>.json) with its tier (lower tiers greyed), its
 * URL or path as text, the fetch time, an error, and each claim found
 * (raw, then normalised); then the run's collections, gates and operator
 * actions from its events (the refetch history).  Everything from a web
 * page is escaped text.  /runs/<run_id>/timeline.csv and .edl: the
 * latest timeline files of rvctl timeline, served as text attachments.
 *
 * Public: dash_evidence_page, dash_timeline, dash_timeline_file.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "ctl/dash.h"
#include "ctl/mhd_dl.h"

#define TIMELINE_MAX	(8 * 1024 * 1024)

/*
 * Is there a state/timeline/timeline_<video>_latest.<ext>?  Its path into
 * <path> when <path> is not NULL.
 */
bool
dash_timeline_file(struct dash *d, const struct store_run *run, const char *ext,
    char *path, size_t size)
{
	char buf[PATH_MAX];

	if (!id_video_valid(run->video_id) || fs_path(buf, sizeof(buf),
	    "%s/timeline/timeline_%s_latest.%s", d->env->cfg.state_dir,
	    run->video_id, ext) == -1 || !fs_exists(buf))
		return false;
	if (path != NULL)
		strlcpy(path, buf, size);
	return true;
}

/* GET /runs/<run_id>/timeline.csv or .edl: the latest file, as text. */
void
dash_timeline(struct dash *d, const char *run_id, const char *ext,
    struct dash_resp *r)
{
	struct store_run run;
	char err[512], path[PATH_MAX], *txt;
	size_t len;
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = dash_store(d, err, sizeof(err)) ? store_get_run(&d->env->st,
	    run_id, &run, NULL, err, sizeof(err)) : -1;
	pthread_mutex_unlock(&d->lock);
	if (rc == -1 || !dash_timeline_file(d, &run, ext, path, sizeof(path)) ||
	    fs_read_file(path, TIMELINE_MAX, &txt, &len) == -1) {
		dash_error_page(r, MHD_HTTP_NOT_FOUND, "No timeline",
		    "No such run, or no timeline yet (rvctl timeline makes "
		    "it).");
		return;
	}
	r->status = MHD_HTTP_OK;
	r->ctype = "text/plain; charset=utf-8";
	r->b.p = txt;
	r->b.len = r->b.cap = len;
	(void)snprintf(r->disposition, sizeof(r->disposition),
	    "attachment; filename=\"timeline_%s_latest.%s\"", run.video_id,
	    ext);
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
	file = dash_read_json(d->env->cfg.state_dir, "evidence", run.run_id);
	(void)snprintf(title, sizeof(title), "Evidence %s", run.video_id);
	dash_page_begin(b, title, run.run_id);
	db_raw(b, "<h1>Evidence of ");
	db_run_link(b, run.run_id, run.video_id);
	db_raw(b, "</h1>\n<section id=\"sources\"><h2>Sources</h2>");
	if (file == NULL)
		db_raw(b, "<p>No evidence file yet.</p>");
	db_raw(b, "<div class=\"scroll\"><table><thead><tr><th>Tier</th>"
	    "<th>Source</th><th>Fetched</th><th>Claims found</th></tr></thead>"
	    "<tbody>");
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(file, "sources")) {
		int tier = ctl_jint(s, "tier");

		db_fmt(b, "<tr%s><td>%d</td><td class=\"mono\">", tier >= 4 ?
		    "" : " class=\"low-tier\"", tier);
		db_text(b, dash_src_name(s));
		if (ctl_jstr(s, "error")[0] != '\0') {
			db_raw(b, "<br>error: ");
			db_text(b, ctl_jstr(s, "error"));
		}
		db_raw(b, "</td><td>");
		db_text(b, ctl_jstr(s, "fetched_at"));
		db_raw(b, "</td><td>");
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(s, "claims")) {
			db_raw(b, "<span class=\"raw\">");
			db_textf(b, "%s: %s", c->string,
			    cJSON_IsString(c) ? c->valuestring : "?");
			db_raw(b, "</span><span class=\"norm\">");
			db_text(b, ctl_jstr(cJSON_GetObjectItem(s,
			    "normalized"), c->string));
			db_raw(b, "</span>");
		}
		db_raw(b, "</td></tr>\n");
	}
	db_raw(b, "</tbody></table></div></section>\n<section id=\"history\">"
	    "<h2>Collections and refetches</h2><ul>");
	cJSON_ArrayForEach(e, events) {
		const char *t = ctl_jstr(e, "event_type");

		if (strcmp(t, "evidence_collected") != 0 &&
		    strcmp(t, "gate_opened") != 0 &&
		    strcmp(t, "operator_action") != 0)
			continue;
		db_raw(b, "<li>");
		db_text(b, ctl_jstr(e, "occurred_at"));
		db_raw(b, " ");
		db_text(b, t);
		db_raw(b, " ");
		db_text(b, ctl_jstr(e, "reason_key"));
		db_raw(b, "</li>\n");
	}
	db_raw(b, "</ul></section>\n");
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
	cJSON_Delete(file);
	cJSON_Delete(events);
}
