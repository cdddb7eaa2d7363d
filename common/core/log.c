/* SPDX-License-Identifier: ISC */
/*
 * log.c: the one logging module of every RayVault program.
 *
 * Each line names the program, its pid and its role ("rvsup[42] sup:",
 * "rvw-render[77] render.0.3:") and goes to stderr and, when log_init()
 * was given a directory, to <logdir>/<prog>.log as well, opened
 * O_NOFOLLOW: a symlink in its place is refused (log_init() returns -1),
 * never appended through.  The module never
 * sees secrets on purpose: callers must not pass URLs with tokens or
 * request bodies.  It does no allocation after log_init(), so it may be
 * used on error paths where memory is short.  It is not async-signal-safe.
 *
 * Public: log_init, log_set_role, log_set_level, log_close, log_warn,
 * log_warnx, log_info, log_debug, fatal, fatalx.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/log.h"

int log_verbosity = LOG_LVL_INFO;

static char log_prog[32] = "rayvault";
static char log_role[48] = "";
static int log_fd = -1;

/*
 * Name the program and its role; with <logdir>, open <logdir>/<prog>.log
 * too.  Returns 0, or -1 with errno when that file cannot be opened (ELOOP:
 * it is a symlink); logging then goes to stderr only.
 */
int
log_init(const char *prog, const char *role, const char *logdir)
{
	char path[1024];
	const char *v;

	strlcpy(log_prog, prog, sizeof(log_prog));
	strlcpy(log_role, role, sizeof(log_role));
	if ((v = getenv("RAYVAULT_LOG_LEVEL")) != NULL) {
		if (strcmp(v, "debug") == 0)
			log_verbosity = LOG_LVL_DEBUG;
		else if (strcmp(v, "warn") == 0)
			log_verbosity = LOG_LVL_WARN;
	}
	if (logdir == NULL)
		return 0;
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.log", logdir, prog) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	return log_fd == -1 ? -1 : 0;
}

void
log_set_role(const char *role)
{
	strlcpy(log_role, role, sizeof(log_role));
}

void
log_set_level(int level)
{
	if (level >= LOG_LVL_ERROR && level <= LOG_LVL_DEBUG)
		log_verbosity = level;
}

void
log_close(void)
{
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
}

static void log_emit(const char *, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
log_emit(const char *tag, const char *fmt, va_list ap, int errnum)
{
	char line[2048], stamp[40];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line, sizeof(line), "%s.%03dZ %s[%ld] %s: %s", stamp,
	    (int)(tv.tv_usec / 1000), log_prog, (long)getpid(), log_role, tag);
	n = r < 0 ? 0 : (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (errnum != 0 && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
		n += r < 0 ? 0 : (size_t)r;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
	if (log_fd != -1)
		(void)!write(log_fd, line, n);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit("warning: ", fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < LOG_LVL_WARN)
		return;
	va_start(ap, fmt);
	log_emit("warning: ", fmt, ap, 0);
	va_end(ap);
}

void
log_info_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("", fmt, ap, 0);
	va_end(ap);
}

void
log_debug_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("debug: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit("fatal: ", fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
