/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_TELEGRAM_TELEGRAM_H
#define RV_COMMON_TELEGRAM_TELEGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/core/subproc.h"

/*
 * A small Telegram Bot API client (common/telegram/telegram.c): calls
 * <base>/bot<token>/<method> with a JSON body over libcurl, several at a
 * time on one multi handle, and turns every answer into a struct
 * tg_reply.  The token is part of every URL; it never appears in any
 * error text this module produces.
 */

#define TG_TEXT_MAX		4000	/* bytes of a message text we send */
#define TG_CALLBACK_MAX		64	/* bytes of a callback_data */
#define TG_ANSWER_MAX		(512 * 1024)	/* cap on an answer body */
#define TG_TOKEN_MAX		128
#define TG_METHOD_MAX		32
#define TG_CONNECT_MS		5000	/* connect timeout of every call */
#define TG_RETRY_AFTER_MAX	3600	/* seconds; larger values clamped */

enum tg_status {
	TG_OK = 0,		/* "ok": true; result is set */
	TG_RETRY,		/* no answer, timeout, 5xx, 429, 409: later */
	TG_REFUSED		/* Telegram refused this request (other 4xx) */
};

struct tg_reply {
	enum tg_status	 status;
	long		 http_status;	/* 0: no HTTP answer */
	long		 error_code;	/* Bot API error_code, 0 when none */
	long		 retry_after;	/* seconds (429), 0 when none */
	cJSON		*answer;	/* owned: the whole answer, or NULL */
	const cJSON	*result;	/* in answer; NULL unless TG_OK */
	char		 description[256];
	char		 err[320];	/* "<method>: what went wrong" */
};

struct tg_client;
struct tg_call;

/*
 * A client for <api_base> (http or https URL, no trailing path needed)
 * and <token> (copied).  Returns NULL with <err> set when either is
 * unusable; the message never contains the token.
 */
struct tg_client *tg_client_new(const char *api_base, const char *token,
	    char *err, size_t errlen);
/* Cancel every call still running and free the client.  NULL is fine. */
void	tg_client_free(struct tg_client *c);

/*
 * Start <method> with <params> (a JSON object, borrowed; NULL for none)
 * and a total timeout.  The call belongs to the client until
 * tg_call_take() or tg_call_cancel().  Returns NULL with <err> set.
 */
struct tg_call *tg_call_start(struct tg_client *c, const char *method,
	    const cJSON *params, long timeout_ms, char *err, size_t errlen);
/*
 * Move every running call forward, waiting at most <wait_ms> for network
 * activity (0: never wait).  Returns the number of calls still running.
 */
int	tg_client_run(struct tg_client *c, int wait_ms);
bool	tg_call_done(const struct tg_call *call);
/* Fill <out> from a finished call and free the call. */
void	tg_call_take(struct tg_call *call, struct tg_reply *out);
/* Abandon a call (finished or not) and free it.  NULL is fine. */
void	tg_call_cancel(struct tg_call *call);

/*
 * One call from start to answer, ticking <prog> (may be NULL) every
 * 100 ms; a tick answering -1 abandons the call.  <out> is always
 * filled.  Returns 0 when the answer was ok, -1 otherwise.
 */
int	tg_request(struct tg_client *c, const char *method,
	    const cJSON *params, long timeout_ms, struct progress *prog,
	    struct tg_reply *out);

/*
 * Interpret an HTTP answer of <method>: <body> of <len> bytes (need not
 * be NUL-terminated).  Always fills <out>; returns out->status.
 */
enum tg_status tg_reply_parse(const char *method, long http_status,
	    const char *body, size_t len, struct tg_reply *out);
void	tg_reply_clear(struct tg_reply *r);

/* Copy <text> into <buf> with every occurrence of <token> masked. */
const char *tg_redact(const char *text, const char *token, char *buf,
	    size_t size);

#endif
