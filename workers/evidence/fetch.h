/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_EVIDENCE_FETCH_H
#define RV_WORKERS_EVIDENCE_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/core/subproc.h"

#define FETCH_MAX_BODY		(5L * 1024 * 1024)	/* 5 MiB */
#define FETCH_TIMEOUT_MS	15000L
#define FETCH_CONNECT_MS	5000L
#define FETCH_MAX_REDIRS	5
#define FETCH_URL_MAX		2048

struct fetcher;

/* A fetched body.  Cleared with fetch_result_clear(). */
struct fetch_result {
	char	*body;		/* NUL-terminated, owned by the result */
	size_t	 len;		/* bytes, without the NUL */
	long	 http_status;	/* last HTTP status, 0 for files / none */
	char	*final_url;	/* URL after redirects; NULL for files */
};

/*
 * A fetcher owns one curl easy handle (and the multi handle driving it),
 * reused for every call made through it.  Unless <allow_private>, it
 * refuses to connect to loopback, private, link-local, metadata and other
 * special addresses (netaddr_blocked()), checked on every connection
 * including redirect hops.  Returns NULL when curl cannot be
 * initialised.  fetch_free() accepts NULL.
 */
struct fetcher *fetch_new(bool allow_private);
void	fetch_free(struct fetcher *f);

/*
 * GET <url> (http or https only, also after redirects).  <timeout_ms> is
 * the total budget (0 or less: FETCH_TIMEOUT_MS); connecting gets at most
 * FETCH_CONNECT_MS of it.  At most FETCH_MAX_REDIRS redirects and
 * FETCH_MAX_BODY bytes are accepted.  <prog> (may be NULL) is ticked at
 * least every 100 ms with the bytes received so far.
 * Returns 0 with res filled (status 2xx), -1 with one line in <err> naming
 * the URL (query string and user info redacted) and the problem (for a
 * refused address: the address, why, and RAYVAULT_EVIDENCE_ALLOW_PRIVATE),
 * -2 when the progress tick asked to stop.  res->http_status is set
 * whenever a response arrived, and res->final_url (the last URL curl
 * requested or tried) whenever a request was made, also on failure.
 * errno means nothing.
 */
int	fetch_url(struct fetcher *f, const char *url, long timeout_ms,
	    struct progress *prog, struct fetch_result *res, char *err,
	    size_t errlen);

/*
 * Read the local page <path>, relative to <spec_dir>.  The resolved path
 * (symbolic links followed) must stay inside the resolved <spec_dir>, be a
 * regular file and hold at most FETCH_MAX_BODY bytes.  Returns 0, or -1
 * with <err> naming the path and the problem.
 */
int	fetch_local(const char *spec_dir, const char *path,
	    struct fetch_result *res, char *err, size_t errlen);

/* Free the body and zero <res>. */
void	fetch_result_clear(struct fetch_result *res);

/*
 * Copy <url> into <buf> without user info, query string or fragment (a
 * removed query shows as "?..."), so it can be shown to people and logged.
 * Always NUL-terminates; truncates to <size>.
 */
void	fetch_url_redact(const char *url, char *buf, size_t size);

#endif
