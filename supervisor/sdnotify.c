/* SPDX-License-Identifier: ISC */
/*
 * sdnotify.c: the service manager's notification protocol (systemd's
 * sd_notify), spoken by rvsup itself without libsystemd.
 *
 * A manager that starts rvsup as a Type=notify service passes the address
 * of an AF_UNIX datagram socket in NOTIFY_SOCKET: a path, or "@name" for
 * an abstract name (a leading NUL byte on the wire).  Each message is one
 * datagram of newline-separated KEY=VALUE lines: READY=1 once rvsup can
 * do its work (rvsup.c decides when), STATUS=<one line> when that line
 * changes, WATCHDOG=1 at half of WATCHDOG_USEC (when WATCHDOG_PID, if
 * set, is our pid), STOPPING=1 when the stop begins.
 *
 * Without NOTIFY_SOCKET every call does nothing.  sdn_init() removes the
 * three variables from the environment, so the children, which speak to
 * rvsup and not to the manager, never see them.  A send never blocks
 * (MSG_DONTWAIT) and a failed one is logged once, then the supervisor
 * goes on: a notification lost is the manager's concern, and it must
 * never stop the lease holder.  An address rvsup cannot use (not a path
 * or an abstract name, or too long) is logged and ignored.
 *
 * Public: sdn_init, sdn_enabled, sdn_watchdog_ms, sdn_send, sdn_status,
 * sdn_close.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/log.h"
#include "supervisor/sdnotify.h"

#define SDN_STATUS_MAX	512

static int sdn_fd = -1;
static struct sockaddr_un sdn_addr;
static socklen_t sdn_addrlen;
static int64_t sdn_wd_ms;
static bool sdn_warned;
static char sdn_last_status[SDN_STATUS_MAX];

/* Parse NOTIFY_SOCKET into sdn_addr; -1 with a reason in <why>. */
static int
parse_addr(const char *v, const char **why)
{
	size_t n = strlen(v);

	memset(&sdn_addr, 0, sizeof(sdn_addr));
	sdn_addr.sun_family = AF_UNIX;
	if (v[0] != '/' && v[0] != '@') {
		*why = "neither an absolute path nor an abstract @name";
		return -1;
	}
	if (n < 2 || n >= sizeof(sdn_addr.sun_path)) {
		*why = n < 2 ? "empty name" : "longer than a socket address";
		return -1;
	}
	memcpy(sdn_addr.sun_path, v, n);
	if (v[0] == '@') {
		sdn_addr.sun_path[0] = '\0';
		sdn_addrlen = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + n);
	} else
		sdn_addrlen = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + n + 1);
	return 0;
}

/*
 * Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, then remove them
 * from the environment.  Call once, after logging is set up and before
 * any child is started.
 */
void
sdn_init(void)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	const char *why;
	char *end;
	long long us;

	if (sock != NULL && *sock != '\0') {
		if (parse_addr(sock, &why) == -1)
			log_warnx("NOTIFY_SOCKET \"%.120s\": %s; the service "
			    "manager is not notified", sock, why);
		else if ((sdn_fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
			log_warn("NOTIFY_SOCKET: socket");
		else
			(void)fcntl(sdn_fd, F_SETFD, FD_CLOEXEC);
	}
	if (sdn_fd != -1 && usec != NULL && *usec != '\0') {
		errno = 0;
		us = strtoll(usec, &end, 10);
		if (errno != 0 || *end != '\0' || us <= 0)
			log_warnx("WATCHDOG_USEC \"%.40s\" is not a positive "
			    "number of microseconds; no watchdog", usec);
		else if (wpid != NULL && *wpid != '\0' &&
		    strtoll(wpid, NULL, 10) != (long long)getpid())
			log_info("WATCHDOG_PID names another process; no "
			    "watchdog");
		else
			sdn_wd_ms = us / 2000 > 0 ? us / 2000 : 1;
	}
	(void)unsetenv("NOTIFY_SOCKET");
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");
	if (sdn_fd != -1)
		log_info("service manager notification on %s%s", sock,
		    sdn_wd_ms > 0 ? " with a watchdog" : "");
}

bool
sdn_enabled(void)
{
	return sdn_fd != -1;
}

/* The period of WATCHDOG=1 in ms (half the manager's), 0: none. */
int64_t
sdn_watchdog_ms(void)
{
	return sdn_fd != -1 ? sdn_wd_ms : 0;
}

/* Send <msg> (KEY=VALUE lines) as one datagram. */
void
sdn_send(const char *msg)
{
	if (sdn_fd == -1)
		return;
	if (sendto(sdn_fd, msg, strlen(msg), MSG_DONTWAIT,
	    (struct sockaddr *)&sdn_addr, sdn_addrlen) == -1) {
		if (!sdn_warned)
			log_warn("service manager notification not sent "
			    "(further failures are not logged)");
		sdn_warned = true;
	} else if (sdn_warned) {
		log_info("service manager notification works again");
		sdn_warned = false;
	}
}

/* STATUS=<text> (one line), when it differs from the last one sent. */
void
sdn_status(const char *text)
{
	char msg[SDN_STATUS_MAX + 8];
	char *nl;

	if (sdn_fd == -1 || strncmp(text, sdn_last_status,
	    sizeof(sdn_last_status) - 1) == 0)
		return;
	strlcpy(sdn_last_status, text, sizeof(sdn_last_status));
	snprintf(msg, sizeof(msg), "STATUS=%s", sdn_last_status);
	while ((nl = strchr(msg, '\n')) != NULL)
		*nl = ' ';
	sdn_send(msg);
}

void
sdn_close(void)
{
	if (sdn_fd != -1)
		close(sdn_fd);
	sdn_fd = -1;
}
