/* SPDX-License-Identifier: ISC */
/*
 * media_tool.c: run a media tool to success, for the voice and render stages.
 *
 * media_run() wraps subproc_run() (stdout discarded, stderr tail kept)
 * and turns its result into one code: MEDIA_OK, MEDIA_STOPPED when the
 * progress asked to stop, or MEDIA_ERR with an error naming the tool and
 * the last printable line it wrote to stderr.  media_probe() does the same
 * for probe_file().  media_measure() measures a file this program's own
 * stages wrote with ffmpeg (finalized audio, a fresh render, a final
 * video the probe stage passed): with the header readers (wav.c, mp4.c)
 * when they take the file, else with ffprobe; input from outside (the
 * speech engine's raw output, a Dzine export, a picture) goes through
 * media_probe().  media_file_arg() builds the "file:<path>" argument
 * ffmpeg and ffprobe get for every path, so a name starting with '-' is
 * never an option and a name containing ':' is never a protocol.
 *
 * It does not build command lines or decide anything about media; it
 * never logs.
 *
 * Public: media_run, media_probe, media_measure, media_file_arg.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/core/fsutil.h"
#include "common/core/subproc.h"
#include "common/media/ffprobe.h"
#include "common/media/mp4.h"
#include "common/media/wav.h"
#include "workers/skeleton/media_tool.h"

/*
 * Run <argv> (borrowed) with <timeout_ms>, ticking <prog> (may be NULL);
 * <progress_parse> as for subproc_run().  Returns MEDIA_OK when the tool
 * exited 0, MEDIA_STOPPED, or MEDIA_ERR with <err> filled.
 */
int
media_run(char *const argv[], long timeout_ms, bool progress_parse,
    struct progress *prog, char *err, size_t errlen)
{
	struct subproc_result res;
	char line[200];
	int r = MEDIA_ERR;

	if (subproc_run(argv, 0, timeout_ms, prog, progress_parse, &res) ==
	    -1) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
		    strerror(errno));
		return MEDIA_ERR;
	}
	if (res.stopped) {
		snprintf(err, errlen, "%s: stopped", argv[0]);
		r = MEDIA_STOPPED;
	} else if (res.timed_out)
		snprintf(err, errlen, "%s: timed out after %ld s", argv[0],
		    timeout_ms / 1000);
	else if (res.status != 0) {
		subproc_last_line(&res, line, sizeof(line));
		snprintf(err, errlen, "%s exited %d: %s", argv[0], res.status,
		    line[0] != '\0' ? line : "no message");
	} else
		r = MEDIA_OK;
	subproc_result_clear(&res);
	return r;
}

/* probe_file() with its stop mapped to MEDIA_STOPPED. */
int
media_probe(const char *path, struct progress *prog, struct probe_info *pi,
    char *err, size_t errlen)
{
	if (probe_file(path, prog, pi, err, errlen) == 0)
		return MEDIA_OK;
	return errno == ECANCELED ? MEDIA_STOPPED : MEDIA_ERR;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Like media_probe(), but a .wav or .mp4 file is first measured from its
 * header (the same answer as ffprobe's, without a process start); a file
 * the reader does not take goes to ffprobe.
 */
int
media_measure(const char *path, struct progress *prog,
    struct probe_info *pi, char *err, size_t errlen)
{
	char why[256];

	if (has_suffix(path, ".wav") && wav_file(path, pi, why,
	    sizeof(why)) == 0)
		return MEDIA_OK;
	if (has_suffix(path, ".mp4") && mp4_file(path, pi, why,
	    sizeof(why)) == 0 && mp4_codec_known(pi->video_codec) &&
	    mp4_codec_known(pi->audio_codec))
		return MEDIA_OK;
	return media_probe(path, prog, pi, err, errlen);
}

/* "file:<path>" into <buf>; -1 with ENAMETOOLONG when it does not fit. */
int
media_file_arg(char *buf, size_t size, const char *path)
{
	return fs_path(buf, size, "file:%s", path);
}
