/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_SKELETON_MEDIA_TOOL_H
#define RV_WORKERS_SKELETON_MEDIA_TOOL_H

#include <stdbool.h>
#include <stddef.h>

struct probe_info;
struct progress;

/*
 * Running media tools (ffmpeg, ffprobe, espeak-ng) to success for the
 * voice and render stages.  See workers/skeleton/media_tool.c.
 */

#define MEDIA_OK	0
#define MEDIA_ERR	(-1)	/* failed; err says why */
#define MEDIA_STOPPED	(-3)	/* the progress asked to stop */

#define MEDIA_TIMEOUT_MS	120000L

int	media_run(char *const argv[], long timeout_ms, bool progress_parse,
	    struct progress *prog, char *err, size_t errlen);
int	media_probe(const char *path, struct progress *prog,
	    struct probe_info *pi, char *err, size_t errlen);
int	media_measure(const char *path, struct progress *prog,
	    struct probe_info *pi, char *err, size_t errlen);
int	media_file_arg(char *buf, size_t size, const char *path);

#endif
