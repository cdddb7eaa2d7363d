/* SPDX-License-Identifier: ISC */
/*
 * render_test.c: unit tests for workers/render/ffmpeg_render.c with real ffmpeg:
 * caption cleaning and wrapping, a render with an image and a hostile
 * caption under a state directory whose name needs filter-graph escaping,
 * a colour-card render, the probed result (1920x1080 h264 + aac, duration
 * within 0.15 s of the audio), the caption really drawn, bad images and
 * bad requests refused with nothing staged, and stop.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "workers/render/ffmpeg_render.h"
#include "tests/unit/test.h"

#define AUDIO_DUR	2.5
#define SHA8		"0badc0de"

static char top[64];		/* mkdtemp root, removed at the end */
static char state[256];		/* state dir inside it, with odd chars */
static char audio[320], image[320], notimage[320], video[320];

static int
sh(const char *script)
{
	struct subproc_result res;
	char *argv[] = { "sh", "-c", (char *)script, NULL };

	if (subproc_run(argv, 0, 60000, NULL, false, &res) == -1)
		return -1;
	if (res.status != 0)
		printf("# failed: %s\n# %s\n", script, res.errtail);
	return res.status == 0 ? 0 : -1;
}

static int
count_dir(const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", state, sub);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
count_lines(const char *s, int *maxcps)
{
	int lines = 1, cps = 0;

	*maxcps = 0;
	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			lines++;
			cps = 0;
			continue;
		}
		if (((unsigned char)*s & 0xc0) != 0x80 && ++cps > *maxcps)
			*maxcps = cps;
	}
	return lines;
}

static void
test_caption(void)
{
	char out[1024], big[2048];
	int lines, maxcps, r;

	r = render_caption_wrap("  Hello\tworld\n\x01 again  ", out,
	    sizeof(out));
	CHECK("cap_clean", r == 0 && strcmp(out, "Hello world again") == 0,
	    "\"%s\"", out);
	r = render_caption_wrap("caf\xc3\xa9 bad\xff\xfe byte", out,
	    sizeof(out));
	CHECK("cap_utf8", r == 0 && strcmp(out, "caf\xc3\xa9 bad?? byte") ==
	    0, "\"%s\"", out);
	r = render_caption_wrap(" \n\t ", out, sizeof(out));
	CHECK("cap_empty", r == 0 && out[0] == '\0', "\"%s\"", out);
	r = render_caption_wrap(NULL, out, sizeof(out));
	CHECK("cap_null", r == 0 && out[0] == '\0', "\"%s\"", out);
	r = render_caption_wrap("The quick brown fox jumps over the lazy dog "
	    "and keeps running through the whole field until the sun goes "
	    "down behind the hills and the night falls over the quiet "
	    "valley below", out, sizeof(out));
	lines = count_lines(out, &maxcps);
	CHECK("cap_wrap", r == 0 && lines == RENDER_CAPTION_LINES &&
	    maxcps <= RENDER_CAPTION_COLS && strstr(out, "\xe2\x80\xa6") !=
	    NULL && strncmp(out, "The quick brown fox", 19) == 0,
	    "lines=%d maxcps=%d \"%s\"", lines, maxcps, out);
	memset(big, 'x', 100);
	big[100] = '\0';
	r = render_caption_wrap(big, out, sizeof(out));
	lines = count_lines(out, &maxcps);
	CHECK("cap_long_word", r == 0 && lines == 3 && maxcps == 48 &&
	    strstr(out, "\xe2\x80\xa6") == NULL, "lines=%d maxcps=%d", lines,
	    maxcps);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = render_caption_wrap(big, out, sizeof(out));
	CHECK("cap_too_big", r == -1, "r=%d", r);
}

static int
make_inputs(void)
{
	char cmd[2048];

	snprintf(audio, sizeof(audio), "%s/audio/A_RAY-9_seg_12345678.wav",
	    state);
	snprintf(image, sizeof(image), "%s/product.png", top);
	snprintf(notimage, sizeof(notimage), "%s/fake.png", top);
	snprintf(video, sizeof(video), "%s/clip.jpg", top);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"%s/audio\" && "
	    "ffmpeg -nostdin -v error -y -f lavfi -i sine=f=330:r=48000 "
	    "-t %.1f -ac 1 -c:a pcm_s16le \"file:%s\" && "
	    "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=s=800x600 "
	    "-frames:v 1 \"%s\" && "
	    "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=s=320x240 "
	    "-t 1 -c:v libx264 -f mp4 \"%s\" && "
	    "printf 'just some text, not a picture\\n' > \"%s\"",
	    state, AUDIO_DUR, audio, image, video, notimage);
	return sh(cmd);
}

/* Probe the staged file and check everything the renderer promises. */
static void
check_staged(const char *name, const struct render_req *req)
{
	struct probe_info pi;
	struct stat sb;
	char rel[192], path[PATH_MAX], err[512] = "";
	int r;

	if (render_staging_path(req, rel, sizeof(rel)) == -1) {
		CHECK(name, 0, "no staging path");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", state, rel);
	r = probe_file(path, NULL, &pi, err, sizeof(err));
	CHECK(name, r == 0 && strcmp(pi.video_codec, "h264") == 0 &&
	    strcmp(pi.audio_codec, "aac") == 0 && pi.width == 1920 &&
	    pi.height == 1080 && fabs(pi.duration - AUDIO_DUR) <= 0.15,
	    "r=%d err=%s %s/%s %dx%d %.3f s", r, err, pi.video_codec,
	    pi.audio_codec, pi.width, pi.height, pi.duration);
	/* The report's low-bitrate gate (ctl/ctl.h) must not see a render. */
	CHECK("bitrate", r == 0 && pi.bitrate_bps >= 1000000, "%s: %lld "
	    "bit/s, under the 1 Mbps gate", name, pi.bitrate_bps);
	CHECK("staged_mode", stat(path, &sb) == 0 &&
	    (sb.st_mode & 0777) == 0600, "%s mode %o", name,
	    (unsigned)(sb.st_mode & 0777));
	CHECK("tmp_clean", count_dir("tmp") == 0, "%s left temporary files",
	    name);
}

/* Bottom band of the first frame as gray bytes, to see the caption. */
static int
bottom_band(const struct render_req *req, const char *raw)
{
	char rel[192], cmd[2048];

	if (render_staging_path(req, rel, sizeof(rel)) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -i "
	    "\"file:%s/%s\" -frames:v 1 -vf crop=1920:240:0:800 -f rawvideo "
	    "-pix_fmt gray \"%s\"", state, rel, raw);
	return sh(cmd);
}

struct seen {
	int		 changes;
	long long	 last;
};

static int
seen_tick(void *arg, long long v)
{
	struct seen *s = arg;

	if (v != s->last)
		s->changes++;
	s->last = v;
	return 0;
}

static void
test_renders(void)
{
	struct seen seen = { 0, 0 };
	struct progress p = { seen_tick, &seen, 0 };
	struct render_req req = { state, "RAY-9", "withimage", SHA8, audio,
	    image, "It's 50% off: [today], only; \\ %{localtime} \"deal\" "
	    "caf\xc3\xa9 \xe2\x9c\x93", NULL, NULL, 0, 0 };
	char err[512] = "", a[PATH_MAX], b[PATH_MAX], cmd[PATH_MAX * 2 + 16];
	int r;

	r = render_ffmpeg_segment(&req, &p, err, sizeof(err));
	CHECK("render_image", r == RENDER_OK, "r=%d err=%s", r, err);
	/* ffmpeg's out_time (microseconds) reached the progress. */
	CHECK("render_progress", seen.changes >= 2 &&
	    p.value >= (long long)(AUDIO_DUR * 1e6 * 0.9), "changes=%d "
	    "value=%lld", seen.changes, p.value);
	check_staged("render_image_probe", &req);

	req.segment_id = "nocaption";
	req.caption = NULL;
	r = render_ffmpeg_segment(&req, NULL, err, sizeof(err));
	CHECK("render_image_nocap", r == RENDER_OK, "r=%d err=%s", r, err);
	snprintf(a, sizeof(a), "%s/a.raw", top);
	snprintf(b, sizeof(b), "%s/b.raw", top);
	req.segment_id = "withimage";
	if (bottom_band(&req, a) == 0) {
		req.segment_id = "nocaption";
		if (bottom_band(&req, b) == 0) {
			snprintf(cmd, sizeof(cmd), "! cmp -s \"%s\" \"%s\"",
			    a, b);
			CHECK("caption_drawn", sh(cmd) == 0,
			    "the caption band is identical without caption");
		}
	}

	req.segment_id = "card";
	req.image_path = NULL;
	req.caption = "Colour card";
	req.card_color = "0x336699";
	r = render_ffmpeg_segment(&req, NULL, err, sizeof(err));
	CHECK("render_card", r == RENDER_OK, "r=%d err=%s", r, err);
	check_staged("render_card_probe", &req);
	CHECK("staged_count", count_dir("video/staging") == 3, "%d files",
	    count_dir("video/staging"));
}

static void
bad_case(const char *name, const struct render_req *req, const char *want)
{
	char err[512] = "";
	int before = count_dir("video/staging"), r;

	r = render_ffmpeg_segment(req, NULL, err, sizeof(err));
	CHECK(name, r == RENDER_ERR && strstr(err, want) != NULL &&
	    count_dir("video/staging") == before && count_dir("tmp") == 0,
	    "r=%d err=\"%s\" (want \"%s\")", r, err, want);
}

static void
test_bad(void)
{
	struct render_req req = { state, "RAY-9", "bad", SHA8, audio, NULL,
	    "x", NULL, NULL, 0, 0 };
	char want[512], missing[320];

	req.image_path = notimage;
	snprintf(want, sizeof(want), "image %s is not an image", notimage);
	bad_case("text_as_image", &req, want);
	req.image_path = video;
	snprintf(want, sizeof(want), "image %s is not an image", video);
	bad_case("video_as_image", &req, want);
	snprintf(missing, sizeof(missing), "%s/none.png", top);
	req.image_path = missing;
	bad_case("missing_image", &req, "does not exist");
	req.image_path = NULL;
	req.audio_path = image;
	bad_case("image_as_audio", &req, "audio");
	req.audio_path = audio;
	req.sha8 = "../../x";
	bad_case("bad_sha8", &req, "sha8");
	req.sha8 = SHA8;
	req.segment_id = "a/b";
	bad_case("bad_segment", &req, "segment_id");
	req.segment_id = "bad";
	req.card_color = "red:s=10x10";
	bad_case("bad_color", &req, "colour");
}

static int
stop_tick(void *arg, long long v)
{
	(void)v;
	return ++*(int *)arg > 2 ? -1 : 0;
}

static void
test_stop(void)
{
	struct render_req req = { state, "RAY-9", "stopped", SHA8, audio,
	    image, "stop me", NULL, NULL, 0, 0 };
	struct progress p;
	char err[512] = "";
	int calls = 0, before = count_dir("video/staging"), r;

	p.tick = stop_tick;
	p.arg = &calls;
	p.value = 0;
	r = render_ffmpeg_segment(&req, &p, err, sizeof(err));
	CHECK("stop", r == RENDER_STOPPED &&
	    count_dir("video/staging") == before && count_dir("tmp") == 0,
	    "r=%d err=%s", r, err);
}

/* A test frame size: the image is letterboxed to it and checked at it. */
static void
test_size(void)
{
	struct render_req req = { state, "RAY-9", "small", SHA8, audio, image,
	    "small caption", NULL, NULL, 320, 180 };
	struct seen seen = { 0, 0 };
	struct progress p = { seen_tick, &seen, 0 };
	struct probe_info pi;
	char err[512] = "", rel[192], path[PATH_MAX];
	int r;

	r = render_ffmpeg_segment(&req, &p, err, sizeof(err));
	CHECK("size_render", r == RENDER_OK, "r=%d err=%s", r, err);
	if (r != RENDER_OK || render_staging_path(&req, rel, sizeof(rel)) == -1)
		return;
	snprintf(path, sizeof(path), "%s/%s", state, rel);
	r = probe_file(path, NULL, &pi, err, sizeof(err));
	CHECK("size_probed", r == 0 && strcmp(pi.video_codec, "h264") == 0 &&
	    pi.width == 320 && pi.height == 180 &&
	    fabs(pi.duration - AUDIO_DUR) <= 0.15, "r=%d err=%s %dx%d %.3f s",
	    r, err, pi.width, pi.height, pi.duration);
}

int
main(void)
{
	char cmd[128];

	snprintf(top, sizeof(top), "/tmp/rv-render-test.XXXXXX");
	if (mkdtemp(top) == NULL) {
		printf("FAIL mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	/* Every character the filter graph would choke on, unescaped. */
	snprintf(state, sizeof(state), "%s/st:a't,e[1];x", top);
	test_caption();
	if (mkdir(state, 0700) == -1 || make_inputs() == -1)
		CHECK("setup", 0, "cannot make inputs under %s", state);
	else {
		test_renders();
		test_bad();
		test_stop();
		test_size();
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	(void)sh(cmd);
	return test_exit();
}
