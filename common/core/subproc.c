/* SPDX-License-Identifier: ISC */
/*
 * subproc.c: run one external tool (ffmpeg, ffprobe, espeak-ng) to
 * completion while the caller keeps heartbeating.
 *
 * The child is forked into the caller's process group (never setsid(), so
 * a process-group kill from the supervisor takes it too), gets /dev/null
 * as stdin, pipes as stdout and stderr, every other descriptor closed, an
 * empty signal mask and default SIGPIPE, then execve()s the tool found in
 * PATH with a scrubbed environment (subproc_tool_environ: PATH, HOME,
 * TMPDIR, TZ, USER, LOGNAME, the locale, and what the tools read: XDG_*,
 * FONTCONFIG_*, ESPEAK_DATA_PATH; no secret and nothing else of ours,
 * whatever the caller's environment holds).  Both are prepared before
 * the fork, so the child only makes async-signal-safe calls.  An exec failure
 * travels back over a close-on-exec pipe, so "could not start" (-1,
 * errno) is told apart from "ran and failed" (res->status).
 *
 * The whole call is one wait of the caller's work loop, so the progress
 * (common/core/progress.h) is ticked at least every PROGRESS_TICK_MS from the
 * fork to the reap: while the exec report is awaited, while the tool runs,
 * and while a killed tool is reaped.  The parent polls the pipes in slices
 * of at most PROGRESS_TICK_MS.  On every tick it reaps the child if it
 * exited, enforces the timeout (SIGKILL, then reap) and calls
 * progress_tick(); a -1 from the tick kills and reaps the child and sets
 * res->stopped (a -1 while a killed tool is being reaped changes nothing:
 * it is going already).  The progress is ticked once more when the child is
 * gone, and a -1 then sets res->stopped too, so a stop is never lost
 * between short runs.  The progress value is the caller's value when the
 * run started plus a local counter: bytes of output seen, or, when
 * progress_fd_parse is set, ffmpeg's "-progress pipe:1" out_time (in
 * microseconds) plus total_size.  Both only grow, so the counter grows
 * exactly when the tool made progress.  Parsed key=value lines are not kept
 * in res->out.
 *
 * The child is reaped with waitpid() on its own pid before subproc_run()
 * returns, on every path: no zombie is left.  The caller must not reap
 * children with waitpid(-1, ...) while this runs.  Nothing here logs.
 *
 * Public: subproc_run, subproc_result_clear, subproc_last_line,
 * subproc_tool_environ, subproc_environ_set, subproc_which.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/core/subproc.h"

#define SP_REAP_POLL_MS	10	/* a killed child is looked at this often */
#define SP_LINE_MAX	256	/* longer lines are never progress */
#define SP_FD_LIMIT	65536	/* fallback close loop bound */
#define SP_TAIL_MAX	sizeof(((struct subproc_result *)0)->errtail)

struct sp_state {
	pid_t		 pid;
	bool		 reaped;
	int		 fd_out;
	int		 fd_err;
	size_t		 outmax;
	bool		 parse;
	char		 line[SP_LINE_MAX];
	size_t		 linelen;
	bool		 line_long;	/* line overflowed line[] */
	long long	 out_time_us;
	long long	 total_size;
	long long	 bytes_seen;
	char		*out;
	size_t		 outlen;
	char		 tail[SP_TAIL_MAX];
	size_t		 taillen;
};

extern char **environ;

/* What an external tool may see of our environment: names, or prefixes. */
static const char *const sp_env_names[] = { "PATH", "HOME", "TMPDIR", "TZ",
    "USER", "LOGNAME", "LANG", "LANGUAGE", "ESPEAK_DATA_PATH", NULL };
static const char *const sp_env_prefixes[] = { "LC_", "XDG_", "FONTCONFIG_",
    NULL };

static bool
sp_env_allowed(const char *entry)
{
	size_t eq = strcspn(entry, "="), i;

	if (entry[eq] != '=')
		return false;
	for (i = 0; sp_env_names[i] != NULL; i++)
		if (strlen(sp_env_names[i]) == eq &&
		    strncmp(entry, sp_env_names[i], eq) == 0)
			return true;
	for (i = 0; sp_env_prefixes[i] != NULL; i++)
		if (strncmp(entry, sp_env_prefixes[i],
		    strlen(sp_env_prefixes[i])) == 0)
			return true;
	return false;
}

/*
 * The scrubbed environment for an external tool (ffmpeg, ffprobe,
 * espeak-ng, Chromium): the allowed entries of ours, borrowed (valid while
 * the environment is not changed), NULL-terminated.  The caller frees the
 * array only.  NULL when out of memory.
 */
char **
subproc_tool_environ(void)
{
	char **v, **e;
	size_t n = 0;

	for (e = environ; *e != NULL; e++)
		n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	n = 0;
	for (e = environ; *e != NULL; e++)
		if (sp_env_allowed(*e))
			v[n++] = *e;
	v[n] = NULL;
	return v;
}

/* <envp> with <vars> in place of their names' entries (subproc.h). */
char **
subproc_environ_set(char **envp, char *const vars[])
{
	char **v;
	size_t n = 0, nv = 0, i, j, k = 0, len;

	while (envp[n] != NULL)
		n++;
	while (vars[nv] != NULL)
		nv++;
	if ((v = calloc(n + nv + 1, sizeof(*v))) != NULL) {
		for (i = 0; i < n; i++) {
			for (j = 0; j < nv; j++) {
				len = strcspn(vars[j], "=") + 1;
				if (strncmp(envp[i], vars[j], len) == 0)
					break;
			}
			if (j == nv)
				v[k++] = envp[i];
		}
		for (j = 0; j < nv; j++)
			v[k++] = vars[j];
		v[k] = NULL;
	}
	free(envp);
	return v;
}

/*
 * <name> as execvp() would find it: itself when it holds a '/', else the
 * first executable regular file of that name in PATH (default
 * "/usr/bin:/bin").  Returns 0 with the path in <buf>, or -1 with errno
 * (ENOENT: not found, EACCES: found but not executable).
 */
int
subproc_which(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	struct stat sb;
	int err = ENOENT;
	size_t len;

	if (*name == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (strchr(name, '/') != NULL) {
		if (strlcpy(buf, name, size) >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	if (path == NULL)
		path = "/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if ((size_t)snprintf(buf, size, "%.*s%s%s", (int)len, p,
		    len > 0 ? "/" : "./", name) < size &&
		    stat(buf, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (access(buf, X_OK) == 0)
				return 0;
			err = EACCES;
		}
		if (end == NULL)
			break;
	}
	errno = err;
	return -1;
}

/* Child side: only async-signal-safe calls from here to execve(). */
static void
child_close_from(int lowfd, long maxfd)
{
	long fd;

#if defined(__linux__) && !defined(RV_PORTABLE)
	if (close_range((unsigned int)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (fd = lowfd; fd < maxfd; fd++)
		(void)close((int)fd);
}

static void __attribute__((noreturn))
child_exec(const char *file, char *const argv[], char *const envp[],
    int out_w, int err_w, int exec_w, long maxfd)
{
	sigset_t all;
	ssize_t w;
	int devnull, e;

	/* Move everything above 2 first so the dup2()s cannot collide. */
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (devnull = fcntl(devnull, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (out_w = fcntl(out_w, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (err_w = fcntl(err_w, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (exec_w = fcntl(exec_w, F_DUPFD_CLOEXEC, 10)) == -1)
		goto fail;
	if (dup2(devnull, STDIN_FILENO) == -1 ||
	    dup2(out_w, STDOUT_FILENO) == -1 ||
	    dup2(err_w, STDERR_FILENO) == -1 ||
	    dup2(exec_w, 3) == -1 || fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	exec_w = 3;
	child_close_from(4, maxfd);
	sigfillset(&all);
	(void)sigprocmask(SIG_UNBLOCK, &all, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	execve(file, argv, envp);
fail:
	e = errno;
	w = write(exec_w, &e, sizeof(e));
	(void)w;
	_exit(127);
}

static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void
close_pair(int p[2])
{
	if (p[0] != -1)
		(void)close(p[0]);
	if (p[1] != -1)
		(void)close(p[1]);
	p[0] = p[1] = -1;
}

/* Exit status as the header defines it. */
static int
wait_code(int wst)
{
	if (WIFEXITED(wst))
		return WEXITSTATUS(wst);
	if (WIFSIGNALED(wst))
		return 128 + WTERMSIG(wst);
	return -1;
}

static void
reap_nohang(struct sp_state *st, struct subproc_result *res)
{
	pid_t r;
	int wst;

	if (st->reaped)
		return;
	r = waitpid(st->pid, &wst, WNOHANG);
	if (r == st->pid) {
		res->status = wait_code(wst);
		st->reaped = true;
	} else if (r == -1 && errno == ECHILD) {
		res->status = -1;
		st->reaped = true;
	}
}

/*
 * Reap a child that was killed or is exiting, ticking <prog> (may be
 * NULL) meanwhile: one in uninterruptible sleep may take a while to go.
 */
static void
reap_ticking(struct sp_state *st, struct subproc_result *res,
    struct progress *prog)
{
	int64_t next_tick = clock_mono_ms() + PROGRESS_TICK_MS;

	for (;;) {
		reap_nohang(st, res);
		if (st->reaped)
			return;
		(void)poll(NULL, 0, SP_REAP_POLL_MS);
		if (clock_mono_ms() >= next_tick) {
			next_tick = clock_mono_ms() + PROGRESS_TICK_MS;
			(void)progress_tick(prog, prog != NULL ? prog->value :
			    0);
		}
	}
}

static void
kill_and_reap(struct sp_state *st, struct subproc_result *res,
    struct progress *prog)
{
	if (!st->reaped)
		(void)kill(st->pid, SIGKILL);
	reap_ticking(st, res, prog);
}

static void
out_append(struct sp_state *st, const char *p, size_t n)
{
	size_t room;

	if (st->out == NULL || st->outlen >= st->outmax)
		return;
	room = st->outmax - st->outlen;
	if (n > room)
		n = room;
	memcpy(st->out + st->outlen, p, n);
	st->outlen += n;
}

/* "key=<digits>" with a non-negative value; -1 otherwise. */
static long long
parse_kv_num(const char *line, const char *key)
{
	size_t klen = strlen(key);
	long long v;
	char *end;

	if (strncmp(line, key, klen) != 0 || line[klen] != '=')
		return -1;
	if (line[klen + 1] < '0' || line[klen + 1] > '9')
		return -1;
	errno = 0;
	v = strtoll(line + klen + 1, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '\r'))
		return -1;
	return v;
}

/* A line of ffmpeg -progress output: lower-case key, '=', value. */
static bool
is_progress_line(const char *line)
{
	const char *p;

	for (p = line; *p != '\0' && *p != '='; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return false;
	return p != line && *p == '=';
}

static void
handle_line(struct sp_state *st)
{
	long long v;

	st->line[st->linelen] = '\0';
	if (!st->line_long && is_progress_line(st->line)) {
		if ((v = parse_kv_num(st->line, "out_time_us")) >= 0 ||
		    (v = parse_kv_num(st->line, "out_time_ms")) >= 0) {
			if (v > st->out_time_us)
				st->out_time_us = v;
		} else if ((v = parse_kv_num(st->line, "total_size")) >= 0) {
			if (v > st->total_size)
				st->total_size = v;
		}
	} else {
		out_append(st, st->line, st->linelen);
		out_append(st, "\n", 1);
	}
	st->linelen = 0;
	st->line_long = false;
}

static void
parse_chunk(struct sp_state *st, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			handle_line(st);
			continue;
		}
		if (st->linelen == sizeof(st->line) - 1) {
			/* Not a progress line: pass what we have through. */
			out_append(st, st->line, st->linelen);
			st->linelen = 0;
			st->line_long = true;
		}
		st->line[st->linelen++] = p[i];
	}
}

static void
tail_append(struct sp_state *st, const char *p, size_t n)
{
	size_t cap = sizeof(st->tail) - 1, keep;

	if (n >= cap) {
		memcpy(st->tail, p + n - cap, cap);
		st->taillen = cap;
		return;
	}
	if (st->taillen + n > cap) {
		keep = cap - n;
		memmove(st->tail, st->tail + st->taillen - keep, keep);
		st->taillen = keep;
	}
	memcpy(st->tail + st->taillen, p, n);
	st->taillen += n;
}

/* Read what is available on *fdp; closes it and sets -1 at EOF. */
static void
drain_fd(struct sp_state *st, int *fdp, bool is_out)
{
	char buf[8192];
	ssize_t n;

	for (;;) {
		n = read(*fdp, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			(void)close(*fdp);
			*fdp = -1;
			if (is_out && st->parse && st->linelen > 0)
				handle_line(st);
			return;
		}
		st->bytes_seen += n;
		if (!is_out)
			tail_append(st, buf, (size_t)n);
		else if (st->parse)
			parse_chunk(st, buf, (size_t)n);
		else
			out_append(st, buf, (size_t)n);
	}
}

static long long
local_progress(const struct sp_state *st)
{
	if (st->parse)
		return st->out_time_us + st->total_size;
	return st->bytes_seen;
}

/* Wait for output or the next tick; read whatever arrived. */
static void
poll_once(struct sp_state *st, int timeout)
{
	struct pollfd pfd[2];
	nfds_t n = 0;
	int i;

	if (st->fd_out != -1) {
		pfd[n].fd = st->fd_out;
		pfd[n++].events = POLLIN;
	}
	if (st->fd_err != -1) {
		pfd[n].fd = st->fd_err;
		pfd[n++].events = POLLIN;
	}
	/*
	 * Both pipes closed: the child is exiting.  Check again in 2 ms
	 * instead of sleeping to the next tick (each ffprobe would cost up
	 * to 100 ms more).
	 */
	if (n == 0 && timeout > 2)
		timeout = 2;
	if (poll(n > 0 ? pfd : NULL, n, timeout) <= 0)
		return;		/* timeout, or EINTR: the loop goes on */
	for (i = 0; i < (int)n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == st->fd_out)
			drain_fd(st, &st->fd_out, true);
		else
			drain_fd(st, &st->fd_err, false);
	}
}

static void
run_loop(struct sp_state *st, long timeout_ms, struct progress *prog,
    struct subproc_result *res)
{
	int64_t now, start, next_tick;
	long long base = prog != NULL ? prog->value : 0;
	int64_t wait;

	start = clock_mono_ms();
	next_tick = start + PROGRESS_TICK_MS;
	for (;;) {
		now = clock_mono_ms();
		wait = next_tick - now;
		if (timeout_ms > 0 && start + timeout_ms - now < wait)
			wait = start + timeout_ms - now;
		poll_once(st, wait < 0 ? 0 : (int)wait);
		reap_nohang(st, res);
		if (st->reaped) {
			/* Take what the child left in the pipes, then stop. */
			if (st->fd_out != -1)
				drain_fd(st, &st->fd_out, true);
			if (st->fd_err != -1)
				drain_fd(st, &st->fd_err, false);
			break;
		}
		now = clock_mono_ms();
		if (timeout_ms > 0 && now - start >= timeout_ms) {
			res->timed_out = true;
			kill_and_reap(st, res, prog);
			break;
		}
		if (now >= next_tick) {
			next_tick = now + PROGRESS_TICK_MS;
			if (progress_tick(prog, base + local_progress(st)) ==
			    -1) {
				res->stopped = true;
				kill_and_reap(st, res, prog);
				break;
			}
		}
	}
	/* A stop asked for at the very end is not lost either. */
	if (!res->stopped &&
	    progress_tick(prog, base + local_progress(st)) == -1)
		res->stopped = true;
}

static void
state_finish(struct sp_state *st, struct subproc_result *res)
{
	if (st->fd_out != -1)
		(void)close(st->fd_out);
	if (st->fd_err != -1)
		(void)close(st->fd_err);
	st->fd_out = st->fd_err = -1;
	if (st->out != NULL) {
		st->out[st->outlen] = '\0';
		res->out = st->out;
		res->outlen = st->outlen;
		st->out = NULL;
	}
	memcpy(res->errtail, st->tail, st->taillen);
	res->errtail[st->taillen] = '\0';
}

/*
 * Wait for the exec report, ticking <prog>: 0 when the child is running
 * the tool, 1 when a tick asked to stop first (the child is killed and
 * reaped, res->stopped set), -1 with errno when the exec failed.
 */
static int
exec_wait(struct sp_state *st, int exec_r, struct progress *prog,
    struct subproc_result *res)
{
	struct pollfd pfd;
	ssize_t n;
	int e;

	for (;;) {
		pfd.fd = exec_r;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, PROGRESS_TICK_MS) > 0)
			break;
		if (progress_tick(prog, prog != NULL ? prog->value : 0) == -1) {
			res->stopped = true;
			kill_and_reap(st, res, prog);
			return 1;
		}
	}
	do
		n = read(exec_r, &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	if (n == 0)
		return 0;
	reap_ticking(st, res, prog);
	res->status = -1;
	errno = n == (ssize_t)sizeof(e) ? e : EIO;
	return -1;
}

static int
spawn(char *const argv[], struct sp_state *st, int pout[2], int perr[2],
    int pexec[2])
{
	char file[PATH_MAX], **envp;
	long maxfd;
	int saved;

	if (pipe2(pout, O_CLOEXEC) == -1 || pipe2(perr, O_CLOEXEC) == -1 ||
	    pipe2(pexec, O_CLOEXEC) == -1)
		return -1;
	if (set_nonblock(pout[0]) == -1 || set_nonblock(perr[0]) == -1)
		return -1;
	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > SP_FD_LIMIT)
		maxfd = SP_FD_LIMIT;
	if (subproc_which(argv[0], file, sizeof(file)) == -1 ||
	    (envp = subproc_tool_environ()) == NULL)
		return -1;
	if ((st->pid = fork()) == -1) {
		saved = errno;
		free(envp);
		errno = saved;
		return -1;
	}
	if (st->pid == 0)
		child_exec(file, argv, envp, pout[1], perr[1], pexec[1], maxfd);
	free(envp);
	(void)close(pout[1]);
	(void)close(perr[1]);
	(void)close(pexec[1]);
	pout[1] = perr[1] = pexec[1] = -1;
	st->fd_out = pout[0];
	st->fd_err = perr[0];
	pout[0] = perr[0] = -1;
	return 0;
}

/*
 * Run argv (argv[0] searched in PATH) as described in subproc.h.  <res>
 * is filled on every path; res->out (NUL-terminated, at most <outmax>
 * bytes, NULL when outmax is 0) is owned by the caller: free it with
 * subproc_result_clear().  Returns 0 when the tool ran (see res->status,
 * timed_out, stopped), -1 with errno when it could not be started.
 */
int
subproc_run(char *const argv[], size_t outmax, long timeout_ms,
    struct progress *prog, bool progress_fd_parse,
    struct subproc_result *res)
{
	struct sp_state st;
	int pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pexec[2] = { -1, -1 };
	int saved, r;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	memset(&st, 0, sizeof(st));
	st.fd_out = st.fd_err = -1;
	st.outmax = outmax;
	st.parse = progress_fd_parse;
	if (argv == NULL || argv[0] == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (outmax > 0 && (outmax == SIZE_MAX ||
	    (st.out = malloc(outmax + 1)) == NULL))
		return -1;
	if (spawn(argv, &st, pout, perr, pexec) == -1) {
		saved = errno;
		close_pair(pout);
		close_pair(perr);
		close_pair(pexec);
		free(st.out);
		errno = saved;
		return -1;
	}
	r = exec_wait(&st, pexec[0], prog, res);
	saved = errno;
	close_pair(pexec);
	if (r == 0)
		run_loop(&st, timeout_ms, prog, res);
	else if (r == 1)
		r = 0;		/* stopped before the tool started */
	state_finish(&st, res);
	free(st.out);
	if (r == -1) {
		subproc_result_clear(res);
		res->status = -1;
		errno = saved;
	}
	return r;
}

/* Free the captured output; the rest of <res> stays readable. */
void
subproc_result_clear(struct subproc_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	res->out = NULL;
	res->outlen = 0;
}

/*
 * The last line of res->errtail (borrowed), trailing line ends dropped
 * and bytes outside printable ASCII shown as '?', for an error message.
 * Writes at most <size> bytes (<size> > 0) into <buf>, NUL-terminated.
 */
void
subproc_last_line(const struct subproc_result *res, char *buf, size_t size)
{
	const char *tail = res->errtail;
	const char *end = tail + strnlen(tail, sizeof(res->errtail)), *start;
	size_t i, n;

	while (end > tail && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (start = end; start > tail && start[-1] != '\n'; start--)
		;
	n = (size_t)(end - start);
	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		buf[i] = (start[i] >= 0x20 && start[i] < 0x7f) ? start[i] : '?';
	buf[n] = '\0';
}
