/* SPDX-License-Identifier: ISC */
/*
 * ctl_dashboard.c: rvctl dashboard, the operator's web page (SPEC 6.1).
 *
 *	rvctl dashboard [--listen 127.0.0.1:8787] [--operator NAME]
 *
 * One long-running process.  It listens on a loopback address only
 * (127.0.0.1, localhost or [::1]; anything else exits 2 naming
 * --listen; port 0 picks a free one), makes a new login token (32 bytes
 * of arc4random, 64 hex) at every start, writes it to
 * state/runtime/dashboard.token (mode 0600, replacing the last one) and
 * prints the login URL as its first stdout line, flushed; that line is
 * the only place the token is ever printed.  It reads through the store
 * door and the supervisor's control endpoint like rvctl status and
 * writes only through the store's operator actions (dash_act.c), with
 * "dashboard:NAME" as the operator (NAME: --operator, else $USER, else
 * "operator").  The store may be unreachable at start: pages then say
 * so and each request tries it again.  SIGINT and SIGTERM stop it: the
 * live pages are told to go, the daemon stops, exit 0.
 *
 * Public: ctl_dashboard.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "ctl/dash.h"
#include "ctl/mhd_dl.h"

/* Split "HOST:PORT" ("[::1]:PORT") into a loopback host and a port. */
static int
parse_listen(const char *arg, char *host, size_t hsize, unsigned *port)
{
	const char *colon;
	char *end;
	long p;

	if (strncmp(arg, "[::1]:", 6) == 0) {
		strlcpy(host, "::1", hsize);
		colon = arg + 5;
	} else {
		if ((colon = strrchr(arg, ':')) == NULL)
			return -1;
		if ((size_t)(colon - arg) == 9 && strncmp(arg, "127.0.0.1",
		    9) == 0)
			strlcpy(host, "127.0.0.1", hsize);
		else if ((size_t)(colon - arg) == 9 && strncasecmp(arg,
		    "localhost", 9) == 0)
			strlcpy(host, "127.0.0.1", hsize);
		else
			return -1;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 ||
	    p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

static bool
operator_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > DASH_OPERATOR_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("._-", s[i]) != NULL))
			return false;
	return true;
}

/* A new token into state/runtime/dashboard.token, mode 0600. */
static int
write_token(struct dash *d, char *err, size_t errlen)
{
	unsigned char b[DASH_TOKEN_HEX / 2];
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 8], line[80];
	size_t i;
	int fd;

	arc4random_buf(b, sizeof(b));
	for (i = 0; i < sizeof(b); i++)
		(void)snprintf(d->token + 2 * i, 3, "%02x", b[i]);
	explicit_bzero(b, sizeof(b));
	if (fs_path(dir, sizeof(dir), "%s/runtime", d->env->cfg.state_dir) ==
	    -1 || fs_mkdirs(dir, 0700) == -1 || fs_path(path, sizeof(path),
	    "%s/dashboard.token", dir) == -1 || fs_path(tmp, sizeof(tmp),
	    "%s.tmp", path) == -1) {
		(void)snprintf(err, errlen, "cannot make %.300s/runtime: %s",
		    d->env->cfg.state_dir, strerror(errno));
		return -1;
	}
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
		(void)snprintf(err, errlen, "cannot write %.300s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	(void)snprintf(line, sizeof(line), "%s\n", d->token);
	if (fchmod(fd, 0600) == -1 || write(fd, line, strlen(line)) !=
	    (ssize_t)strlen(line) || fsync(fd) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		(void)snprintf(err, errlen, "cannot write %.300s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	explicit_bzero(line, sizeof(line));
	return 0;
}

int
ctl_dashboard(struct ctl_env *env, int argc, char **argv)
{
	static struct dash d;
	const char *listen = "127.0.0.1:8787", *op = NULL;
	char err[512];
	sigset_t set;
	void *daemon = NULL;
	int i, sig;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--listen") == 0 || strcmp(argv[i],
		    "--operator") == 0) && i + 1 < argc) {
			if (argv[i][2] == 'l')
				listen = argv[++i];
			else
				op = argv[++i];
		} else {
			fprintf(stderr, "rvctl dashboard: unknown option or "
			    "missing value \"%s\"\n", argv[i]);
			return ctl_usage(ctl_lookup("dashboard"));
		}
	}
	memset(&d, 0, sizeof(d));
	d.env = env;
	if (parse_listen(listen, d.host, sizeof(d.host), &d.port) == -1) {
		fprintf(stderr, "rvctl dashboard: --listen \"%.80s\" must be a "
		    "loopback address and port: 127.0.0.1:PORT, "
		    "localhost:PORT or [::1]:PORT\n", listen);
		return CTL_CRIT;
	}
	if (op != NULL && !operator_ok(op)) {
		fprintf(stderr, "rvctl dashboard: --operator must be 1 to %d "
		    "letters, digits, '.', '_' or '-'\n", DASH_OPERATOR_MAX);
		return CTL_USAGE;
	}
	if (op == NULL && ((op = getenv("USER")) == NULL || !operator_ok(op)))
		op = "operator";
	(void)snprintf(d.operator_name, sizeof(d.operator_name),
	    "dashboard:%s", op);
	if (!ctl_settings_ok(env, "dashboard"))
		return CTL_USAGE;
	if (mhd_dl_load(err, sizeof(err)) == -1) {
		fprintf(stderr, "rvctl dashboard: %s (the dashboard needs GNU "
		    "libmicrohttpd; scripts/bootstrap installs it)\n", err);
		return CTL_UNAVAIL;
	}
	pthread_mutex_init(&d.lock, NULL);
	if (write_token(&d, err, sizeof(err)) == -1) {
		fprintf(stderr, "rvctl dashboard: %s\n", err);
		return CTL_CRIT;
	}
	if (!dash_store(&d, err, sizeof(err)))
		fprintf(stderr, "rvctl dashboard: the store is unreachable for "
		    "now (%s); the pages say so and try again\n", err);
	else
		d.store_up = true;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* threads inherit it */
	if (dash_http_start(&d, &daemon, err, sizeof(err)) == -1) {
		fprintf(stderr, "rvctl dashboard: --listen %s: %s\n", listen,
		    err);
		return CTL_CRIT;
	}
	if (dash_watch_start(&d) == -1) {
		fprintf(stderr, "rvctl dashboard: cannot start the change "
		    "watcher\n");
		dash_http_stop(daemon);
		return CTL_SOFTWARE;
	}
	printf("http://%s%s%s:%u/login?token=%s\n", strchr(d.host, ':') ?
	    "[" : "", d.host, strchr(d.host, ':') ? "]" : "", d.port, d.token);
	fflush(stdout);
	fprintf(stderr, "rvctl dashboard: listening on %s port %u, store %s, "
	    "operator %s\n", d.host, d.port, env->cfg.supabase_url[0] ?
	    "supabase" : "sqlite", d.operator_name);
	sigdelset(&set, SIGPIPE);
	for (;;) {
		if (sigwait(&set, &sig) == 0 && (sig == SIGINT ||
		    sig == SIGTERM))
			break;
	}
	fprintf(stderr, "rvctl dashboard: stopping (%s)\n", sig == SIGINT ?
	    "SIGINT" : "SIGTERM");
	dash_watch_stop(&d);
	dash_http_stop(daemon);
	free(d.ev_data);
	explicit_bzero(d.token, sizeof(d.token));
	explicit_bzero(d.sess, sizeof(d.sess));
	return CTL_OK;
}
