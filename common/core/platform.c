/* SPDX-License-Identifier: ISC */
/*
 * platform.c: every operating-system specific call RayVault makes.
 *
 * Linux: PR_SET_CHILD_SUBREAPER (escapees that called setsid() come back
 * to the supervisor), PR_SET_PDEATHSIG (a child dies with its parent
 * thread; note that fork clears it, so it is set in each child after
 * fork), and /proc for process start times, liveness and trees.
 * macOS: no subreaper or parent-death signal exist; children notice their
 * parent's death through heartbeat loss, getppid() and a kqueue
 * EVFILT_PROC/NOTE_EXIT watch on the parent (plat_parent_watch), and
 * process trees, start times and liveness come from sysctl(KERN_PROC).
 * Without a subreaper the supervisor finds a child's tree (setsid()
 * escapees included: they are still the child's descendants by parent
 * pid while the child lives) with plat_descendants before it kills the
 * child, never after.  Nothing outside this file uses prctl, sysctl,
 * kqueue or /proc.
 *
 * The portable build (RV_PORTABLE, make PORTABLE=1; always on macOS)
 * leaves out the Linux-only calls (PLAT_LINUX_ONLY below): on Linux it
 * still reads /proc where macOS asks sysctl, but it runs without prctl,
 * exactly like the macOS build.
 *
 * Every process hardens itself at start (plat_harden_process): core dumps
 * off (RLIMIT_CORE 0, POSIX, inherited by the tools it runs) and, on
 * Linux, PR_SET_DUMPABLE 0 (no core, no ptrace or /proc/<pid>/environ and
 * mem reads by other processes of the same user).  execve() makes a
 * process dumpable again, so each rvsup, rvw-* and rvctl calls it itself;
 * macOS has no equivalent of the second half (RLIMIT_CORE only).
 *
 * Public: plat_harden_process, plat_set_subreaper,
 * plat_set_parent_death_signal, plat_parent_watch,
 * plat_proc_starttime, plat_proc_alive, plat_children_of,
 * plat_descendants, plat_rss_kib, plat_inhibit_sleep.
 */
#include <sys/types.h>
#include <sys/resource.h>
#if defined(__linux__) && !defined(RV_PORTABLE)
#define PLAT_LINUX_ONLY	1
#include <sys/prctl.h>
#endif
#ifdef __APPLE__
#include <sys/event.h>
#include <sys/sysctl.h>
#endif
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __APPLE__
#include <libproc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/platform.h"

/*
 * No core dumps, and (Linux) not dumpable.  Returns 0, or -1 with errno
 * when a limit could not be set.
 */
int
plat_harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return -1;
#ifdef PLAT_LINUX_ONLY
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return -1;
#endif
	return 0;
}

#ifdef PLAT_LINUX_ONLY

int
plat_set_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/*
 * Ask for <sig> when the parent thread dies, then check that the parent is
 * still <expected_parent> (it may have died before the prctl).  Returns 1
 * (the kernel will send <sig>), or -1 (ESRCH) when the parent is already
 * gone.
 */
int
plat_set_parent_death_signal(int sig, pid_t expected_parent)
{
	if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == -1)
		return -1;
	if (expected_parent > 0 && getppid() != expected_parent) {
		errno = ESRCH;
		return -1;
	}
	return 1;
}

#else	/* portable: no subreaper, no parent-death signal */

int
plat_set_subreaper(void)
{
	return 0;	/* none: the supervisor walks the tree before a kill */
}

/*
 * Only checks that the parent is still <expected_parent>: 0 (no signal
 * will come: the caller watches getppid()), -1 (ESRCH) when it is gone.
 */
int
plat_set_parent_death_signal(int sig, pid_t expected_parent)
{
	(void)sig;
	if (expected_parent > 0 && getppid() != expected_parent) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

#endif	/* PLAT_LINUX_ONLY */

/*
 * A descriptor that turns readable when <parent> exits (macOS: a kqueue
 * with EVFILT_PROC NOTE_EXIT on it; poll it beside the sockets), or -1
 * where there is none (Linux: the parent-death signal or getppid() do the
 * work) or when <parent> is already gone (errno ESRCH).
 */
int
plat_parent_watch(pid_t parent)
{
#ifdef __APPLE__
	struct kevent ev;
	int kq;

	if ((kq = kqueue()) == -1)
		return -1;
	(void)fcntl(kq, F_SETFD, FD_CLOEXEC);
	EV_SET(&ev, parent, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0,
	    NULL);
	if (kevent(kq, &ev, 1, NULL, 0, NULL) == -1 || getppid() != parent) {
		close(kq);
		errno = ESRCH;
		return -1;
	}
	return kq;
#else
	(void)parent;
	errno = ENOSYS;
	return -1;
#endif
}

#ifndef __APPLE__	/* Linux, portable or not: /proc */

/* Read /proc/<pid>/stat: state char, ppid, starttime, rss pages. */
static int
read_stat(pid_t pid, char *state, pid_t *ppid, unsigned long long *start,
    long *rss)
{
	char path[64], buf[1024], *p;
	unsigned long long st;
	long rs;
	int fd, pp, n;
	ssize_t len;
	char s;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* fields after comm: 3 state, 4 ppid, ... 22 starttime, 24 rss */
	n = sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
	    "%*d %*d %*d %*d %*d %*d %llu %*u %ld", &s, &pp, &st, &rs);
	if (n != 4)
		return -1;
	if (state != NULL)
		*state = s;
	if (ppid != NULL)
		*ppid = pp;
	if (start != NULL)
		*start = st;
	if (rss != NULL)
		*rss = rs;
	return 0;
}

int
plat_proc_starttime(pid_t pid, unsigned long long *start)
{
	return read_stat(pid, NULL, NULL, start, NULL);
}

/* True when <pid> exists and is not a zombie. */
bool
plat_proc_alive(pid_t pid)
{
	char s;

	if (pid <= 0 || read_stat(pid, &s, NULL, NULL, NULL) == -1)
		return false;
	return s != 'Z' && s != 'X';
}

long
plat_rss_kib(pid_t pid)
{
	long rss;

	if (read_stat(pid, NULL, NULL, NULL, &rss) == -1)
		return -1;
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

struct pmap {
	pid_t	pid, ppid;
};

static size_t
snapshot(struct pmap *m, size_t max)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	pid_t pid, pp;
	char *end;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		pid = (pid_t)strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		if (read_stat(pid, NULL, &pp, NULL, NULL) == -1)
			continue;
		m[n].pid = pid;
		m[n].ppid = pp;
		n++;
	}
	closedir(d);
	return n;
}

#else	/* __APPLE__: sysctl(KERN_PROC) */

int
plat_proc_starttime(pid_t pid, unsigned long long *start)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid };
	struct kinfo_proc kp;
	size_t len = sizeof(kp);

	if (sysctl(mib, 4, &kp, &len, NULL, 0) == -1 || len == 0)
		return -1;
	*start = (unsigned long long)kp.kp_proc.p_starttime.tv_sec * 1000000 +
	    (unsigned long long)kp.kp_proc.p_starttime.tv_usec;
	return 0;
}

bool
plat_proc_alive(pid_t pid)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid };
	struct kinfo_proc kp;
	size_t len = sizeof(kp);

	if (pid <= 0 || sysctl(mib, 4, &kp, &len, NULL, 0) == -1 || len == 0)
		return false;
	return kp.kp_proc.p_stat != SZOMB;
}

long
plat_rss_kib(pid_t pid)
{
	struct proc_taskinfo ti;

	if (proc_pidinfo(pid, PROC_PIDTASKINFO, 0, &ti, sizeof(ti)) !=
	    (int)sizeof(ti))
		return -1;
	return (long)(ti.pti_resident_size / 1024);
}

struct pmap {
	pid_t	pid, ppid;
};

static size_t
snapshot(struct pmap *m, size_t max)
{
	int mib[3] = { CTL_KERN, KERN_PROC, KERN_PROC_ALL };
	struct kinfo_proc *kp = NULL;
	size_t len = 0, n, i;
	int tries;

	/* the table may grow between the size query and the read */
	for (tries = 0; tries < 4; tries++) {
		if (sysctl(mib, 3, NULL, &len, NULL, 0) == -1)
			return 0;
		len += len / 4 + sizeof(*kp) * 16;
		if ((kp = malloc(len)) == NULL)
			return 0;
		if (sysctl(mib, 3, kp, &len, NULL, 0) == 0)
			break;
		free(kp);
		kp = NULL;
		if (errno != ENOMEM)
			return 0;
	}
	if (kp == NULL)
		return 0;
	n = len / sizeof(*kp);
	for (i = 0; i < n && i < max; i++) {
		m[i].pid = kp[i].kp_proc.p_pid;
		m[i].ppid = kp[i].kp_eproc.e_ppid;
	}
	free(kp);
	return i;
}

#endif

#define PMAP_MAX	32768

/* Live children of <parent> (any process group or session). */
size_t
plat_children_of(pid_t parent, pid_t *out, size_t max)
{
	struct pmap *m;
	size_t n, i, k = 0;

	if ((m = calloc(PMAP_MAX, sizeof(*m))) == NULL)
		return 0;
	n = snapshot(m, PMAP_MAX);
	for (i = 0; i < n && k < max; i++)
		if (m[i].ppid == parent)
			out[k++] = m[i].pid;
	free(m);
	return k;
}

/* Every descendant of <root> (not <root> itself), breadth first. */
size_t
plat_descendants(pid_t root, pid_t *out, size_t max)
{
	struct pmap *m;
	size_t n, i, k = 0, head = 0;
	pid_t cur = root;

	if ((m = calloc(PMAP_MAX, sizeof(*m))) == NULL)
		return 0;
	n = snapshot(m, PMAP_MAX);
	for (;;) {
		for (i = 0; i < n && k < max; i++)
			if (m[i].ppid == cur && m[i].pid != root)
				out[k++] = m[i].pid;
		if (head >= k)
			break;
		cur = out[head++];
	}
	free(m);
	return k;
}

/*
 * Keep the machine awake while <holder> lives: systemd-inhibit on Linux,
 * caffeinate on macOS.  Returns the helper's pid (kill it to release), or
 * -1 when no helper is available.
 */
pid_t
plat_inhibit_sleep(pid_t holder)
{
	char pidarg[32];
	pid_t pid;
	int fd;

	snprintf(pidarg, sizeof(pidarg), "%ld", (long)holder);
#ifdef __APPLE__
	if (access("/usr/bin/caffeinate", X_OK) != 0)
		return -1;
#else
	if (access("/usr/bin/systemd-inhibit", X_OK) != 0 ||
	    access("/run/systemd/system", F_OK) != 0)
		return -1;
#endif
	if ((pid = fork()) == -1)
		return -1;
	if (pid != 0)
		return pid;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
#ifdef __APPLE__
	execl("/usr/bin/caffeinate", "caffeinate", "-i", "-w", pidarg,
	    (char *)NULL);
#else
	(void)plat_set_parent_death_signal(SIGTERM, holder);
	execl("/usr/bin/systemd-inhibit", "systemd-inhibit", "--what=idle:sleep",
	    "--who=rvsup", "--why=RayVault run in progress", "--mode=block",
	    "sleep", "infinity", (char *)NULL);
#endif
	_exit(127);
}
