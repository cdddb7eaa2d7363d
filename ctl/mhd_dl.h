/* SPDX-License-Identifier: ISC */
#ifndef RV_CTL_MHD_DL_H
#define RV_CTL_MHD_DL_H

/*
 * GNU libmicrohttpd, loaded by rvctl dashboard (ctl/mhd_dl.c).  The dash
 * files include this instead of <microhttpd.h>: the MHD_* calls below then
 * go through a table that mhd_dl_load() fills, so that every other rvctl
 * command starts without mapping libmicrohttpd and GnuTLS.  Nothing may
 * call them before mhd_dl_load() succeeded (dash_http_start checks).
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct mhd_dl {
	struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t,
			    MHD_AcceptPolicyCallback, void *,
			    MHD_AccessHandlerCallback, void *, ...);
	void		(*stop_daemon)(struct MHD_Daemon *);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *,
			    enum MHD_DaemonInfoType, ...);
	const union MHD_ConnectionInfo *(*get_connection_info)(
			    struct MHD_Connection *, enum MHD_ConnectionInfoType,
			    ...);
	const char	*(*lookup_connection_value)(struct MHD_Connection *,
			    enum MHD_ValueKind, const char *);
	enum MHD_Result	(*queue_response)(struct MHD_Connection *,
			    unsigned int, struct MHD_Response *);
	struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
			    enum MHD_ResponseMemoryMode);
	struct MHD_Response *(*create_response_from_callback)(uint64_t,
			    size_t, MHD_ContentReaderCallback, void *,
			    MHD_ContentReaderFreeCallback);
	enum MHD_Result	(*add_response_header)(struct MHD_Response *,
			    const char *, const char *);
	void		(*destroy_response)(struct MHD_Response *);
	struct MHD_PostProcessor *(*create_post_processor)(
			    struct MHD_Connection *, size_t, MHD_PostDataIterator,
			    void *);
	enum MHD_Result	(*post_process)(struct MHD_PostProcessor *,
			    const char *, size_t);
	enum MHD_Result	(*destroy_post_processor)(struct MHD_PostProcessor *);
};

/*
 * Load libmicrohttpd (once).  Returns 0, or -1 with <err> naming the
 * library that could not be loaded or the function it lacks.
 */
int	mhd_dl_load(char *err, size_t errlen);
/* The table mhd_dl_load() filled. */
const struct mhd_dl *mhd_dl(void);

#define MHD_start_daemon(...)		(mhd_dl()->start_daemon(__VA_ARGS__))
#define MHD_stop_daemon(d)		(mhd_dl()->stop_daemon(d))
#define MHD_get_daemon_info(...)	(mhd_dl()->get_daemon_info(__VA_ARGS__))
#define MHD_get_connection_info(...)	(mhd_dl()->get_connection_info( \
					    __VA_ARGS__))
#define MHD_lookup_connection_value(c, k, n) \
	(mhd_dl()->lookup_connection_value((c), (k), (n)))
#define MHD_queue_response(c, s, r)	(mhd_dl()->queue_response((c), (s), (r)))
#define MHD_create_response_from_buffer(n, b, m) \
	(mhd_dl()->create_response_from_buffer((n), (b), (m)))
#define MHD_create_response_from_callback(n, bs, f, a, ff) \
	(mhd_dl()->create_response_from_callback((n), (bs), (f), (a), (ff)))
#define MHD_add_response_header(r, h, v) \
	(mhd_dl()->add_response_header((r), (h), (v)))
#define MHD_destroy_response(r)		(mhd_dl()->destroy_response(r))
#define MHD_create_post_processor(c, n, f, a) \
	(mhd_dl()->create_post_processor((c), (n), (f), (a)))
#define MHD_post_process(p, d, n)	(mhd_dl()->post_process((p), (d), (n)))
#define MHD_destroy_post_processor(p)	(mhd_dl()->destroy_post_processor(p))

#endif
