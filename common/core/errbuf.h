/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_ERRBUF_H
#define RV_COMMON_CORE_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Format into err (errlen bytes, NUL-terminated, truncated if needed);
 * returns rc.  err may be NULL or errlen 0: then nothing is written.
 * Never logs; keeps errno.
 */
int	errbuf_set(char *err, size_t errlen, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/*
 * errbuf_set with a va_list, for functions that take their own format
 * (they pass err and errlen of their own, e.g. the unused tail of a
 * buffer they append to).  <ap> is consumed as by vsnprintf.  Returns rc.
 */
int	errbuf_vset(char *err, size_t errlen, int rc, const char *fmt,
	    va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * Untrusted text <s> (may be NULL: "") made safe to quote in a message:
 * at most 40 bytes, bytes outside printable ASCII as '?', "..." when cut.
 * Writes into <buf> (<size> bytes; under 4 gives "") and returns it.
 */
const char *errbuf_quote(const char *s, char *buf, size_t size);

#endif
