/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_SUBPROC_H
#define RV_COMMON_SUBPROC_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Progress reporting from long work back to the caller's work loop.  A
 * worker passes a progress whose tick() sends the heartbeat when one is
 * due and returns -1 when the work must stop now (STOP from the
 * supervisor, supervisor gone).  Long operations call it at least every
 * 100 ms with a value describing how far they are (bytes, out_time,
 * steps).  The receiver counts every CHANGE of the value as progress, so a
 * value may restart from 0 for the next operation; a value that stays the
 * same means "alive but not moving", which is how a stuck render is told
 * apart from a slow one.
 */
struct progress {
	int	(*tick)(void *arg, long long value);
	void	*arg;
	long long value;	/* last value reported */
};

static inline int
progress_tick(struct progress *p, long long v)
{
	if (p == NULL || p->tick == NULL)
		return 0;
	p->value = v;
	return p->tick(p->arg, v);
}

/* Report one more step of progress. */
static inline int
progress_step(struct progress *p)
{
	if (p == NULL)
		return 0;
	return progress_tick(p, p->value + 1);
}

struct subproc_result {
	int	 status;	/* exit code, or 128+signal, -1 not run */
	bool	 timed_out;
	bool	 stopped;	/* progress asked to stop */
	char	*out;		/* captured stdout (NUL-terminated), caller frees */
	size_t	 outlen;
	char	 errtail[512];	/* last bytes of stderr */
};

/*
 * Run argv[0] (searched in PATH) with stdin from /dev/null, in the caller's
 * process group.  stdout is captured up to <outmax> bytes (0: discarded);
 * stderr's tail is kept.  <timeout_ms> (0: none) kills the process.  The
 * progress is ticked every 100 ms; when <progress_fd_parse> is true,
 * stdout lines "out_time_us=N" / "total_size=N" (ffmpeg -progress pipe:1)
 * feed the progress value.  Returns 0 when the process ran (see
 * res->status), -1 when it could not be started (errno).
 */
int	subproc_run(char *const argv[], size_t outmax, long timeout_ms,
	    struct progress *prog, bool progress_fd_parse,
	    struct subproc_result *res);
void	subproc_result_clear(struct subproc_result *res);

#endif
