/* SPDX-License-Identifier: ISC */
/*
 * runtime.c: who holds a state directory.
 *
 * The supervisor holds an exclusive flock on state/runtime/rvsup.pid for
 * its whole life.  rt_held_pid() tells a live holder from a stale file by
 * trying a shared lock: if it can be taken, nobody holds the file and its
 * pid means nothing.  rt_is_rvsup() checks that a pid really is an rvsup
 * before anyone signals it.
 *
 * Public: rt_held_pid, rt_is_rvsup.
 */
#include <sys/file.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/core/runtime.h"

/*
 * The pid of the process holding the pid file's lock, 0 when nobody holds
 * it (stale file), -1 when there is no pid file.
 */
pid_t
rt_held_pid(const char *state_dir)
{
	char p[PATH_MAX], buf[32];
	ssize_t n;
	int fd;
	pid_t pid;

	if (fs_path(p, sizeof(p), "%s/runtime/rvsup.pid", state_dir) == -1 ||
	    (fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = (pid_t)strtol(buf, NULL, 10);
	return pid > 1 ? pid : 0;
}

/*
 * Is <pid> an rvsup?  (Linux: /proc/<pid>/comm; macOS and the portable
 * build: alive.)
 */
bool
rt_is_rvsup(pid_t pid)
{
#if defined(__linux__) && !defined(RV_PORTABLE)
	char p[64], comm[64] = "";
	FILE *fp;

	snprintf(p, sizeof(p), "/proc/%ld/comm", (long)pid);
	if ((fp = fopen(p, "r")) == NULL)
		return false;
	if (fgets(comm, sizeof(comm), fp) == NULL)
		comm[0] = '\0';
	fclose(fp);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "rvsup") == 0;
#else
	return kill(pid, 0) == 0;
#endif
}
