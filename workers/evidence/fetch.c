/* SPDX-License-Identifier: ISC */
/*
 * fetch.c: get one evidence source, over HTTP(S) or from a saved page.
 *
 * Remote sources go through one curl easy handle per fetcher, reused, and
 * driven by a multi handle so that the caller's progress tick runs at
 * least every 100 ms even while the server is silent (curl's own progress
 * callback slows to once a second when nothing arrives).  Only http and
 * https are allowed, for the first request and for every redirect; there
 * is a total timeout, a connect timeout, a redirect limit and a body cap
 * enforced in the write callback, so a hostile or broken server can cost
 * at most a bounded amount of time and memory.  Any HTTP status of 400 or
 * more is a failure.  Local sources are resolved with realpath() and must
 * stay inside the spec's directory.
 *
 * The module never logs.  Error lines name the URL with its user info
 * and query string removed, because those may carry secrets.  It does not
 * parse what it fetched (claims.c does) and keeps no cache.
 *
 * Public: fetch_new, fetch_free, fetch_url, fetch_local,
 * fetch_result_clear, fetch_url_redact.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "workers/evidence/fetch.h"

#define FETCH_POLL_MS	100
#define FETCH_GRACE_MS	2000	/* own deadline beyond curl's timeout */

struct fetcher {
	CURL		*easy;
	CURLM		*multi;
	char		 errbuf[CURL_ERROR_SIZE];
	char		*buf;
	size_t		 len;
	size_t		 cap;
	bool		 too_big;
	bool		 stopped;
	struct progress	*prog;
};

struct fetcher *
fetch_new(void)
{
	struct fetcher *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if ((f->easy = curl_easy_init()) == NULL ||
	    (f->multi = curl_multi_init()) == NULL) {
		fetch_free(f);
		return NULL;
	}
	return f;
}

void
fetch_free(struct fetcher *f)
{
	if (f == NULL)
		return;
	if (f->multi != NULL)
		(void)curl_multi_cleanup(f->multi);
	if (f->easy != NULL)
		curl_easy_cleanup(f->easy);
	free(f->buf);
	free(f);
}

void
fetch_result_clear(struct fetch_result *res)
{
	if (res == NULL)
		return;
	free(res->body);
	memset(res, 0, sizeof(*res));
}

void
fetch_url_redact(const char *url, char *buf, size_t size)
{
	const char *auth, *end, *at, *q;
	size_t n;

	if (size == 0)
		return;
	buf[0] = '\0';
	if ((auth = strstr(url, "://")) == NULL)
		auth = url;
	else
		auth += 3;
	end = auth + strcspn(auth, "/?#");
	n = (size_t)(auth - url);
	(void)snprintf(buf, size, "%.*s", (int)n, url);
	/* Drop "user:password@" from the authority. */
	at = memchr(auth, '@', (size_t)(end - auth));
	while (at != NULL) {
		auth = at + 1;
		at = memchr(auth, '@', (size_t)(end - auth));
	}
	q = end + strcspn(end, "?#");
	n = strlen(buf);
	if (n < size)
		(void)snprintf(buf + n, size - n, "%.*s%s", (int)(q - auth),
		    auth, *q == '?' ? "?..." : "");
}

/* Body sink: keep at most FETCH_MAX_BODY bytes, abort past it. */
static size_t
fetch_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetcher *f = arg;
	size_t n = size * nmemb, ncap;
	char *p;

	if (n > (size_t)FETCH_MAX_BODY - f->len) {
		f->too_big = true;
		return 0;	/* CURLE_WRITE_ERROR */
	}
	if (f->len + n + 1 > f->cap) {
		ncap = f->cap == 0 ? 64 * 1024 : f->cap;
		while (ncap < f->len + n + 1)
			ncap *= 2;
		if (ncap > (size_t)FETCH_MAX_BODY + 1)
			ncap = (size_t)FETCH_MAX_BODY + 1;
		if ((p = realloc(f->buf, ncap)) == NULL)
			return 0;
		f->buf = p;
		f->cap = ncap;
	}
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return n;
}

static int
fetch_xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct fetcher *f = arg;

	(void)dltotal;
	(void)ultotal;
	(void)ulnow;
	if (progress_tick(f->prog, (long long)dlnow) == -1) {
		f->stopped = true;
		return 1;	/* CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

static int
fetch_setup(struct fetcher *f, const char *url, long timeout_ms)
{
	CURL *h = f->easy;
	int rc = CURLE_OK;

	curl_easy_reset(h);
	f->errbuf[0] = '\0';
	rc |= curl_easy_setopt(h, CURLOPT_URL, url);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)FETCH_MAX_REDIRS);
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_ms < FETCH_CONNECT_MS ? timeout_ms : FETCH_CONNECT_MS);
	rc |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)FETCH_MAX_BODY);
	rc |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, "rayvault-evidence/1");
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	rc |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	rc |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, fetch_xferinfo_cb);
	rc |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
	return rc == CURLE_OK ? 0 : -1;
}

/*
 * Drive the transfer, ticking the progress every FETCH_POLL_MS.  Returns
 * curl's result; f->stopped tells a stop request apart.
 */
static CURLcode
fetch_drive(struct fetcher *f, long timeout_ms)
{
	CURLcode code = CURLE_OK;
	CURLMsg *msg;
	int64_t deadline;
	int running = 1, left;

	if (curl_multi_add_handle(f->multi, f->easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	deadline = clock_mono_ms() + timeout_ms + FETCH_GRACE_MS;
	for (;;) {
		if (curl_multi_perform(f->multi, &running) != CURLM_OK) {
			code = CURLE_FAILED_INIT;
			break;
		}
		if (running == 0)
			break;
		if (f->stopped ||
		    progress_tick(f->prog, (long long)f->len) == -1) {
			f->stopped = true;
			code = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (clock_mono_ms() > deadline) {
			code = CURLE_OPERATION_TIMEDOUT;
			break;
		}
		if (curl_multi_poll(f->multi, NULL, 0, FETCH_POLL_MS, NULL) !=
		    CURLM_OK) {
			code = CURLE_FAILED_INIT;
			break;
		}
	}
	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == f->easy &&
		    code == CURLE_OK)
			code = msg->data.result;
	(void)curl_multi_remove_handle(f->multi, f->easy);
	return code;
}

static bool
fetch_scheme_ok(const char *url)
{
	size_t i;

	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return false;
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return false;
	return true;
}

/* Turn a finished transfer into 0 or -1 with an error line. */
static int
fetch_verdict(struct fetcher *f, CURLcode code, const char *name,
    long timeout_ms, long status, char *err, size_t errlen)
{
	if (f->too_big || code == CURLE_FILESIZE_EXCEEDED) {
		(void)snprintf(err, errlen, "%s: body larger than 5 MiB", name);
		return -1;
	}
	switch (code) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (strncmp(f->errbuf, "Connection timed out", 20) == 0)
			(void)snprintf(err, errlen, "%s: connect timed out "
			    "(limit %ld ms)", name, timeout_ms <
			    FETCH_CONNECT_MS ? timeout_ms : FETCH_CONNECT_MS);
		else
			(void)snprintf(err, errlen, "%s: timed out (limit %ld "
			    "ms)", name, timeout_ms);
		return -1;
	case CURLE_TOO_MANY_REDIRECTS:
		(void)snprintf(err, errlen, "%s: too many redirects (limit %d)",
		    name, FETCH_MAX_REDIRS);
		return -1;
	case CURLE_UNSUPPORTED_PROTOCOL:
		(void)snprintf(err, errlen, "%s: redirected to a scheme other "
		    "than http or https", name);
		return -1;
	default:
		(void)snprintf(err, errlen, "%s: %s", name, f->errbuf[0] !=
		    '\0' ? f->errbuf : curl_easy_strerror(code));
		return -1;
	}
	if (status >= 400) {
		(void)snprintf(err, errlen, "%s: HTTP %ld", name, status);
		return -1;
	}
	if (status < 200 || status > 299) {
		(void)snprintf(err, errlen, "%s: unexpected HTTP %ld", name,
		    status);
		return -1;
	}
	return 0;
}

int
fetch_url(struct fetcher *f, const char *url, long timeout_ms,
    struct progress *prog, struct fetch_result *res, char *err,
    size_t errlen)
{
	char name[256];
	CURLcode code;
	long status = 0;

	memset(res, 0, sizeof(*res));
	fetch_url_redact(url, name, sizeof(name));
	if (strlen(url) > FETCH_URL_MAX || !fetch_scheme_ok(url)) {
		(void)snprintf(err, errlen, "%s: not an http or https URL",
		    name);
		return -1;
	}
	if (timeout_ms <= 0)
		timeout_ms = FETCH_TIMEOUT_MS;
	f->len = 0;
	f->too_big = f->stopped = false;
	f->prog = prog;
	if (fetch_setup(f, url, timeout_ms) == -1) {
		(void)snprintf(err, errlen, "%s: cannot set up curl", name);
		return -1;
	}
	code = fetch_drive(f, timeout_ms);
	(void)curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	res->http_status = status;
	f->prog = NULL;
	if (f->stopped) {
		(void)snprintf(err, errlen, "%s: stopped", name);
		return -2;
	}
	if (fetch_verdict(f, code, name, timeout_ms, status, err, errlen) == -1)
		return -1;
	if ((res->body = malloc(f->len + 1)) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (f->len > 0)
		memcpy(res->body, f->buf, f->len);
	res->body[f->len] = '\0';
	res->len = f->len;
	return 0;
}

/* realpath(<spec_dir>/<path>) must lie inside realpath(<spec_dir>). */
static int
fetch_resolve(const char *spec_dir, const char *path, char *out,
    char *err, size_t errlen)
{
	char root[PATH_MAX], joined[PATH_MAX];
	size_t n;

	if (path[0] == '\0' || path[0] == '/') {
		(void)snprintf(err, errlen,
		    "%s: must be a path relative to the spec directory", path);
		return -1;
	}
	if (realpath(spec_dir, root) == NULL) {
		(void)snprintf(err, errlen, "%s: spec directory: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fs_path(joined, sizeof(joined), "%s/%s", root, path) == -1 ||
	    realpath(joined, out) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = strlen(root);
	if (strcmp(root, "/") != 0 &&
	    (strncmp(out, root, n) != 0 || out[n] != '/')) {
		(void)snprintf(err, errlen, "%s: outside the spec directory",
		    path);
		return -1;
	}
	return 0;
}

int
fetch_local(const char *spec_dir, const char *path, struct fetch_result *res,
    char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat st;

	memset(res, 0, sizeof(*res));
	if (fetch_resolve(spec_dir, path, real, err, errlen) == -1)
		return -1;
	if (stat(real, &st) == -1 || !S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (fs_read_file(real, (size_t)FETCH_MAX_BODY, &res->body,
	    &res->len) == -1) {
		if (errno == EFBIG)
			(void)snprintf(err, errlen,
			    "%s: larger than 5 MiB", path);
		else
			(void)snprintf(err, errlen, "%s: %s", path,
			    strerror(errno));
		return -1;
	}
	return 0;
}
