/* SPDX-License-Identifier: ISC */
/*
 * postgrest_fuzz.c: libFuzzer target for the Supabase backend's reading
 * of PostgREST answers (common/store/supabase_http.c, supabase_data.c,
 * supabase_lease.c).  A small HTTP server on a loopback port, in a thread
 * of this process, answers every request with the input: its first byte
 * picks the store call made, its second the HTTP status, the rest is the
 * body.  The real client makes the call over libcurl and decodes what
 * comes back, error answers included.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/store/supabase.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RUN_ID	"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define TOKEN	"1a2b3c4d-5e6f-4081-9293-a4b5c6d7e8f9"
#define WID	"fuzz-worker"

static const int statuses[] = {
	200, 201, 204, 300, 400, 401, 403, 404, 409, 500, 502, 503
};

static struct sbs store;
static int lfd = -1;
/*
 * The answer to give: set before each call, copied by the server thread
 * into its own buffer under the lock (the input is freed once the call
 * returns, while the server may still be inside write()).
 */
#define ANSWER_MAX	(1 << 20)
static pthread_mutex_t ans_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t ans_body[ANSWER_MAX];
static size_t ans_len;
static int ans_status;

static bool
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return false;
		}
		c += w;
		n -= (size_t)w;
	}
	return true;
}

/* Serve requests on <fd> until the client closes it. */
static void
serve(int fd)
{
	static char req[1 << 20], resp[ANSWER_MAX + 160];
	char *end, *cl;
	size_t have = 0, need, rl;
	ssize_t r;
	int hl;

	for (;;) {
		end = have > 0 ? memmem(req, have, "\r\n\r\n", 4) : NULL;
		if (end == NULL) {
			if (have == sizeof(req) - 1 ||
			    (r = read(fd, req + have, sizeof(req) - 1 - have))
			    <= 0)
				return;
			have += (size_t)r;
			continue;
		}
		*end = '\0';
		need = (size_t)(end + 4 - req);
		if ((cl = strcasestr(req, "\r\nContent-Length:")) != NULL)
			need += strtoul(cl + 17, NULL, 10);
		while (have < need) {
			if (need >= sizeof(req) || (r = read(fd, req + have,
			    sizeof(req) - have)) <= 0)
				return;
			have += (size_t)r;
		}
		pthread_mutex_lock(&ans_lock);
		rl = ans_status == 204 ? 0 : ans_len;
		hl = snprintf(resp, 160, "HTTP/1.1 %d Fuzz\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu"
		    "\r\n\r\n", ans_status, rl);
		memcpy(resp + hl, ans_body, rl);
		pthread_mutex_unlock(&ans_lock);
		if (!write_all(fd, resp, (size_t)hl + rl))
			return;
		memmove(req, req + need, have - need);
		have -= need;
	}
}

static void *
server(void *arg)
{
	int fd, one = 1;

	(void)arg;
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		/* head and body go out at once (no 40 ms Nagle wait) */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		serve(fd);
		close(fd);
	}
	return NULL;
}

static void
setup(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	pthread_t t;
	char url[64], err[512];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1 ||
	    listen(lfd, 4) == -1 ||
	    pthread_create(&t, NULL, server, NULL) != 0) {
		perror("postgrest_fuzz: server");
		abort();
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d",
	    ntohs(sin.sin_port));
	if (sbs_http_init(&store, url, "fuzz-service-key", 5, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "postgrest_fuzz: %s\n", err);
		abort();
	}
}

static void
one_call(int op)
{
	struct store_run run, *runs;
	struct store_claim claim;
	struct store_hb hb;
	struct store_event ev;
	struct store_ledger l, existing, *rows;
	struct store_amend am;
	enum store_action_result ar;
	enum store_write wr;
	char err[1024], msg[256], nonce[STORE_ID_MAX], id[STORE_ID_MAX];
	char *spec = NULL;
	cJSON *events = NULL, *evidence;
	size_t n;
	bool ok, fresh;

	switch (op) {
	case 0:
		if (sbs_get_run(&store, "RAY-1", &run, &spec, err,
		    sizeof(err)) == 0)
			free(spec);
		break;
	case 1:
		if (sbs_list_runs(&store, &runs, &n, err, sizeof(err)) == 0)
			free(runs);
		break;
	case 2:
		(void)sbs_claim(&store, WID, TOKEN, 10, "", NULL, &claim, err,
		    sizeof(err));
		break;
	case 3:
		(void)sbs_heartbeat(&store, RUN_ID, WID, TOKEN, 10, 12,
		    WS_ACTIVE, &hb, err, sizeof(err));
		break;
	case 4:
		evidence = cJSON_CreateObject();
		(void)sbs_gate(&store, RUN_ID, WID, TOKEN, "claims differ",
		    WS_WAITING, evidence, nonce, &ok, err, sizeof(err));
		cJSON_Delete(evidence);
		break;
	case 5:
		(void)sbs_operator_action(&store, RUN_ID, "approve",
		    "telegram:@op", "deadbeef", &ar, msg, sizeof(msg), err,
		    sizeof(err));
		break;
	case 6:
		(void)sbs_force_unlock(&store, RUN_ID, "cli:op", "stuck", false,
		    &ok, msg, sizeof(msg), err, sizeof(err));
		break;
	case 7:
		(void)sbs_enqueue(&store, "RAY-1", "", "{\"video_id\":"
		    "\"RAY-1\"}", false, id, err, sizeof(err));
		break;
	case 8:
		memset(&ev, 0, sizeof(ev));
		strlcpy(ev.run_id, RUN_ID, sizeof(ev.run_id));
		strlcpy(ev.event_type, "render_done", sizeof(ev.event_type));
		strlcpy(ev.severity, "INFO", sizeof(ev.severity));
		strlcpy(ev.source, "render", sizeof(ev.source));
		ev.lease_epoch = 2;
		(void)sbs_add_event(&store, &ev, &wr, err, sizeof(err));
		break;
	case 9:
		if (sbs_list_events(&store, RUN_ID, &events, err,
		    sizeof(err)) == 0)
			cJSON_Delete(events);
		break;
	case 10:
		memset(&l, 0, sizeof(l));
		strlcpy(l.key, RUN_ID ":intro:0123abcd", sizeof(l.key));
		strlcpy(l.run_id, RUN_ID, sizeof(l.run_id));
		strlcpy(l.segment_id, "intro", sizeof(l.segment_id));
		strlcpy(l.sha8, "0123abcd", sizeof(l.sha8));
		strlcpy(l.state, "intent", sizeof(l.state));
		l.lease_epoch = 2;
		l.credits = 3;
		l.attempts = 1;
		(void)sbs_ledger_intent(&store, &l, TOKEN, &fresh, &existing,
		    &wr, err, sizeof(err));
		break;
	case 11:
		(void)sbs_ledger_result(&store, RUN_ID ":intro:0123abcd", 2,
		    "done", 3, "runs/RAY-1/intro.mp4", &wr, err, sizeof(err));
		break;
	case 12:
		if (sbs_ledger_list(&store, RUN_ID, &rows, &n, err,
		    sizeof(err)) == 0)
			free(rows);
		break;
	case 13:
		(void)sbs_health(&store, msg, sizeof(msg));
		break;
	case 14:
		(void)sbs_finish(&store, RUN_ID, WID, TOKEN, "done", NULL, &ok,
		    err, sizeof(err));
		break;
	case 15:
		am.run_id = RUN_ID;
		am.segment_id = "intro";
		am.text = "Hello again.";
		am.duration = 0;
		am.operator_name = "cli:op";
		(void)sbs_amend(&store, &am, &ar, msg, sizeof(msg), err,
		    sizeof(err));
		break;
	default:
		(void)sbs_set_worker_state(&store, RUN_ID, WID, TOKEN,
		    WS_IDLE, &ok, err, sizeof(err));
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size - 2 > ANSWER_MAX)
		return 0;
	if (lfd == -1)
		setup();
	pthread_mutex_lock(&ans_lock);
	ans_status = statuses[data[1] % (sizeof(statuses) /
	    sizeof(statuses[0]))];
	memcpy(ans_body, data + 2, size - 2);
	ans_len = size - 2;
	pthread_mutex_unlock(&ans_lock);
	one_call(data[0] % 17);
	return 0;
}
