/* SPDX-License-Identifier: ISC */
/*
 * dash_html.c: how the dashboard writes HTML.
 *
 * A page is built in a dash_buf.  db_raw() and db_fmt() append markup the
 * code itself wrote (and numbers); every value that comes from the store,
 * a file or the web goes through db_text() or db_textf(), which escape
 * & < > " ' so a value is text wherever it lands (an element's content or
 * a quoted attribute), and turn control characters into spaces.  No value
 * is ever put in an unquoted attribute, a URL or a script.
 *
 * The frame of every page (head, navigation, <main>) and the two served
 * files live here too: /static/app.js, which only adds live updates over
 * /events (the pages work without it), and /static/app.css, readable at
 * 390 px: long values wrap, wide tables scroll in their own box.  CSP is
 * default-src 'self', so there is no inline script or style anywhere.
 *
 * Public: db_raw, db_fmt, db_text, db_textf, db_free, dash_page_begin,
 * dash_page_end, dash_html_resp, dash_error_page, dash_duration,
 * dash_static, dash_jstr, dash_jint.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ctl/dash.h"

static const char app_js[] =
"/* rvctl dashboard: live updates over /events (the pages work without). */\n"
"(function () {\n"
"  'use strict';\n"
"  if (!window.EventSource) return;\n"
"  var live = document.getElementById('live');\n"
"  var runId = document.body.getAttribute('data-run-id');\n"
"  var busy = false, again = false;\n"
"  function say(t) { if (live) live.textContent = t; }\n"
"  function refresh() {\n"
"    if (busy) { again = true; return; }\n"
"    busy = true;\n"
"    fetch(location.href, {credentials: 'same-origin'}).then(function (r) {\n"
"      return r.ok ? r.text() : null;\n"
"    }).then(function (t) {\n"
"      if (t === null) return;\n"
"      var doc = new DOMParser().parseFromString(t, 'text/html');\n"
"      var olds = document.querySelectorAll('[data-live]');\n"
"      for (var i = 0; i < olds.length; i++) {\n"
"        var n = doc.getElementById(olds[i].id);\n"
"        if (n) olds[i].replaceWith(document.importNode(n, true));\n"
"        else olds[i].remove();\n"
"      }\n"
"    }).catch(function () {}).then(function () {\n"
"      busy = false;\n"
"      if (again) { again = false; refresh(); }\n"
"    });\n"
"  }\n"
"  var es = new EventSource('/events');\n"
"  es.onopen = function () { say('live'); };\n"
"  es.onerror = function () { say('reconnecting'); };\n"
"  es.addEventListener('change', function (e) {\n"
"    var j;\n"
"    try { j = JSON.parse(e.data); } catch (x) { return; }\n"
"    if (runId && j.runs) {\n"
"      for (var i = 0; i < j.runs.length; i++) {\n"
"        if (j.runs[i].run_id !== runId) continue;\n"
"        var s = document.getElementById('run-status');\n"
"        if (s) s.textContent = j.runs[i].status;\n"
"      }\n"
"    }\n"
"    refresh();\n"
"  });\n"
"})();\n";

static const char app_css[] =
"*{box-sizing:border-box}\n"
"html{-webkit-text-size-adjust:100%}\n"
"body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1b1f23;"
"background:#f6f7f9;overflow-wrap:anywhere;word-break:break-word}\n"
"header{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;"
"padding:.6em 1em;background:#1f2a37;color:#fff}\n"
"header a{color:#fff;margin-right:1em}\n"
"#live{font-size:.8em;opacity:.7}\n"
"main{max-width:1200px;margin:0 auto;padding:1em}\n"
"h1{font-size:1.35em;margin:.2em 0 .6em}\n"
"h2{font-size:1.1em;margin:1.2em 0 .4em}\n"
"section{background:#fff;border:1px solid #d8dde3;border-radius:6px;"
"padding:.6em 1em;margin:0 0 1em}\n"
".scroll{overflow-x:auto;max-width:100%}\n"
"table{border-collapse:collapse;width:100%}\n"
".scroll table{min-width:36em}\n"
".scroll table#evidence-diff{min-width:0}\n"
"th{overflow-wrap:normal;word-break:normal}\n"
"th .src{overflow-wrap:anywhere;word-break:break-word}\n"
"th,td{text-align:left;vertical-align:top;padding:.35em .5em;"
"border-bottom:1px solid #e3e6ea}\n"
"th{font-weight:600;background:#f0f2f5}\n"
"code,.mono,.raw,.norm{font-family:ui-monospace,monospace;font-size:.92em}\n"
"td.mono{min-width:18em}\n"
".raw,.norm{display:block}\n"
".norm{color:#0b5394}\n"
".norm::before{content:'= '}\n"
"tr.conflict{background:#fde8e8}\n"
"tr.conflict th{color:#9b1c1c}\n"
".low-tier{color:#8a9099;background:#fafafa}\n"
".tag{display:inline-block;padding:0 .4em;border-radius:4px;"
"background:#e8ecf1;font-size:.85em}\n"
".crit{background:#9b1c1c;color:#fff}\n"
".warn{background:#f6e05e}\n"
".ok{background:#c6f6d5}\n"
".note{color:#555;font-size:.92em}\n"
".result{font-size:1.2em;font-weight:600}\n"
"form{margin:.6em 0}\n"
"button{font:inherit;padding:.45em 1em;margin:.2em .4em .2em 0;"
"border-radius:5px;border:1px solid #8a9099;background:#fff;cursor:pointer}\n"
"button[value=approve]{background:#2f855a;color:#fff;border-color:#2f855a}\n"
"button[value=abort]{background:#9b1c1c;color:#fff;border-color:#9b1c1c}\n"
"input[type=text]{font:inherit;width:100%;max-width:30em;padding:.3em}\n"
"dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:0}\n"
"dt{font-weight:600}dd{margin:0}\n";

/* Append <len> bytes of <s> as they are. */
static void
db_add(struct dash_buf *b, const char *s, size_t len)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	if (b->len + len + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
db_raw(struct dash_buf *b, const char *s)
{
	db_add(b, s, strlen(s));
}

static char	*db_vformat(const char *fmt, va_list ap)
		    __attribute__((format(printf, 1, 0)));

/* vasprintf(3) without it: it is not POSIX (the portable build). */
static char *
db_vformat(const char *fmt, va_list ap)
{
	va_list again;
	char *s;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		s = NULL;
	else
		(void)vsnprintf(s, (size_t)n + 1, fmt, again);
	va_end(again);
	return s;
}

void
db_fmt(struct dash_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = db_vformat(fmt, ap);
	va_end(ap);
	if (s == NULL) {
		b->oom = true;
		return;
	}
	db_raw(b, s);
	free(s);
}

void
db_text(struct dash_buf *b, const char *s)
{
	const char *run = s;

	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				rep = " ";
			else
				continue;
		}
		db_add(b, run, (size_t)(s - run));
		db_raw(b, rep);
		run = s + 1;
	}
	db_add(b, run, (size_t)(s - run));
}

/* <a href="/runs/RUN_ID">VIDEO_ID</a>, both escaped. */
void
db_run_link(struct dash_buf *b, const char *run_id, const char *video_id)
{
	db_raw(b, "<a href=\"/runs/");
	db_text(b, run_id);
	db_raw(b, "\">");
	db_text(b, video_id);
	db_raw(b, "</a>");
}

void
db_textf(struct dash_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if ((s = db_vformat(fmt, ap)) == NULL)
		b->oom = true;
	else {
		db_text(b, s);
		free(s);
	}
	va_end(ap);
}

void
db_free(struct dash_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* The head, the navigation and <main>; <run_id> marks a run's page. */
void
dash_page_begin(struct dash_buf *b, const char *title, const char *run_id)
{
	db_raw(b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><title>");
	db_text(b, title);
	db_raw(b, " - RayVault</title>"
	    "<link rel=\"stylesheet\" href=\"/static/app.css\">"
	    "<script src=\"/static/app.js\" defer></script></head>\n<body");
	if (run_id != NULL) {
		db_raw(b, " data-run-id=\"");
		db_text(b, run_id);
		db_raw(b, "\"");
	}
	db_raw(b, "><header><nav><a href=\"/\">Overview</a>"
	    "<a href=\"/runs\">Runs</a><a href=\"/incidents\">Incidents</a>"
	    "</nav><span id=\"live\"></span></header>\n<main>\n");
}

void
dash_page_end(struct dash_buf *b)
{
	db_raw(b, "</main>\n</body></html>\n");
}

void
dash_html_resp(struct dash_resp *r, unsigned status)
{
	r->status = status;
	r->ctype = "text/html; charset=utf-8";
}

/* A whole page saying <text> under <title>. */
void
dash_error_page(struct dash_resp *r, unsigned status, const char *title,
    const char *text)
{
	db_free(&r->b);
	dash_page_begin(&r->b, title, NULL);
	db_raw(&r->b, "<h1>");
	db_text(&r->b, title);
	db_raw(&r->b, "</h1><p>");
	db_text(&r->b, text);
	db_raw(&r->b, "</p>\n");
	dash_page_end(&r->b);
	dash_html_resp(r, status);
}

/* "3 min 20 s", "2 h 5 min", "45 s" for a number of seconds. */
void
dash_duration(char *buf, size_t size, double sec)
{
	long s;

	if (sec != sec)
		sec = 0;
	if (sec < 0)
		sec = -sec;
	s = sec > 1e9 ? 1000000000L : (long)sec;

	if (s >= 3600)
		(void)snprintf(buf, size, "%ld h %ld min", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		(void)snprintf(buf, size, "%ld min %ld s", s / 60, s % 60);
	else
		(void)snprintf(buf, size, "%ld s", s);
}

/* The served file at <path>, or NULL. */
const char *
dash_static(const char *path, const char **ctype, size_t *len)
{
	if (strcmp(path, "/static/app.js") == 0) {
		*ctype = "text/javascript; charset=utf-8";
		*len = sizeof(app_js) - 1;
		return app_js;
	}
	if (strcmp(path, "/static/app.css") == 0) {
		*ctype = "text/css; charset=utf-8";
		*len = sizeof(app_css) - 1;
		return app_css;
	}
	return NULL;
}

