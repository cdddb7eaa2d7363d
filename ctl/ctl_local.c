/* SPDX-License-Identifier: ISC */
/*
 * ctl_local.c: facts about this machine that doctor and baptism check.
 *
 * Who holds the state directory (the pid file's flock, read through
 * common/core/runtime.c), which children a dead supervisor left running (from
 * state/runtime/children.json, read by common/core/children.c: a pid only
 * counts when its start time still matches, so a reused pid is never
 * blamed; a file that fails its checks names no child), the mode of a .env
 * file, and the temporary files an interrupted atomic write left under
 * the state root ("<name>.tmp" or "<name>.tmp.<pid>" whose writer is
 * gone).  Nothing here changes anything or prints.
 *
 * The worker id this state directory works as is the supervisor's, not
 * the settings' (`make worker WID=...` passes --worker-id): the running
 * rvsup's, else the one the last rvsup recorded in children.json, else
 * the settings' (RAYVAULT_WORKER_ID or the host name).
 *
 * Public: ctl_local_supervisor, ctl_local_worker_id, ctl_local_leftovers,
 * ctl_local_env_mode, ctl_local_tmp_walk, ctl_local_tmp_files.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/children.h"
#include "common/core/fsutil.h"
#include "common/core/platform.h"
#include "common/core/runtime.h"
#include "ctl/ctl.h"

#define TMP_DEPTH_MAX	8
#define TMP_YOUNG_SEC	10	/* a live writer's file is younger */

/*
 * The pid of the rvsup holding the state directory, or 0 when none does;
 * *stale is set when a pid file exists that nobody holds.
 */
pid_t
ctl_local_supervisor(const struct ctl_env *env, bool *stale)
{
	pid_t pid = rt_held_pid(env->cfg.state_dir);

	*stale = pid == 0;
	return pid > 0 ? pid : 0;
}

/*
 * The worker id of this state directory's supervisor into <buf>; returns
 * where it came from: "running rvsup", "last rvsup" or "settings".
 */
const char *
ctl_local_worker_id(const struct ctl_env *env, char *buf, size_t size)
{
	struct children_table t;
	bool stale;
	pid_t live = ctl_local_supervisor(env, &stale);

	if (children_read(env->cfg.state_dir, &t, NULL, 0) == 0 &&
	    t.worker_id[0] != '\0') {
		(void)strlcpy(buf, t.worker_id, size);
		return live > 0 && t.supervisor_pid == live ? "running rvsup" :
		    "last rvsup";
	}
	(void)strlcpy(buf, env->cfg.worker_id, size);
	return "settings";
}

/*
 * Children recorded in children.json that are still alive (same start
 * time) although the supervisor that recorded them is not <live> (the
 * current holder, 0 when none).  Fills up to <max> of them into <out>;
 * returns how many there are.
 */
size_t
ctl_local_leftovers(const struct ctl_env *env, pid_t live,
    struct ctl_leftover *out, size_t max)
{
	struct children_table t;
	const struct children_rec *r;
	size_t i, n = 0;

	if (children_read(env->cfg.state_dir, &t, NULL, 0) == -1 ||
	    (live > 0 && t.supervisor_pid == live))
		return 0;
	for (i = 0; i < t.n; i++) {
		r = &t.v[i];
		if (r->pid == live || r->pid == getpid() ||
		    !plat_proc_alive(r->pid) || !children_rec_running(r))
			continue;
		if (n < max) {
			out[n].pid = r->pid;
			(void)strlcpy(out[n].kind, r->kind,
			    sizeof(out[n].kind));
			out[n].supervisor_pid = t.supervisor_pid;
		}
		n++;
	}
	return n;
}

/* The permission bits of <path>: 0, or -1 (errno ENOENT: no file). */
int
ctl_local_env_mode(const char *path, mode_t *mode)
{
	struct stat sb;

	if (stat(path, &sb) == -1)
		return -1;
	*mode = sb.st_mode & 07777;
	return 0;
}

/* Is <name> a temporary file whose writer is gone? */
static bool
tmp_left(const char *name, const struct stat *sb, time_t now)
{
	const char *p = strstr(name, ".tmp");
	char *end;
	long pid;

	if (p == NULL || !S_ISREG(sb->st_mode))
		return false;
	while (p != NULL && p[4] != '\0' && p[4] != '.')
		p = strstr(p + 1, ".tmp");
	if (p == NULL)
		return false;
	if (p[4] == '\0')
		return true;
	pid = strtol(p + 5, &end, 10);
	if (*end != '\0' || pid <= 0)
		return true;
	if (now - sb->st_mtime > TMP_YOUNG_SEC)
		return true;
	return !plat_proc_alive((pid_t)pid);
}

static void
tmp_walk(const char *dir, int depth, time_t now, void (*fn)(const char *,
    const struct stat *, void *), void *arg, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (depth > TMP_DEPTH_MAX || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    fs_path(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == -1 || lstat(path, &sb) == -1)
			continue;
		if (S_ISDIR(sb.st_mode))
			tmp_walk(path, depth + 1, now, fn, arg, n);
		else if (tmp_left(de->d_name, &sb, now)) {
			(*n)++;
			if (fn != NULL)
				fn(path, &sb, arg);
		}
	}
	closedir(d);
}

/*
 * Call <fn> (may be NULL) for every temporary file an interrupted atomic
 * write left under <dir>; returns how many there are.
 */
size_t
ctl_local_tmp_walk(const char *dir, void (*fn)(const char *,
    const struct stat *, void *), void *arg)
{
	size_t n = 0;

	tmp_walk(dir, 0, time(NULL), fn, arg, &n);
	return n;
}

struct first_tmp {
	char	*buf;
	size_t	 size, skip;
};

static void
first_tmp(const char *path, const struct stat *sb, void *arg)
{
	struct first_tmp *f = arg;

	(void)sb;
	if (f->buf != NULL && f->size > 0 && f->buf[0] == '\0')
		(void)strlcpy(f->buf, path + f->skip, f->size);
}

/*
 * Count the temporary files left under <state_dir> by interrupted atomic
 * writes; <first> (may be NULL) gets the first one's path relative to
 * the state root.
 */
size_t
ctl_local_tmp_files(const char *state_dir, char *first, size_t firstlen)
{
	struct first_tmp f = { first, firstlen, strlen(state_dir) + 1 };

	if (first != NULL && firstlen > 0)
		first[0] = '\0';
	return ctl_local_tmp_walk(state_dir, first_tmp, &f);
}
