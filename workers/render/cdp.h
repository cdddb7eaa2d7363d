/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_RENDER_CDP_H
#define RV_WORKERS_RENDER_CDP_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

struct progress;

/*
 * A Chrome DevTools Protocol client over a pipe pair (Chromium started
 * with --remote-debugging-pipe reads commands on its fd 3 and writes
 * answers and events on its fd 4; every message is one JSON object
 * followed by a NUL byte).  See workers/render/cdp.c.
 */

#define CDP_MSG_MAX	(8 * 1024 * 1024)	/* bytes of one message */
#define CDP_EVENTS_MAX	256		/* queued events; oldest dropped */
#define CDP_TICK_MS	100		/* progress tick period in waits */
#define CDP_SESSION_MAX	64		/* bytes of a session id + NUL */

enum cdp_rc {
	CDP_OK = 0,
	CDP_ERR = -1,		/* error answer, bad message, I/O: err says */
	CDP_TIMEOUT = -2,	/* the deadline passed */
	CDP_CLOSED = -3,	/* the browser closed the pipe or exited */
	CDP_STOPPED = -4	/* the progress said stop */
};

struct cdp {
	int		 wfd;		/* commands: the browser's fd 3 */
	int		 rfd;		/* answers, events: its fd 4 */
	pid_t		 peer;		/* watched for exit; 0: none */
	struct progress	*prog;		/* ticked in every wait; may be NULL */
	long long	 next_id;
	char		*buf;		/* bytes of the message being read */
	size_t		 len, cap;
	bool		 skipping;	/* inside an oversized message */
	size_t		 dropped;	/* messages dropped (size, syntax) */
	cJSON		*ev[CDP_EVENTS_MAX];	/* ring of queued events */
	size_t		 ev_head, ev_n;
	long long	 want_id;	/* the answer being waited for */
	cJSON		*answer;
	bool		 closed;	/* EOF, EPIPE or the peer exited */
	bool		 peer_exited;
	int		 peer_status;	/* wait status when peer_exited */
};

void	cdp_init(struct cdp *c, int wfd, int rfd, pid_t peer,
	    struct progress *prog);
void	cdp_clear(struct cdp *c);
char	*cdp_encode(long long id, const char *session, const char *method,
	    const cJSON *params, size_t *lenp);
void	cdp_feed(struct cdp *c, const char *data, size_t n);
int	cdp_call(struct cdp *c, const char *session, const char *method,
	    cJSON *params, int timeout_ms, cJSON **result, char *err,
	    size_t errlen);
int	cdp_wait_event(struct cdp *c, const char *session, const char *method,
	    int timeout_ms, cJSON **params, char *err, size_t errlen);
cJSON	*cdp_take_event(struct cdp *c, const char *session,
	    const char *method);
void	cdp_drop_events(struct cdp *c);
int	cdp_pause(struct cdp *c, int ms, char *err, size_t errlen);

#endif
