/* SPDX-License-Identifier: ISC */
/*
 * compat_test: the functions the portable build uses instead of libbsd
 * and libmd (common/core/compat*.c), in both builds.  strlcpy/strlcat
 * truncate and report the length tried; reallocarray refuses an
 * overflowing size with ENOMEM and keeps the old block; explicit_bzero
 * zeroes; arc4random_buf fills more than one getentropy() chunk; pipe2
 * sets the flags asked for and refuses others; closefrom closes from its
 * argument up and nothing below; the pid file takes the lock, writes the
 * pid, is refused to a second holder (EEXIST with the holder's pid), is
 * close-on-exec, and is free again once removed; SHA-256 gives the FIPS
 * 180-2 vectors, whatever the split of the input.  In the Linux build
 * (libbsd and libmd at hand) the compat pid file and libbsd's refuse each
 * other and the compat SHA-256 equals libmd's on 0..300-byte inputs.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RV_PORTABLE
#include <libutil.h>
#include <sha2.h>
#endif

#include "common/core/compat.h"
#include "tests/unit/test.h"

static void
test_strings(void)
{
	char b[8];
	size_t n;

	memset(b, 'x', sizeof(b));
	n = compat_strlcpy(b, "hello world", 6);
	CHECK("strlcpy_truncates", n == 11 && strcmp(b, "hello") == 0 &&
	    b[6] == 'x', "n %zu b \"%s\"", n, b);
	n = compat_strlcpy(b, "abc", sizeof(b));
	CHECK("strlcpy_fits", n == 3 && strcmp(b, "abc") == 0, "n %zu", n);
	n = compat_strlcpy(b, "abcdefg", sizeof(b));
	CHECK("strlcpy_exact", n == 7 && strcmp(b, "abcdefg") == 0,
	    "n %zu b \"%s\"", n, b);
	memcpy(b, "keep", 5);
	n = compat_strlcpy(b, "zzz", 0);
	CHECK("strlcpy_size0", n == 3 && strcmp(b, "keep") == 0, "n %zu", n);
	memcpy(b, "ab", 3);
	n = compat_strlcat(b, "cdefghij", 6);
	CHECK("strlcat_truncates", n == 10 && strcmp(b, "abcde") == 0,
	    "n %zu b \"%s\"", n, b);
	memcpy(b, "abcdefgh", 8);	/* no NUL within the size */
	n = compat_strlcat(b, "xyz", 4);
	CHECK("strlcat_unterminated", n == 7 && memcmp(b, "abcd", 4) == 0,
	    "n %zu", n);
}

static void
test_alloc(void)
{
	unsigned char *p, *q;
	size_t i;
	bool zero = true;

	p = compat_reallocarray(NULL, 16, 4);
	CHECK("reallocarray", p != NULL, "NULL");
	if (p == NULL)
		return;
	memset(p, 0xab, 64);
	errno = 0;
	q = compat_reallocarray(p, SIZE_MAX / 2 + 1, 2);
	CHECK("reallocarray_overflow", q == NULL && errno == ENOMEM,
	    "q %p errno %d", (void *)q, errno);
	CHECK("reallocarray_keeps", p[63] == 0xab, "old block changed");
	compat_explicit_bzero(p, 64);
	for (i = 0; i < 64; i++)
		zero = zero && p[i] == 0;
	CHECK("explicit_bzero", zero, "not zeroed");
	free(p);
}

static void
test_random(void)
{
	unsigned char a[1000], b[1000];
	size_t i, za = 0;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	compat_arc4random_buf(a, sizeof(a));
	compat_arc4random_buf(b, sizeof(b));
	for (i = 768; i < sizeof(a); i++)	/* the fourth chunk too */
		za += a[i] == 0;
	CHECK("arc4random_buf", memcmp(a, b, sizeof(a)) != 0 && za < 20,
	    "identical or %zu zero bytes in the tail", za);
}

static void
test_pipe2(void)
{
	int fd[2];

	CHECK("pipe2", compat_pipe2(fd, O_CLOEXEC | O_NONBLOCK) == 0 &&
	    (fcntl(fd[0], F_GETFD) & FD_CLOEXEC) &&
	    (fcntl(fd[1], F_GETFL) & O_NONBLOCK), "flags not set");
	close(fd[0]);
	close(fd[1]);
	CHECK("pipe2_plain", compat_pipe2(fd, 0) == 0 &&
	    !(fcntl(fd[0], F_GETFD) & FD_CLOEXEC) &&
	    !(fcntl(fd[1], F_GETFL) & O_NONBLOCK), "flags set");
	close(fd[0]);
	close(fd[1]);
	errno = 0;
	CHECK("pipe2_einval", compat_pipe2(fd, O_APPEND) == -1 &&
	    errno == EINVAL, "errno %d", errno);
}

/* In a child: fds 40, 41, 42 open; closefrom(41) leaves 40 only. */
static void
test_closefrom(void)
{
	pid_t pid;
	int st = -1;

	if ((pid = fork()) == 0) {
		if (dup2(0, 40) == -1 || dup2(0, 41) == -1 ||
		    dup2(0, 42) == -1)
			_exit(2);
		compat_closefrom(41);
		if (fcntl(40, F_GETFD) == -1)
			_exit(3);
		if (fcntl(41, F_GETFD) != -1 || fcntl(42, F_GETFD) != -1)
			_exit(4);
		_exit(0);
	}
	(void)waitpid(pid, &st, 0);
	CHECK("closefrom", pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "child status %d", st);
}

/* In a child: try <path>; exit 0 refused with <holder>'s pid, 1 taken. */
static int
second_holder(const char *path, pid_t holder)
{
	struct compat_pidfh *pfh;
	pid_t pid, other = -1;
	int st = -1;

	if ((pid = fork()) == 0) {
		pfh = compat_pidfile_open(path, 0600, &other);
		if (pfh == NULL && errno == EEXIST && other == holder)
			_exit(0);
		_exit(pfh == NULL ? 2 : 1);
	}
	(void)waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_pidfile(const char *dir)
{
	struct compat_pidfh *pfh;
	char path[PATH_MAX], buf[32] = "";
	pid_t other = 0;
	int fd, rc;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/x.pid", dir);
	pfh = compat_pidfile_open(path, 0600, &other);
	CHECK("pidfile_open", pfh != NULL, "%s", strerror(errno));
	if (pfh == NULL)
		return;
	CHECK("pidfile_cloexec", fcntl(compat_pidfile_fileno(pfh), F_GETFD) &
	    FD_CLOEXEC, "lock crosses exec");
	CHECK("pidfile_write", compat_pidfile_write(pfh) == 0, "%s",
	    strerror(errno));
	if ((fd = open(path, O_RDONLY)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	CHECK("pidfile_content", strtol(buf, NULL, 10) == (long)getpid() &&
	    strchr(buf, '\n') != NULL, "\"%s\"", buf);
	rc = second_holder(path, getpid());
	CHECK("pidfile_second_refused", rc == 0, "second holder: %d", rc);
	/* a bare flock on the file is refused too: the lock is real */
	fd = open(path, O_RDONLY);
	CHECK("pidfile_flock", fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1 &&
	    errno == EWOULDBLOCK, "flock taken");
	if (fd != -1)
		close(fd);
	CHECK("pidfile_remove", compat_pidfile_remove(pfh) == 0 &&
	    access(path, F_OK) == -1, "file still there");
	rc = second_holder(path, getpid());
	CHECK("pidfile_free_after_remove", rc == 1, "second holder: %d", rc);
	(void)unlink(path);
	pfh = compat_pidfile_open(path, 0600, NULL);
	CHECK("pidfile_close", pfh != NULL && compat_pidfile_close(pfh) == 0 &&
	    access(path, F_OK) == 0, "close removed the file or failed");
	(void)unlink(path);
#ifndef RV_PORTABLE
	{
		struct pidfh *bsd;

		/* libbsd's pid file and ours exclude each other */
		bsd = pidfile_open(path, 0600, &other);
		CHECK("pidfile_libbsd_open", bsd != NULL &&
		    pidfile_write(bsd) == 0, "%s", strerror(errno));
		rc = second_holder(path, getpid());
		CHECK("pidfile_libbsd_refuses_compat", rc == 0,
		    "second holder: %d", rc);
		if (bsd != NULL)
			pidfile_remove(bsd);
		pfh = compat_pidfile_open(path, 0600, NULL);
		other = 0;
		if ((rc = fork()) == 0)
			_exit(pidfile_open(path, 0600, &other) == NULL &&
			    errno == EEXIST ? 0 : 1);
		CHECK("pidfile_compat_refuses_libbsd", rc > 0 &&
		    waitpid(rc, &rc, 0) > 0 && WIFEXITED(rc) &&
		    WEXITSTATUS(rc) == 0, "libbsd took a held pid file");
		if (pfh != NULL)
			compat_pidfile_remove(pfh);
	}
#endif
}

static void
sha_hex(const void *data, size_t len, size_t split, char hex[65])
{
	struct compat_sha256_ctx c;
	const unsigned char *p = data;
	size_t n;

	compat_sha256_init(&c);
	while (len > 0) {
		n = split < len ? split : len;
		compat_sha256_update(&c, p, n);
		p += n;
		len -= n;
	}
	compat_sha256_end(&c, hex);
}

static void
test_sha256(void)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039"
		    "a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	static const size_t splits[] = { 1, 3, 63, 64, 65, 1000 };
	char hex[65], *big;
	size_t i, s;
	bool all = true;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
			sha_hex(v[i].in, strlen(v[i].in), splits[s], hex);
			CHECK("sha256_vector", strcmp(hex, v[i].out) == 0,
			    "vector %zu split %zu: %s", i, splits[s], hex);
		}
	if ((big = malloc(1000000)) == NULL)
		return;
	memset(big, 'a', 1000000);
	sha_hex(big, 1000000, 4096, hex);
	CHECK("sha256_million_a", strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e6"
	    "7f1809a48a497200e046d39ccc7112cd0") == 0, "%s", hex);
#ifndef RV_PORTABLE
	for (i = 0; i <= 300 && all; i++) {
		char ref[65];
		SHA2_CTX ctx;

		big[i] = (char)(i * 7 + 1);
		sha_hex(big, i, 17, hex);
		SHA256Init(&ctx);
		SHA256Update(&ctx, (const uint8_t *)big, i);
		SHA256End(&ctx, ref);
		all = strcmp(hex, ref) == 0;
	}
	CHECK("sha256_libmd", all, "length %zu: differs from libmd", i - 1);
#else
	(void)all;
#endif
	free(big);
}

int
main(void)
{
	char dir[] = "/tmp/rv-compat.XXXXXX";

	test_strings();
	test_alloc();
	test_random();
	test_pipe2();
	test_closefrom();
	compat_setproctitle_init(0, NULL, NULL);
	compat_setproctitle("%s", "no-op");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_pidfile(dir);
	test_rm_tree(dir);
	test_sha256();
	return test_exit();
}
