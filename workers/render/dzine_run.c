/* SPDX-License-Identifier: ISC */
/*
 * dzine_run.c: plays the steps of a Dzine flow (workers/render/dzine_flow.c) on
 * one page of a browser, over the DevTools protocol (workers/render/cdp.c).
 *
 * Steps: navigate (Page.navigate, then the load event), wait_selector,
 * set_files (DOM.setFileInputFiles on the element's remote object), type
 * (focus, then Input.insertText), click (real mouse events at the
 * element's centre), wait_progress, read_credits, read_error and
 * wait_download (Browser.setDownloadBehavior "allowAndName" into the
 * download directory, then the Browser.downloadWillBegin and
 * Browser.downloadProgress events).  Pages are read with one small
 * script per poll (Runtime.evaluate, returnByValue), each with its own
 * deadline, every DZ_POLL_MS.
 *
 * Progress: a finished step, a changed page progress value and a changed
 * byte count of the download each move the progress counter one step;
 * every wait in between only ticks it with its current value.  So a page
 * that stops moving (a busy loop stops answering scripts altogether) is a
 * renderer alive but not moving, and the supervisor's stall rule, not this
 * code, decides when it is frozen: a poll that times out is simply polled
 * again until the step's own (long) timeout.
 *
 * Money: the click marked "generate" is the paid press.  Before it, the
 * balance read "before" (when the flow reads one) must cover the credits
 * needed, else DZ_NOGO and nothing is pressed; then the caller's
 * before_generate hook (the ledger intent) must succeed.  A visible error
 * banner (error_selector, read_error) is DZ_UI with the banner's text.
 * Nothing here logs.
 *
 * Public: dz_run_init, dz_flow_run.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/subproc.h"
#include "workers/render/cdp.h"
#include "workers/render/dzine_flow.h"

#define JS_MAX		(4 * DZ_SEL_MAX + 1024)
#define PROBE_TEXT_MAX	320

struct probe_out {
	bool	error;		/* the error selector is visible, text set */
	bool	done;		/* the done selector exists */
	bool	found;		/* the selector exists, text = its value */
	char	text[PROBE_TEXT_MAX];
};

static const char probe_js[] =
    "(() => {"
    " const q = (s) => s ? document.querySelector(s) : null;"
    " const vis = (e) => !!e && e.getClientRects().length > 0;"
    " const er = q(%s);"
    " if (vis(er) && er.textContent.trim() !== '')"
    "  return {error: er.textContent.trim().slice(0, 300)};"
    " if (q(%s)) return {done: true};"
    " const e = q(%s), a = %s;"
    " if (!e) return {found: false};"
    " const v = a ? (e.getAttribute(a) ?? e[a]) : e.textContent;"
    " return {found: true, value: v == null ? '' :"
    "  String(v).trim().slice(0, 300)};"
    "})()";

static const char rect_js[] =
    "(() => {"
    " const e = document.querySelector(%s);"
    " if (!e) return null;"
    " e.scrollIntoView({block: 'center', inline: 'center'});"
    " const r = e.getBoundingClientRect();"
    " if (r.width === 0 || r.height === 0) return null;"
    " return {x: r.left + r.width / 2, y: r.top + r.height / 2,"
    "  disabled: !!e.disabled};"
    "})()";

static const char focus_js[] =
    "(() => {"
    " const e = document.querySelector(%s);"
    " if (!e) return false;"
    " e.focus();"
    " if (typeof e.select === 'function') e.select();"
    " return true;"
    "})()";

/* Fill in what the runner reports back; callers set the inputs. */
void
dz_run_init(struct dz_run *r)
{
	int i;

	for (i = 0; i < DZ_NSLOTS; i++)
		r->credits[i] = -1;
	r->pressed = false;
	r->download[0] = r->partial[0] = '\0';
	r->bytes = 0;
}

static int
from_cdp(int rc)
{
	if (rc == CDP_CLOSED)
		return DZ_GONE;
	if (rc == CDP_STOPPED)
		return DZ_STOPPED;
	return DZ_UI;
}

static int
step_done(struct dz_run *r)
{
	return progress_step(r->prog) == -1 ? DZ_STOPPED : DZ_OK;
}

/*
 * Evaluate <expr> in the page.  With <by_value>, *out is the value (NULL
 * for undefined); otherwise the remote object (result.result).  Owned by
 * the caller.  Returns a cdp_rc.
 */
static int
evaluate(struct dz_run *r, const char *expr, bool by_value, int timeout_ms,
    cJSON **out, char *err, size_t errlen)
{
	cJSON *p = cJSON_CreateObject(), *res = NULL, *obj;
	const cJSON *exc;
	int rc;

	*out = NULL;
	cJSON_AddStringToObject(p, "expression", expr);
	cJSON_AddBoolToObject(p, "returnByValue", by_value);
	rc = cdp_call(r->cdp, r->session, "Runtime.evaluate", p, timeout_ms,
	    &res, err, errlen);
	if (rc != CDP_OK)
		return rc;
	if ((exc = cJSON_GetObjectItem(res, "exceptionDetails")) != NULL) {
		snprintf(err, errlen, "a page script failed: %.200s",
		    cJSON_GetStringValue(cJSON_GetObjectItem(exc, "text")) ?:
		    "exception");
		cJSON_Delete(res);
		return CDP_ERR;
	}
	obj = cJSON_GetObjectItem(res, "result");
	*out = by_value ? cJSON_DetachItemFromObject(obj, "value") :
	    cJSON_DetachItemFromObject(res, "result");
	cJSON_Delete(res);
	return CDP_OK;
}

/* One look at the page for <sel>, <err_sel>, <done_sel> (each may be ""). */
static int
probe(struct dz_run *r, const char *sel, const char *err_sel,
    const char *done_sel, const char *attr, int timeout_ms,
    struct probe_out *po, char *err, size_t errlen)
{
	char js[JS_MAX], a[DZ_SEL_MAX + 8], b[DZ_SEL_MAX + 8];
	char c[DZ_SEL_MAX + 8], d[80];
	cJSON *v = NULL;
	const char *t;
	int rc;

	memset(po, 0, sizeof(*po));
	if (dz_js_string(err_sel, a, sizeof(a)) == -1 ||
	    dz_js_string(done_sel, b, sizeof(b)) == -1 ||
	    dz_js_string(sel, c, sizeof(c)) == -1 ||
	    dz_js_string(attr, d, sizeof(d)) == -1) {
		snprintf(err, errlen, "selector too long");
		return CDP_ERR;
	}
	snprintf(js, sizeof(js), probe_js, a, b, c, d);
	if ((rc = evaluate(r, js, true, timeout_ms, &v, err, errlen)) !=
	    CDP_OK)
		return rc;
	if ((t = cJSON_GetStringValue(cJSON_GetObjectItem(v, "error"))) !=
	    NULL) {
		po->error = true;
		strlcpy(po->text, t, sizeof(po->text));
	}
	po->done = cJSON_IsTrue(cJSON_GetObjectItem(v, "done"));
	po->found = cJSON_IsTrue(cJSON_GetObjectItem(v, "found"));
	if ((t = cJSON_GetStringValue(cJSON_GetObjectItem(v, "value"))) !=
	    NULL)
		strlcpy(po->text, t, sizeof(po->text));
	cJSON_Delete(v);
	return CDP_OK;
}

static int
probe_timeout(int64_t deadline)
{
	int64_t left = deadline - clock_mono_ms();

	return left < DZ_PROBE_MS ? (left > 0 ? (int)left : 1) : DZ_PROBE_MS;
}

static int
banner(const struct probe_out *po, char *err, size_t errlen)
{
	snprintf(err, errlen, "the site shows an error: %s", po->text);
	return DZ_UI;
}

static int
do_navigate(struct dz_run *r, const struct dz_step *s, char *err,
    size_t errlen)
{
	char url[DZ_TEXT_MAX];
	cJSON *p, *res = NULL;
	const char *et;
	int rc;

	if (dz_expand(s->text, r->vars, url, sizeof(url)) == -1) {
		snprintf(err, errlen, "the URL does not fit");
		return DZ_FAIL;
	}
	cdp_drop_events(r->cdp);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "url", url);
	if ((rc = cdp_call(r->cdp, r->session, "Page.navigate", p, DZ_CMD_MS,
	    &res, err, errlen)) != CDP_OK)
		return from_cdp(rc);
	et = cJSON_GetStringValue(cJSON_GetObjectItem(res, "errorText"));
	if (et != NULL && et[0] != '\0') {
		snprintf(err, errlen, "%.300s: %.200s", url, et);
		cJSON_Delete(res);
		return DZ_UI;
	}
	cJSON_Delete(res);
	if ((rc = cdp_wait_event(r->cdp, r->session, "Page.loadEventFired",
	    s->timeout_ms, NULL, err, errlen)) != CDP_OK)
		return from_cdp(rc);
	return DZ_OK;
}

/*
 * Poll until <s>'s selector exists (what == DZ_WAIT_SELECTOR) or holds a
 * credits number (DZ_READ_CREDITS), watching the error banner.
 */
static int
do_wait_selector(struct dz_run *r, const struct dz_step *s, char *err,
    size_t errlen)
{
	int64_t deadline = clock_mono_ms() + s->timeout_ms;
	struct probe_out po;
	long credits;
	int rc;

	for (;;) {
		rc = probe(r, s->selector, s->error_selector, "", "",
		    probe_timeout(deadline), &po, err, errlen);
		if (rc == CDP_CLOSED || rc == CDP_STOPPED)
			return from_cdp(rc);
		if (rc == CDP_OK && po.error)
			return banner(&po, err, errlen);
		if (rc == CDP_OK && po.found && s->kind == DZ_WAIT_SELECTOR)
			return DZ_OK;
		if (rc == CDP_OK && po.found &&
		    (credits = dz_parse_credits(po.text)) >= 0) {
			r->credits[s->slot] = credits;
			return DZ_OK;
		}
		if (clock_mono_ms() >= deadline) {
			snprintf(err, errlen, "%s %s within %d ms", s->selector,
			    s->kind == DZ_WAIT_SELECTOR ? "did not appear" :
			    "showed no credits balance", s->timeout_ms);
			return DZ_UI;
		}
		if ((rc = cdp_pause(r->cdp, DZ_POLL_MS, err, errlen)) !=
		    CDP_OK)
			return from_cdp(rc);
	}
}

static int
do_read_error(struct dz_run *r, const struct dz_step *s, char *err,
    size_t errlen)
{
	struct probe_out po;
	int rc;

	if ((rc = probe(r, "", s->selector, "", "", s->timeout_ms, &po, err,
	    errlen)) != CDP_OK)
		return from_cdp(rc);
	return po.error ? banner(&po, err, errlen) : DZ_OK;
}

static int
do_set_files(struct dz_run *r, const struct dz_step *s, char *err,
    size_t errlen)
{
	char path[DZ_TEXT_MAX], js[DZ_SEL_MAX + 64], sel[DZ_SEL_MAX + 8];
	cJSON *files = cJSON_CreateArray(), *obj = NULL, *p;
	const char *oid;
	size_t i;
	int rc;

	for (i = 0; i < s->nfiles; i++) {
		if (dz_expand(s->files[i], r->vars, path, sizeof(path)) == -1 ||
		    (path[0] != '\0' && !fs_exists(path))) {
			snprintf(err, errlen, "file %.400s is missing", path);
			cJSON_Delete(files);
			return DZ_FAIL;
		}
		if (path[0] != '\0')
			cJSON_AddItemToArray(files, cJSON_CreateString(path));
	}
	if (cJSON_GetArraySize(files) < (int)s->nfiles) {
		cJSON_Delete(files);
		if (s->optional)
			return DZ_OK;
		snprintf(err, errlen, "this segment has no file for %s",
		    s->selector);
		return DZ_FAIL;
	}
	(void)dz_js_string(s->selector, sel, sizeof(sel));
	snprintf(js, sizeof(js), "document.querySelector(%s)", sel);
	rc = evaluate(r, js, false, DZ_CMD_MS, &obj, err, errlen);
	oid = cJSON_GetStringValue(cJSON_GetObjectItem(obj, "objectId"));
	if (rc != CDP_OK || oid == NULL) {
		if (rc == CDP_OK)
			snprintf(err, errlen, "%s not found", s->selector);
		cJSON_Delete(files);
		cJSON_Delete(obj);
		return rc == CDP_OK ? DZ_UI : from_cdp(rc);
	}
	p = cJSON_CreateObject();
	cJSON_AddItemToObject(p, "files", files);
	cJSON_AddStringToObject(p, "objectId", oid);
	cJSON_Delete(obj);
	rc = cdp_call(r->cdp, r->session, "DOM.setFileInputFiles", p,
	    s->timeout_ms, NULL, err, errlen);
	return rc == CDP_OK ? DZ_OK : from_cdp(rc);
}

static int
do_type(struct dz_run *r, const struct dz_step *s, char *err, size_t errlen)
{
	char text[DZ_TEXT_MAX], js[DZ_SEL_MAX + 256], sel[DZ_SEL_MAX + 8];
	cJSON *v = NULL, *p;
	int rc;

	if (dz_expand(s->text, r->vars, text, sizeof(text)) == -1) {
		snprintf(err, errlen, "the text does not fit");
		return DZ_FAIL;
	}
	(void)dz_js_string(s->selector, sel, sizeof(sel));
	snprintf(js, sizeof(js), focus_js, sel);
	if ((rc = evaluate(r, js, true, DZ_CMD_MS, &v, err, errlen)) !=
	    CDP_OK)
		return from_cdp(rc);
	rc = cJSON_IsTrue(v);
	cJSON_Delete(v);
	if (!rc) {
		snprintf(err, errlen, "%s not found", s->selector);
		return DZ_UI;
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "text", text);
	rc = cdp_call(r->cdp, r->session, "Input.insertText", p,
	    s->timeout_ms, NULL, err, errlen);
	return rc == CDP_OK ? DZ_OK : from_cdp(rc);
}

static int
mouse(struct dz_run *r, const char *type, double x, double y, int timeout_ms,
    char *err, size_t errlen)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddNumberToObject(p, "x", x);
	cJSON_AddNumberToObject(p, "y", y);
	cJSON_AddStringToObject(p, "button", "left");
	cJSON_AddNumberToObject(p, "clickCount", 1);
	return cdp_call(r->cdp, r->session, "Input.dispatchMouseEvent", p,
	    timeout_ms, NULL, err, errlen);
}

/* The paid press may go ahead: enough credits, ledger intent written. */
static int
before_generate(struct dz_run *r, char *err, size_t errlen)
{
	long have = r->credits[DZ_SLOT_BEFORE];

	if (have < 0)
		have = r->credits[DZ_SLOT_BALANCE];
	if (r->needed > 0 && have >= 0 && have < r->needed) {
		snprintf(err, errlen, "NO_GO: the balance is %ld credits, a "
		    "render needs %ld; generate was not pressed", have,
		    r->needed);
		return DZ_NOGO;
	}
	if (r->before_generate != NULL && r->before_generate(r->arg, err,
	    errlen) == -1)
		return DZ_FAIL;
	return DZ_OK;
}

static int
do_click(struct dz_run *r, const struct dz_step *s, char *err, size_t errlen)
{
	char js[sizeof(rect_js) + DZ_SEL_MAX + 8], sel[DZ_SEL_MAX + 8];
	double x, y;
	cJSON *v = NULL;
	int rc;

	(void)dz_js_string(s->selector, sel, sizeof(sel));
	snprintf(js, sizeof(js), rect_js, sel);
	if ((rc = evaluate(r, js, true, DZ_CMD_MS, &v, err, errlen)) !=
	    CDP_OK)
		return from_cdp(rc);
	if (!cJSON_IsObject(v) || cJSON_IsTrue(cJSON_GetObjectItem(v,
	    "disabled"))) {
		snprintf(err, errlen, "%s is %s", s->selector,
		    cJSON_IsObject(v) ? "disabled" : "missing or not visible");
		cJSON_Delete(v);
		return DZ_UI;
	}
	x = cJSON_GetNumberValue(cJSON_GetObjectItem(v, "x"));
	y = cJSON_GetNumberValue(cJSON_GetObjectItem(v, "y"));
	cJSON_Delete(v);
	if (s->generate && (rc = before_generate(r, err, errlen)) != DZ_OK)
		return rc;
	if (s->generate)
		r->pressed = true;
	if ((rc = mouse(r, "mousePressed", x, y, s->timeout_ms, err,
	    errlen)) != CDP_OK || (rc = mouse(r, "mouseReleased", x, y,
	    s->timeout_ms, err, errlen)) != CDP_OK)
		return from_cdp(rc);
	return DZ_OK;
}

static int
do_wait_progress(struct dz_run *r, const struct dz_step *s, char *err,
    size_t errlen)
{
	int64_t deadline = clock_mono_ms() + s->timeout_ms;
	struct probe_out po;
	double v, last = -1;
	int rc;

	for (;;) {
		rc = probe(r, s->selector, s->error_selector, s->done_selector,
		    s->attribute, probe_timeout(deadline), &po, err, errlen);
		if (rc == CDP_CLOSED || rc == CDP_STOPPED)
			return from_cdp(rc);
		if (rc == CDP_OK && po.error)
			return banner(&po, err, errlen);
		if (rc == CDP_OK && po.done)
			return DZ_OK;
		if (rc == CDP_OK && po.found && dz_parse_number(po.text,
		    &v) == 0 && v != last) {
			last = v;
			if (progress_step(r->prog) == -1)
				return DZ_STOPPED;
		}
		if (clock_mono_ms() >= deadline) {
			snprintf(err, errlen, "the render did not finish "
			    "within %d ms", s->timeout_ms);
			return DZ_UI;
		}
		if ((rc = cdp_pause(r->cdp, DZ_POLL_MS, err, errlen)) !=
		    CDP_OK)
			return from_cdp(rc);
	}
}

static int
download_begin(struct dz_run *r, const struct dz_step *s, char *guid,
    size_t gsize, char *err, size_t errlen)
{
	struct dz_step click = *s;
	cJSON *p, *ev;
	int rc;

	if (r->download_dir == NULL) {
		snprintf(err, errlen, "no download directory here");
		return DZ_FAIL;
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "behavior", "allowAndName");
	cJSON_AddStringToObject(p, "downloadPath", r->download_dir);
	cJSON_AddBoolToObject(p, "eventsEnabled", true);
	if ((rc = cdp_call(r->cdp, NULL, "Browser.setDownloadBehavior", p,
	    DZ_CMD_MS, NULL, err, errlen)) != CDP_OK)
		return from_cdp(rc);
	while ((ev = cdp_take_event(r->cdp, NULL,
	    "Browser.downloadProgress")) != NULL)
		cJSON_Delete(ev);
	click.generate = false;
	click.timeout_ms = DZ_CMD_MS;
	if ((rc = do_click(r, &click, err, errlen)) != DZ_OK)
		return rc;
	if ((rc = cdp_wait_event(r->cdp, NULL, "Browser.downloadWillBegin",
	    s->timeout_ms < 60000 ? s->timeout_ms : 60000, &p, err,
	    errlen)) != CDP_OK)
		return from_cdp(rc);
	rc = strlcpy(guid, cJSON_GetStringValue(cJSON_GetObjectItem(p,
	    "guid")) ?: "", gsize) < gsize ? DZ_OK : DZ_UI;
	cJSON_Delete(p);
	if (rc != DZ_OK || guid[0] == '\0' || strchr(guid, '/') != NULL ||
	    strstr(guid, "..") != NULL) {
		snprintf(err, errlen, "the download has no usable id");
		return DZ_UI;
	}
	if (fs_path(r->partial, sizeof(r->partial), "%s/%s", r->download_dir,
	    guid) == -1)
		return DZ_FAIL;
	return DZ_OK;
}

/*
 * The download is complete: move it to r->out_path at once (same
 * directory, atomic), so a crash from here on leaves the export in place.
 */
static int
put_in_place(struct dz_run *r, char *err, size_t errlen)
{
	const char *to = r->out_path != NULL ? r->out_path : r->partial;

	if (strcmp(to, r->partial) != 0 && rename(r->partial, to) == -1) {
		snprintf(err, errlen, "cannot move the export to %.300s: %s",
		    to, strerror(errno));
		return DZ_FAIL;
	}
	strlcpy(r->download, to, sizeof(r->download));
	r->partial[0] = '\0';
	return DZ_OK;
}

static int
do_wait_download(struct dz_run *r, const struct dz_step *s, char *err,
    size_t errlen)
{
	int64_t deadline = clock_mono_ms() + s->timeout_ms;
	char guid[80];
	const char *st, *g;
	cJSON *p = NULL;
	long long b;
	int rc, left;

	if ((rc = download_begin(r, s, guid, sizeof(guid), err, errlen)) !=
	    DZ_OK)
		return rc;
	for (;;) {
		left = (int)(deadline - clock_mono_ms());
		if ((rc = cdp_wait_event(r->cdp, NULL,
		    "Browser.downloadProgress", left > 0 ? left : 1, &p, err,
		    errlen)) != CDP_OK)
			return from_cdp(rc);
		g = cJSON_GetStringValue(cJSON_GetObjectItem(p, "guid"));
		st = cJSON_GetStringValue(cJSON_GetObjectItem(p, "state"));
		b = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(p,
		    "receivedBytes"));
		if (g != NULL && strcmp(g, guid) == 0 && st != NULL) {
			if (b != r->bytes && b >= 0) {
				r->bytes = b;
				if (progress_step(r->prog) == -1)
					rc = DZ_STOPPED;
			}
			if (strcmp(st, "completed") == 0)
				rc = put_in_place(r, err, errlen);
			else if (strcmp(st, "canceled") == 0) {
				snprintf(err, errlen, "the export download was "
				    "canceled");
				rc = DZ_UI;
			}
		}
		cJSON_Delete(p);
		p = NULL;
		if (rc != DZ_OK || r->download[0] != '\0')
			return rc;
	}
}

static int
run_step(struct dz_run *r, const struct dz_step *s, char *err, size_t errlen)
{
	switch (s->kind) {
	case DZ_NAVIGATE:
		return do_navigate(r, s, err, errlen);
	case DZ_WAIT_SELECTOR:
	case DZ_READ_CREDITS:
		return do_wait_selector(r, s, err, errlen);
	case DZ_SET_FILES:
		return do_set_files(r, s, err, errlen);
	case DZ_TYPE:
		return do_type(r, s, err, errlen);
	case DZ_CLICK:
		return do_click(r, s, err, errlen);
	case DZ_WAIT_PROGRESS:
		return do_wait_progress(r, s, err, errlen);
	case DZ_WAIT_DOWNLOAD:
		return do_wait_download(r, s, err, errlen);
	case DZ_READ_ERROR:
		return do_read_error(r, s, err, errlen);
	}
	return DZ_FAIL;
}

/*
 * Play <steps> (borrowed) on the page of <r>.  Returns DZ_OK, or a dz_rc
 * with <err> naming the step.  r->pressed, r->credits, r->download and
 * r->partial say how far it got, whatever the outcome.
 */
int
dz_flow_run(const struct dz_step *steps, size_t n, struct dz_run *r,
    char *err, size_t errlen)
{
	char why[768];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		why[0] = '\0';
		rc = run_step(r, &steps[i], why, sizeof(why));
		if (rc == DZ_OK)
			rc = step_done(r);
		if (rc != DZ_OK) {
			snprintf(err, errlen, "step %zu (%s): %s", i + 1,
			    dz_kind_name(steps[i].kind), why[0] != '\0' ?
			    why : "stopped");
			return rc;
		}
	}
	return DZ_OK;
}
