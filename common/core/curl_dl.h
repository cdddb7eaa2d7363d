/* SPDX-License-Identifier: ISC */
#ifndef RV_CORE_CURL_DL_H
#define RV_CORE_CURL_DL_H

/*
 * libcurl, loaded when first used (common/core/curl_dl.c).  Include this
 * instead of <curl/curl.h>: the curl_* calls below then go through a
 * table filled by dlopen() on the first call, so a program that never
 * talks HTTP (rvctl on the embedded store, rvsup without Supabase, most
 * children) never maps libcurl and the dozens of libraries it brings.
 * When libcurl cannot be loaded every call fails as libcurl itself
 * reports a failure (CURLE_FAILED_INIT, NULL handles) and curl_dl_error()
 * says why.
 */
#include <stdbool.h>

#define CURL_DISABLE_TYPECHECK	1	/* curl_easy_setopt is ours below */
#include <curl/curl.h>

struct curl_dl {
	CURLcode	(*global_init)(long);
	void		(*global_cleanup)(void);
	CURL		*(*easy_init)(void);
	CURLcode	(*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	(*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode	(*easy_perform)(CURL *);
	void		(*easy_cleanup)(CURL *);
	void		(*easy_reset)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *,
			    const char *);
	void		(*slist_free_all)(struct curl_slist *);
	CURLM		*(*multi_init)(void);
	CURLMcode	(*multi_add_handle)(CURLM *, CURL *);
	CURLMcode	(*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode	(*multi_perform)(CURLM *, int *);
	CURLMcode	(*multi_poll)(CURLM *, struct curl_waitfd *,
			    unsigned int, int, int *);
	CURLMsg		*(*multi_info_read)(CURLM *, int *);
	CURLMcode	(*multi_cleanup)(CURLM *);
};

/* The table: libcurl's functions, or failing stand-ins.  Loads once. */
const struct curl_dl *curl_dl(void);
/* Why libcurl could not be loaded ("" when it was, or not tried). */
const char *curl_dl_error(void);
/* true once libcurl is mapped into this process. */
bool	curl_dl_loaded(void);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init(f)		(curl_dl()->global_init(f))
#define curl_global_cleanup()		(curl_dl()->global_cleanup())
#define curl_easy_init()		(curl_dl()->easy_init())
#define curl_easy_setopt(h, o, ...)	(curl_dl()->easy_setopt((h), (o), \
					    __VA_ARGS__))
#define curl_easy_getinfo(h, i, ...)	(curl_dl()->easy_getinfo((h), (i), \
					    __VA_ARGS__))
#define curl_easy_perform(h)		(curl_dl()->easy_perform(h))
#define curl_easy_cleanup(h)		(curl_dl()->easy_cleanup(h))
#define curl_easy_reset(h)		(curl_dl()->easy_reset(h))
#define curl_easy_strerror(c)		(curl_dl()->easy_strerror(c))
#define curl_slist_append(l, s)		(curl_dl()->slist_append((l), (s)))
#define curl_slist_free_all(l)		(curl_dl()->slist_free_all(l))
#define curl_multi_init()		(curl_dl()->multi_init())
#define curl_multi_add_handle(m, h)	(curl_dl()->multi_add_handle((m), (h)))
#define curl_multi_remove_handle(m, h)	(curl_dl()->multi_remove_handle((m), \
					    (h)))
#define curl_multi_perform(m, n)	(curl_dl()->multi_perform((m), (n)))
#define curl_multi_poll(m, f, n, t, r)	(curl_dl()->multi_poll((m), (f), (n), \
					    (t), (r)))
#define curl_multi_info_read(m, n)	(curl_dl()->multi_info_read((m), (n)))
#define curl_multi_cleanup(m)		(curl_dl()->multi_cleanup(m))

#endif
