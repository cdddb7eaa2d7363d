/* SPDX-License-Identifier: ISC */
/*
 * supabase_http.c: the transport of the supabase store backend: PostgREST
 * RPC calls and table inserts over one reused libcurl easy handle, and the
 * mapping of every failure to one clear line.
 *
 * A call is POST <SUPABASE_URL>/rest/v1/rpc/<fn> (or /rest/v1/<table>)
 * with a JSON object of named arguments and the headers apikey and
 * Authorization: Bearer <key>.  The easy handle is kept between calls so
 * the connection (and TLS session) is reused.  Every call is bounded: a
 * connect timeout, a total timeout (RAYVAULT_HEARTBEAT_TIMEOUT_SEC, so a
 * call can never outlast a heartbeat attempt) and a cap on the answer's
 * size.  Nothing is retried here: a retry policy belongs to the caller,
 * which knows whether a call may be repeated.  (libcurl itself resends a
 * request once when a reused connection turns out to be closed before
 * any answer; such a request normally never ran, and the one call that
 * must not run twice, rpc_claim_next_run, answers a repeat with the same
 * run.)
 *
 * Errors go to the caller's buffer with errno set: EHOSTUNREACH (cannot
 * connect, reset, 502/503/504, SQLSTATE 08*, PostgREST PGRST00x),
 * ETIMEDOUT, EACCES (401: invalid service key; 403/42501), ENOSYS (a
 * function or table the contract needs is missing, or a function is
 * ambiguous: the migration is not applied), EFBIG (answer too
 * large), EPROTO (an answer that is not what PostgREST sends), and for
 * the rule errors the migration raises: EINVAL (P0001), ENOENT (RV404),
 * EEXIST (RV409), ESTALE (RV412), EPERM (RV403).  The service key lives
 * only in the header list, which is wiped on close; no message ever
 * contains it.  Nothing here logs.
 *
 * Public (backend-internal): sbs_seterr, sbs_http_init, sbs_http_clear,
 * sbs_rpc, sbs_insert, sbs_health.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/curl_dl.h"
#include "common/core/errbuf.h"
#include "common/core/netaddr.h"
#include "common/store/store.h"
#include "common/store/supabase.h"

#define NAME_MAX_LEN	63
#define MSG_MAX		240

/* A PostgREST error body, cleaned for a one-line message. */
struct pg_error {
	char	code[16];
	char	message[MSG_MAX];
	char	hint[MSG_MAX];
};

/* Fill <err> (may be NULL) and set errno to <errnum>, last. */
void
sbs_seterr(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)errbuf_vset(err, errlen, -1, fmt, ap);
	va_end(ap);
	errno = errnum;
}

/* Copy untrusted text as one printable ASCII line of < <size> bytes. */
static void
clean_copy(char *dst, size_t size, const char *src)
{
	size_t i, o = 0;

	if (size == 0)
		return;
	for (i = 0; src != NULL && src[i] != '\0' && o + 1 < size; i++)
		dst[o++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : ' ';
	dst[o] = '\0';
}

static bool
printable(const char *s, bool allow_space)
{
	for (; *s != '\0'; s++)
		if (*s < (allow_space ? 0x20 : 0x21) || *s >= 0x7f)
			return false;
	return true;
}

/* Host part of <url> (after "://") into <host>.  Returns 0 or -1. */
static int
url_host(const char *url, char *host, size_t size)
{
	const char *p = strstr(url, "://"), *e;
	size_t n;

	if (p == NULL)
		return -1;
	p += 3;
	if (*p == '[')
		e = strchr(p, ']') != NULL ? strchr(p, ']') + 1 : NULL;
	else
		e = p + strcspn(p, ":/");
	if (e == NULL || e == p || (n = (size_t)(e - p)) >= size)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

static int
check_url(struct sbs *s, const char *url, char *err, size_t errlen)
{
	size_t n = strlen(url);
	char line[256];

	/* The service key travels with every call: http:// only locally. */
	if (netaddr_url_check("SUPABASE_URL", url, line, sizeof(line)) ==
	    -1) {
		sbs_seterr(err, errlen, EINVAL, "%s", line);
		return -1;
	}
	if (n + 64 >= SBS_URL_MAX || !printable(url, false) ||
	    strpbrk(url, "?#@\"\\") != NULL) {
		sbs_seterr(err, errlen, EINVAL, "SUPABASE_URL is not a plain "
		    "URL (no credentials, query or fragment) of at most %d "
		    "characters", SBS_URL_MAX - 64);
		return -1;
	}
	if (url_host(url, s->host, sizeof(s->host)) == -1) {
		sbs_seterr(err, errlen, EINVAL, "SUPABASE_URL has no host");
		return -1;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n > 8 && strncmp(url + n - 8, "/rest/v1", 8) == 0)
		n -= 8;		/* the project URL was given with the prefix */
	snprintf(s->base, sizeof(s->base), "%.*s/rest/v1", (int)n, url);
	return 0;
}

static struct curl_slist *
add_header(struct curl_slist *l, const char *h, bool *ok)
{
	struct curl_slist *n;

	if (!*ok)
		return l;
	if ((n = curl_slist_append(l, h)) == NULL)
		*ok = false;
	return n != NULL ? n : l;
}

/* The header lists; both carry the key. */
static int
make_headers(struct sbs *s, const char *key, char *err, size_t errlen)
{
	char apikey[SBS_KEY_MAX + 16], bearer[SBS_KEY_MAX + 32];
	bool ok = true;
	int i;

	snprintf(apikey, sizeof(apikey), "apikey: %s", key);
	snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", key);
	for (i = 0; i < 2; i++) {
		struct curl_slist *l = NULL;

		l = add_header(l, apikey, &ok);
		l = add_header(l, bearer, &ok);
		l = add_header(l, "Content-Type: application/json", &ok);
		l = add_header(l, "Accept: application/json", &ok);
		if (i == 1)
			l = add_header(l, "Prefer: return=minimal", &ok);
		l = add_header(l, "Expect:", &ok);
		if (i == 0)
			s->hdr_rpc = l;
		else
			s->hdr_insert = l;
	}
	explicit_bzero(apikey, sizeof(apikey));
	explicit_bzero(bearer, sizeof(bearer));
	if (!ok)
		sbs_seterr(err, errlen, ENOMEM, "store: out of memory");
	return ok ? 0 : -1;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sbs *s = arg;
	size_t n = size * nmemb, want;
	char *nb;

	if (n > s->resp_cap - s->resp_len) {
		s->resp_over = true;
		return 0;
	}
	if (s->resp_len + n + 1 > s->resp_alloc) {
		want = s->resp_alloc < 16384 ? 16384 : s->resp_alloc * 2;
		while (want < s->resp_len + n + 1)
			want *= 2;
		if (want > s->resp_cap + 1)
			want = s->resp_cap + 1;
		if ((nb = realloc(s->resp, want)) == NULL)
			return 0;
		s->resp = nb;
		s->resp_alloc = want;
	}
	memcpy(s->resp + s->resp_len, p, n);
	s->resp_len += n;
	s->resp[s->resp_len] = '\0';
	return n;
}

static int
setopts(struct sbs *s)
{
	CURLcode rc = CURLE_OK;

#define SET(o, v)	if (rc == CURLE_OK) rc = curl_easy_setopt(s->curl, o, v)
	SET(CURLOPT_ERRORBUFFER, s->curl_err);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, s);
	SET(CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
	SET(CURLOPT_TIMEOUT_MS, s->timeout_ms);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_USERAGENT, "rayvault-store/1");
	SET(CURLOPT_POST, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/*
 * Prepare <s> for <url> with <key> (never copied anywhere but the header
 * lists).  <timeout_sec> bounds every call (<= 0: 10 s); the connect
 * timeout is half of it, at most 5 s.  Returns 0, or -1 with <err>.
 */
int
sbs_http_init(struct sbs *s, const char *url, const char *key,
    int timeout_sec, char *err, size_t errlen)
{
	if (url == NULL || *url == '\0') {
		sbs_seterr(err, errlen, EINVAL, "SUPABASE_URL is empty");
		return -1;
	}
	if (check_url(s, url, err, errlen) == -1)
		return -1;
	if (key == NULL || *key == '\0') {
		sbs_seterr(err, errlen, EINVAL, "SUPABASE_URL is set but "
		    "SUPABASE_SERVICE_KEY is empty");
		return -1;
	}
	if (strlen(key) >= SBS_KEY_MAX || !printable(key, false)) {
		sbs_seterr(err, errlen, EINVAL, "SUPABASE_SERVICE_KEY is not a "
		    "single printable word of under %d characters",
		    SBS_KEY_MAX);
		return -1;
	}
	s->timeout_ms = 1000L * (timeout_sec > 0 ? timeout_sec :
	    SBS_TIMEOUT_DEF);
	s->connect_ms = s->timeout_ms / 2 < SBS_CONNECT_MAX_MS ?
	    s->timeout_ms / 2 : SBS_CONNECT_MAX_MS;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		sbs_seterr(err, errlen, EIO, "store: cannot initialise "
		    "libcurl%s%s", *curl_dl_error() != '\0' ? ": " : "",
		    curl_dl_error());
		return -1;
	}
	s->curl_global = true;
	if ((s->curl = curl_easy_init()) == NULL || setopts(s) == -1) {
		sbs_seterr(err, errlen, ENOMEM, "store: cannot set up libcurl");
		return -1;
	}
	return make_headers(s, key, err, errlen);
}

static void
wipe_headers(struct curl_slist *l)
{
	struct curl_slist *n;

	for (n = l; n != NULL; n = n->next)
		explicit_bzero(n->data, strlen(n->data));
	curl_slist_free_all(l);
}

/* Release what sbs_http_init() set up (safe on a partial init). */
void
sbs_http_clear(struct sbs *s)
{
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	if (s->curl_global)
		curl_global_cleanup();
	s->curl = NULL;
	s->curl_global = false;
	wipe_headers(s->hdr_rpc);
	wipe_headers(s->hdr_insert);
	s->hdr_rpc = s->hdr_insert = NULL;
	free(s->resp);
	s->resp = NULL;
	s->resp_alloc = s->resp_len = 0;
}

/* Map a transport failure of call <what>.  Returns -1. */
static int
transport_error(struct sbs *s, CURLcode rc, const char *what, char *err,
    size_t errlen)
{
	const char *why = s->curl_err[0] != '\0' ? s->curl_err :
	    curl_easy_strerror(rc);
	char line[MSG_MAX];

	clean_copy(line, sizeof(line), why);
	if (s->resp_over || rc == CURLE_FILESIZE_EXCEEDED)
		sbs_seterr(err, errlen, EFBIG, "store: %s: the answer is "
		    "larger than %zu bytes", what, s->resp_cap);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		sbs_seterr(err, errlen, ETIMEDOUT, "store unreachable: %s: no "
		    "answer from %s within %ld ms", what, s->host,
		    s->timeout_ms);
	else if (rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
	    rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PARTIAL_FILE ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		sbs_seterr(err, errlen, EHOSTUNREACH, "store unreachable: %s: "
		    "%s", what, line);
	else
		sbs_seterr(err, errlen, EIO, "store: %s: %s", what, line);
	return -1;
}

/*
 * POST <body> to <url> with <hdr>.  Returns the HTTP status with the
 * answer in s->resp (NUL-terminated), or -1 with <err> filled.
 */
static long
perform(struct sbs *s, const char *url, struct curl_slist *hdr,
    const char *body, size_t cap, const char *what, char *err,
    size_t errlen)
{
	CURLcode rc;
	long status = 0;

	s->resp_len = 0;
	if (s->resp != NULL)
		s->resp[0] = '\0';
	s->resp_cap = cap;
	s->resp_over = false;
	s->curl_err[0] = '\0';
	rc = curl_easy_setopt(s->curl, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdr);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(s->curl, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)cap);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(s->curl);
	if (rc != CURLE_OK)
		return transport_error(s, rc, what, err, errlen);
	(void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (s->resp == NULL && (s->resp = malloc(1)) != NULL) {
		s->resp[0] = '\0';
		s->resp_alloc = 1;
	}
	if (s->resp == NULL) {
		sbs_seterr(err, errlen, ENOMEM, "store: out of memory");
		return -1;
	}
	return status;
}

/* Give a big answer buffer back after a list call. */
static void
shrink(struct sbs *s)
{
	if (s->resp_alloc > SBS_RESP_MAX) {
		free(s->resp);
		s->resp = NULL;
		s->resp_alloc = 0;
	}
}

static void
parse_error(const char *text, struct pg_error *pe)
{
	cJSON *j = cJSON_Parse(text);

	memset(pe, 0, sizeof(*pe));
	clean_copy(pe->code, sizeof(pe->code), cJSON_GetStringValue(
	    cJSON_GetObjectItem(j, "code")));
	clean_copy(pe->message, sizeof(pe->message), cJSON_GetStringValue(
	    cJSON_GetObjectItem(j, "message")));
	clean_copy(pe->hint, sizeof(pe->hint), cJSON_GetStringValue(
	    cJSON_GetObjectItem(j, "hint")));
	cJSON_Delete(j);
}

static const struct {
	const char	*code;
	int		 errnum;
} rule_codes[] = {
	{ "P0001", EINVAL }, { "RV404", ENOENT }, { "RV409", EEXIST },
	{ "RV412", ESTALE }, { "RV403", EPERM }
};

/* Map a non-2xx answer to call <what> (an RPC when <fn> is set). */
static int
http_error(long status, const char *text, const char *what, const char *fn,
    char *err, size_t errlen)
{
	struct pg_error pe;
	size_t i;

	parse_error(text, &pe);
	for (i = 0; i < sizeof(rule_codes) / sizeof(rule_codes[0]); i++)
		if (strcmp(pe.code, rule_codes[i].code) == 0 && pe.message[0]) {
			sbs_seterr(err, errlen, rule_codes[i].errnum, "%s",
			    pe.message);
			return -1;
		}
	if (status == 401)
		sbs_seterr(err, errlen, EACCES, "store: invalid service key "
		    "(HTTP 401 for %s); check SUPABASE_SERVICE_KEY", what);
	else if (strcmp(pe.code, "PGRST202") == 0 || (status == 404 &&
	    fn != NULL && pe.code[0] == '\0'))
		sbs_seterr(err, errlen, ENOSYS, "store contract: function %s "
		    "missing (reload the schema cache?)", fn != NULL ? fn :
		    what);
	else if (strcmp(pe.code, "42P01") == 0 || strcmp(pe.code,
	    "PGRST205") == 0)
		sbs_seterr(err, errlen, ENOSYS, "store contract: %s: a table "
		    "is missing (apply the migration)%s%s", what,
		    pe.message[0] ? ": " : "", pe.message);
	else if (strcmp(pe.code, "PGRST203") == 0 || status == 300)
		sbs_seterr(err, errlen, ENOSYS, "store contract: function %s "
		    "has more than one signature (PGRST203); apply the "
		    "migration again", fn != NULL ? fn : what);
	else if (strcmp(pe.code, "42501") == 0 || status == 403)
		sbs_seterr(err, errlen, EACCES, "store contract: permission "
		    "denied for %s (EXECUTE must be granted to service_role): "
		    "%s", what, pe.message);
	else if (status == 502 || status == 503 || status == 504 ||
	    strncmp(pe.code, "08", 2) == 0 ||
	    strncmp(pe.code, "PGRST00", 7) == 0)
		sbs_seterr(err, errlen, EHOSTUNREACH, "store unreachable: %s: "
		    "HTTP %ld%s%s", what, status, pe.message[0] ? ": " : "",
		    pe.message);
	else
		sbs_seterr(err, errlen, EPROTO,
		    "store: %s: HTTP %ld%s%s%s%s%s%s%s", what, status,
		    pe.code[0] ? " " : "", pe.code, pe.message[0] ? ": " : "",
		    pe.message,
		    pe.hint[0] ? " (" : "", pe.hint, pe.hint[0] ? ")" : "");
	return -1;
}

static bool
name_ok(const char *fn)
{
	size_t i, n = fn != NULL ? strlen(fn) : 0;

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!((fn[i] >= 'a' && fn[i] <= 'z') || fn[i] == '_' ||
		    (i > 0 && fn[i] >= '0' && fn[i] <= '9')))
			return false;
	return true;
}

static char *
print_body(cJSON *args, char *err, size_t errlen)
{
	char *text;

	if (args == NULL) {
		sbs_seterr(err, errlen, ENOMEM, "store: out of memory");
		return NULL;
	}
	text = cJSON_PrintUnformatted(args);
	cJSON_Delete(args);
	if (text == NULL)
		sbs_seterr(err, errlen, ENOMEM, "store: out of memory");
	return text;
}

/* sbs_rpc() without the health note. */
static int
rpc_call(struct sbs *s, const char *fn, cJSON *args, size_t cap, cJSON **out,
    char *err, size_t errlen)
{
	char url[SBS_URL_MAX + 80], what[NAME_MAX_LEN + 8], *body;
	long status;
	int r = 0;

	*out = NULL;
	if (!name_ok(fn)) {
		cJSON_Delete(args);
		sbs_seterr(err, errlen, EINVAL, "store: bad function name");
		return -1;
	}
	if ((body = print_body(args, err, errlen)) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s/rpc/%s", s->base, fn);
	snprintf(what, sizeof(what), "%s", fn);
	status = perform(s, url, s->hdr_rpc, body, cap > 0 ? cap :
	    SBS_RESP_MAX, what, err, errlen);
	cJSON_free(body);
	if (status == -1)
		r = -1;
	else if (status < 200 || status > 299)
		r = http_error(status, s->resp, what, fn, err, errlen);
	else if (status != 204 && s->resp_len > 0 &&
	    (*out = cJSON_ParseWithLength(s->resp, s->resp_len)) == NULL)
		r = sbs_bad_answer(fn, "not JSON", err, errlen);
	shrink(s);
	return r;
}

/* sbs_insert() without the health note. */
static int
insert_call(struct sbs *s, const char *table, cJSON *row, bool *created,
    char *err, size_t errlen)
{
	char url[SBS_URL_MAX + 80], what[NAME_MAX_LEN + 16], *body;
	struct pg_error pe;
	long status;

	*created = false;
	if (!name_ok(table)) {
		cJSON_Delete(row);
		sbs_seterr(err, errlen, EINVAL, "store: bad table name");
		return -1;
	}
	if ((body = print_body(row, err, errlen)) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s/%s", s->base, table);
	snprintf(what, sizeof(what), "insert %s", table);
	status = perform(s, url, s->hdr_insert, body, SBS_RESP_MAX, what, err,
	    errlen);
	cJSON_free(body);
	if (status == -1)
		return -1;
	if (status == 201 || status == 200 || status == 204) {
		*created = true;
		return 0;
	}
	parse_error(s->resp, &pe);
	if (status == 409 && strcmp(pe.code, "23505") == 0)
		return 0;
	return http_error(status, s->resp, what, NULL, err, errlen);
}

/*
 * Remember whether the store answered (store_health()): a call that
 * could not reach it, or was refused as a whole (key, contract), marks
 * it unusable until the next answer; anything the server answered
 * (rules of the migration included) is an answer.  errno is kept.
 */
static int
note(struct sbs *s, int r, const char *err)
{
	int e = errno;

	if (r == 0 || (e != EHOSTUNREACH && e != ETIMEDOUT &&
	    e != ECONNREFUSED && e != EACCES && e != ENOSYS))
		s->down = false;
	else {
		s->down = true;
		strlcpy(s->why, err != NULL ? err : "store call failed",
		    sizeof(s->why));
	}
	errno = e;
	return r;
}

/*
 * Call RPC <fn> with the named arguments <args> (takes ownership; NULL
 * means out of memory).  The answer may be at most <cap> bytes (0:
 * SBS_RESP_MAX).  Returns 0 with *out the parsed answer (the caller
 * deletes it; NULL for 204 or an empty body), or -1 with <err> and errno
 * (see the header).
 */
int
sbs_rpc(struct sbs *s, const char *fn, cJSON *args, size_t cap, cJSON **out,
    char *err, size_t errlen)
{
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	r = rpc_call(s, fn, args, cap, out, err, errlen);
	return note(s, r, err);
}

/*
 * Insert <row> (takes ownership) into <table> (POST /rest/v1/<table>).
 * *created is true on 201, false when the row's unique key was already
 * there (409, 23505): both return 0, which makes replays idempotent.
 * Returns -1 with <err> and errno otherwise.
 */
int
sbs_insert(struct sbs *s, const char *table, cJSON *row, bool *created,
    char *err, size_t errlen)
{
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	r = insert_call(s, table, row, created, err, errlen);
	return note(s, r, err);
}

/* 0 when the last call got an answer, else -1 with why it did not. */
int
sbs_health(void *impl, char *why, size_t len)
{
	struct sbs *s = impl;

	if (!s->down) {
		if (why != NULL && len > 0)
			why[0] = '\0';
		return 0;
	}
	if (why != NULL && len > 0)
		strlcpy(why, s->why, len);
	return -1;
}
