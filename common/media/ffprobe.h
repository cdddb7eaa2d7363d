/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_FFPROBE_H
#define RV_COMMON_MEDIA_FFPROBE_H

#include <stdbool.h>
#include <stddef.h>

struct progress;

struct probe_info {
	double	duration;	/* seconds, format duration */
	long long size;		/* format size in bytes */
	long long bitrate_bps;
	char	video_codec[32];	/* "" when no video stream */
	char	audio_codec[32];	/* "" when no audio stream */
	int	width, height;
	int	audio_rate;
	int	audio_channels;
};

/*
 * ffprobe -v error -print_format json -show_format -show_streams <path>,
 * parsed and validated (SPEC section 9: ffprobe output is outside input).
 * One retry on failure.  <prog> is ticked at least every PROGRESS_TICK_MS
 * until it returns (NULL only outside a child).  Returns 0, or -1 with
 * <err> naming the problem.
 */
int	probe_file(const char *path, struct progress *prog,
	    struct probe_info *out, char *err, size_t errlen);

/* Parse ffprobe's JSON text (exposed for unit tests). */
int	probe_parse_json(const char *json, struct probe_info *out, char *err,
	    size_t errlen);

/*
 * The rules a segment video must pass (SPEC section 3, "Probe"), applied
 * to <pi> (borrowed; NULL fails "exists").  A negative <target> skips the
 * duration rule (PROBE_DURATION_TOL either side); <min_bytes> <= 0 skips
 * the size rule.  Returns 0, or -1 with err naming the broken rule.
 */
#define PROBE_DURATION_TOL	0.15		/* seconds, either side */
int	probe_validate(const struct probe_info *pi, double target,
	    long long min_bytes, char *err, size_t errlen);

#endif
