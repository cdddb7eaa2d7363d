/* SPDX-License-Identifier: ISC */
/*
 * ffprobe.c: measure a media file with ffprobe and validate the answer.
 *
 * ffprobe's output is input from outside (SPEC section 9): the JSON is
 * size-capped (1 MiB), parsed with cJSON and every field used is checked
 * for type and range before it reaches struct probe_info.  The format
 * duration must be a finite number in (0, PROBE_MAX_DURATION]; the size a
 * non-negative integer; the first video stream, when there is one, must
 * have a plain codec name and a sane width and height; the first audio
 * stream a plain codec name, a sample rate and a channel count.  A file
 * without any audio or video stream is refused.
 *
 * The path is handed to ffprobe as "file:<path>", so a name that starts
 * with '-' is not an option and a name like "http:x" is not a protocol.
 * ffprobe runs through subproc_run() with a 20 s timeout and one retry; the
 * caller's progress is ticked throughout, the pause before the retry
 * included (progress_sleep), so a child that probes keeps heartbeating
 * however slow ffprobe is.  A stop asked by the progress is not retried.
 * Pass NULL only outside a child (rvctl).  Nothing here logs: errors
 * name the file and the problem in the caller's buffer.
 *
 * Public: probe_file, probe_parse_json, probe_validate.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/errbuf.h"
#include "common/core/subproc.h"
#include "common/media/ffprobe.h"

#define PROBE_TIMEOUT_MS	20000
#define PROBE_OUT_MAX		(1024 * 1024)
#define PROBE_MAX_DURATION	86400.0	/* a day: longer than any */
#define PROBE_MAX_DIM		16384
#define PROBE_MAX_RATE		768000
#define PROBE_MAX_CHANNELS	64
#define PROBE_RETRY_MS		250

/* A number field that ffprobe writes as a string (or, rarely, a number). */
static int
json_num(const cJSON *obj, const char *key, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	char *end;

	if (cJSON_IsNumber(it)) {
		*out = it->valuedouble;
	} else if (cJSON_IsString(it) && it->valuestring[0] != '\0') {
		errno = 0;
		*out = strtod(it->valuestring, &end);
		if (errno != 0 || *end != '\0')
			return -1;
	} else
		return -1;
	return isfinite(*out) ? 0 : -1;
}

/* An integer in [lo, hi]; 1 when absent, -1 when present but bad. */
static int
json_int(const cJSON *obj, const char *key, long long lo, long long hi,
    long long *out)
{
	double d;

	if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
		return 1;
	if (json_num(obj, key, &d) == -1 || d != floor(d) || d < (double)lo ||
	    d > (double)hi)
		return -1;
	*out = (long long)d;
	return 0;
}

/* codec_name: short, [A-Za-z0-9_-] only. */
static int
json_codec(const cJSON *st, char *buf, size_t size)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(st, "codec_name");
	const char *p;

	if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
		return -1;
	for (p = it->valuestring; *p != '\0'; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '_' && *p != '-')
			return -1;
	return strlcpy(buf, it->valuestring, size) < size ? 0 : -1;
}

static int
parse_format(const cJSON *root, struct probe_info *out, char *err,
    size_t errlen)
{
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	long long v;
	int r;

	if (!cJSON_IsObject(fmt)) {
		snprintf(err, errlen, "no \"format\" object");
		return -1;
	}
	if (json_num(fmt, "duration", &out->duration) == -1) {
		snprintf(err, errlen, "format duration missing or not a "
		    "number");
		return -1;
	}
	if (!(out->duration > 0.0) || out->duration > PROBE_MAX_DURATION) {
		snprintf(err, errlen, "format duration %g out of range "
		    "(0, %g]", out->duration, PROBE_MAX_DURATION);
		return -1;
	}
	if (json_int(fmt, "size", 0, LLONG_MAX / 2, &v) != 0) {
		snprintf(err, errlen, "format size missing or invalid");
		return -1;
	}
	out->size = v;
	if ((r = json_int(fmt, "bit_rate", 0, LLONG_MAX / 2, &v)) == -1) {
		snprintf(err, errlen, "format bit_rate invalid");
		return -1;
	}
	out->bitrate_bps = r == 0 ? v : 0;
	return 0;
}

static int
parse_video(const cJSON *st, int idx, struct probe_info *out, char *err,
    size_t errlen)
{
	long long w, h;

	if (json_codec(st, out->video_codec, sizeof(out->video_codec)) ==
	    -1) {
		snprintf(err, errlen, "stream %d: bad video codec_name", idx);
		return -1;
	}
	if (json_int(st, "width", 1, PROBE_MAX_DIM, &w) != 0 ||
	    json_int(st, "height", 1, PROBE_MAX_DIM, &h) != 0) {
		snprintf(err, errlen, "stream %d: video width/height missing "
		    "or out of range", idx);
		return -1;
	}
	out->width = (int)w;
	out->height = (int)h;
	return 0;
}

static int
parse_audio(const cJSON *st, int idx, struct probe_info *out, char *err,
    size_t errlen)
{
	long long rate, ch;

	if (json_codec(st, out->audio_codec, sizeof(out->audio_codec)) ==
	    -1) {
		snprintf(err, errlen, "stream %d: bad audio codec_name", idx);
		return -1;
	}
	if (json_int(st, "sample_rate", 1, PROBE_MAX_RATE, &rate) != 0 ||
	    json_int(st, "channels", 1, PROBE_MAX_CHANNELS, &ch) != 0) {
		snprintf(err, errlen, "stream %d: audio sample_rate/channels "
		    "missing or out of range", idx);
		return -1;
	}
	out->audio_rate = (int)rate;
	out->audio_channels = (int)ch;
	return 0;
}

static int
parse_streams(const cJSON *root, struct probe_info *out, char *err,
    size_t errlen)
{
	const cJSON *arr, *st, *type;
	int idx = 0;

	arr = cJSON_GetObjectItemCaseSensitive(root, "streams");
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "no \"streams\" array");
		return -1;
	}
	cJSON_ArrayForEach(st, arr) {
		type = cJSON_GetObjectItemCaseSensitive(st, "codec_type");
		if (!cJSON_IsObject(st) || !cJSON_IsString(type)) {
			snprintf(err, errlen, "stream %d: no codec_type", idx);
			return -1;
		}
		if (strcmp(type->valuestring, "video") == 0 &&
		    out->video_codec[0] == '\0') {
			if (parse_video(st, idx, out, err, errlen) == -1)
				return -1;
		} else if (strcmp(type->valuestring, "audio") == 0 &&
		    out->audio_codec[0] == '\0') {
			if (parse_audio(st, idx, out, err, errlen) == -1)
				return -1;
		}
		idx++;
	}
	if (out->video_codec[0] == '\0' && out->audio_codec[0] == '\0') {
		snprintf(err, errlen, "no audio or video stream");
		return -1;
	}
	return 0;
}

/*
 * Parse and validate ffprobe's JSON (<json> borrowed, NUL-terminated).
 * Returns 0 with <out> filled, or -1 with <err> describing the first
 * problem found (errno EINVAL).  <out> is zeroed first either way.
 */
int
probe_parse_json(const char *json, struct probe_info *out, char *err,
    size_t errlen)
{
	cJSON *root;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (json == NULL || json[0] == '\0') {
		snprintf(err, errlen, "empty ffprobe output");
		errno = EINVAL;
		return -1;
	}
	if ((root = cJSON_Parse(json)) == NULL) {
		snprintf(err, errlen, "ffprobe output is not valid JSON");
		errno = EINVAL;
		return -1;
	}
	if (!cJSON_IsObject(root))
		snprintf(err, errlen, "ffprobe output is not a JSON object");
	else if (parse_format(root, out, err, errlen) == 0 &&
	    parse_streams(root, out, err, errlen) == 0)
		r = 0;
	cJSON_Delete(root);
	if (r == -1) {
		memset(out, 0, sizeof(*out));
		errno = EINVAL;
	}
	return r;
}

/* One ffprobe run.  Returns 0, or -1 with err; *retry says if worth it. */
static int
probe_once(const char *path, struct progress *prog, struct probe_info *out,
    bool *retry, char *err, size_t errlen)
{
	struct subproc_result res;
	char arg[PATH_MAX + 8], why[256], line[200];
	char *argv[] = { "ffprobe", "-v", "error", "-print_format", "json",
	    "-show_format", "-show_streams", arg, NULL };
	int r = -1, saved;

	*retry = false;
	if ((size_t)snprintf(arg, sizeof(arg), "file:%s", path) >=
	    sizeof(arg)) {
		snprintf(err, errlen, "probe %s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (subproc_run(argv, PROBE_OUT_MAX, PROBE_TIMEOUT_MS, prog, false,
	    &res) == -1) {
		snprintf(err, errlen, "probe %s: cannot run ffprobe: %s", path,
		    strerror(errno));
		*retry = true;
		return -1;
	}
	if (res.stopped) {
		snprintf(err, errlen, "probe %s: stopped", path);
		subproc_result_clear(&res);
		errno = ECANCELED;
		return -1;
	}
	*retry = true;
	if (res.timed_out) {
		snprintf(err, errlen, "probe %s: ffprobe timed out after %d s",
		    path, PROBE_TIMEOUT_MS / 1000);
		errno = ETIMEDOUT;
	} else if (res.status != 0) {
		subproc_last_line(&res, line, sizeof(line));
		snprintf(err, errlen, "probe %s: ffprobe exited %d: %s", path,
		    res.status, line[0] != '\0' ? line : "no message");
		errno = EIO;
	} else if (res.outlen >= PROBE_OUT_MAX) {
		snprintf(err, errlen, "probe %s: ffprobe output over %d bytes",
		    path, PROBE_OUT_MAX);
		errno = EFBIG;
	} else if (probe_parse_json(res.out, out, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "probe %s: %s", path, why);
	} else
		r = 0;
	saved = errno;
	subproc_result_clear(&res);
	errno = saved;
	return r;
}

/*
 * Probe <path> (borrowed) and validate the answer into <out>.  <prog> (may
 * be NULL outside a child) is ticked at least every PROGRESS_TICK_MS until
 * this returns.  Returns 0, or -1 with <err> naming the file and the problem
 * and errno: ENOENT (no such file, or no ffprobe in PATH), ECANCELED
 * (the progress asked to stop: not retried), ETIMEDOUT, EIO (ffprobe
 * failed) or EINVAL (bad output).
 */
int
probe_file(const char *path, struct progress *prog, struct probe_info *out,
    char *err, size_t errlen)
{
	struct stat sb;
	bool retry;
	int attempt;

	memset(out, 0, sizeof(*out));
	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "probe %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "probe %s: not a regular file", path);
		errno = EINVAL;
		return -1;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt > 0 && progress_sleep(prog, PROBE_RETRY_MS) ==
		    -1) {
			snprintf(err, errlen, "probe %s: stopped", path);
			errno = ECANCELED;
			return -1;
		}
		if (probe_once(path, prog, out, &retry, err, errlen) == 0)
			return 0;
		if (!retry)
			break;
	}
	return -1;
}

static bool
codec_in(const char *codec, const char *a, const char *b)
{
	return strcmp(codec, a) == 0 || strcmp(codec, b) == 0;
}

/*
 * Apply the probe rules to <pi> (borrowed; NULL fails "exists").  A
 * negative <target> skips the duration rule; <min_bytes> <= 0 skips the
 * size rule.  Returns 0, or -1 with err naming the broken rule
 * and the values, e.g. "duration: 6.400 s vs target 6.000 s (off by
 * 0.400 s, limit 0.150 s)".
 */
int
probe_validate(const struct probe_info *pi, double target,
    long long min_bytes, char *err, size_t errlen)
{
	double off;

	if (pi == NULL)
		return errbuf_set(err, errlen, -1, "exists: no file or "
		    "no probe data");
	if (min_bytes > 0 && pi->size < min_bytes)
		return errbuf_set(err, errlen, -1, "min_size: %lld bytes "
		    "< minimum %lld bytes", pi->size, min_bytes);
	if (target >= 0) {
		if (!isfinite(pi->duration) || pi->duration <= 0)
			return errbuf_set(err, errlen, -1, "duration: "
			    "none measured (target %.3f s)", target);
		off = fabs(pi->duration - target);
		if (off > PROBE_DURATION_TOL + 1e-9)
			return errbuf_set(err, errlen, -1, "duration: "
			    "%.3f s vs target %.3f s (off by %.3f s, limit "
			    "%.3f s)", pi->duration, target, off,
			    PROBE_DURATION_TOL);
	}
	if (!codec_in(pi->video_codec, "h264", "hevc"))
		return errbuf_set(err, errlen, -1, "video_codec: %s "
		    "(want h264 or hevc)", pi->video_codec[0] != '\0' ?
		    pi->video_codec : "no video stream");
	if (!codec_in(pi->audio_codec, "aac", "mp3"))
		return errbuf_set(err, errlen, -1, "audio_codec: %s "
		    "(want aac or mp3)", pi->audio_codec[0] != '\0' ?
		    pi->audio_codec : "no audio stream");
	return 0;
}
