/* SPDX-License-Identifier: ISC */
/*
 * dash_http.c: who may ask the dashboard what, on GNU libmicrohttpd.
 *
 * The daemon listens on one loopback address (ctl_dashboard.c checked it)
 * with a thread per connection and the limits of dash.h: connections at
 * once, memory per connection (which bounds the request headers), the
 * size of a POST body, /events clients.  Every answer, refusals included,
 * carries the same headers: CSP default-src 'self', X-Frame-Options DENY,
 * nosniff, Cache-Control no-store, Referrer-Policy no-referrer.
 *
 * The rules, in the order they are checked:
 *  - Host must be 127.0.0.1:PORT, localhost:PORT or [::1]:PORT, else 421
 *    (a page reached under another name is a rebinding attempt);
 *  - /healthz answers without a session (it holds no data);
 *  - /login?token=T compares T with the start's token in constant time:
 *    right, a new session (64 hex from arc4random) in an HttpOnly;
 *    SameSite=Strict cookie and 303 to /; wrong, 403; after 5 wrong
 *    tokens within a minute every login answers 429 until the minute
 *    has passed;
 *  - without a live session cookie every other path answers 401;
 *  - a POST needs an Origin equal to http://<the Host it was sent to>
 *    and the session's CSRF token in its csrf field, else 403 before
 *    anything reads or writes the store.  Under this dashboard's
 *    Referrer-Policy: no-referrer a browser sends "Origin: null" with a
 *    form POST (the Fetch standard): that counts as same-origin only
 *    with "Sec-Fetch-Site: same-origin", which no page can set.
 * The token and session ids are never logged, printed in a page or put
 * in a URL the dashboard makes.
 *
 * Public: dash_http_start, dash_http_stop, dash_store, dash_nonce_ok.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/core/ids.h"
#include "ctl/dash.h"
#include "ctl/mhd_dl.h"

/* Constant-time equality of two strings of the same expected length. */
static bool
same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char x = 0;

	if (la != lb || la == 0)
		return false;
	for (i = 0; i < la; i++)
		x |= (unsigned char)(a[i] ^ b[i]);
	return x == 0;
}

static void
random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	size_t i;

	arc4random_buf(b, nbytes);
	for (i = 0; i < nbytes; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* A gate nonce as a form carries it: "", a uuid or 8 hex digits. */
bool
dash_nonce_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || id_uuid_valid(s))
		return true;
	if (strlen(s) != 8)
		return false;
	for (i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Open the store when it is not; under d->lock.  False with <err>. */
bool
dash_store(struct dash *d, char *err, size_t errlen)
{
	if (!d->env->st_open) {
		if (store_open(&d->env->st, &d->env->cfg, err, errlen) == -1) {
			d->store_up = false;
			return false;
		}
		d->env->st_open = true;
	}
	return true;
}

static bool
host_ok(const struct dash *d, const char *host)
{
	char want[64];

	if (host == NULL)
		return false;
	(void)snprintf(want, sizeof(want), "127.0.0.1:%u", d->port);
	if (strcmp(host, want) == 0)
		return true;
	(void)snprintf(want, sizeof(want), "localhost:%u", d->port);
	if (strcasecmp(host, want) == 0)
		return true;
	(void)snprintf(want, sizeof(want), "[::1]:%u", d->port);
	return strcmp(host, want) == 0;
}

/* The session of cookie <sid>; copies its CSRF token.  Under d->lock. */
static bool
session_find(struct dash *d, const char *sid, char *csrf)
{
	time_t now = time(NULL);
	size_t i;

	if (sid == NULL || strlen(sid) != DASH_TOKEN_HEX)
		return false;
	for (i = 0; i < DASH_SESSIONS_MAX; i++) {
		struct dash_session *s = &d->sess[i];

		if (s->id[0] == '\0')
			continue;
		if (now - s->created > DASH_SESSION_TTL) {
			memset(s, 0, sizeof(*s));
			continue;
		}
		if (same_secret(s->id, sid)) {
			strlcpy(csrf, s->csrf, DASH_TOKEN_HEX + 1);
			return true;
		}
	}
	return false;
}

/* A new session (the oldest goes when all are taken).  Under d->lock. */
static void
session_new(struct dash *d, char *sid)
{
	struct dash_session *s = &d->sess[0];
	size_t i;

	for (i = 0; i < DASH_SESSIONS_MAX; i++) {
		if (d->sess[i].id[0] == '\0') {
			s = &d->sess[i];
			break;
		}
		if (d->sess[i].created < s->created)
			s = &d->sess[i];
	}
	random_hex(s->id, DASH_TOKEN_HEX / 2);
	random_hex(s->csrf, DASH_TOKEN_HEX / 2);
	s->created = time(NULL);
	strlcpy(sid, s->id, DASH_TOKEN_HEX + 1);
}

/* How many wrong tokens in the last minute.  Under d->lock. */
static int
bad_logins(const struct dash *d, time_t now)
{
	int i, n = 0;

	for (i = 0; i < DASH_BAD_LOGINS; i++)
		if (d->bad[i] != 0 && now - d->bad[i] < 60)
			n++;
	return n;
}

static void
bad_login(struct dash *d, time_t now)
{
	int i, old = 0;

	for (i = 1; i < DASH_BAD_LOGINS; i++)
		if (d->bad[i] < d->bad[old])
			old = i;
	d->bad[old] = now;
}

static void
login(struct dash_req *q, struct dash_resp *r)
{
	struct dash *d = q->d;
	struct MHD_Connection *c = q->conn;
	const char *tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "token");
	char sid[DASH_TOKEN_HEX + 1];
	time_t now = time(NULL);

	pthread_mutex_lock(&d->lock);
	if (bad_logins(d, now) >= DASH_BAD_LOGINS) {
		pthread_mutex_unlock(&d->lock);
		dash_error_page(r, MHD_HTTP_TOO_MANY_REQUESTS, "Too many tries",
		    "Five wrong tokens within a minute: wait a minute, then "
		    "open the login URL rvctl dashboard printed.");
		return;
	}
	if (tok == NULL || tok[0] == '\0') {
		pthread_mutex_unlock(&d->lock);
		dash_error_page(r, MHD_HTTP_UNAUTHORIZED, "Log in",
		    "Open the login URL that rvctl dashboard printed (also in "
		    "state/runtime/dashboard.token).");
		return;
	}
	if (!same_secret(tok, d->token)) {
		bad_login(d, now);
		pthread_mutex_unlock(&d->lock);
		fprintf(stderr, "rvctl dashboard: a login with a wrong token\n");
		dash_error_page(r, MHD_HTTP_FORBIDDEN, "Wrong token",
		    "That token is not this dashboard's: use the URL of its "
		    "latest start.");
		return;
	}
	session_new(d, sid);
	pthread_mutex_unlock(&d->lock);
	(void)snprintf(r->cookie, sizeof(r->cookie), "%s=%s; HttpOnly; "
	    "SameSite=Strict; Path=/", DASH_COOKIE, sid);
	strlcpy(r->location, "/", sizeof(r->location));
	dash_error_page(r, MHD_HTTP_SEE_OTHER, "Logged in",
	    "Go on to the overview.");
}

/* "/runs/<uuid><rest>": copies the uuid, returns <rest>, or NULL. */
static const char *
run_path(const char *url, const char *prefix, char *id)
{
	size_t n = strlen(prefix);

	if (strncmp(url, prefix, n) != 0 || strlen(url + n) < 36)
		return NULL;
	memcpy(id, url + n, 36);
	id[36] = '\0';
	return id_uuid_valid(id) ? url + n + 36 : NULL;
}

static void
route_get(struct dash_req *q, const char *url, struct dash_resp *r)
{
	struct MHD_Connection *c = q->conn;
	char id[STORE_ID_MAX];
	const char *rest, *body, *ctype;
	size_t len;

	if ((body = dash_static(url, &ctype, &len)) != NULL) {
		r->status = MHD_HTTP_OK;
		r->ctype = ctype;
		r->b.p = (char *)(uintptr_t)body;
		r->b.len = len;
		r->is_static = true;
	} else if (strcmp(url, "/") == 0)
		dash_overview(q->d, r);
	else if (strcmp(url, "/runs") == 0 || strcmp(url, "/runs/") == 0)
		dash_runs_page(q->d, MHD_lookup_connection_value(c,
		    MHD_GET_ARGUMENT_KIND, "status"), r);
	else if (strcmp(url, "/incidents") == 0)
		dash_incidents(q->d, r);
	else if ((rest = run_path(url, "/runs/", id)) != NULL &&
	    rest[0] == '\0')
		dash_run_page(q, id, r);
	else if (rest != NULL && strcmp(rest, "/evidence") == 0)
		dash_evidence_page(q->d, id, r);
	else if (rest != NULL && strcmp(rest, "/timeline.csv") == 0)
		dash_timeline(q->d, id, "csv", r);
	else if (rest != NULL && strcmp(rest, "/timeline.edl") == 0)
		dash_timeline(q->d, id, "edl", r);
	else if (strncmp(url, "/api/", 5) == 0)
		dash_api(q->d, url, r);
	else
		dash_error_page(r, MHD_HTTP_NOT_FOUND, "Not found",
		    "There is no such page.");
}

static void
route_post(struct dash_req *q, const char *url, struct dash_resp *r)
{
	char id[STORE_ID_MAX];
	const char *rest = run_path(url, "/runs/", id);

	if (rest != NULL && strcmp(rest, "/action") == 0)
		dash_action(q, id, r);
	else if (rest != NULL && strcmp(rest, "/unlock") == 0)
		dash_unlock(q, id, r);
	else
		dash_error_page(r, MHD_HTTP_NOT_FOUND, "Not found",
		    "There is no such form.");
}

/* The headers every answer carries. */
static void
common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
	    "form-action 'self'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result
send_resp(struct MHD_Connection *c, struct dash_resp *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->b.oom) {
		db_free(&r->b);
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		r->ctype = "text/plain; charset=utf-8";
		r->b.p = (char *)(uintptr_t)"out of memory\n";
		r->b.len = strlen(r->b.p);
		r->is_static = true;
	}
	resp = MHD_create_response_from_buffer(r->b.len, r->b.p ? r->b.p :
	    (void *)(uintptr_t)"", r->is_static || r->b.p == NULL ?
	    MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		if (!r->is_static)
			db_free(&r->b);
		return MHD_NO;
	}
	common_headers(resp);
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype :
	    "text/html; charset=utf-8");
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, "Location", r->location);
	if (r->cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", r->cookie);
	if (r->disposition[0] != '\0')
		MHD_add_response_header(resp, "Content-Disposition",
		    r->disposition);
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_sse(struct dash_req *q)
{
	struct MHD_Connection *c = q->conn;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct dash_resp r;

	resp = dash_sse_response(q->d, c, MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "Last-Event-ID"));
	if (resp == NULL) {
		memset(&r, 0, sizeof(r));
		dash_error_page(&r, MHD_HTTP_SERVICE_UNAVAILABLE, "Busy",
		    "Too many live pages are open at once.");
		return send_resp(c, &r);
	}
	common_headers(resp);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Keep a form field; anything unknown or too long marks the form bad. */
static enum MHD_Result
post_field(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *ctype, const char *enc,
    const char *data, uint64_t off, size_t size)
{
	struct dash_req *q = cls;
	char *dst;
	size_t cap;

	(void)kind;
	(void)ctype;
	(void)enc;
	if (filename != NULL) {
		q->f_bad = true;
		return MHD_YES;
	}
#define FIELD(name, f) else if (strcmp(key, name) == 0) { dst = f; \
	    cap = sizeof(f); }
	if (0) {
		dst = NULL;
		cap = 0;
	}
	FIELD("action", q->f_action)
	FIELD("nonce", q->f_nonce)
	FIELD("csrf", q->f_csrf)
	FIELD("confirm", q->f_confirm)
	FIELD("reason", q->f_reason)
	FIELD("force", q->f_force)
	else
		return MHD_YES;		/* other fields are ignored */
#undef FIELD
	if (off + size >= cap) {
		q->f_bad = true;
		return MHD_YES;
	}
	memcpy(dst + off, data, size);
	dst[off + size] = '\0';
	return MHD_YES;
}

/* Origin + CSRF of a POST (403 when either is wrong). */
static bool
post_allowed(struct dash_req *q, const char *host)
{
	const char *origin = MHD_lookup_connection_value(q->conn,
	    MHD_HEADER_KIND, "Origin");
	const char *site = MHD_lookup_connection_value(q->conn,
	    MHD_HEADER_KIND, "Sec-Fetch-Site");
	char want[96];

	(void)snprintf(want, sizeof(want), "http://%s", host);
	if (origin == NULL || (strcasecmp(origin, want) != 0 &&
	    (strcmp(origin, "null") != 0 || site == NULL ||
	    strcmp(site, "same-origin") != 0)))
		return false;
	return q->csrf[0] != '\0' && same_secret(q->f_csrf, q->csrf);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct dash *d = cls;
	struct dash_req *q = *con_cls;
	struct dash_resp r;
	const char *host;
	enum MHD_Result ret;
	bool session;

	(void)version;
	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		q->d = d;
		q->conn = c;
		q->is_post = strcmp(method, "POST") == 0;
		if (q->is_post)
			q->pp = MHD_create_post_processor(c, 1024, post_field,
			    q);
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		q->body_len += *upload_size;
		if (q->body_len > DASH_BODY_MAX)
			q->too_big = true;
		else if (q->pp != NULL)
			MHD_post_process(q->pp, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&r, 0, sizeof(r));
	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	if (!host_ok(d, host)) {
		dash_error_page(&r, MHD_HTTP_MISDIRECTED_REQUEST,
		    "Wrong host", "This dashboard answers only on 127.0.0.1, "
		    "localhost or [::1] with its own port.");
		return send_resp(c, &r);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    !q->is_post) {
		dash_error_page(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "Not allowed",
		    "Only GET and POST.");
		return send_resp(c, &r);
	}
	if (strcmp(url, "/healthz") == 0 && !q->is_post) {
		dash_healthz(d, &r);
		return send_resp(c, &r);
	}
	if (strcmp(url, "/login") == 0 && !q->is_post) {
		login(q, &r);
		return send_resp(c, &r);
	}
	pthread_mutex_lock(&d->lock);
	session = session_find(d, MHD_lookup_connection_value(c,
	    MHD_COOKIE_KIND, DASH_COOKIE), q->csrf);
	pthread_mutex_unlock(&d->lock);
	if (!session) {
		dash_error_page(&r, MHD_HTTP_UNAUTHORIZED, "Log in",
		    "Open the login URL that rvctl dashboard printed (also in "
		    "state/runtime/dashboard.token).");
		return send_resp(c, &r);
	}
	if (q->is_post) {
		if (q->too_big) {
			dash_error_page(&r, MHD_HTTP_CONTENT_TOO_LARGE,
			    "Too large", "That form is larger than any of "
			    "this dashboard's.");
			return send_resp(c, &r);
		}
		if (!post_allowed(q, host)) {
			fprintf(stderr, "rvctl dashboard: POST %s refused: "
			    "wrong Origin or CSRF token\n", url);
			dash_error_page(&r, MHD_HTTP_FORBIDDEN, "Refused",
			    "This form did not come from this dashboard's "
			    "page (Origin or CSRF token): nothing was changed. "
			    "Reload the page and try again.");
			return send_resp(c, &r);
		}
		if (q->f_bad) {
			dash_error_page(&r, MHD_HTTP_BAD_REQUEST, "Bad form",
			    "A field of that form is too long: nothing was "
			    "changed.");
			return send_resp(c, &r);
		}
		route_post(q, url, &r);
		return send_resp(c, &r);
	}
	if (strcmp(url, "/events") == 0)
		return send_sse(q);
	route_get(q, url, &r);
	ret = send_resp(c, &r);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct dash_req *q = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (q == NULL)
		return;
	if (q->pp != NULL)
		MHD_destroy_post_processor(q->pp);
	explicit_bzero(q, sizeof(*q));
	free(q);
	*con_cls = NULL;
}

/*
 * Start the daemon on d->host:d->port (port 0: a free one, stored back
 * in d->port).  0, or -1 with <err>.
 */
int
dash_http_start(struct dash *d, void **daemon, char *err, size_t errlen)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *mhd;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (strchr(d->host, ':') != NULL) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)d->port);
		sin6.sin6_addr = in6addr_loopback;
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)d->port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa = (struct sockaddr *)&sin;
	}
	mhd = MHD_start_daemon(flags, (uint16_t)d->port, NULL, NULL, handle, d,
	    MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)DASH_CONN_MAX,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)DASH_CONN_MEM,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(DASH_KEEPALIVE_SEC * 4),
	    MHD_OPTION_NOTIFY_COMPLETED, completed, d,
	    MHD_OPTION_END);
	if (mhd == NULL) {
		(void)snprintf(err, errlen, "cannot listen on %s port %u (in "
		    "use, or not allowed)", d->host, d->port);
		return -1;
	}
	if ((info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)) !=
	    NULL && info->port != 0)
		d->port = info->port;
	*daemon = mhd;
	return 0;
}

void
dash_http_stop(void *daemon)
{
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
}
