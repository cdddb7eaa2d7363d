/* SPDX-License-Identifier: ISC */
/*
 * curl_dl.c: libcurl, loaded on first use.
 *
 * Linked in, libcurl maps some forty libraries (GnuTLS, OpenSSL, Kerberos,
 * LDAP, SSH) into every process at start: 3 ms of every rvctl call and
 * about 1 MiB of the supervisor's private memory (relocated library
 * data), for programs that on the embedded store never speak HTTP.  So
 * no program links it: the curl_* calls of curl_dl.h go through the table
 * below, which the first call fills with dlopen() (pthread_once, so any
 * thread may be first).  It looks in the folder of the libcurl the
 * headers came from (RV_CURL_LIBDIR: Homebrew's keg-only curl on macOS,
 * the multiarch folder on Debian), then by name (the system's
 * /usr/lib/libcurl.4.dylib on macOS).  A libcurl that cannot be loaded
 * leaves the failing stand-ins in place, and curl_dl_error() says why;
 * the caller reports its call as failed, as for any other libcurl
 * failure.
 *
 * Public: curl_dl, curl_dl_error, curl_dl_loaded.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "common/core/curl_dl.h"
#include "common/core/dynlib.h"

#ifdef __APPLE__
#define CURL_DL_NAME	"libcurl.4.dylib"
#else
#define CURL_DL_NAME	"libcurl.so.4"
#endif
#ifndef RV_CURL_LIBDIR
#define RV_CURL_LIBDIR	""	/* the Makefile names pkg-config's libdir */
#endif

/* The stand-ins: every call fails the way libcurl reports a failure. */
static CURLcode
no_global_init(long f)
{
	(void)f;
	return CURLE_FAILED_INIT;
}

static void
no_global_cleanup(void)
{
}

static CURL *
no_easy_init(void)
{
	return NULL;
}

static CURLcode
no_easy_setopt(CURL *h, CURLoption o, ...)
{
	(void)h;
	(void)o;
	return CURLE_FAILED_INIT;
}

static CURLcode
no_easy_getinfo(CURL *h, CURLINFO i, ...)
{
	(void)h;
	(void)i;
	return CURLE_FAILED_INIT;
}

static CURLcode
no_easy_perform(CURL *h)
{
	(void)h;
	return CURLE_FAILED_INIT;
}

static void
no_easy_handle(CURL *h)
{
	(void)h;
}

static const char *
no_easy_strerror(CURLcode c)
{
	(void)c;
	return "libcurl could not be loaded";
}

static struct curl_slist *
no_slist_append(struct curl_slist *l, const char *s)
{
	(void)l;
	(void)s;
	return NULL;
}

static void
no_slist_free_all(struct curl_slist *l)
{
	(void)l;
}

static CURLM *
no_multi_init(void)
{
	return NULL;
}

static CURLMcode
no_multi_handle(CURLM *m, CURL *h)
{
	(void)m;
	(void)h;
	return CURLM_BAD_HANDLE;
}

static CURLMcode
no_multi_perform(CURLM *m, int *n)
{
	(void)m;
	if (n != NULL)
		*n = 0;
	return CURLM_BAD_HANDLE;
}

static CURLMcode
no_multi_poll(CURLM *m, struct curl_waitfd *f, unsigned int n, int t,
    int *r)
{
	(void)m;
	(void)f;
	(void)n;
	(void)t;
	if (r != NULL)
		*r = 0;
	return CURLM_BAD_HANDLE;
}

static CURLMsg *
no_multi_info_read(CURLM *m, int *n)
{
	(void)m;
	if (n != NULL)
		*n = 0;
	return NULL;
}

static CURLMcode
no_multi_cleanup(CURLM *m)
{
	(void)m;
	return CURLM_BAD_HANDLE;
}

static struct curl_dl table = {
	no_global_init, no_global_cleanup, no_easy_init, no_easy_setopt,
	no_easy_getinfo, no_easy_perform, no_easy_handle, no_easy_handle,
	no_easy_strerror, no_slist_append, no_slist_free_all, no_multi_init,
	no_multi_handle, no_multi_handle, no_multi_perform, no_multi_poll,
	no_multi_info_read, no_multi_cleanup
};

/* Where each of libcurl's symbols goes in the table. */
static const struct dynlib_sym syms[] = {
	{ "curl_global_init", offsetof(struct curl_dl, global_init) },
	{ "curl_global_cleanup", offsetof(struct curl_dl, global_cleanup) },
	{ "curl_easy_init", offsetof(struct curl_dl, easy_init) },
	{ "curl_easy_setopt", offsetof(struct curl_dl, easy_setopt) },
	{ "curl_easy_getinfo", offsetof(struct curl_dl, easy_getinfo) },
	{ "curl_easy_perform", offsetof(struct curl_dl, easy_perform) },
	{ "curl_easy_cleanup", offsetof(struct curl_dl, easy_cleanup) },
	{ "curl_easy_reset", offsetof(struct curl_dl, easy_reset) },
	{ "curl_easy_strerror", offsetof(struct curl_dl, easy_strerror) },
	{ "curl_slist_append", offsetof(struct curl_dl, slist_append) },
	{ "curl_slist_free_all", offsetof(struct curl_dl, slist_free_all) },
	{ "curl_multi_init", offsetof(struct curl_dl, multi_init) },
	{ "curl_multi_add_handle", offsetof(struct curl_dl,
	    multi_add_handle) },
	{ "curl_multi_remove_handle", offsetof(struct curl_dl,
	    multi_remove_handle) },
	{ "curl_multi_perform", offsetof(struct curl_dl, multi_perform) },
	{ "curl_multi_poll", offsetof(struct curl_dl, multi_poll) },
	{ "curl_multi_info_read", offsetof(struct curl_dl, multi_info_read) },
	{ "curl_multi_cleanup", offsetof(struct curl_dl, multi_cleanup) },
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char dl_error[256];
static bool loaded;

static void
load(void)
{
	/* tests may name another library (RV_TESTING=1 only) */
	loaded = dynlib_load(RV_CURL_LIBDIR, dynlib_name("RV_TEST_LIBCURL",
	    CURL_DL_NAME), syms, sizeof(syms) / sizeof(syms[0]), &table,
	    sizeof(table), dl_error, sizeof(dl_error)) == 0;
}

const struct curl_dl *
curl_dl(void)
{
	(void)pthread_once(&once, load);
	return &table;
}

const char *
curl_dl_error(void)
{
	(void)pthread_once(&once, load);
	return dl_error;
}

bool
curl_dl_loaded(void)
{
	return loaded;
}
