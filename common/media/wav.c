/* SPDX-License-Identifier: ISC */
/*
 * wav.c: measure a PCM WAV file from its header, the way probe_file()
 * measures it with ffprobe, without starting ffprobe (a start costs
 * 60-200 ms of CPU: it loads some 200 shared libraries).
 *
 * The voice stage writes every finalized segment audio as a plain RIFF
 * WAVE file with ffmpeg, and the voice and render stages measure those
 * files several times; this reader answers for them.  It reads the RIFF
 * header and walks the chunks with pread, at most WAV_CHUNKS_MAX of them,
 * never trusting a size past the end of the file: "fmt " must come first
 * among the two it needs and describe integer PCM (format 1, 8/16/24/32
 * bits) or IEEE float (format 3, 32/64 bits), directly or through the
 * extensible header with every bit valid, mono to 8 channels, 1 Hz
 * to 384 kHz, with a block align and byte rate consistent with them;
 * "data" gives the length.  A data size past the end of the file (a
 * writer that never went back to fix it) or a partial last frame, a
 * compressed format (ADPCM, ...), RF64, odd or missing chunks: refused
 * with a reason, and the caller asks ffprobe.
 *
 * The answer matches ffprobe's: duration = whole frames / rate, in whole
 * microseconds rounded to the nearest; size the file size; bitrate_bps =
 * size * 8 / duration rounded; the codec named as ffmpeg names it
 * (pcm_s16le, pcm_u8, pcm_f32le, ...); no video.
 *
 * Nothing here logs or allocates.
 *
 * Public: wav_file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/core/errbuf.h"
#include "common/media/ffprobe.h"
#include "common/media/wav.h"

#define WAV_CHUNKS_MAX	64
#define WAV_RATE_MAX	384000
#define WAV_CHANNELS_MAX 8
#define WAV_FMT_PCM	1
#define WAV_FMT_FLOAT	3
#define WAV_FMT_EXTENSIBLE 0xfffe

struct wav_fmt {
	unsigned	format, channels, rate, byte_rate, align, bits;
};

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Exactly <n> bytes at <off>, or -1 (a short read counts as a failure). */
static int
read_at(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r = pread(fd, buf, n, off);

	if (r < 0 || (size_t)r != n)
		return -1;
	return 0;
}

/* ffmpeg's name of the sample format, or NULL when we do not take it. */
static const char *
codec_name(const struct wav_fmt *f)
{
	if (f->format == WAV_FMT_PCM)
		switch (f->bits) {
		case 8: return "pcm_u8";
		case 16: return "pcm_s16le";
		case 24: return "pcm_s24le";
		case 32: return "pcm_s32le";
		}
	if (f->format == WAV_FMT_FLOAT)
		switch (f->bits) {
		case 32: return "pcm_f32le";
		case 64: return "pcm_f64le";
		}
	return NULL;
}

/* The tail of the KSDATAFORMAT_SUBTYPE GUIDs after the format code. */
static const unsigned char ks_tail[14] = { 0x00, 0x00, 0x00, 0x00, 0x10,
    0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71 };

/*
 * The "fmt " chunk (<len> bytes of it in <b>, at most 40).  An extensible
 * header (format 0xfffe, as ffmpeg writes for more than 16 bits or two
 * channels) counts when its sub-format is PCM or float and every bit of
 * the container is valid.
 */
static int
fmt_parse(const unsigned char *b, uint32_t len, struct wav_fmt *f,
    char *err, size_t errlen)
{
	if (len < 16)
		return errbuf_set(err, errlen, -1, "fmt chunk of %u bytes",
		    (unsigned)len);
	f->format = le16(b);
	f->channels = le16(b + 2);
	f->rate = le32(b + 4);
	f->byte_rate = le32(b + 8);
	f->align = le16(b + 12);
	f->bits = le16(b + 14);
	if (f->format == WAV_FMT_EXTENSIBLE) {
		if (len < 40 || le16(b + 16) < 22 || le16(b + 18) != f->bits ||
		    memcmp(b + 26, ks_tail, sizeof(ks_tail)) != 0)
			return errbuf_set(err, errlen, -1, "an extensible "
			    "format that is not plain PCM");
		f->format = le16(b + 24);
	}
	if (codec_name(f) == NULL)
		return errbuf_set(err, errlen, -1, "format %u with %u bits is "
		    "not plain PCM", f->format, f->bits);
	if (f->channels < 1 || f->channels > WAV_CHANNELS_MAX ||
	    f->rate < 1 || f->rate > WAV_RATE_MAX)
		return errbuf_set(err, errlen, -1, "%u channels at %u Hz",
		    f->channels, f->rate);
	if (f->align != f->channels * f->bits / 8 ||
	    f->byte_rate != f->rate * f->align)
		return errbuf_set(err, errlen, -1, "block align %u and byte "
		    "rate %u do not fit %u channels of %u bits at %u Hz",
		    f->align, f->byte_rate, f->channels, f->bits, f->rate);
	return 0;
}

/* Fill <out> from the format and the data length. */
static void
fill(const struct wav_fmt *f, uint64_t data, long long size,
    struct probe_info *out)
{
	uint64_t frames = data / f->align;
	long long us = llround((double)frames * 1e6 / f->rate);

	memset(out, 0, sizeof(*out));
	out->duration = (double)us / 1e6;
	out->size = size;
	out->bitrate_bps = out->duration > 0 ?
	    llround((double)size * 8 / out->duration) : 0;
	(void)snprintf(out->audio_codec, sizeof(out->audio_codec), "%s",
	    codec_name(f));
	out->audio_rate = (int)f->rate;
	out->audio_channels = (int)f->channels;
}

/* Walk the chunks of the file open on <fd> (<size> bytes). */
static int
wav_fd(int fd, long long size, struct probe_info *out, char *err,
    size_t errlen)
{
	unsigned char h[12], fmtb[40];
	struct wav_fmt f;
	bool have_fmt = false;
	off_t off = 12;
	uint32_t len;
	int i;

	if (read_at(fd, h, 12, 0) == -1 || memcmp(h, "RIFF", 4) != 0 ||
	    memcmp(h + 8, "WAVE", 4) != 0)
		return errbuf_set(err, errlen, -1, "not a RIFF WAVE file");
	for (i = 0; i < WAV_CHUNKS_MAX; i++) {
		if (off + 8 > size || read_at(fd, h, 8, off) == -1)
			return errbuf_set(err, errlen, -1, "no data chunk");
		len = le32(h + 4);
		off += 8;
		if (memcmp(h, "data", 4) == 0) {
			if (!have_fmt)
				return errbuf_set(err, errlen, -1, "data "
				    "before fmt");
			if ((long long)len > size - off || len % f.align != 0)
				return errbuf_set(err, errlen, -1, "data of "
				    "%u bytes in %lld left, frames of %u",
				    (unsigned)len, size - off, f.align);
			fill(&f, len, size, out);
			return 0;
		}
		if (memcmp(h, "fmt ", 4) == 0) {
			if (have_fmt || len > 64 || read_at(fd, fmtb,
			    len < 40 ? len : 40, off) == -1)
				return errbuf_set(err, errlen, -1, "bad fmt "
				    "chunk");
			if (fmt_parse(fmtb, len < 40 ? len : 40, &f, err,
			    errlen) == -1)
				return -1;
			have_fmt = true;
		}
		if ((long long)len > size - off)
			return errbuf_set(err, errlen, -1, "chunk past the "
			    "end of the file");
		off += (off_t)len + (len & 1);
	}
	return errbuf_set(err, errlen, -1, "more than %d chunks",
	    WAV_CHUNKS_MAX);
}

/*
 * Measure the WAV file <path> (borrowed) into <out> as probe_file would.
 * Returns 0, or -1 with <err> naming the file and why it was refused and
 * <out> zeroed; the caller then asks ffprobe.
 */
int
wav_file(const char *path, struct probe_info *out, char *err,
    size_t errlen)
{
	char why[200];
	struct stat sb;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errbuf_set(err, errlen, -1, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		(void)close(fd);
		return errbuf_set(err, errlen, -1, "%s: not a regular file",
		    path);
	}
	rc = wav_fd(fd, (long long)sb.st_size, out, why, sizeof(why));
	(void)close(fd);
	if (rc == -1) {
		memset(out, 0, sizeof(*out));
		return errbuf_set(err, errlen, -1, "%s: %s", path, why);
	}
	return 0;
}
