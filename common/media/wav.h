/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_WAV_H
#define RV_COMMON_MEDIA_WAV_H

#include <stddef.h>

/*
 * A strict reader of PCM WAV headers that measures a file the way
 * probe_file() does, without running ffprobe.  See common/media/wav.c.
 */

struct probe_info;

/*
 * Measure the WAV file <path> (borrowed) into <out> as probe_file would.
 * Returns 0, or -1 with <err> naming the file and why it was refused and
 * <out> zeroed; the caller then asks ffprobe.
 */
int	wav_file(const char *path, struct probe_info *out, char *err,
	    size_t errlen);

#endif
