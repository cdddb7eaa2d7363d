/* SPDX-License-Identifier: ISC */
/*
 * wav_test.c: the WAV header reader (common/media/wav.c) against ffprobe
 * on files ffmpeg and espeak-ng make at test time (the formats the voice
 * stage writes and others, the extensible header included), its refusals
 * of files it must leave to ffprobe (compressed audio, data past the end,
 * no fmt, not RIFF, a chunk bomb), and media_measure(), which answers from the header when
 * it can and asks ffprobe otherwise: the same answer either way.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/media/ffprobe.h"
#include "common/media/wav.h"
#include "tests/unit/test.h"
#include "workers/skeleton/media_tool.h"

static char dir[PATH_MAX];

struct gen {
	const char	*name;
	const char	*args;	/* ffmpeg arguments before the output */
	const char	*codec;
};

#define SINE(d, r) "-f lavfi -i sine=frequency=440:duration=" d \
	":sample_rate=" r " "

static const struct gen good[] = {
	{ "voice.wav", SINE("1.2345", "22050") "-ar 48000 -ac 1 -c:a "
	    "pcm_s16le -fflags +bitexact -flags:a +bitexact", "pcm_s16le" },
	{ "stereo.wav", SINE("0.7", "44100") "-ac 2 -c:a pcm_s16le",
	    "pcm_s16le" },
	{ "u8.wav", SINE("2", "8000") "-c:a pcm_u8", "pcm_u8" },
	{ "s24.wav", SINE("1.01", "48000") "-c:a pcm_s24le", "pcm_s24le" },
	{ "s32.wav", SINE("0.333", "16000") "-c:a pcm_s32le", "pcm_s32le" },
	{ "f32.wav", SINE("3", "24000") "-c:a pcm_f32le", "pcm_f32le" },
	{ "f64.wav", SINE("0.05", "96000") "-c:a pcm_f64le", "pcm_f64le" },
	{ "odd_rate.wav", SINE("1.11111", "11025") "-c:a pcm_s16le",
	    "pcm_s16le" },
	/* More than 16 bits or 2 channels: the extensible header. */
	{ "six_ch.wav", SINE("0.5", "48000") "-ac 6 -c:a pcm_s24le",
	    "pcm_s24le" },
};

static bool
make(const char *name, const char *args, char *path, size_t size)
{
	char cmd[PATH_MAX * 2];

	(void)fs_path(path, size, "%s/%s", dir, name);
	(void)fs_path(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y %s '%s'",
	    args, path);
	if (system(cmd) != 0) {
		printf("FAIL setup: ffmpeg could not make %s\n", name);
		test_failed++;
		return false;
	}
	return true;
}

/* The reader and ffprobe must agree on <path>. */
static void
cross_check(const char *name, const char *path, const char *codec)
{
	struct probe_info w, f;
	char e1[512], e2[512];
	int r1, r2;

	r1 = wav_file(path, &w, e1, sizeof(e1));
	r2 = probe_file(path, NULL, &f, e2, sizeof(e2));
	CHECK(name, r1 == 0, "wav: %s", e1);
	CHECK(name, r2 == 0, "ffprobe: %s", e2);
	if (r1 != 0 || r2 != 0)
		return;
	CHECK(name, fabs(w.duration - f.duration) < 0.0000005,
	    "duration %.6f, ffprobe %.6f", w.duration, f.duration);
	CHECK(name, strcmp(w.audio_codec, f.audio_codec) == 0 &&
	    (codec == NULL || strcmp(w.audio_codec, codec) == 0) &&
	    w.video_codec[0] == '\0' && f.video_codec[0] == '\0',
	    "codec %s/%s, ffprobe %s/%s", w.video_codec, w.audio_codec,
	    f.video_codec, f.audio_codec);
	CHECK(name, w.size == f.size && llabs(w.bitrate_bps -
	    f.bitrate_bps) <= 1, "size %lld bitrate %lld, ffprobe %lld %lld",
	    w.size, w.bitrate_bps, f.size, f.bitrate_bps);
	CHECK(name, w.audio_rate == f.audio_rate &&
	    w.audio_channels == f.audio_channels, "%d Hz %d ch, ffprobe "
	    "%d Hz %d ch", w.audio_rate, w.audio_channels, f.audio_rate,
	    f.audio_channels);
}

static void
test_good(void)
{
	char path[PATH_MAX], cmd[PATH_MAX * 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (make(good[i].name, good[i].args, path, sizeof(path)))
			cross_check(good[i].name, path, good[i].codec);
	/* What the speech engine writes. */
	(void)fs_path(path, sizeof(path), "%s/espeak.wav", dir);
	(void)fs_path(cmd, sizeof(cmd), "espeak-ng -w '%s' 'Hello and "
	    "welcome to the test.' 2>/dev/null", path);
	if (system(cmd) == 0)
		cross_check("espeak", path, "pcm_s16le");
	else
		printf("SKIP espeak: espeak-ng did not run\n");
}

/* Write <n> bytes of <b> to dir/<name>. */
static void
put(const char *name, const void *b, size_t n, char *path, size_t size)
{
	int fd;

	(void)fs_path(path, size, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, b, n) != (ssize_t)n)
		exit(2);
	(void)close(fd);
}

static void
le32_put(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Files the reader must refuse (and the caller then asks ffprobe). */
static void
test_refused(void)
{
	static const unsigned char hdr[44] = "RIFF\x24\x10\0\0WAVEfmt "
	    "\x10\0\0\0\x01\0\x01\0\x80\xbb\0\0\0\x77\x01\0\x02\0\x10\0"
	    "data\0\x10\0\0";
	unsigned char b[4096 + 44], bomb[12 + 200 * 8];
	struct probe_info pi;
	char path[PATH_MAX], err[512];
	size_t i;
	int rc;

	memset(b, 0, sizeof(b));
	memcpy(b, hdr, sizeof(hdr));
	put("plain.wav", b, sizeof(b), path, sizeof(path));
	rc = wav_file(path, &pi, err, sizeof(err));
	CHECK("handmade", rc == 0 && fabs(pi.duration - 2048.0 / 48000) <
	    1e-6 && pi.audio_rate == 48000, "rc %d (%s) %.6f", rc, err,
	    pi.duration);
	put("short.wav", b, sizeof(b) - 2, path, sizeof(path));
	rc = wav_file(path, &pi, err, sizeof(err));
	CHECK("data_past_end", rc == -1 && strstr(err, "short.wav") != NULL &&
	    strstr(err, "data of") != NULL && pi.duration == 0,
	    "rc %d: %s", rc, err);
	memcpy(b, "RIFX", 4);
	put("rifx.wav", b, sizeof(b), path, sizeof(path));
	rc = wav_file(path, &pi, err, sizeof(err));
	CHECK("not_riff", rc == -1 && strstr(err, "not a RIFF WAVE") != NULL,
	    "rc %d: %s", rc, err);
	memcpy(b, "RIFF", 4);
	memcpy(b + 12, "junk", 4);
	put("nofmt.wav", b, sizeof(b), path, sizeof(path));
	rc = wav_file(path, &pi, err, sizeof(err));
	CHECK("data_before_fmt", rc == -1 && strstr(err, "data before fmt") !=
	    NULL, "rc %d: %s", rc, err);
	memcpy(b + 12, "fmt ", 4);
	b[24] = 0x44;	/* byte rate no longer rate x align */
	put("rate.wav", b, sizeof(b), path, sizeof(path));
	rc = wav_file(path, &pi, err, sizeof(err));
	CHECK("inconsistent_rate", rc == -1 && strstr(err, "byte rate") !=
	    NULL, "rc %d: %s", rc, err);
	memcpy(bomb, "RIFF\0\0\0\0WAVE", 12);
	for (i = 0; i < 200; i++) {
		memcpy(bomb + 12 + i * 8, "LIST", 4);
		le32_put(bomb + 16 + i * 8, 0);
	}
	put("bomb.wav", bomb, sizeof(bomb), path, sizeof(path));
	rc = wav_file(path, &pi, err, sizeof(err));
	CHECK("chunk_bomb", rc == -1 && strstr(err, "chunks") != NULL,
	    "rc %d: %s", rc, err);
	rc = wav_file(dir, &pi, err, sizeof(err));
	CHECK("directory", rc == -1, "a directory was measured");
	/* Compressed audio in a WAV: ffprobe's to read. */
	if (make("adpcm.wav", SINE("0.5", "48000") "-c:a adpcm_ms", path,
	    sizeof(path))) {
		rc = wav_file(path, &pi, err, sizeof(err));
		CHECK("compressed", rc == -1 && strstr(err, "not plain PCM") !=
		    NULL, "rc %d: %s", rc, err);
	}
}

/* media_measure: the header when it can, ffprobe when it cannot. */
static void
test_measure(void)
{
	struct probe_info m, f;
	char path[PATH_MAX], err[512];
	int rc;

	if (!make("m.wav", SINE("0.9", "22050") "-c:a pcm_s16le", path,
	    sizeof(path)))
		return;
	rc = media_measure(path, NULL, &m, err, sizeof(err));
	CHECK("measure_wav", rc == MEDIA_OK && probe_file(path, NULL, &f, err,
	    sizeof(err)) == 0 && fabs(m.duration - f.duration) < 1e-6,
	    "rc %d: %s", rc, err);
	if (!make("m2.wav", SINE("0.9", "22050") "-c:a adpcm_ms", path,
	    sizeof(path)))
		return;
	rc = media_measure(path, NULL, &m, err, sizeof(err));
	CHECK("measure_fallback", rc == MEDIA_OK &&
	    strcmp(m.audio_codec, "adpcm_ms") == 0 && fabs(m.duration - 0.9) <
	    0.05, "rc %d (%s) %s %.6f", rc, err, m.audio_codec, m.duration);
	(void)fs_path(path, sizeof(path), "%s/none.wav", dir);
	rc = media_measure(path, NULL, &m, err, sizeof(err));
	CHECK("measure_missing", rc == MEDIA_ERR, "a missing file measured");
}

int
main(void)
{
	char tmpl[] = "/tmp/rv-wav.XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	(void)strlcpy(dir, tmpl, sizeof(dir));
	test_good();
	test_refused();
	test_measure();
	test_rm_tree(dir);
	return test_exit();
}
