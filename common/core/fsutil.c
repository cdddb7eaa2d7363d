/* SPDX-License-Identifier: ISC */
/*
 * fsutil.c: the few file-system operations every program needs.
 *
 * fs_write_atomic() is the only way RayVault writes a file another process
 * or a later run will read: "<path>.tmp.<pid>" is written, fsynced, renamed
 * over <path>, and the directory is fsynced, so a reader sees the old file
 * or the new one, never half of one, even after a power cut.  New files
 * are 0600 and new directories 0700 unless a caller asks otherwise.  The
 * temporary file is created O_EXCL | O_NOFOLLOW (a leftover of that name,
 * or a symlink planted there, is removed first, never written through).
 * fs_secure_dir() is the check rvsup makes of every state and spool
 * directory at start: a symlink, a non-directory or a directory owned by
 * another user is refused, group and other permissions are taken away.
 * Functions return -1 with errno set; none of them logs.
 *
 * fs_sweep_tmp() removes the temporary files of writers that were killed
 * before their rename (rvsup at start).
 *
 * Public: fs_write_atomic, fs_read_file, fs_mkdirs, fs_secure_dir,
 * fs_fsync_dir, fs_path, fs_exists, fs_remove_dir_files, fs_sweep_tmp.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"

int
fs_fsync_dir(const char *dir)
{
	int fd, r;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace <path> with <len> bytes of <buf> atomically.  Returns 0, or -1
 * with errno set and <path> untouched (the temporary file is removed).
 */
int
fs_write_atomic(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(tmp) == -1 && errno != ENOENT)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	if (write_all(fd, buf, len) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	} else
		strlcpy(dir, ".", sizeof(dir));
	return fs_fsync_dir(dir);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	errno = saved;
	return -1;
}

/*
 * Read a whole file of at most <max> bytes into a NUL-terminated buffer the
 * caller frees.  A larger file fails with EFBIG.
 */
int
fs_read_file(const char *path, size_t max, char **out, size_t *lenp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int fd, saved;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap + 1)) == NULL)
		goto fail;
	for (;;) {
		if (len == cap) {
			errno = EFBIG;	/* the file grew past its size */
			goto fail;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	if (lenp != NULL)
		*lenp = len;
	return 0;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return -1;
}

/*
 * A state or spool directory as rvsup accepts it: <path> itself (lstat, no
 * symlink followed) is a directory owned by the effective user; group and
 * other permissions are removed (0700).  Returns 0, or -1 with a message
 * naming the path and the fix in <err> (errno: ELOOP for a symlink,
 * ENOTDIR, EPERM for a foreign owner, or the failed call's).
 */
int
fs_secure_dir(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	struct stat sb;
	uid_t me = geteuid();
	size_t n;

	/* "dir/" would make lstat() follow a symlink */
	if ((n = strlcpy(buf, path, sizeof(buf))) >= sizeof(buf)) {
		snprintf(err, errlen, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	path = buf;
	if (lstat(path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(sb.st_mode)) {
		snprintf(err, errlen, "%s is a symbolic link; refusing to use "
		    "it (fix: replace it with a real directory, or point the "
		    "setting at the target itself)", path);
		errno = ELOOP;
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a directory (fix: move it "
		    "away)", path);
		errno = ENOTDIR;
		return -1;
	}
	if (sb.st_uid != me) {
		snprintf(err, errlen, "%s is owned by uid %ld, not by this "
		    "user (uid %ld); refusing to use it (fix: chown %ld %s, or "
		    "use a directory of your own)", path, (long)sb.st_uid,
		    (long)me, (long)me, path);
		errno = EPERM;
		return -1;
	}
	if ((sb.st_mode & 077) != 0 && chmod(path, sb.st_mode & 07700) == -1) {
		snprintf(err, errlen, "%s: cannot make it private (chmod "
		    "700): %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* mkdir -p with <mode> for every directory created. */
int
fs_mkdirs(const char *path, int mode)
{
	char buf[PATH_MAX], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* snprintf into a path buffer; -1 with ENAMETOOLONG when it does not fit. */
int
fs_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

bool
fs_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * Remove a scratch directory holding plain files only (one level): its
 * files, then the directory.  Best effort: errors are ignored.
 */
void
fs_remove_dir_files(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fs_path(path, sizeof(path), "%s/%s", dir, de->d_name) == 0)
			(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

/*
 * Remove the temporary files fs_write_atomic() left in <dir> when its
 * writer was killed between open and rename: regular files named
 * "<name>.tmp.<pid>" whose pid is no live process (a live one may still
 * be writing).  Returns how many were removed.
 */
int
fs_sweep_tmp(const char *dir)
{
	char path[PATH_MAX], *end;
	const char *p;
	struct dirent *de;
	struct stat sb;
	long pid;
	int n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if ((p = strstr(de->d_name, ".tmp.")) == NULL)
			continue;
		errno = 0;
		pid = strtol(p + 5, &end, 10);
		if (errno != 0 || *end != '\0' || pid <= 0 || end == p + 5)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (fs_path(path, sizeof(path), "%s/%s", dir, de->d_name) == 0 &&
		    lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    unlink(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}
