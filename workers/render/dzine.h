/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_RENDER_DZINE_H
#define RV_WORKERS_RENDER_DZINE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "workers/render/dzine_flow.h"

struct progress;

/*
 * The Dzine renderer (SPEC section 3, "Render", backend dzine): a headless
 * Chromium started per render, driven over the DevTools pipe by the flow
 * file.  Results are dz_rc values (workers/render/dzine_flow.h).  See
 * workers/render/dzine.c.
 */

#ifdef __APPLE__
#define DZINE_CHROMIUM	"/Applications/Chromium.app/Contents/MacOS/Chromium"
#else
#define DZINE_CHROMIUM	"/usr/lib/chromium/chromium"	/* not the launcher */
#endif
#define DZINE_START_MS	30000	/* browser start until it answers */
#define DZINE_CLOSE_MS	3000	/* graceful close of a kept profile */
#define DZINE_REAP_MS	5000	/* kill and reap every browser process */
#define DZINE_PROCS_MAX	512
#define DZINE_ARGV_MAX	20	/* the browser's command line, NULL included */

struct dzine_cfg {
	const char	*state_dir;	/* absolute */
	const char	*flow_file;	/* DZINE_FLOW_FILE */
	const char	*url;		/* DZINE_URL; "": the flow's base_url */
	const char	*profile_dir;	/* DZINE_PROFILE_DIR; "": fresh */
	const char	*chromium;	/* NULL: DZINE_CHROMIUM */
	struct progress	*prog;		/* ticked throughout */
	void		(*session)(void *arg, bool open); /* NULL: none */
	void		*session_arg;	/* a browser exists / is gone */
};

struct dzine_seg {
	const char	*image;		/* absolute path, NULL or "": none */
	const char	*audio;		/* absolute path */
	const char	*prompt;
	const char	*out_path;	/* absolute, in state/video/staging/ */
	long		 needed;	/* credits one render costs */
	int		(*before_generate)(void *arg, char *err,
			    size_t errlen);	/* -1: do not press */
	void		*arg;
};

struct dzine_outcome {
	long		 before, after;	/* balance around the press; -1 */
	bool		 pressed;	/* generate was pressed */
	pid_t		 browser_pid;
	int		 browser_status; /* DZ_GONE: status, 128+signal */
};

int	dzine_read_balance(const struct dzine_cfg *cfg, long *balance,
	    char *err, size_t errlen);
int	dzine_render(const struct dzine_cfg *cfg, const struct dzine_seg *seg,
	    struct dzine_outcome *out, char *err, size_t errlen);
void	dzine_sweep(const char *state_dir);
bool	dzine_no_sandbox(uid_t euid);
size_t	dzine_browser_argv(char **argv, const char *bin, const char *udd,
	    uid_t euid);

#endif
