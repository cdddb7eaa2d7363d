/* SPDX-License-Identifier: ISC */
#ifndef RV_CORE_DYNLIB_H
#define RV_CORE_DYNLIB_H

/*
 * A shared library loaded when first needed, into a table of function
 * pointers (common/core/dynlib.c): what curl_dl.c does for libcurl and
 * ctl/mhd_dl.c for libmicrohttpd, so that a program maps a library and
 * everything it brings only when it uses it.
 */
#include <stddef.h>

/* One function of the library and where it goes in the table. */
struct dynlib_sym {
	const char	*name;
	size_t		 off;
};

/*
 * dlopen <name> (first in <dir> when <name> is a bare file name and <dir>
 * is not empty, then by name as the system looks it up) and write the
 * address of each of the <n> symbols of <syms> into <table> (<size>
 * bytes) at its offset.  All or nothing: returns 0, or -1 with <table>
 * unchanged and <err> naming the library that could not be loaded or the
 * function it lacks.
 */
/*
 * <name>, or in a test build run with RV_TESTING=1 the library that the
 * environment variable <var> names (a missing one, or another library, to
 * test the failures), when it is set.
 */
const char *dynlib_name(const char *var, const char *name);

int	dynlib_load(const char *dir, const char *name,
	    const struct dynlib_sym *syms, size_t n, void *table, size_t size,
	    char *err, size_t errlen);

#endif
