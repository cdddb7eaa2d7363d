/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_TIMELINE_H
#define RV_COMMON_MEDIA_TIMELINE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/core/ids.h"

/*
 * A run's timeline: the CSV of SPEC section 6, a CMX 3600 EDL for
 * DaVinci Resolve, and the QC summary.  See common/media/timeline.c.
 */

#define TIMELINE_HEADER	"Order,Segment_ID,Category,Start_Sec,End_Sec," \
			"Target_Duration,Source_File,Status,Probe_Duration," \
			"Delta_Sec,Cum_Drift_Sec"
#define TIMELINE_FPS_DEFAULT	25
#define TIMELINE_DRIFT_WARN	0.5	/* seconds of |cumulative drift| */
#define TIMELINE_DRIFT_CRIT	1.0
#define TIMELINE_SEGS_MAX	999	/* EDL event numbers have 3 digits */

/* One segment, in timeline order.  Strings are borrowed. */
struct timeline_seg {
	const char	*segment_id;
	const char	*category;	/* the segment kind: intro, product.. */
	double		 target;	/* target duration, seconds */
	const char	*file;		/* final video, NULL when missing */
	double		 probe_duration; /* measured; used when file != NULL */
};

enum timeline_verdict {
	TIMELINE_OK = 0,
	TIMELINE_WARN,		/* |drift| > 0.5 s somewhere */
	TIMELINE_CRITICAL	/* |drift| > 1.0 s somewhere */
};

struct timeline_qc {
	size_t		ready, missing;
	char		first_missing[ID_SEGMENT_MAX + 1];	/* "" none */
	char		worst_segment[ID_SEGMENT_MAX + 1];	/* "" none */
	double		worst_delta;	/* signed delta of largest |delta| */
	double		cum_drift;	/* sum of all deltas */
	double		max_drift;	/* largest |running drift| */
	double		total;		/* seconds of the READY segments */
	double		target_total;	/* seconds the spec aims at, all */
	enum timeline_verdict verdict;	/* from max_drift */
};

struct timeline_opts {
	const char	*stamp;		/* UTC stamp for names; NULL: now */
	int		 fps;		/* EDL frame rate; <= 0: 25 */
	double		 record_start;	/* EDL record start, seconds */
	const char	*tracks;	/* EDL channels; NULL: "AA/V" */
};

struct timeline_paths {
	char	csv[PATH_MAX], csv_latest[PATH_MAX];
	char	edl[PATH_MAX], edl_latest[PATH_MAX];
};

void	timeline_qc(const struct timeline_seg *segs, size_t n,
	    struct timeline_qc *qc);
const char *timeline_verdict_name(enum timeline_verdict v);
const char *timeline_qc_verdict(const struct timeline_qc *qc);
int	timeline_csv(const struct timeline_seg *segs, size_t n, char **out,
	    size_t *lenp);
int	timeline_edl(const char *title, const struct timeline_seg *segs,
	    size_t n, const struct timeline_opts *opts, char **out,
	    size_t *lenp);
int	timeline_write(const char *state_dir, const char *video_id,
	    const struct timeline_seg *segs, size_t n,
	    const struct timeline_opts *opts, struct timeline_qc *qc,
	    struct timeline_paths *paths, char *err, size_t errlen);

#endif
