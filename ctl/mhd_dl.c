/* SPDX-License-Identifier: ISC */
/*
 * mhd_dl.c: GNU libmicrohttpd, loaded by rvctl dashboard only.
 *
 * Linked in, libmicrohttpd brings GnuTLS and eight more libraries into
 * every rvctl process: 1.5 ms of each start (measured: a program linked
 * like rvctl without it starts in 2.3 ms, with it in 3.8), for a library
 * one command of thirty uses.  dynlib.c loads it from the folder
 * pkg-config names (RV_MHD_LIBDIR: Homebrew's on macOS), then by name.
 *
 * Public: mhd_dl_load, mhd_dl.
 */
#include <stddef.h>
#include <string.h>

#include "common/core/dynlib.h"
#include "ctl/mhd_dl.h"

#ifdef __APPLE__
#define MHD_DL_NAME	"libmicrohttpd.12.dylib"
#else
#define MHD_DL_NAME	"libmicrohttpd.so.12"
#endif
#ifndef RV_MHD_LIBDIR
#define RV_MHD_LIBDIR	""	/* the Makefile names pkg-config's libdir */
#endif

static struct mhd_dl table;
static int state;		/* 0 not tried, 1 loaded, -1 failed */
static char why[256];

#define SYM(f)	{ "MHD_" #f, offsetof(struct mhd_dl, f) }
static const struct dynlib_sym syms[] = {
	SYM(start_daemon), SYM(stop_daemon), SYM(get_daemon_info),
	SYM(get_connection_info), SYM(lookup_connection_value),
	SYM(queue_response), SYM(create_response_from_buffer),
	SYM(create_response_from_callback), SYM(add_response_header),
	SYM(destroy_response), SYM(create_post_processor), SYM(post_process),
	SYM(destroy_post_processor)
};
#undef SYM

/* Called from rvctl's main thread before the daemon's threads exist. */
int
mhd_dl_load(char *err, size_t errlen)
{
	if (state == 0)
		state = dynlib_load(RV_MHD_LIBDIR, dynlib_name(
		    "RV_TEST_LIBMHD", MHD_DL_NAME), syms, sizeof(syms) /
		    sizeof(syms[0]), &table, sizeof(table), why,
		    sizeof(why)) == 0 ? 1 : -1;
	if (state == 1)
		return 0;
	(void)strlcpy(err, why, errlen);
	return -1;
}

const struct mhd_dl *
mhd_dl(void)
{
	return &table;
}
