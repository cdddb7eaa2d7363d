/* SPDX-License-Identifier: ISC */
/*
 * errbuf.c: the caller's error buffer.
 *
 * Many functions report failure as a return code plus a message written
 * into a buffer the caller supplies (char *err, size_t errlen).  This
 * module is the one place that formats such a message.  It does not log,
 * allocate, or touch errno, so a caller may set the message and still
 * return with the errno of the failed call.
 *
 * errbuf_quote makes untrusted text (a name from a file or a peer) safe
 * to put into such a message.
 *
 * Public: errbuf_set, errbuf_vset, errbuf_quote.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/core/errbuf.h"

int
errbuf_vset(char *err, size_t errlen, int rc, const char *fmt, va_list ap)
{
	int saved;

	if (err == NULL || errlen == 0)
		return rc;
	saved = errno;
	(void)vsnprintf(err, errlen, fmt, ap);
	errno = saved;
	return rc;
}

int
errbuf_set(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = errbuf_vset(err, errlen, rc, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
errbuf_quote(const char *s, char *buf, size_t size)
{
	size_t i, o = 0;

	if (size < 4)
		return "";
	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && o + 4 < size && i < 40; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
