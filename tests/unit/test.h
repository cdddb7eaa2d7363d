/* SPDX-License-Identifier: ISC */
#ifndef RV_TESTS_UNIT_TEST_H
#define RV_TESTS_UNIT_TEST_H

/*
 * test.h: the check of every unit and conformance test (tests/unit,
 * tests/conf).  Each test is one executable built from one .c file, so the
 * counters live here.  A test runs its table of cases, CHECKs each
 * expectation, and returns test_exit() from main:
 *
 *	CHECK("parse_empty", rc == -1, "rc %d: %s", rc, err);
 *	...
 *	return test_exit();
 *
 * A failure prints one line "FAIL <name>: <message>"; the format arguments
 * are evaluated only then.  test_exit prints "N passed, M failed" and
 * returns the exit status: 1 when anything failed.  test_rm_tree()
 * removes a test's temporary directory and everything below it.
 */

#include <sys/stat.h>

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>

static int test_passed __attribute__((unused));
static int test_failed __attribute__((unused));

/* Print "FAIL <name>: <message>"; counts nothing (CHECK counts). */
static inline void test_fail(const char *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
test_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Count <cond>; when false print the failure line. */
#define CHECK(name, cond, ...) do {					\
	if (cond)							\
		test_passed++;						\
	else {								\
		test_failed++;						\
		test_fail((name), __VA_ARGS__);				\
	}								\
} while (0)

/* Print the totals; the exit status of main. */
static inline int
test_exit(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed != 0;
}

static inline int
test_rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Remove <dir> and everything below it, symlinks not followed. */
static inline void
test_rm_tree(const char *dir)
{
	(void)nftw(dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
