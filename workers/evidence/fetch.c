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
 * A page on the web must not make us read this machine or its network
 * (SPEC section 9): every new connection, on the first request and on
 * every redirect hop, goes through an open-socket callback that looks at
 * the address curl is about to connect to, after name resolution, and
 * refuses loopback, private, link-local, metadata and other special
 * addresses (netaddr_blocked()) unless the fetcher was made with
 * allow_private (RAYVAULT_EVIDENCE_ALLOW_PRIVATE=1, for tests on
 * loopback).  Proxies from the environment are ignored so that the
 * address checked is the real target.  A reused connection was checked
 * when it was opened.  The URL the body finally came from (after
 * redirects) is returned with the result.
 *
 * Only when RV_TESTING=1 (the rule of the test hooks):
 * RV_TEST_EVIDENCE_PUBLIC_PORT=N makes a loopback address on port N count
 * as public, so that a test can start on a "public" server and be
 * redirected to a loopback one, the hop that must be refused.
 *
 * The module never logs.  Error lines name the URL with its user info
 * and query string removed, because those may carry secrets.  It does not
 * parse what it fetched (claims.c does) and keeps no cache.
 *
 * Public: fetch_new, fetch_free, fetch_url, fetch_local,
 * fetch_result_clear, fetch_url_redact.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/core/clock.h"
#include "common/core/curl_dl.h"
#include "common/core/fsutil.h"
#include "common/core/netaddr.h"
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
	bool		 allow_private;
	int		 public_port;	/* test hook, 0: none */
	char		 refused[INET6_ADDRSTRLEN + 32];	/* "addr (why)" */
	struct progress	*prog;
};

/* The RV_TEST_EVIDENCE_PUBLIC_PORT hook (see the top), 0 when off. */
static int
fetch_test_public_port(void)
{
	const char *t = getenv("RV_TESTING");
	const char *p = getenv("RV_TEST_EVIDENCE_PUBLIC_PORT");
	char *end;
	long v;

	if (t == NULL || strcmp(t, "1") != 0 || p == NULL)
		return 0;
	v = strtol(p, &end, 10);
	return *end == '\0' && v > 0 && v < 65536 ? (int)v : 0;
}

/* Is <sa> the loopback port the test hook declares public? */
static bool
fetch_test_public(const struct fetcher *f, const struct sockaddr *sa,
    size_t salen)
{
	const struct sockaddr_in *s4;

	if (f->public_port == 0 || sa->sa_family != AF_INET ||
	    salen < sizeof(*s4))
		return false;
	s4 = (const struct sockaddr_in *)(const void *)sa;
	return (ntohl(s4->sin_addr.s_addr) >> 24) == 127 &&
	    ntohs(s4->sin_port) == f->public_port;
}

struct fetcher *
fetch_new(bool allow_private)
{
	struct fetcher *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->allow_private = allow_private;
	f->public_port = fetch_test_public_port();
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
	free(res->final_url);
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

/*
 * Open the socket for one connection curl is about to make, after it has
 * resolved the name: refuse an address outside content must not reach
 * and remember which one, for the error line.
 */
static curl_socket_t
fetch_opensocket_cb(void *arg, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	struct fetcher *f = arg;
	const char *why;
	char text[INET6_ADDRSTRLEN];

	(void)purpose;
	if (!f->allow_private && (why = netaddr_blocked(&a->addr,
	    a->addrlen)) != NULL && !fetch_test_public(f, &a->addr,
	    a->addrlen)) {
		if (f->refused[0] == '\0')
			(void)snprintf(f->refused, sizeof(f->refused),
			    "%s (%s)", netaddr_text(&a->addr, a->addrlen,
			    text, sizeof(text)), why);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
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
	rc |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION,
	    fetch_opensocket_cb);
	rc |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, f);
	rc |= curl_easy_setopt(h, CURLOPT_PROXY, "");
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
    const char *hop, long timeout_ms, long status, char *err, size_t errlen)
{
	if (f->too_big || code == CURLE_FILESIZE_EXCEEDED) {
		(void)snprintf(err, errlen, "%s: body larger than 5 MiB", name);
		return -1;
	}
	if (f->refused[0] != '\0' && code == CURLE_COULDNT_CONNECT) {
		(void)snprintf(err, errlen, "%s: %s%s%srefused to connect to "
		    "%s; loopback, private, link-local and metadata addresses "
		    "need RAYVAULT_EVIDENCE_ALLOW_PRIVATE=1", name,
		    hop[0] != '\0' ? "redirected to " : "", hop,
		    hop[0] != '\0' ? ": " : "", f->refused);
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
	char name[256], hop[256] = "";
	const char *eff = NULL;
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
	f->refused[0] = '\0';
	f->prog = prog;
	if (fetch_setup(f, url, timeout_ms) == -1) {
		(void)snprintf(err, errlen, "%s: cannot set up curl", name);
		return -1;
	}
	code = fetch_drive(f, timeout_ms);
	(void)curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	res->http_status = status;
	if (curl_easy_getinfo(f->easy, CURLINFO_EFFECTIVE_URL, &eff) ==
	    CURLE_OK && eff != NULL && (res->final_url = strdup(eff)) ==
	    NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	f->prog = NULL;
	if (f->stopped) {
		(void)snprintf(err, errlen, "%s: stopped", name);
		return -2;
	}
	if (res->final_url != NULL && strcmp(res->final_url, url) != 0)
		fetch_url_redact(res->final_url, hop, sizeof(hop));
	if (fetch_verdict(f, code, name, hop, timeout_ms, status, err,
	    errlen) == -1)
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
