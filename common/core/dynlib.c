/* SPDX-License-Identifier: ISC */
/*
 * dynlib.c: a shared library loaded when first needed, into a table of
 * function pointers.
 *
 * Linked in, a library is mapped and relocated at every start of the
 * program with all the libraries it depends on: libcurl brings some forty
 * (GnuTLS, Kerberos, LDAP), libmicrohttpd GnuTLS and its eight.  For a
 * library only some commands use, the caller keeps a table of the
 * functions it calls and fills it here on first use.  The library is
 * looked for first in the folder its headers came from (the Makefile
 * passes pkg-config's libdir: Homebrew's folders are not searched by
 * dlopen on macOS), then by name.
 *
 * Public: dynlib_load, dynlib_name.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/dynlib.h"

static void *
open_lib(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[1024];
	const char *e;
	void *h;

	if (strchr(name, '/') == NULL && dir != NULL && dir[0] != '\0' &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) <
	    sizeof(path) && (h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) != NULL)
		return h;
	if ((h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		(void)snprintf(err, errlen, "cannot load %s: %s", name,
		    e != NULL ? e : "unknown error");
	}
	return h;
}

const char *
dynlib_name(const char *var, const char *name)
{
#ifdef RV_TESTING
	const char *t = getenv(var), *on = getenv("RV_TESTING");

	if (t != NULL && *t != '\0' && on != NULL && strcmp(on, "1") == 0)
		return t;
#else
	(void)var;
#endif
	return name;
}

int
dynlib_load(const char *dir, const char *name, const struct dynlib_sym *syms,
    size_t n, void *table, size_t size, char *err, size_t errlen)
{
	unsigned char *t;
	void *h, *sym;
	size_t i;

	if ((h = open_lib(dir, name, err, errlen)) == NULL)
		return -1;
	if ((t = malloc(size)) == NULL) {
		(void)snprintf(err, errlen, "cannot load %s: out of memory",
		    name);
		(void)dlclose(h);
		return -1;
	}
	memcpy(t, table, size);
	for (i = 0; i < n; i++) {
		if (syms[i].off + sizeof(sym) > size ||
		    (sym = dlsym(h, syms[i].name)) == NULL) {
			(void)snprintf(err, errlen, "%s has no %s", name,
			    syms[i].name);
			free(t);
			(void)dlclose(h);
			return -1;
		}
		/* POSIX: a data pointer from dlsym holds a function's */
		memcpy(t + syms[i].off, &sym, sizeof(sym));
	}
	memcpy(table, t, size);
	free(t);
	return 0;
}
