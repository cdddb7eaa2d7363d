/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_MP4_H
#define RV_COMMON_MEDIA_MP4_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A strict reader of ISO BMFF (MP4) boxes that measures a file the way
 * probe_file() does, without running ffprobe.  See common/media/mp4.c.
 */

struct probe_info;

#define MP4_MOOV_MAX	(512 * 1024)	/* bigger moov: refused */
#define MP4_TOP_MAX	256	/* top-level boxes per file */
/* Bytes read per file at most: top-level headers, moov, an MP3 header. */
#define MP4_READ_MAX	(MP4_MOOV_MAX + MP4_TOP_MAX * 16 + 4)

/*
 * Measure the MP4 file <path> (borrowed) into <out> as probe_file would.
 * Returns 0, or -1 with <err> naming the file and why it was refused and
 * <out> zeroed; the caller then asks ffprobe.
 */
int	mp4_file(const char *path, struct probe_info *out, char *err,
	    size_t errlen);

/* The same for a file open on <fd> (borrowed; read with pread only). */
int	mp4_fd(int fd, struct probe_info *out, char *err, size_t errlen);

/* True for "" and the codec names ffprobe uses too: h264 hevc aac mp3. */
bool	mp4_codec_known(const char *codec);

#endif
