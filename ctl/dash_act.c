/* SPDX-License-Identifier: ISC */
/*
 * dash_act.c: the operator's decisions from the dashboard.
 *
 * POST /runs/<run_id>/action with action (approve | refetch | abort),
 * nonce (the gate the page showed) and csrf (checked before this file is
 * reached, dash_http.c).  The decision goes through the store's operator
 * action with that nonce, exactly as rvctl approve and the Telegram
 * buttons do, with "dashboard:NAME" as the operator: the answer page says
 * applied, already applied, or no longer possible (the gate was decided
 * or replaced meanwhile; nothing changed).  Approve and refetch without a
 * nonce are not possible (never sent blind, so they cannot decide a gate
 * that opened after the page was read); abort without one stops a run
 * that has no gate.  Abort takes a second step: without confirm=1 it only
 * answers a page asking to confirm, with the same nonce.
 *
 * POST /runs/<run_id>/unlock with reason (required) and force: the
 * store's unlock; without force a live lease is refused.
 *
 * A store call that fails is no answer: the page says the decision is
 * unknown and to reload, never that it was or was not recorded.
 *
 * Public: dash_action, dash_unlock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/dash.h"
#include "ctl/mhd_dl.h"

static void
back_link(struct dash_buf *b, const char *run_id)
{
	db_raw(b, "<p><a href=\"/runs/");
	db_text(b, run_id);
	db_raw(b, "\">Back to the run</a> | <a href=\"/\">Overview</a></p>\n");
}

static void
answer(struct dash_resp *r, const struct store_run *run, const char *title,
    const char *result, const char *words, const char *msg)
{
	struct dash_buf *b = &r->b;

	db_free(b);
	dash_page_begin(b, title, run->run_id);
	db_raw(b, "<h1>");
	db_text(b, title);
	db_raw(b, "</h1>\n<p id=\"result\" class=\"result\" data-result=\"");
	db_text(b, result);
	db_raw(b, "\">");
	db_text(b, words);
	db_raw(b, "</p>\n");
	if (msg != NULL && msg[0] != '\0') {
		db_raw(b, "<p>");
		db_text(b, msg);
		db_raw(b, "</p>\n");
	}
	back_link(b, run->run_id);
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
}

/* Read run <run_id> into <run>; false with the error page made. */
static bool
get_run(struct dash *d, const char *run_id, struct store_run *run,
    struct dash_resp *r)
{
	char err[512];
	int rc, e = 0;

	pthread_mutex_lock(&d->lock);
	rc = dash_store(d, err, sizeof(err)) ? store_get_run(&d->env->st,
	    run_id, run, NULL, err, sizeof(err)) : -1;
	if (rc == -1)
		e = errno;
	pthread_mutex_unlock(&d->lock);
	if (rc == 0)
		return true;
	dash_error_page(r, e == ENOENT ? MHD_HTTP_NOT_FOUND :
	    MHD_HTTP_SERVICE_UNAVAILABLE, e == ENOENT ? "No such run" :
	    "Store unreachable", err);
	return false;
}

static void
confirm_abort(struct dash_req *q, const struct store_run *run,
    struct dash_resp *r)
{
	struct dash_buf *b = &r->b;

	dash_page_begin(b, "Abort?", run->run_id);
	db_raw(b, "<h1>Abort run ");
	db_text(b, run->video_id);
	db_raw(b, "?</h1>\n<p>Status <span id=\"run-status\">");
	db_text(b, run->status);
	db_raw(b, "</span>.  An aborted run stops for good: its children are "
	    "stopped and its lease released; queueing the video again takes "
	    "<code>rvctl enqueue --replace</code>.</p>\n<form id=\"confirm\" "
	    "method=\"post\" action=\"/runs/");
	db_text(b, run->run_id);
	db_raw(b, "/action\"><input type=\"hidden\" name=\"nonce\" value=\"");
	db_text(b, q->f_nonce);
	db_raw(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	db_text(b, q->csrf);
	db_raw(b, "\"><input type=\"hidden\" name=\"confirm\" value=\"1\">"
	    "<button name=\"action\" value=\"abort\">Abort the run</button>"
	    "</form>\n");
	back_link(b, run->run_id);
	dash_page_end(b);
	dash_html_resp(r, MHD_HTTP_OK);
}

void
dash_action(struct dash_req *q, const char *run_id, struct dash_resp *r)
{
	static const char *results[] = { "applied", "already_applied",
	    "not_possible" };
	struct dash *d = q->d;
	enum store_action_result res;
	struct store_run run;
	const char *a = q->f_action, *words;
	char err[512], msg[512] = "", title[160];
	int rc;

	if (strcmp(a, "approve") != 0 && strcmp(a, "refetch") != 0 &&
	    strcmp(a, "abort") != 0) {
		dash_error_page(r, MHD_HTTP_BAD_REQUEST, "Bad form",
		    "action must be approve, refetch or abort: nothing was "
		    "changed.");
		return;
	}
	if (!dash_nonce_ok(q->f_nonce)) {
		dash_error_page(r, MHD_HTTP_BAD_REQUEST, "Bad form",
		    "The gate named is not a gate nonce: nothing was changed.");
		return;
	}
	if (!get_run(d, run_id, &run, r))
		return;
	if (strcmp(a, "abort") == 0 && strcmp(q->f_confirm, "1") != 0) {
		confirm_abort(q, &run, r);
		return;
	}
	(void)snprintf(title, sizeof(title), "%s run %s", a, run.video_id);
	if (q->f_nonce[0] == '\0' && strcmp(a, "abort") != 0) {
		answer(r, &run, title, "not_possible", "not possible",
		    "there is no open gate to decide");
		return;
	}
	pthread_mutex_lock(&d->lock);
	rc = dash_store(d, err, sizeof(err)) ? store_operator_action(
	    &d->env->st, run.run_id, a, d->operator_name, q->f_nonce, &res,
	    msg, sizeof(msg), err, sizeof(err)) : -1;
	pthread_mutex_unlock(&d->lock);
	if (rc == -1) {
		fprintf(stderr, "rvctl dashboard: %s run %s gate %.8s by %s: "
		    "the store did not answer: %s\n", a, run.video_id,
		    q->f_nonce, d->operator_name, err);
		dash_error_page(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "Decision unknown", "The store did not confirm the "
		    "decision, so it may or may not be recorded: reload the "
		    "run page to see, and decide again if the gate is still "
		    "open.");
		return;
	}
	if (res == ACTION_APPLIED)
		words = "applied";
	else if (res == ACTION_ALREADY_APPLIED)
		words = "already applied";
	else
		words = q->f_nonce[0] != '\0' ? "no longer possible" :
		    "not possible";
	fprintf(stderr, "rvctl dashboard: %s run %s gate %.8s by %s: %s\n", a,
	    run.video_id, q->f_nonce, d->operator_name, words);
	answer(r, &run, title, results[res], words, msg);
}

void
dash_unlock(struct dash_req *q, const char *run_id, struct dash_resp *r)
{
	struct dash *d = q->d;
	struct store_run run;
	char err[512], msg[512] = "", title[160];
	bool unlocked = false, force;
	const char *reason = q->f_reason;
	int rc;

	while (*reason == ' ' || *reason == '\t')
		reason++;
	if (reason[0] == '\0') {
		dash_error_page(r, MHD_HTTP_BAD_REQUEST, "Reason needed",
		    "Unlock needs a reason: nothing was changed.");
		return;
	}
	force = strcmp(q->f_force, "1") == 0 || strcmp(q->f_force, "on") == 0;
	if (!get_run(d, run_id, &run, r))
		return;
	pthread_mutex_lock(&d->lock);
	rc = dash_store(d, err, sizeof(err)) ? store_force_unlock(&d->env->st,
	    run.run_id, d->operator_name, reason, force, &unlocked, msg,
	    sizeof(msg), err, sizeof(err)) : -1;
	pthread_mutex_unlock(&d->lock);
	if (rc == -1) {
		fprintf(stderr, "rvctl dashboard: unlock run %s by %s: the "
		    "store did not answer: %s\n", run.video_id,
		    d->operator_name, err);
		dash_error_page(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "Unlock unknown", "The store did not confirm the unlock: "
		    "reload the run page to see.");
		return;
	}
	fprintf(stderr, "rvctl dashboard: unlock%s run %s by %s: %s\n",
	    force ? " --force" : "", run.video_id, d->operator_name,
	    unlocked ? "unlocked" : "refused");
	(void)snprintf(title, sizeof(title), "unlock run %s", run.video_id);
	answer(r, &run, title, unlocked ? "unlocked" : "refused",
	    unlocked ? "unlocked" : "refused", msg);
}
