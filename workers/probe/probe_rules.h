/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_PROBE_PROBE_RULES_H
#define RV_WORKERS_PROBE_PROBE_RULES_H

#include <stddef.h>

/*
 * The probe stage's rules (SPEC section 3, "Probe"): wait until a staged
 * render is stable, validate its ffprobe data, move it into
 * state/video/final/ under its sha8 name and index it.  See
 * workers/probe/probe_rules.c.
 */

struct probe_info;
struct progress;
struct vindex_item;

#define PROBE_MIN_BYTES_DZINE	(500LL * 1024)	/* Dzine exports */
#define PROBE_STABLE_MS		300	/* size+mtime unchanged this long */
#define PROBE_OLD_MS		2000	/* older files are stable at once */
#define PROBE_STABLE_TIMEOUT_MS	120000

enum probe_rc {
	PROBE_OK = 0,
	PROBE_ERR = -1,		/* bad arguments, I/O, index: err says */
	PROBE_REJECTED = -2,	/* the render broke a rule: err names it */
	PROBE_STOPPED = -3	/* the progress callback asked to stop */
};

int	probe_wait_stable(const char *path, struct progress *prog,
	    int timeout_ms, char *err, size_t errlen);
int	probe_finalize(const char *state_dir, const char *staged_rel,
	    const char *run_id, const char *segment_id, const char *sha8,
	    double target, long long min_bytes, struct progress *prog,
	    struct vindex_item *item, char *err, size_t errlen);

#endif
