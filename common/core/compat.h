/* SPDX-License-Identifier: ISC */
/*
 * compat.h: the BSD functions RayVault uses, for systems without libbsd.
 *
 * The Linux build takes strlcpy, pidfile_open, setproctitle, SHA256Init
 * and friends from libbsd and libmd.  The portable build (make PORTABLE=1,
 * always on macOS) has no libbsd: the Makefile force-includes this header
 * (-include) with RV_PORTABLE defined, and the macros below send every
 * use of those names to the compat_* versions in compat.c,
 * compat_pidfile.c and compat_sha256.c.  Both builds compile the compat_*
 * functions (the unit tests check them against libbsd and libmd in the
 * Linux build), but only the portable build calls them.
 */
#ifndef RV_COMMON_CORE_COMPAT_H
#define RV_COMMON_CORE_COMPAT_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t	compat_strlcpy(char *dst, const char *src, size_t dsize);
size_t	compat_strlcat(char *dst, const char *src, size_t dsize);
void	*compat_reallocarray(void *ptr, size_t nmemb, size_t size);
void	compat_explicit_bzero(void *buf, size_t len);
void	compat_arc4random_buf(void *buf, size_t len);
uint32_t compat_arc4random(void);
void	compat_closefrom(int lowfd);
int	compat_pipe2(int fd[2], int flags);
void	compat_setproctitle_init(int argc, char *argv[], char *envp[]);
void	compat_setproctitle(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));

/* A pid file held by an flock(2) lock (compat_pidfile.c). */
struct compat_pidfh;
struct compat_pidfh *compat_pidfile_open(const char *path, mode_t mode,
	    pid_t *otherpid);
int	compat_pidfile_write(struct compat_pidfh *pfh);
int	compat_pidfile_close(struct compat_pidfh *pfh);
int	compat_pidfile_remove(struct compat_pidfh *pfh);
int	compat_pidfile_fileno(const struct compat_pidfh *pfh);

/* SHA-256 with libmd's <sha2.h> interface (compat_sha256.c). */
#define COMPAT_SHA256_BLOCK_LENGTH	64
#define COMPAT_SHA256_DIGEST_LENGTH	32
#define COMPAT_SHA256_DIGEST_STRING_LENGTH (COMPAT_SHA256_DIGEST_LENGTH * 2 + 1)
struct compat_sha256_ctx {
	uint32_t	state[8];
	uint64_t	bitcount;
	uint8_t		buffer[COMPAT_SHA256_BLOCK_LENGTH];
};
void	compat_sha256_init(struct compat_sha256_ctx *ctx);
void	compat_sha256_update(struct compat_sha256_ctx *ctx, const void *data,
	    size_t len);
void	compat_sha256_final(uint8_t digest[COMPAT_SHA256_DIGEST_LENGTH],
	    struct compat_sha256_ctx *ctx);
char	*compat_sha256_end(struct compat_sha256_ctx *ctx, char *buf);

#ifdef RV_PORTABLE
#undef strlcpy
#undef strlcat
#undef reallocarray
#undef explicit_bzero
#undef arc4random_buf
#undef arc4random
#undef closefrom
#undef pipe2
#define strlcpy			compat_strlcpy
#define strlcat			compat_strlcat
#define reallocarray		compat_reallocarray
#define explicit_bzero		compat_explicit_bzero
#define arc4random_buf		compat_arc4random_buf
#define arc4random		compat_arc4random
#define closefrom		compat_closefrom
#define pipe2			compat_pipe2
#define setproctitle_init	compat_setproctitle_init
#define setproctitle		compat_setproctitle
#define pidfh			compat_pidfh
#define pidfile_open		compat_pidfile_open
#define pidfile_write		compat_pidfile_write
#define pidfile_close		compat_pidfile_close
#define pidfile_remove		compat_pidfile_remove
#define pidfile_fileno		compat_pidfile_fileno
#define SHA2_CTX		struct compat_sha256_ctx
#define SHA256_BLOCK_LENGTH	COMPAT_SHA256_BLOCK_LENGTH
#define SHA256_DIGEST_LENGTH	COMPAT_SHA256_DIGEST_LENGTH
#define SHA256_DIGEST_STRING_LENGTH COMPAT_SHA256_DIGEST_STRING_LENGTH
#define SHA256Init		compat_sha256_init
#define SHA256Update		compat_sha256_update
#define SHA256Final		compat_sha256_final
#define SHA256End		compat_sha256_end

/* glibc declares it only with _GNU_SOURCE, macOS never. */
extern char **environ;

#ifndef __APPLE__
/* In macOS's libc and glibc's, which declares them for _GNU_SOURCE only. */
void	*memmem(const void *, size_t, const void *, size_t);
char	*strcasestr(const char *, const char *);
#endif

#ifdef __APPLE__
/* macOS names the nanosecond stat times differently. */
#define st_atim			st_atimespec
#define st_mtim			st_mtimespec
#define st_ctim			st_ctimespec
#endif
#endif	/* RV_PORTABLE */

#endif
