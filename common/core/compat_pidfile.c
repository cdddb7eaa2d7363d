/* SPDX-License-Identifier: ISC */
/*
 * compat_pidfile.c: a pid file held by an flock(2) lock, with the
 * pidfile_open/pidfile_write/pidfile_close/pidfile_remove interface of
 * libbsd (FreeBSD's libutil), for the portable build.
 *
 * compat_pidfile_open() opens (creating with <mode>) and locks <path>
 * without waiting.  When another process holds the lock it returns NULL
 * with errno EEXIST and, if <otherpid> is not NULL, the pid written in the
 * file (-1 when the holder has not written it yet after a short wait).
 * The lock lives as long as the descriptor, which is close-on-exec: a
 * child started with exec never holds it.  A lock won on a file that was
 * meanwhile removed (or replaced) by its last holder is dropped and the
 * open retried, so two processes never both believe they hold <path>.
 * compat_pidfile_write() replaces the contents with "<pid>\n";
 * compat_pidfile_remove() unlinks the file and then releases the lock;
 * compat_pidfile_close() only releases it.  All return -1 with errno on
 * failure and free <pfh> in any case (write excepted).
 *
 * Public: compat_pidfile_open, compat_pidfile_write, compat_pidfile_close,
 * compat_pidfile_remove, compat_pidfile_fileno.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/compat.h"

#define PIDFILE_TRIES	20

struct compat_pidfh {
	int	fd;
	char	path[PATH_MAX];
	dev_t	dev;
	ino_t	ino;
};

/* The pid in <path>, or -1 (none yet, unreadable, not a number). */
static pid_t
read_other(const char *path)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	char buf[32], *end;
	ssize_t n;
	long v;
	int fd, i;

	for (i = 0; i < 5; i++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			return -1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			v = strtol(buf, &end, 10);
			if (end != buf && (*end == '\n' || *end == '\0') &&
			    v > 0 && v <= INT_MAX)
				return (pid_t)v;
			return -1;
		}
		nanosleep(&ts, NULL);	/* the holder may not have written */
	}
	return -1;
}

struct compat_pidfh *
compat_pidfile_open(const char *path, mode_t mode, pid_t *otherpid)
{
	struct compat_pidfh *pfh;
	struct stat fsb, psb;
	int fd, i, saved;

	if (path == NULL || strlen(path) >= sizeof(pfh->path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((pfh = calloc(1, sizeof(*pfh))) == NULL)
		return NULL;
	for (i = 0; i < PIDFILE_TRIES; i++) {
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK,
		    mode);
		if (fd == -1)
			break;
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			saved = errno;
			close(fd);
			if (saved == EWOULDBLOCK) {
				if (otherpid != NULL)
					*otherpid = read_other(path);
				saved = EEXIST;
			}
			free(pfh);
			errno = saved;
			return NULL;
		}
		if (fstat(fd, &fsb) == -1) {
			saved = errno;
			close(fd);
			free(pfh);
			errno = saved;
			return NULL;
		}
		/* the last holder may have removed the file we locked */
		if (stat(path, &psb) == 0 && psb.st_dev == fsb.st_dev &&
		    psb.st_ino == fsb.st_ino) {
			pfh->fd = fd;
			pfh->dev = fsb.st_dev;
			pfh->ino = fsb.st_ino;
			(void)compat_strlcpy(pfh->path, path,
			    sizeof(pfh->path));
			return pfh;
		}
		close(fd);
	}
	saved = i == PIDFILE_TRIES ? EAGAIN : errno;
	free(pfh);
	errno = saved;
	return NULL;
}

int
compat_pidfile_write(struct compat_pidfh *pfh)
{
	char buf[32];
	int len;

	if (pfh == NULL) {
		errno = EINVAL;
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pfh->fd, 0) == -1 ||
	    pwrite(pfh->fd, buf, (size_t)len, 0) != (ssize_t)len)
		return -1;
	return 0;
}

int
compat_pidfile_close(struct compat_pidfh *pfh)
{
	int rc;

	if (pfh == NULL) {
		errno = EINVAL;
		return -1;
	}
	rc = close(pfh->fd);
	free(pfh);
	return rc;
}

/* Unlink only the file we hold (not one a successor created). */
int
compat_pidfile_remove(struct compat_pidfh *pfh)
{
	struct stat sb;
	int rc = 0, saved = 0;

	if (pfh == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (stat(pfh->path, &sb) == 0 && sb.st_dev == pfh->dev &&
	    sb.st_ino == pfh->ino && unlink(pfh->path) == -1) {
		rc = -1;
		saved = errno;
	}
	if (compat_pidfile_close(pfh) == -1 && rc == 0)
		return -1;
	if (rc == -1)
		errno = saved;
	return rc;
}

int
compat_pidfile_fileno(const struct compat_pidfh *pfh)
{
	if (pfh == NULL) {
		errno = EINVAL;
		return -1;
	}
	return pfh->fd;
}
