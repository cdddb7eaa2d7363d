/* SPDX-License-Identifier: ISC */
/*
 * mp4_test.c: unit tests for common/media/mp4.c.  Real files made by
 * ffmpeg at test time (h264/hevc, aac/mp3, faststart or not, audio or
 * video only, odd rates and durations, extra tracks) must read exactly as
 * ffprobe reads them: duration within 1 ms, same codecs, size, bitrate,
 * picture size and audio format.  Files it must leave to ffprobe
 * (fragmented, QuickTime, cover art) are refused, and so is everything
 * broken: every truncation, garbage, sizes that lie, deep nesting, box
 * floods, zero sizes where they are not allowed, bad edit lists.  Each
 * refusal must be a clean -1 with a reason, never a crash (run it under
 * ASan too).  Last, vindex_refresh over a mix of such files must index
 * what ffprobe says, falling back to it where mp4 refuses.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/mp4.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "common/media/vindex.h"
#include "tests/unit/test.h"

static char dir[PATH_MAX];	/* every file of this run */

struct gen {
	const char	*name;
	const char	*args;	/* ffmpeg arguments before the output */
	const char	*need;	/* encoders needed, space separated */
	const char	*vcodec, *acodec;
};

#define V	"-f lavfi -i color=c=gray:s=160x90:r=25:d=3 "
#define A	"-f lavfi -i sine=d=3 "
#define X264	"-c:v libx264 -preset ultrafast -pix_fmt yuv420p "
#define X265	"-c:v libx265 -preset ultrafast -x265-params log-level=error "

static const struct gen good[] = {
	{ "h264_aac_faststart.mp4", V A X264 "-c:a aac -shortest "
	    "-movflags +faststart", NULL, "h264", "aac" },
	{ "h264_aac_end.mp4", V A X264 "-c:a aac -shortest", NULL, "h264",
	    "aac" },
	{ "hevc_aac.mp4", V A X265 "-c:a aac -shortest", "libx265", "hevc",
	    "aac" },
	{ "hevc_hvc1_mp3.mp4", V A X265 "-tag:v hvc1 -c:a libmp3lame "
	    "-shortest -movflags +faststart", "libx265 libmp3lame", "hevc",
	    "mp3" },
	{ "audio_only.mp4", "-f lavfi -i sine=d=2.5:sample_rate=48000 -ac 2 "
	    "-c:a aac", NULL, "", "aac" },
	{ "video_only.mp4", "-f lavfi -i testsrc=s=176x144:r=30000/1001:"
	    "d=1.7 " X264, NULL, "h264", "" },
	{ "mp3_in_mp4.mp4", "-f lavfi -i sine=d=1.5:sample_rate=22050 "
	    "-c:a libmp3lame", "libmp3lame", "", "mp3" },
	{ "h264_mp3.mp4", V A X264 "-c:a libmp3lame -shortest", "libmp3lame",
	    "h264", "mp3" },
	{ "odd_durations.mp4", "-f lavfi -i testsrc=s=160x90:r=30000/1001:"
	    "d=2.345 -f lavfi -i sine=d=2.5:sample_rate=48000 " X264
	    "-c:a aac -ac 2 -shortest", NULL, "h264", "aac" },
	{ "no_edit_list.mp4", V A X264 "-c:a aac -use_editlist 0", NULL,
	    "h264", "aac" },
	{ "timecode_track.mp4", V A X264 "-c:a aac -timecode 01:00:00:00",
	    NULL, "h264", "aac" },
	{ "ts90k_6ch.mp4", V A X264 "-c:a aac -ac 6 -video_track_timescale "
	    "90000", NULL, "h264", "aac" },
	{ "render_like.mp4", "-f lavfi -i color=c=blue:s=320x180:r=25:d=2.2 "
	    "-f lavfi -i sine=d=2.2:sample_rate=22050 -c:v libx264 -preset "
	    "veryfast -tune stillimage -pix_fmt yuv420p -r 25 -c:a aac "
	    "-b:a 192k -ar 48000 -movflags +faststart -shortest -f mp4", NULL,
	    "h264", "aac" },
};

/* ffprobe reads these; mp4 must leave them to it. */
static const struct gen refused[] = {
	{ "fragmented.mp4", V A X264 "-c:a aac -shortest -movflags "
	    "+frag_keyframe+empty_moov", NULL, "h264", "aac" },
	{ "quicktime.mov", V A X264 "-c:a aac -shortest -f mov", NULL, "h264",
	    "aac" },
	{ "cover_art.mp4", V A "-i @DIR@/cover.png -map 0 -map 1 -map 2 "
	    "-c:v:0 libx264 -preset ultrafast -c:v:1 png "
	    "-disposition:v:1 attached_pic -c:a aac -shortest", NULL, "h264",
	    "aac" },
};

static bool
have_encoders(const char *need)
{
	char cmd[256], one[64];
	const char *p = need;
	size_t n;

	while (p != NULL && *p != '\0') {
		n = strcspn(p, " ");
		(void)snprintf(one, sizeof(one), "%.*s", (int)n, p);
		(void)snprintf(cmd, sizeof(cmd), "ffmpeg -hide_banner "
		    "-encoders 2>/dev/null | grep -q ' %s '", one);
		if (system(cmd) != 0)
			return false;
		p += n + (p[n] == ' ');
	}
	return true;
}

/* Make dir/<g->name> with ffmpeg; false (and a SKIP line) if it cannot. */
static bool
make_clip(const struct gen *g, char *path, size_t size)
{
	char cmd[PATH_MAX * 3], args[PATH_MAX * 2];
	const char *p;

	(void)fs_path(path, size, "%s/%s", dir, g->name);
	if (!have_encoders(g->need)) {
		printf("SKIP %s: ffmpeg has no %s\n", g->name, g->need);
		return false;
	}
	if ((p = strstr(g->args, "@DIR@")) != NULL)
		(void)snprintf(args, sizeof(args), "%.*s%s%s",
		    (int)(p - g->args), g->args, dir, p + 5);
	else
		(void)strlcpy(args, g->args, sizeof(args));
	(void)fs_path(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y %s '%s'",
	    args, path);
	if (system(cmd) != 0) {
		printf("FAIL setup: ffmpeg could not make %s\n", g->name);
		test_failed++;
		return false;
	}
	return true;
}

/* mp4 and ffprobe must agree on a file ffmpeg made. */
static void
cross_check(const struct gen *g, const char *path)
{
	struct probe_info m, f;
	char e1[512], e2[512];
	int r1, r2;

	r1 = mp4_file(path, &m, e1, sizeof(e1));
	r2 = probe_file(path, NULL, &f, e2, sizeof(e2));
	CHECK(g->name, r1 == 0, "mp4: %s", e1);
	CHECK(g->name, r2 == 0, "ffprobe: %s", e2);
	if (r1 != 0 || r2 != 0)
		return;
	CHECK(g->name, fabs(m.duration - f.duration) <= 0.001,
	    "duration %.6f, ffprobe %.6f", m.duration, f.duration);
	CHECK(g->name, strcmp(m.video_codec, f.video_codec) == 0 &&
	    strcmp(m.audio_codec, f.audio_codec) == 0 &&
	    strcmp(m.video_codec, g->vcodec) == 0 &&
	    strcmp(m.audio_codec, g->acodec) == 0,
	    "codecs %s/%s, ffprobe %s/%s", m.video_codec, m.audio_codec,
	    f.video_codec, f.audio_codec);
	CHECK(g->name, m.size == f.size && llabs(m.bitrate_bps -
	    f.bitrate_bps) <= 1, "size %lld bitrate %lld, ffprobe %lld %lld",
	    m.size, m.bitrate_bps, f.size, f.bitrate_bps);
	CHECK(g->name, m.width == f.width && m.height == f.height &&
	    m.audio_rate == f.audio_rate &&
	    m.audio_channels == f.audio_channels,
	    "%dx%d %d Hz %d ch, ffprobe %dx%d %d Hz %d ch", m.width,
	    m.height, m.audio_rate, m.audio_channels, f.width, f.height,
	    f.audio_rate, f.audio_channels);
	CHECK(g->name, mp4_codec_known(m.video_codec) &&
	    mp4_codec_known(m.audio_codec), "codec names not known");
}

static void
test_good(void)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (make_clip(&good[i], path, sizeof(path)))
			cross_check(&good[i], path);
}

static void
test_refused(void)
{
	struct probe_info m, f;
	char path[PATH_MAX], e1[512], e2[512];
	size_t i;
	int r1;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (!make_clip(&refused[i], path, sizeof(path)))
			continue;
		r1 = mp4_file(path, &m, e1, sizeof(e1));
		CHECK(refused[i].name, r1 == -1 && e1[0] != '\0' &&
		    m.duration == 0 && m.video_codec[0] == '\0',
		    "mp4 did not refuse it");
		CHECK(refused[i].name, probe_file(path, NULL, &f, e2,
		    sizeof(e2)) == 0, "ffprobe: %s", e2);
	}
}

/* A sample entry it does not name: its fourcc, not a known codec. */
static void
test_unknown_codec(void)
{
	static const struct gen g = { "mpeg4_part2.mp4", V A
	    "-c:v mpeg4 -c:a aac -shortest", NULL, "mpeg4", "aac" };
	struct probe_info m;
	char path[PATH_MAX], err[512];

	if (!make_clip(&g, path, sizeof(path)))
		return;
	CHECK(g.name, mp4_file(path, &m, err, sizeof(err)) == 0 &&
	    strcmp(m.video_codec, "mp4v") == 0 &&
	    !mp4_codec_known(m.video_codec),
	    "want fourcc mp4v, not a known codec: %s", m.video_codec);
}

/* ---- broken files ---- */

static unsigned char *
slurp(const char *name, size_t *len)
{
	char path[PATH_MAX], *buf;

	(void)fs_path(path, sizeof(path), "%s/%s", dir, name);
	if (fs_read_file(path, 16 << 20, &buf, len) == -1) {
		printf("FAIL setup: cannot read %s\n", path);
		test_failed++;
		return NULL;
	}
	return (unsigned char *)buf;
}

static int
probe_bytes(const void *buf, size_t len, struct probe_info *pi, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	(void)fs_path(path, sizeof(path), "%s/broken.mp4", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || close(fd) == -1) {
		perror(path);
		exit(2);
	}
	err[0] = '\0';
	return mp4_file(path, pi, err, errlen);
}

static void
expect_refused(const char *name, const void *buf, size_t len)
{
	struct probe_info pi;
	char err[512];
	int rc;

	rc = probe_bytes(buf, len, &pi, err, sizeof(err));
	CHECK(name, rc == -1 && err[0] != '\0' && pi.duration == 0 &&
	    pi.size == 0 && pi.video_codec[0] == '\0' &&
	    pi.audio_codec[0] == '\0', "rc %d, err \"%s\"", rc, err);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

#define NONE	SIZE_MAX

/* Offset of the <n>th box of <type> (its size field), or NONE. */
static size_t
box_at(const unsigned char *buf, size_t len, const char *type, int n)
{
	const unsigned char *p = buf, *hit;

	while ((hit = memmem(p, len - (size_t)(p - buf), type, 4)) != NULL) {
		if (hit - buf >= 4 && n-- == 0)
			return (size_t)(hit - buf) - 4;
		p = hit + 1;
	}
	return NONE;
}

static void
test_truncated(const char *name)
{
	unsigned char *buf;
	char what[128];
	size_t len, cut, step;

	if ((buf = slurp(name, &len)) == NULL)
		return;
	step = len / 200 + 1;
	for (cut = 0; cut < len; cut += cut < 64 ? 1 : step) {
		(void)snprintf(what, sizeof(what), "truncated %s at %zu", name,
		    cut);
		expect_refused(what, buf, cut);
	}
	expect_refused("truncated by one byte", buf, len - 1);
	free(buf);
}

static void
test_garbage(void)
{
	static const unsigned char ftyp[] = { 0, 0, 0, 16, 'f', 't', 'y', 'p',
	    'i', 's', 'o', 'm', 0, 0, 2, 0 };
	unsigned char buf[8192];
	size_t i;
	int round;

	srand(7);
	for (round = 0; round < 50; round++) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)rand();
		if (round % 2 == 1)
			memcpy(buf, ftyp, sizeof(ftyp));
		expect_refused("random bytes", buf, sizeof(buf));
	}
	memset(buf, 0, sizeof(buf));
	expect_refused("all zero bytes", buf, sizeof(buf));
	expect_refused("text", "this is not a video at all", 26);
	expect_refused("empty file", "", 0);
	expect_refused("ftyp only", ftyp, sizeof(ftyp));
}

/* Patch a copy of <name> with <fn> and expect a clean refusal. */
static void
patched(const char *what, const char *name,
    bool (*fn)(unsigned char *, size_t))
{
	unsigned char *buf;
	size_t len;

	if ((buf = slurp(name, &len)) == NULL)
		return;
	if (!fn(buf, len)) {
		printf("FAIL %s: the box to patch is missing\n", what);
		test_failed++;
	} else
		expect_refused(what, buf, len);
	free(buf);
}

#define PATCH(fname, type, n, body)					\
static bool								\
fname(unsigned char *b, size_t len)					\
{									\
	size_t at = box_at(b, len, (type), (n));			\
									\
	if (at == NONE)							\
		return false;						\
	body;								\
	return true;							\
}

PATCH(moov_past_eof, "moov", 0, put32(b + at, get32(b + at) + 1000000))
PATCH(mdat_past_eof, "mdat", 0, put32(b + at, 0xfffffff0))
PATCH(trak_past_moov, "trak", 0, put32(b + at, get32(b + at) + 64))
PATCH(trak_too_small, "trak", 0, put32(b + at, 4))
PATCH(trak_zero, "trak", 0, put32(b + at, 0))
PATCH(stsz_count, "stsz", 0, put32(b + at + 16, 0x7fffffff))
PATCH(stco_count, "stco", 0, put32(b + at + 12, 0x7fffffff))
PATCH(stco_outside, "stco", 0, put32(b + at + 16, 3))
PATCH(stsd_count, "stsd", 0, put32(b + at + 12, 16))
PATCH(mvhd_long, "mvhd", 0, put32(b + at + 24, get32(b + at + 24) * 100))
PATCH(elst_rate, "elst", 0, put32(b + at + 24, 0x20000))
PATCH(elst_empty, "elst", 0, put32(b + at + 20, 0xffffffff))
PATCH(elst_two, "elst", 0, put32(b + at + 12, 2))
PATCH(no_ftyp, "ftyp", 0, memcpy(b + at + 4, "free", 4))
PATCH(esds_len, "esds", 0, memcpy(b + at + 13, "\xff\xff\xff\xff", 4))
PATCH(hdlr_gone, "hdlr", 1, memcpy(b + at + 4, "xxxx", 4))
PATCH(hdlr_type, "hdlr", 1, memcpy(b + at + 16, "xxxx", 4))
PATCH(avcc_gone, "avcC", 0, memcpy(b + at + 4, "xxxx", 4))
PATCH(nested_trak, "mdia", 0, memcpy(b + at + 4, "trak", 4))

/* free + mdat of a non-faststart file become one 64-bit mdat header. */
static bool
mdat_wide(unsigned char *b, size_t len, uint64_t size)
{
	size_t fr = box_at(b, len, "free", 0), md = box_at(b, len, "mdat", 0);

	if (fr == NONE || md != fr + 8)
		return false;
	put32(b + fr, 1);
	memcpy(b + fr + 4, "mdat", 4);
	put64(b + fr + 8, size != 0 ? size : get32(b + md) + 8ULL);
	return true;
}

static bool
mdat_wide_huge(unsigned char *b, size_t len)
{
	return mdat_wide(b, len, 1ULL << 63);
}

static bool
mdat_wide_small(unsigned char *b, size_t len)
{
	return mdat_wide(b, len, 9);
}

static void
test_lies(void)
{
	const char *fs = "h264_aac_faststart.mp4", *end = "h264_aac_end.mp4";

	patched("moov claims past EOF", fs, moov_past_eof);
	patched("mdat claims past EOF", end, mdat_past_eof);
	patched("64-bit mdat size 2^63", end, mdat_wide_huge);
	patched("64-bit mdat size below its header", end, mdat_wide_small);
	patched("trak claims past moov", fs, trak_past_moov);
	patched("trak smaller than its header", fs, trak_too_small);
	patched("trak of size 0 inside moov", fs, trak_zero);
	patched("stsz sample count past the box", fs, stsz_count);
	patched("stco chunk count past the box", fs, stco_count);
	patched("chunk offset outside mdat", fs, stco_outside);
	patched("16 sample descriptions", fs, stsd_count);
	patched("mvhd duration 100x its tracks", fs, mvhd_long);
	patched("edit list at rate 2", fs, elst_rate);
	patched("empty edit", fs, elst_empty);
	patched("edit list of 2 entries", fs, elst_two);
	patched("no ftyp first", fs, no_ftyp);
	patched("esds descriptor length overflow", fs, esds_len);
	patched("track without hdlr", fs, hdlr_gone);
	patched("audio track with a damaged handler", fs, hdlr_type);
	patched("avc1 without avcC", fs, avcc_gone);
	patched("trak nested in a trak", fs, nested_trak);
}

/* Sizes that are allowed: 0 for the last top-level box, 64-bit. */
static bool
mdat_to_eof(unsigned char *b, size_t len)
{
	size_t at = box_at(b, len, "mdat", 0);

	if (at == NONE || at + get32(b + at) != len)
		return false;
	put32(b + at, 0);
	return true;
}

static bool
mdat_wide_ok(unsigned char *b, size_t len)
{
	return mdat_wide(b, len, 0);
}

static void
allowed(const char *what, const char *name,
    bool (*fn)(unsigned char *, size_t))
{
	struct probe_info a, b;
	unsigned char *buf;
	char err[512], path[PATH_MAX];
	size_t len;

	(void)fs_path(path, sizeof(path), "%s/%s", dir, name);
	if ((buf = slurp(name, &len)) == NULL ||
	    mp4_file(path, &a, err, sizeof(err)) == -1) {
		printf("FAIL %s: %s\n", what, buf == NULL ? "no file" : err);
		test_failed++;
		free(buf);
		return;
	}
	CHECK(what, fn(buf, len), "the box to patch is missing");
	CHECK(what, probe_bytes(buf, len, &b, err, sizeof(err)) == 0 &&
	    b.duration == a.duration && strcmp(b.video_codec,
	    a.video_codec) == 0 && strcmp(b.audio_codec, a.audio_codec) == 0,
	    "%s", err);
	free(buf);
}

/* A hand-made file: ftyp, then moov holding <body> (<n> bytes). */
static void
with_moov(const char *what, const unsigned char *body, size_t n)
{
	static const unsigned char ftyp[] = { 0, 0, 0, 16, 'f', 't', 'y', 'p',
	    'i', 's', 'o', 'm', 0, 0, 2, 0 };
	unsigned char *buf;

	if ((buf = malloc(n + 24)) == NULL)
		exit(2);
	memcpy(buf, ftyp, 16);
	put32(buf + 16, (uint32_t)(n + 8));
	memcpy(buf + 20, "moov", 4);
	memcpy(buf + 24, body, n);
	expect_refused(what, buf, n + 24);
	free(buf);
}

static void
test_nesting(void)
{
	static const char *types[] = { "trak", "mdia", "udta", "edts" };
	unsigned char *body;
	size_t i, k, depth = 20000, n = depth * 8;

	if ((body = malloc(MP4_MOOV_MAX + 4096)) == NULL)
		exit(2);
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		for (i = 0; i < depth; i++) {
			put32(body + i * 8, (uint32_t)(n - i * 8));
			memcpy(body + i * 8 + 4, i == 0 ? "trak" : types[k],
			    4);
		}
		with_moov("20000 nested boxes", body, n);
	}
	for (i = 0; i < 60000; i++) {
		put32(body + i * 8, 8);
		memcpy(body + i * 8 + 4, "free", 4);
	}
	with_moov("60000 empty boxes in moov", body, 60000 * 8);
	put32(body, MP4_MOOV_MAX + 8);
	memcpy(body + 4, "free", 4);
	memset(body + 8, 0, MP4_MOOV_MAX);
	with_moov("moov over the size limit", body, MP4_MOOV_MAX + 8);
	free(body);
}

/*
 * Random byte changes in the first 4 KiB (ftyp and a faststart moov),
 * read through mp4_fd: any answer must be a clean refusal or a sane
 * measurement.
 */
static void
test_mutations(const char *name)
{
	struct probe_info pi;
	unsigned char *buf, v;
	char path[PATH_MAX], err[512];
	size_t len, span, pos[4];
	int fd, rc, round, j, k, bad = 0, ok = 0;

	if ((buf = slurp(name, &len)) == NULL)
		return;
	(void)fs_path(path, sizeof(path), "%s/mutated.mp4", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len)
		exit(2);
	span = len < 4096 ? len : 4096;
	srand(11);
	for (round = 0; round < 3000; round++) {
		k = 1 + rand() % 4;
		for (j = 0; j < k; j++) {
			pos[j] = (size_t)rand() % span;
			v = (unsigned char)rand();
			if (pwrite(fd, &v, 1, (off_t)pos[j]) != 1)
				exit(2);
		}
		err[0] = '\0';
		rc = mp4_fd(fd, &pi, err, sizeof(err));
		if (rc == 0 && pi.duration > 0 && pi.size == (long long)len &&
		    (pi.video_codec[0] != '\0' || pi.audio_codec[0] != '\0'))
			ok++;
		else if (rc == 0 || err[0] == '\0' || pi.duration != 0 ||
		    pi.size != 0)
			bad++;
		for (j = 0; j < k; j++)
			if (pwrite(fd, buf + pos[j], 1, (off_t)pos[j]) != 1)
				exit(2);
	}
	CHECK("mutations", bad == 0, "%d of 3000 mutated files gave an "
	    "unclean answer (%d read fine)", bad, ok);
	(void)close(fd);
	free(buf);
}

/* ---- the refresh ---- */

struct put_tick {
	const char	*state;
	bool		 done;
};

/* A probe stage that indexes a file while the refresh is probing. */
static int
put_on_tick(void *arg, long long v)
{
	struct put_tick *pt = arg;
	struct vindex_item it;
	char err[256];

	(void)v;
	if (pt->done)
		return 0;
	pt->done = true;
	memset(&it, 0, sizeof(it));
	(void)strlcpy(it.key, "feedf00d", sizeof(it.key));
	(void)strlcpy(it.path, "video/final/V_OTHER_s1_feedf00d.mp4",
	    sizeof(it.path));
	it.duration = 1.5;
	if (vindex_put(pt->state, &it, 5000, err, sizeof(err)) != VINDEX_OK)
		printf("put during refresh: %s\n", err);
	return 0;
}

static void
add_final(const char *state, const char *name, const char *seg)
{
	char src[PATH_MAX], dst[PATH_MAX], sha8[ID_SHA8_LEN + 1], *buf;
	struct timespec ts[2];
	size_t len;

	(void)fs_path(src, sizeof(src), "%s/%s", dir, name);
	if (access(src, R_OK) == -1 || id_sha8_file(src, sha8) == -1 ||
	    fs_read_file(src, 16 << 20, &buf, &len) == -1)
		return;		/* a skipped clip */
	(void)fs_path(dst, sizeof(dst), "%s/video/final/V_RUN-9_%s_%s.mp4",
	    state, seg, sha8);
	if (fs_write_atomic(dst, buf, len) == -1)
		exit(2);
	free(buf);
	(void)clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 3600;
	ts[1] = ts[0];
	(void)utimensat(AT_FDCWD, dst, ts, 0);
}

/* Every entry must hold what ffprobe says of its file. */
static void
check_entries(const char *state)
{
	struct vindex idx;
	struct vindex_item *it;
	struct probe_info f;
	char path[PATH_MAX], err[512];
	size_t i;

	vindex_init(&idx);
	CHECK("refresh_index", vindex_load(state, &idx, err, sizeof(err)) ==
	    VINDEX_OK, "%s", err);
	for (i = 0; i < idx.nitems; i++) {
		it = &idx.items[i];
		if (strcmp(it->key, "feedf00d") == 0)
			continue;
		(void)fs_path(path, sizeof(path), "%s/%s", state, it->path);
		if (probe_file(path, NULL, &f, err, sizeof(err)) == -1) {
			CHECK("refresh_entry", false, "%s", err);
			continue;
		}
		CHECK("refresh_entry", fabs(it->duration - f.duration) <=
		    0.001 && strcmp(it->video_codec, f.video_codec) == 0 &&
		    strcmp(it->audio_codec, f.audio_codec) == 0 &&
		    llabs(it->bitrate_bps - f.bitrate_bps) <= 1,
		    "%s: %.6f %s/%s %lld, ffprobe %.6f %s/%s %lld", it->path,
		    it->duration, it->video_codec, it->audio_codec,
		    it->bitrate_bps, f.duration, f.video_codec, f.audio_codec,
		    f.bitrate_bps);
	}
	CHECK("refresh_put_kept", vindex_find(&idx, "feedf00d") != NULL,
	    "an entry written during the refresh was lost");
	vindex_clear(&idx);
}

static void
test_refresh(void)
{
	struct vindex_refresh_report r;
	struct put_tick pt = { NULL, false };
	struct progress prog = { put_on_tick, &pt, 0 };
	char state[PATH_MAX], path[PATH_MAX], err[512];
	int rc;

	(void)fs_path(state, sizeof(state), "%s/state", dir);
	(void)fs_path(path, sizeof(path), "%s/video/final", state);
	if (fs_mkdirs(path, 0700) == -1)
		exit(2);
	pt.state = state;
	add_final(state, "h264_aac_faststart.mp4", "a");
	add_final(state, "hevc_hvc1_mp3.mp4", "b");
	add_final(state, "audio_only.mp4", "c");
	add_final(state, "fragmented.mp4", "d");
	add_final(state, "mpeg4_part2.mp4", "e");
	(void)fs_path(path, sizeof(path), "%s/video/final/"
	    "V_RUN-9_f_0badf00d.mp4", state);
	(void)fs_write_atomic(path, "not a video", 11);
	memset(&r, 0, sizeof(r));
	rc = vindex_refresh(state, NULL, &prog, &r, err, sizeof(err));
	CHECK("refresh_mixed", rc == 1 && r.failed == 1 && r.probed >= 5 &&
	    pt.done, "rc %d probed %zu failed %zu: %s", rc, r.probed,
	    r.failed, rc < 0 ? err : "");
	vindex_refresh_report_clear(&r);
	check_entries(state);
	rc = vindex_refresh(state, NULL, NULL, &r, err, sizeof(err));
	CHECK("refresh_warm", rc == 1 && r.probed == 1 && r.unchanged >= 4,
	    "rc %d probed %zu unchanged %zu", rc, r.probed, r.unchanged);
	vindex_refresh_report_clear(&r);
	check_entries(state);
}

static bool
make_cover(void)
{
	char cmd[PATH_MAX + 128];

	(void)fs_path(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -f lavfi "
	    "-i color=c=red:s=64x64 -frames:v 1 '%s/cover.png'", dir);
	return system(cmd) == 0;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	(void)fs_path(dir, sizeof(dir), "/tmp/rv-mp4-XXXXXX");
	if (mkdtemp(dir) == NULL || !make_cover()) {
		printf("FAIL setup: temporary directory or ffmpeg\n");
		return 1;
	}
	test_good();
	test_refused();
	test_unknown_codec();
	test_truncated("h264_aac_faststart.mp4");
	test_truncated("h264_aac_end.mp4");
	test_garbage();
	test_lies();
	allowed("mdat of size 0 (to EOF)", "h264_aac_faststart.mp4",
	    mdat_to_eof);
	allowed("64-bit mdat size", "h264_aac_end.mp4", mdat_wide_ok);
	test_nesting();
	test_mutations("h264_aac_faststart.mp4");
	test_refresh();
	test_rm_tree(dir);
	return test_exit();
}
