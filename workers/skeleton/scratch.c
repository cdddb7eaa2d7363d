/* SPDX-License-Identifier: ISC */
/*
 * scratch.c: a child's scratch directories, and their removal after it
 * was killed.
 *
 * Half-written files (a render's out.mp4, a voice's final.wav, a
 * browser profile) live in a directory of their own under
 * <state_dir>/tmp/ until the result is moved into place.  The name says
 * who owns it: "<kind>.<pid>.<tag>.XXXXXX" (mkdtemp), <kind> the child
 * kind, <pid> the child's process id.  The owner removes it when the
 * work ends; a child killed in the middle cannot, so every child, at its
 * start and before it says READY, sweeps the directories of its own kind
 * whose owner is no longer alive (gone, a zombie, or its own pid from an
 * earlier life).  A live owner's directory is never touched, so a
 * sibling of the same kind keeps its work.  A dead owner whose pid was
 * taken by an unrelated process keeps its directory until a later start
 * finds that pid gone.  Names from before this scheme ("<kind>-..."),
 * which only a killed child of an earlier version can have left, are
 * swept too.  Nothing here logs: callers log what scratch_sweep()
 * reports.
 *
 * Public: scratch_make, scratch_make_job, scratch_remove, scratch_sweep,
 * scratch_owner.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/errbuf.h"
#include "common/core/fsutil.h"
#include "common/core/platform.h"
#include "workers/skeleton/scratch.h"

static bool
kind_ok(const char *kind)
{
	size_t n = strlen(kind), i;

	if (n == 0 || n >= SCRATCH_KIND_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!(kind[i] >= 'a' && kind[i] <= 'z'))
			return false;
	return true;
}

/*
 * Make a fresh scratch directory <state_dir>/tmp/<kind>.<pid>.<tag>.XXXXXX
 * (mode 0700; <tag> may be "" and must hold no '/') and put its absolute
 * path into <buf>.  Returns 0, or -1 with errno (buf is "" then).
 */
int
scratch_make(const char *state_dir, const char *kind, const char *tag,
    char *buf, size_t size)
{
	char base[PATH_MAX];

	if (size > 0)
		buf[0] = '\0';
	if (!kind_ok(kind) || strchr(tag, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (fs_path(base, sizeof(base), "%s/tmp", state_dir) == -1 ||
	    fs_mkdirs(base, 0700) == -1 || fs_path(buf, size,
	    "%s/%s.%ld.%s%sXXXXXX", base, kind, (long)getpid(), tag,
	    tag[0] != '\0' ? "." : "") == -1 || mkdtemp(buf) == NULL) {
		if (size > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * scratch_make for one segment's job: the directory
 * <state_dir>/tmp/<kind>.<pid>.<run_id>-<segment_id>.XXXXXX, its real
 * absolute path (no tool ever sees an argument starting with '-') put
 * into <buf>.  Returns 0, or -1 with errno and <err> ("<kind>: ..."); buf
 * is "" when the directory could not be made.
 */
int
scratch_make_job(const char *state_dir, const char *kind, const char *run_id,
    const char *segment_id, char *buf, size_t size, char *err, size_t errlen)
{
	char tag[160], real[PATH_MAX];

	if (fs_path(tag, sizeof(tag), "%s-%s", run_id, segment_id) == -1 ||
	    scratch_make(state_dir, kind, tag, buf, size) == -1) {
		if (size > 0)
			buf[0] = '\0';
		return errbuf_set(err, errlen, -1, "%s: cannot make a temporary "
		    "directory under %s/tmp: %s", kind, state_dir,
		    strerror(errno));
	}
	if (realpath(buf, real) == NULL || strlcpy(buf, real, size) >= size)
		return errbuf_set(err, errlen, -1, "%s: temporary path: %s",
		    kind, strerror(errno));
	return 0;
}

/*
 * Is <name> (a directory entry) a scratch directory of <kind>?  True with
 * *pid set to its owner, or to 0 for a name from before owners were
 * recorded ("<kind>-...").
 */
bool
scratch_owner(const char *name, const char *kind, pid_t *pid)
{
	size_t n = strlen(kind);
	const char *p;
	char *end;
	long v;

	if (!kind_ok(kind) || strncmp(name, kind, n) != 0)
		return false;
	p = name + n;
	if (*p == '-' && p[1] != '\0') {
		*pid = 0;
		return true;
	}
	if (*p != '.' || p[1] < '1' || p[1] > '9')
		return false;
	errno = 0;
	v = strtol(p + 1, &end, 10);
	if (errno != 0 || *end != '.' || v <= 0 || v != (pid_t)v)
		return false;
	*pid = (pid_t)v;
	return true;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/*
 * Remove the directory tree <path> (borrowed), not following links; what
 * cannot be removed stays.  Returns 0, or -1 with errno when the walk
 * could not start.
 */
int
scratch_remove(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Remove every scratch directory of <kind> under <state_dir>/tmp/ whose
 * owner is not alive (or is this very process: it has made none yet).
 * Call it once at the child's start.  Returns how many were removed, or
 * -1 with errno when tmp/ cannot be read (none is there: 0).
 */
int
scratch_sweep(const char *state_dir, const char *kind)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	pid_t pid;
	DIR *d;
	int n = 0;

	if (fs_path(dir, sizeof(dir), "%s/tmp", state_dir) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (!scratch_owner(de->d_name, kind, &pid))
			continue;
		if (pid != 0 && pid != getpid() && plat_proc_alive(pid))
			continue;
		if (fs_path(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == -1 || lstat(path, &st) == -1 ||
		    !S_ISDIR(st.st_mode))
			continue;
		(void)scratch_remove(path);
		n += !fs_exists(path);
	}
	closedir(d);
	return n;
}
