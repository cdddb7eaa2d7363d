/* SPDX-License-Identifier: ISC */
/*
 * ffprobe_test.c: unit tests for common/media/ffprobe.c.  A table of ffprobe JSON
 * fixtures (good, garbage, truncated, missing or out-of-range fields) goes
 * through probe_parse_json(); then real files made with ffmpeg at test
 * time go through probe_file(), together with a missing file, a text file
 * and a name that looks like an option and a protocol.  Last, a slow fake
 * ffprobe first in PATH: the caller's progress is ticked at least every
 * PROGRESS_TICK_MS while it runs, and through the pause before the retry
 * of a failed probe, and a stop during that pause is obeyed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "tests/unit/test.h"

/*
 * A wait that keeps ticking never leaves a gap near its own length (the
 * pauses below are 850 ms and more); a loaded machine may delay a tick by
 * a few hundred ms, which is far inside the supervisor's liveness window.
 */
#define TICK_GAP_MAX	(5 * PROGRESS_TICK_MS)

#define GOOD_AV								\
	"{\"streams\":[{\"index\":0,\"codec_name\":\"h264\","		\
	"\"codec_type\":\"video\",\"width\":1920,\"height\":1080},"	\
	"{\"index\":1,\"codec_name\":\"aac\",\"codec_type\":\"audio\","	\
	"\"sample_rate\":\"48000\",\"channels\":2}],"			\
	"\"format\":{\"filename\":\"x.mp4\",\"duration\":\"6.040000\","\
	"\"size\":\"812345\",\"bit_rate\":\"1075953\"}}"

struct bad_case {
	const char	*name;
	const char	*json;
	const char	*want;	/* substring of the error */
};

static const struct bad_case bad_cases[] = {
	{ "empty", "", "empty" },
	{ "garbage", "this is not json at all", "not valid JSON" },
	{ "truncated", "{\"streams\":[{\"index\":0,\"codec_name\":\"h26",
	    "not valid JSON" },
	{ "array_root", "[1,2,3]", "not a JSON object" },
	{ "no_format", "{\"streams\":[]}", "\"format\"" },
	{ "no_duration", "{\"format\":{\"size\":\"10\"},\"streams\":[]}",
	    "duration missing" },
	{ "duration_na", "{\"format\":{\"duration\":\"N/A\",\"size\":\"1\"},"
	    "\"streams\":[]}", "duration missing" },
	{ "duration_neg", "{\"format\":{\"duration\":\"-2.5\",\"size\":\"1\"},"
	    "\"streams\":[]}", "out of range" },
	{ "duration_zero", "{\"format\":{\"duration\":\"0\",\"size\":\"1\"},"
	    "\"streams\":[]}", "out of range" },
	{ "duration_nan", "{\"format\":{\"duration\":\"nan\",\"size\":\"1\"},"
	    "\"streams\":[]}", "duration" },
	{ "duration_inf", "{\"format\":{\"duration\":\"1e400\","
	    "\"size\":\"1\"},\"streams\":[]}", "duration" },
	{ "duration_huge", "{\"format\":{\"duration\":\"999999\","
	    "\"size\":\"1\"},\"streams\":[]}", "out of range" },
	{ "duration_obj", "{\"format\":{\"duration\":{},\"size\":\"1\"},"
	    "\"streams\":[]}", "duration" },
	{ "no_size", "{\"format\":{\"duration\":\"1.0\"},\"streams\":[]}",
	    "size" },
	{ "size_frac", "{\"format\":{\"duration\":\"1.0\",\"size\":\"1.5\"},"
	    "\"streams\":[]}", "size" },
	{ "bad_bitrate", "{\"format\":{\"duration\":\"1.0\",\"size\":\"5\","
	    "\"bit_rate\":\"fast\"},\"streams\":[]}", "bit_rate" },
	{ "no_streams", "{\"format\":{\"duration\":\"1.0\",\"size\":\"5\"}}",
	    "\"streams\"" },
	{ "empty_streams", "{\"format\":{\"duration\":\"1.0\",\"size\":\"5\"},"
	    "\"streams\":[]}", "no audio or video" },
	{ "data_only", "{\"format\":{\"duration\":\"1.0\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_type\":\"data\"}]}", "no audio or video" },
	{ "stream_no_type", "{\"format\":{\"duration\":\"1\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_name\":\"aac\"}]}", "codec_type" },
	{ "codec_inject", "{\"format\":{\"duration\":\"1\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_type\":\"audio\",\"codec_name\":"
	    "\"aac; rm -rf\",\"sample_rate\":\"48000\",\"channels\":1}]}",
	    "codec_name" },
	{ "codec_long", "{\"format\":{\"duration\":\"1\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_type\":\"audio\",\"codec_name\":"
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    "\"sample_rate\":\"48000\",\"channels\":1}]}", "codec_name" },
	{ "width_zero", "{\"format\":{\"duration\":\"1\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_type\":\"video\",\"codec_name\":\"h264\","
	    "\"width\":0,\"height\":1080}]}", "width" },
	{ "no_height", "{\"format\":{\"duration\":\"1\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_type\":\"video\",\"codec_name\":\"h264\","
	    "\"width\":1920}]}", "height" },
	{ "no_rate", "{\"format\":{\"duration\":\"1\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_type\":\"audio\",\"codec_name\":\"aac\","
	    "\"channels\":2}]}", "sample_rate" },
	{ "channels_str", "{\"format\":{\"duration\":\"1\",\"size\":\"5\"},"
	    "\"streams\":[{\"codec_type\":\"audio\",\"codec_name\":\"aac\","
	    "\"sample_rate\":\"48000\",\"channels\":\"many\"}]}", "channels" },
};

static void
test_parse_good(void)
{
	struct probe_info pi;
	char err[256] = "";
	int r;

	r = probe_parse_json(GOOD_AV, &pi, err, sizeof(err));
	CHECK("parse_good_av", r == 0 && fabs(pi.duration - 6.04) < 1e-9 &&
	    pi.size == 812345 && pi.bitrate_bps == 1075953 &&
	    strcmp(pi.video_codec, "h264") == 0 &&
	    strcmp(pi.audio_codec, "aac") == 0 && pi.width == 1920 &&
	    pi.height == 1080 && pi.audio_rate == 48000 &&
	    pi.audio_channels == 2, "r=%d err=%s", r, err);

	r = probe_parse_json("{\"format\":{\"duration\":2.5,\"size\":\"44\"},"
	    "\"streams\":[{\"codec_type\":\"audio\",\"codec_name\":"
	    "\"pcm_s16le\",\"sample_rate\":\"48000\",\"channels\":1}]}", &pi,
	    err, sizeof(err));
	CHECK("parse_good_audio", r == 0 && pi.duration == 2.5 &&
	    pi.bitrate_bps == 0 && pi.video_codec[0] == '\0' &&
	    strcmp(pi.audio_codec, "pcm_s16le") == 0 && pi.width == 0 &&
	    pi.audio_channels == 1, "r=%d err=%s", r, err);
}

static void
test_parse_bad(void)
{
	struct probe_info pi;
	char err[256], name[64];
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		memset(&pi, 0x5a, sizeof(pi));
		r = probe_parse_json(bad_cases[i].json, &pi, err, sizeof(err));
		snprintf(name, sizeof(name), "parse_bad_%s", bad_cases[i].name);
		CHECK(name, r == -1 && strstr(err, bad_cases[i].want) != NULL &&
		    pi.duration == 0.0 && pi.size == 0,
		    "r=%d err=\"%s\" (want \"%s\")", r, err, bad_cases[i].want);
	}
}

static int
sh(const char *script)
{
	struct subproc_result res;
	char *argv[] = { "sh", "-c", (char *)script, NULL };

	if (subproc_run(argv, 0, 60000, NULL, false, &res) == -1)
		return -1;
	if (res.status != 0)
		printf("# command failed (%d): %s\n# %s\n", res.status, script,
		    res.errtail);
	return res.status == 0 ? 0 : -1;
}

static void
test_probe_real(const char *dir)
{
	struct probe_info pi;
	struct stat sb;
	char cmd[PATH_MAX * 2], path[PATH_MAX], err[512] = "";
	int r;

	snprintf(path, sizeof(path), "%s/av.mp4", dir);
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -f lavfi -i "
	    "testsrc=s=320x240:r=25 -f lavfi -i sine=f=440:r=44100 -t 1.2 "
	    "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "
	    "-ac 2 '%s'", path);
	if (sh(cmd) == -1) {
		CHECK("probe_real_make", 0, "ffmpeg could not make %s", path);
		return;
	}
	r = probe_file(path, NULL, &pi, err, sizeof(err));
	CHECK("probe_real_av", r == 0 && stat(path, &sb) == 0 &&
	    pi.size == (long long)sb.st_size && fabs(pi.duration - 1.2) < 0.1 &&
	    strcmp(pi.video_codec, "h264") == 0 &&
	    strcmp(pi.audio_codec, "aac") == 0 && pi.width == 320 &&
	    pi.height == 240 && pi.audio_rate == 44100 &&
	    pi.audio_channels == 2 && pi.bitrate_bps > 0,
	    "r=%d err=%s dur=%f v=%s a=%s %dx%d", r, err, pi.duration,
	    pi.video_codec, pi.audio_codec, pi.width, pi.height);

	/* A name that looks like an option and like a protocol. */
	snprintf(path, sizeof(path), "%s/-i:odd name.wav", dir);
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -f lavfi -i "
	    "sine=r=48000 -t 0.5 -c:a pcm_s16le 'file:%s'", path);
	if (sh(cmd) == -1) {
		CHECK("probe_odd_make", 0, "ffmpeg could not make %s", path);
		return;
	}
	if (chdir(dir) == -1) {
		CHECK("probe_odd_chdir", 0, "%s", strerror(errno));
		return;
	}
	r = probe_file("-i:odd name.wav", NULL, &pi, err, sizeof(err));
	CHECK("probe_odd_name", r == 0 && fabs(pi.duration - 0.5) < 0.01 &&
	    strcmp(pi.audio_codec, "pcm_s16le") == 0 &&
	    pi.audio_rate == 48000, "r=%d err=%s", r, err);
	if (chdir("/") == -1)
		printf("# chdir /: %s\n", strerror(errno));
}

static void
test_probe_bad_files(const char *dir)
{
	struct probe_info pi;
	char path[PATH_MAX], err[512] = "";
	FILE *fp;
	int r;

	snprintf(path, sizeof(path), "%s/missing.mp4", dir);
	errno = 0;
	r = probe_file(path, NULL, &pi, err, sizeof(err));
	CHECK("probe_missing", r == -1 && errno == ENOENT &&
	    strstr(err, path) != NULL, "r=%d errno=%d err=%s", r, errno, err);

	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	if ((fp = fopen(path, "w")) == NULL) {
		CHECK("probe_text_make", 0, "%s", strerror(errno));
		return;
	}
	fputs("hello, I am not a video\n", fp);
	fclose(fp);
	err[0] = '\0';
	r = probe_file(path, NULL, &pi, err, sizeof(err));
	CHECK("probe_text", r == -1 && errno == EIO &&
	    strstr(err, path) != NULL && strstr(err, "ffprobe exited") != NULL,
	    "r=%d errno=%d err=%s", r, errno, err);

	err[0] = '\0';
	r = probe_file(dir, NULL, &pi, err, sizeof(err));
	CHECK("probe_dir", r == -1 && strstr(err, "not a regular file") !=
	    NULL, "r=%d err=%s", r, err);
}

struct ticks {
	int		 calls, stop_after;
	int64_t		 last_ms, max_gap;
};

static int
tick_count(void *arg, long long value)
{
	struct ticks *t = arg;
	int64_t now = clock_mono_ms();

	(void)value;
	if (t->calls > 0 && now - t->last_ms > t->max_gap)
		t->max_gap = now - t->last_ms;
	t->last_ms = now;
	t->calls++;
	return t->stop_after > 0 && t->calls >= t->stop_after ? -1 : 0;
}

/* <dir>/bin/ffprobe: sleeps <secs>, then answers <json> or fails. */
static int
fake_ffprobe(const char *dir, const char *secs, const char *json)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/bin", dir);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bin/ffprobe", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fprintf(fp, "#!/bin/sh\nsleep %s\n", secs);
	if (json != NULL)
		fprintf(fp, "cat <<'EOF'\n%s\nEOF\n", json);
	else
		fprintf(fp, "echo 'fake: broken' >&2\nexit 1\n");
	fclose(fp);
	return chmod(path, 0700);
}

static void
test_probe_slow(const char *dir)
{
	struct ticks t = { 0 }, ts = { 0 };
	struct progress p = { tick_count, &t, 0 };
	struct progress ps = { tick_count, &ts, 0 };
	struct probe_info pi;
	char path[PATH_MAX], bin[PATH_MAX], err[512] = "";
	const char *old = getenv("PATH");
	char *saved = strdup(old != NULL ? old : "/usr/bin:/bin");
	int64_t t0, dt;
	FILE *fp;
	int r;

	snprintf(path, sizeof(path), "%s/slow.mp4", dir);
	snprintf(bin, sizeof(bin), "%s/bin:%s", dir, saved);
	if (saved == NULL || (fp = fopen(path, "w")) == NULL ||
	    fake_ffprobe(dir, "1.2", GOOD_AV) == -1) {
		CHECK("probe_slow_setup", 0, "%s", strerror(errno));
		free(saved);
		return;
	}
	fputs("not really a video\n", fp);
	fclose(fp);
	setenv("PATH", bin, 1);
	t0 = clock_mono_ms();
	r = probe_file(path, &p, &pi, err, sizeof(err));
	dt = clock_mono_ms() - t0;
	CHECK("probe_slow_ticks", r == 0 && dt >= 1200 && t.calls >= 10 &&
	    t.max_gap <= TICK_GAP_MAX && strcmp(pi.video_codec,
	    "h264") == 0, "r=%d err=%s dt=%lld calls=%d max_gap=%lld", r, err,
	    (long long)dt, t.calls, (long long)t.max_gap);

	/* Fails twice: the pause before the retry ticks too. */
	memset(&t, 0, sizeof(t));
	if (fake_ffprobe(dir, "0.3", NULL) == -1)
		CHECK("probe_retry_setup", 0, "%s", strerror(errno));
	t0 = clock_mono_ms();
	r = probe_file(path, &p, &pi, err, sizeof(err));
	dt = clock_mono_ms() - t0;
	CHECK("probe_retry_ticks", r == -1 && errno == EIO && dt >= 850 &&
	    t.calls >= 7 && t.max_gap <= TICK_GAP_MAX,
	    "r=%d err=%s dt=%lld calls=%d max_gap=%lld", r, err,
	    (long long)dt, t.calls, (long long)t.max_gap);

	/* A stop asked during the pause ends it: not retried. */
	if (fake_ffprobe(dir, "0", NULL) == -1)
		CHECK("probe_stop_setup", 0, "%s", strerror(errno));
	ts.stop_after = 2;
	r = probe_file(path, &ps, &pi, err, sizeof(err));
	CHECK("probe_retry_stop", r == -1 && errno == ECANCELED &&
	    strstr(err, "stopped") != NULL && ts.calls == 2,
	    "r=%d errno=%d err=%s calls=%d", r, errno, err, ts.calls);
	setenv("PATH", saved, 1);
	free(saved);
}

int
main(void)
{
	char dir[] = "/tmp/rv-probe-test.XXXXXX", cmd[PATH_MAX];

	test_parse_good();
	test_parse_bad();
	if (mkdtemp(dir) == NULL) {
		printf("FAIL mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_probe_real(dir);
	test_probe_bad_files(dir);
	test_probe_slow(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)sh(cmd);
	return test_exit();
}
