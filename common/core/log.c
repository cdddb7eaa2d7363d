/* SPDX-License-Identifier: ISC */
/*
 * log.c: the one logging module of every RayVault program.
 *
 * Each line names the program, its pid and its role ("rvsup[42] sup:",
 * "rvw-render[77] render.0.3:") and goes to stderr and, when log_init()
 * was given a directory, to <logdir>/<prog>.log as well, opened
 * O_NOFOLLOW: a symlink in its place is refused (log_init() returns -1),
 * never appended through.  A log file that would pass LOG_FILE_MAX bytes
 * is renamed to <prog>.log.1 (replacing the one before) and a new one
 * begun, at open and as lines are written, so a worker that runs for
 * months keeps at most twice that of each program (a lock keeps two
 * threads from rotating at once).  The module never
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
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/log.h"

int log_verbosity = LOG_LVL_INFO;

#define LOG_FILE_MAX	(8L << 20)	/* bytes; then <prog>.log.1 */

static char log_prog[32] = "rayvault";
static char log_role[48] = "";
static int log_fd = -1;
static char log_path[1024];
static long log_bytes, log_max = LOG_FILE_MAX;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static int
log_open(void)
{
	struct stat st;
	int fd;

	if ((fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		return -1;
	log_bytes = fstat(fd, &st) == 0 ? (long)st.st_size : 0;
	return fd;
}

/*
 * <prog>.log to <prog>.log.1 and a new <prog>.log.  When the new one
 * cannot be made, lines go on to the renamed file; when the rename fails,
 * to the same file: the next try is LOG_FILE_MAX bytes later.
 */
static void
log_rotate(void)
{
	char old[sizeof(log_path) + 2];
	int fd;

	if ((size_t)snprintf(old, sizeof(old), "%s.1", log_path) <
	    sizeof(old) && rename(log_path, old) == 0 &&
	    (fd = log_open()) != -1) {
		(void)close(log_fd);
		log_fd = fd;
		return;
	}
	log_bytes = 0;
}

/* The limit: LOG_FILE_MAX, or RV_TEST_LOG_MAX under RV_TESTING=1. */
static long
log_limit(void)
{
#ifdef RV_TESTING
	const char *t = getenv("RV_TEST_LOG_MAX"), *on = getenv("RV_TESTING");
	char *end;
	long v;

	if (t != NULL && on != NULL && strcmp(on, "1") == 0) {
		v = strtol(t, &end, 10);
		if (*t != '\0' && *end == '\0' && v >= 256 && v <= LOG_FILE_MAX)
			return v;
	}
#endif
	return LOG_FILE_MAX;
}

/*
 * Name the program and its role; with <logdir>, open <logdir>/<prog>.log
 * too.  Returns 0, or -1 with errno when that file cannot be opened (ELOOP:
 * it is a symlink); logging then goes to stderr only.
 */
int
log_init(const char *prog, const char *role, const char *logdir)
{
	const char *v;
	int rc = 0;

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
	pthread_mutex_lock(&log_mu);
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
	log_max = log_limit();
	if ((size_t)snprintf(log_path, sizeof(log_path), "%s/%s.log", logdir,
	    prog) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		rc = -1;
	} else if ((log_fd = log_open()) == -1)
		rc = -1;
	else if (log_bytes >= log_max)
		log_rotate();
	pthread_mutex_unlock(&log_mu);
	return rc;
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
	pthread_mutex_lock(&log_mu);
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
	pthread_mutex_unlock(&log_mu);
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
	pthread_mutex_lock(&log_mu);
	if (log_fd != -1) {
		if (log_bytes + (long)n > log_max)
			log_rotate();
		if (write(log_fd, line, n) > 0)
			log_bytes += (long)n;
	}
	pthread_mutex_unlock(&log_mu);
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
