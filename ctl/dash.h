/* SPDX-License-Identifier: ISC */
#ifndef RV_CTL_DASH_H
#define RV_CTL_DASH_H

/*
 * What the files of rvctl dashboard share (SPEC section 6.1).
 *
 *	ctl_dashboard.c	the command: options, token, the daemon, signals
 *	dash_http.c	access: Host, login, sessions, Origin + CSRF, the
 *			common headers, routing
 *	dash_html.c	the page buffer, HTML escaping, the page frame, the
 *			served script and style sheet
 *	dash_pages.c	overview, runs, incidents
 *	dash_run.c	the run page with the evidence diff
 *	dash_diff.c	the evidence diff table
 *	dash_files.c	the evidence page, the timeline files
 *	dash_act.c	the decisions: approve, refetch, abort, unlock
 *	dash_api.c	/healthz, /api/..., /events and the change watcher
 *
 * The daemon runs one thread per connection: every use of the store (one
 * handle, one thread at a time) and of the sessions is under d->lock.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cJSON.h>

#include "ctl/ctl.h"

#define DASH_TOKEN_HEX		64
#define DASH_SESSIONS_MAX	32
#define DASH_SESSION_TTL	(12 * 3600)
#define DASH_BAD_LOGINS		5	/* a minute; then 429 */
#define DASH_CONN_MAX		32	/* connections at once */
#define DASH_CONN_MEM		(32 * 1024)	/* per connection: headers */
#define DASH_BODY_MAX		8192	/* a POST body */
#define DASH_SSE_MAX		8	/* /events clients at once */
#define DASH_KEEPALIVE_SEC	15
#define DASH_OPERATOR_MAX	40
#define DASH_COOKIE		"rvdash"

struct dash_session {
	char		 id[DASH_TOKEN_HEX + 1];	/* "" unused */
	char		 csrf[DASH_TOKEN_HEX + 1];
	time_t		 created;
};

struct dash {
	struct ctl_env	*env;
	pthread_mutex_t	 lock;		/* the store, sessions, bad logins */
	char		 token[DASH_TOKEN_HEX + 1];
	char		 operator_name[DASH_OPERATOR_MAX + 16];	/* dashboard:NAME */
	char		 host[64];	/* "127.0.0.1" or "::1" */
	unsigned	 port;
	struct dash_session sess[DASH_SESSIONS_MAX];
	time_t		 bad[DASH_BAD_LOGINS];	/* times of wrong tokens */
	bool		 store_up;

	/* the change watcher (dash_api.c) and its /events readers */
	pthread_mutex_t	 ev_lock;
	pthread_cond_t	 ev_cond;
	unsigned long long ev_id;	/* current state's event id */
	char		*ev_data;	/* its JSON; NULL before the first */
	int		 sse_clients;
	int		 poll_ms;	/* 500 sqlite, 2000 supabase */
	bool		 stopping;
	pthread_t	 watcher;
};

/* A page or answer being built. */
struct dash_buf {
	char		*p;
	size_t		 len, cap;
	bool		 oom;
};

/* One request, from its first call to its completion. */
struct dash_req {
	struct dash	*d;
	void		*conn;		/* struct MHD_Connection * */
	void		*pp;		/* struct MHD_PostProcessor * */
	size_t		 body_len;
	bool		 too_big;
	bool		 is_post;
	char		 csrf[DASH_TOKEN_HEX + 1];	/* the session's; "" none */
	/* the form fields of a POST */
	char		 f_action[16], f_nonce[48], f_csrf[DASH_TOKEN_HEX + 8];
	char		 f_confirm[8], f_reason[512], f_force[8];
	bool		 f_bad;		/* a field too long or unknown */
};

/* An answer: status, body, type, and the headers of a few answers. */
struct dash_resp {
	unsigned	 status;
	struct dash_buf	 b;
	const char	*ctype;
	char		 location[160];
	char		 cookie[160];
	char		 disposition[160];	/* Content-Disposition */
	bool		 is_static;	/* b.p is a constant; do not free */
};

/* dash_html.c */
void	db_raw(struct dash_buf *b, const char *s);
void	db_fmt(struct dash_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	db_text(struct dash_buf *b, const char *s);
void	db_run_link(struct dash_buf *b, const char *run_id,
	    const char *video_id);
void	db_textf(struct dash_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	db_free(struct dash_buf *b);
void	dash_page_begin(struct dash_buf *b, const char *title,
	    const char *run_id);
void	dash_page_end(struct dash_buf *b);
void	dash_html_resp(struct dash_resp *r, unsigned status);
void	dash_error_page(struct dash_resp *r, unsigned status,
	    const char *title, const char *text);
void	dash_duration(char *buf, size_t size, double sec);
const char *dash_static(const char *path, const char **ctype, size_t *len);

/* dash_http.c */
int	dash_http_start(struct dash *d, void **daemon, char *err,
	    size_t errlen);
void	dash_http_stop(void *daemon);
bool	dash_store(struct dash *d, char *err, size_t errlen);
bool	dash_nonce_ok(const char *s);

/* dash_pages.c */
void	dash_overview(struct dash *d, struct dash_resp *r);
void	dash_runs_page(struct dash *d, const char *status, struct dash_resp *r);
void	dash_incidents(struct dash *d, struct dash_resp *r);
bool	dash_run_incident(const struct dash *d, const struct store_run *r,
	    char *why, size_t size);
void	dash_status_cell(struct dash_buf *b, const struct store_run *r);

/* dash_run.c */
void	dash_run_page(struct dash_req *q, const char *run_id,
	    struct dash_resp *r);
cJSON	*dash_gate_evidence(struct dash *d, const struct store_run *run,
	    const cJSON *events);
cJSON	*dash_read_json(const char *state_dir, const char *dir,
	    const char *run_id);

/* dash_diff.c */
void	dash_diff_table(struct dash_buf *b, const cJSON *ev,
	    const cJSON *file);
const char *dash_src_name(const cJSON *source);

/* dash_files.c */
void	dash_evidence_page(struct dash *d, const char *run_id,
	    struct dash_resp *r);
void	dash_timeline(struct dash *d, const char *run_id, const char *ext,
	    struct dash_resp *r);
bool	dash_timeline_file(struct dash *d, const struct store_run *run,
	    const char *ext, char *path, size_t size);

/* dash_act.c */
void	dash_action(struct dash_req *q, const char *run_id,
	    struct dash_resp *r);
void	dash_unlock(struct dash_req *q, const char *run_id,
	    struct dash_resp *r);

/* dash_api.c */
void	dash_healthz(struct dash *d, struct dash_resp *r);
void	dash_api(struct dash *d, const char *path, struct dash_resp *r);
int	dash_watch_start(struct dash *d);
void	dash_watch_stop(struct dash *d);
void	*dash_sse_response(struct dash *d, void *conn, const char *last_id);

#endif
