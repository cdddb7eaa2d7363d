/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_SUBPROC_H
#define RV_COMMON_CORE_SUBPROC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/core/progress.h"

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
 * progress is ticked every PROGRESS_TICK_MS from the fork to the reap,
 * whatever the tool does; when <progress_fd_parse> is true, stdout lines
 * "out_time_us=N" / "total_size=N" (ffmpeg -progress pipe:1) feed the
 * progress value.  Returns 0 when the process ran (see res->status), -1
 * when it could not be started (errno).
 */
int	subproc_run(char *const argv[], size_t outmax, long timeout_ms,
	    struct progress *prog, bool progress_fd_parse,
	    struct subproc_result *res);
void	subproc_result_clear(struct subproc_result *res);

/*
 * The environment an external tool gets (PATH, HOME, TMPDIR, TZ, USER,
 * LOGNAME, locale, XDG_*, FONTCONFIG_*, ESPEAK_DATA_PATH; never a secret):
 * borrowed strings, free the array only.  NULL when out of memory.
 */
char	**subproc_tool_environ(void);
/*
 * <envp> (an array of borrowed strings, which this frees) with each
 * "NAME=value" of the NULL-terminated <vars> in place of that name's
 * entry, or added: borrowed too, so they must outlive the array.  NULL
 * when out of memory (<envp> freed all the same).
 */
char	**subproc_environ_set(char **envp, char *const vars[]);
/* <name> looked up in PATH as execvp() would; 0, or -1 with errno. */
int	subproc_which(const char *name, char *buf, size_t size);

/*
 * The last line of res->errtail (borrowed), printable ASCII only ('?' for
 * other bytes), into <buf> (<size> > 0 bytes, NUL-terminated, cut to fit).
 * For error messages; cannot fail.
 */
void	subproc_last_line(const struct subproc_result *res, char *buf,
	    size_t size);

#endif
