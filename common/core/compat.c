/* SPDX-License-Identifier: ISC */
/*
 * compat.c: the small BSD functions libbsd supplies on Linux, for the
 * portable build (compat.h says how they are switched in).
 *
 * compat_strlcpy and compat_strlcat follow OpenBSD's: the result is always
 * NUL-terminated when dsize > 0 and the return value is the length tried,
 * so ">= dsize" means truncated.  compat_reallocarray fails with ENOMEM
 * when nmemb * size overflows.  compat_explicit_bzero is a memset the
 * compiler may not remove.  compat_arc4random_buf fills from getentropy()
 * (the kernel's generator, 256 bytes per call) and aborts if that ever
 * fails: callers of arc4random cannot handle an error.
 * compat_closefrom closes every descriptor from <lowfd> up to the
 * RLIMIT_NOFILE soft limit (at most 65536) with close() only, so it is
 * safe between fork and exec in a threaded process.  compat_pipe2 is pipe
 * plus fcntl (O_CLOEXEC, O_NONBLOCK).  compat_setproctitle does nothing:
 * the process title stays the program's name.
 *
 * Public: compat_strlcpy, compat_strlcat, compat_reallocarray,
 * compat_explicit_bzero, compat_arc4random_buf, compat_arc4random,
 * compat_closefrom, compat_pipe2, compat_setproctitle_init,
 * compat_setproctitle.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/compat.h"

#define CLOSEFROM_MAX	65536

size_t
compat_strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t len = strlen(src);

	if (dsize != 0) {
		size_t n = len < dsize - 1 ? len : dsize - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
compat_strlcat(char *dst, const char *src, size_t dsize)
{
	size_t dlen = strnlen(dst, dsize);

	if (dlen == dsize)
		return dlen + strlen(src);
	return dlen + compat_strlcpy(dst + dlen, src, dsize - dlen);
}

void *
compat_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, nmemb * size);
}

void
compat_explicit_bzero(void *buf, size_t len)
{
	memset(buf, 0, len);
	/* the compiler must assume the zeroed memory is read here */
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

void
compat_arc4random_buf(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t n;

	while (len > 0) {
		n = len < 256 ? len : 256;
		if (getentropy(p, n) == -1)
			abort();
		p += n;
		len -= n;
	}
}

uint32_t
compat_arc4random(void)
{
	uint32_t v;

	compat_arc4random_buf(&v, sizeof(v));
	return v;
}

void
compat_closefrom(int lowfd)
{
	struct rlimit rl;
	long max = CLOSEFROM_MAX;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)max)
		max = (long)rl.rlim_cur;
	for (fd = lowfd < 0 ? 0 : lowfd; fd < max; fd++)
		(void)close(fd);
}

int
compat_pipe2(int fd[2], int flags)
{
	int i, saved;

	if ((flags & ~(O_CLOEXEC | O_NONBLOCK)) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (pipe(fd) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if (((flags & O_CLOEXEC) &&
		    fcntl(fd[i], F_SETFD, FD_CLOEXEC) == -1) ||
		    ((flags & O_NONBLOCK) &&
		    fcntl(fd[i], F_SETFL, O_NONBLOCK) == -1)) {
			saved = errno;
			close(fd[0]);
			close(fd[1]);
			errno = saved;
			return -1;
		}
	}
	return 0;
}

void
compat_setproctitle_init(int argc, char *argv[], char *envp[])
{
	(void)argc;
	(void)argv;
	(void)envp;
}

void
compat_setproctitle(const char *fmt, ...)
{
	(void)fmt;
}
