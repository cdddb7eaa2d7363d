/* SPDX-License-Identifier: ISC */
/*
 * mp4_entry.c: the sample descriptions of the MP4 reader, that is
 * what codec a track holds, with its picture size or audio format, named
 * the way ffprobe names them.
 *
 * Video: avc1/avc3 (with an avcC box) are "h264", hvc1/hev1 (with hvcC)
 * "hevc"; the size is the sample entry's.  Audio: mp4a is "aac" when its
 * esds gives object type 0x40 or 0x66-0x68, and then the AudioSpecific-
 * Config gives the rate and channels as ffprobe reports them (object
 * types 1-4 only: SBR and PS change what a decoder outputs, so they are
 * left to ffprobe); mp4a with 0x69/0x6b and .mp3 are "mp3", and ffprobe
 * takes their rate and channels from the first frame, so its header is
 * read too (layer III only).  Any other sample entry is named by its
 * fourcc ("vp09", "Opus"), which callers treat as unknown.  QuickTime
 * sound descriptions (version 1 and 2) are refused.
 *
 * Everything is read from the moov buffer through the bounds-checked
 * reader of mp4_box.h, except the 4-byte MPEG audio header.
 * Nothing here logs.
 *
 * Internal: mp4_video_entry, mp4_audio_entry.
 */
#include <stdio.h>
#include <string.h>

#include "common/media/mp4_box.h"
#include "common/media/ffprobe.h"

#define MP4_MAX_DIM		16384	/* as probe.c */
#define MP4_MAX_RATE		768000
#define MP4_MAX_CHANNELS	64

static void
codec_fourcc(uint32_t type, char *buf, size_t size)
{
	char t[5];
	int i;

	(void)mp4_cc(type, t);
	for (i = 0; i < 4; i++)
		if (!(t[i] >= 'a' && t[i] <= 'z') &&
		    !(t[i] >= 'A' && t[i] <= 'Z') &&
		    !(t[i] >= '0' && t[i] <= '9') && t[i] != '-')
			t[i] = '_';
	(void)strlcpy(buf, t, size);
}

/* The first child box of <type> in <r> from its offset: 1, 0 or -1. */
static int
child(struct movie *m, struct rd *r, uint32_t type, struct box *b)
{
	int rc;

	while ((rc = mp4_box_next(m, r, b)) == 1)
		if (b->type == type)
			return 1;
	return rc;
}

/*
 * Visual sample entry: reserved, data reference, pre_defined (24 bytes),
 * width, height, then 50 bytes to the child boxes.
 */
int
mp4_video_entry(struct movie *m, const struct trak *t, size_t i,
    struct probe_info *out)
{
	struct rd r = t->entry;
	struct box b;
	uint32_t need = 0;
	int rc;

	rd_skip(&r, 24);
	out->width = rd_u16(&r);
	out->height = rd_u16(&r);
	rd_skip(&r, 50);
	if (r.bad)
		return mp4_fail(m, "track %zu: visual sample entry "
		    "truncated", i);
	if (out->width < 1 || out->width > MP4_MAX_DIM || out->height < 1 ||
	    out->height > MP4_MAX_DIM)
		return mp4_fail(m, "track %zu: picture size %dx%d out "
		    "of range", i, out->width, out->height);
	if (t->entry_type == T("avc1") || t->entry_type == T("avc3")) {
		(void)strlcpy(out->video_codec, "h264",
		    sizeof(out->video_codec));
		need = T("avcC");
	} else if (t->entry_type == T("hvc1") || t->entry_type == T("hev1")) {
		(void)strlcpy(out->video_codec, "hevc",
		    sizeof(out->video_codec));
		need = T("hvcC");
	} else
		codec_fourcc(t->entry_type, out->video_codec,
		    sizeof(out->video_codec));
	if (need != 0 && (rc = child(m, &r, need, &b)) != 1)
		return rc == -1 ? -1 : mp4_fail(m, "track %zu: no %s "
		    "box", i, need == T("avcC") ? "avcC" : "hvcC");
	return 0;
}

/* An MPEG-4 descriptor: tag, then a length of up to four 7-bit bytes. */
static int
desc_next(struct rd *r, uint8_t *tag, struct rd *body)
{
	uint32_t len = 0;
	uint8_t c;
	int i;

	*tag = rd_u8(r);
	for (i = 0; i < 4; i++) {
		c = rd_u8(r);
		len = len << 7 | (c & 0x7f);
		if (!(c & 0x80))
			break;
	}
	if (r->bad || i == 4 || r->len - r->off < len)
		return -1;
	*body = (struct rd){ r->p + r->off, len, 0, false };
	r->off += len;
	return 0;
}

static uint32_t
bits(const struct rd *r, size_t *pos, int n, bool *bad)
{
	uint32_t v = 0;

	while (n-- > 0) {
		if (*pos / 8 >= r->len) {
			*bad = true;
			return 0;
		}
		v = v << 1 | ((r->p[*pos / 8] >> (7 - *pos % 8)) & 1);
		(*pos)++;
	}
	return v;
}

/* AudioSpecificConfig: object type 1-4, a rate, a channel layout. */
static int
aac_config(struct movie *m, size_t i, const struct rd *r,
    struct probe_info *out)
{
	static const int rates[13] = { 96000, 88200, 64000, 48000, 44100,
	    32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350 };
	static const int chans[16] = { 0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7,
	    8, 0, 8, 0 };
	size_t pos = 0;
	uint32_t aot, fi;
	bool bad = false;

	if ((aot = bits(r, &pos, 5, &bad)) == 31)
		aot = 32 + bits(r, &pos, 6, &bad);
	fi = bits(r, &pos, 4, &bad);
	out->audio_rate = fi == 15 ? (int)bits(r, &pos, 24, &bad) :
	    fi < 13 ? rates[fi] : 0;
	out->audio_channels = chans[bits(r, &pos, 4, &bad)];
	if (bad)
		return mp4_fail(m, "track %zu: AAC config truncated", i);
	if (aot < 1 || aot > 4)
		return mp4_fail(m, "track %zu: AAC object type %u not "
		    "supported", i, aot);
	if (out->audio_rate == 0 || out->audio_channels == 0)
		return mp4_fail(m, "track %zu: AAC config without a "
		    "plain rate and channel layout", i);
	return 0;
}

/* The header of the first MPEG audio frame: layer III, rate, mode. */
static int
mp3_frame(struct movie *m, const struct trak *t, size_t i,
    struct probe_info *out)
{
	static const int rates[3] = { 44100, 48000, 32000 };
	unsigned char h[4];
	int version, layer, sr;

	if (mp4_read_at(m, h, sizeof(h), t->chunk0) == -1)
		return -1;
	version = h[1] >> 3 & 3;	/* 0: 2.5, 2: MPEG-2, 3: MPEG-1 */
	layer = h[1] >> 1 & 3;		/* 1: layer III */
	sr = h[2] >> 2 & 3;
	if (h[0] != 0xff || (h[1] & 0xe0) != 0xe0 || version == 1 ||
	    layer != 1 || h[2] >> 4 == 15 || sr == 3)
		return mp4_fail(m, "track %zu: first frame is not an "
		    "MPEG layer III header", i);
	(void)strlcpy(out->audio_codec, "mp3", sizeof(out->audio_codec));
	out->audio_rate = rates[sr] >> (version == 3 ? 0 : version == 2 ?
	    1 : 2);
	out->audio_channels = h[3] >> 6 == 3 ? 1 : 2;
	return 0;
}

/* esds: ES descriptor, decoder config (object type), AAC config. */
static int
parse_esds(struct movie *m, const struct trak *t, size_t i, struct rd *r,
    struct probe_info *out)
{
	struct rd es, dc, dsi;
	uint8_t tag, flags, oti;
	int v;

	if (mp4_full(m, r, T("esds"), &v) == -1)
		return -1;
	if (desc_next(r, &tag, &es) == -1 || tag != 0x03)
		return mp4_fail(m, "track %zu: esds without an ES "
		    "descriptor", i);
	rd_skip(&es, 2);
	flags = rd_u8(&es);
	rd_skip(&es, flags & 0x80 ? 2 : 0);
	if (flags & 0x40)
		rd_skip(&es, rd_u8(&es));
	rd_skip(&es, flags & 0x20 ? 2 : 0);
	if (es.bad || desc_next(&es, &tag, &dc) == -1 || tag != 0x04)
		return mp4_fail(m, "track %zu: esds without a decoder "
		    "config", i);
	oti = rd_u8(&dc);
	rd_skip(&dc, 12);
	if (dc.bad)
		return mp4_fail(m, "track %zu: decoder config "
		    "truncated", i);
	if (oti == 0x69 || oti == 0x6b)
		return mp3_frame(m, t, i, out);
	if (oti != 0x40 && (oti < 0x66 || oti > 0x68))
		return mp4_fail(m, "track %zu: audio object type "
		    "0x%02x not supported", i, oti);
	(void)strlcpy(out->audio_codec, "aac", sizeof(out->audio_codec));
	if (desc_next(&dc, &tag, &dsi) == -1 || tag != 0x05)
		return oti == 0x40 ? mp4_fail(m, "track %zu: AAC "
		    "without its config", i) : 0;
	return aac_config(m, i, &dsi, out);
}

/*
 * Audio sample entry: reserved and data reference (8 bytes), version,
 * 6 bytes, channels, 6 bytes, rate (16.16), then the child boxes.
 */
int
mp4_audio_entry(struct movie *m, const struct trak *t, size_t i,
    struct probe_info *out)
{
	struct rd r = t->entry;
	struct box b;
	int version, rc;

	rd_skip(&r, 8);
	version = rd_u16(&r);
	rd_skip(&r, 6);
	out->audio_channels = rd_u16(&r);
	rd_skip(&r, 6);
	out->audio_rate = (int)(rd_u32(&r) >> 16);
	if (r.bad)
		return mp4_fail(m, "track %zu: audio sample entry "
		    "truncated", i);
	if (version != 0)
		return mp4_fail(m, "track %zu: QuickTime sound "
		    "description version %d", i, version);
	if (t->entry_type == T(".mp3"))
		rc = mp3_frame(m, t, i, out);
	else if (t->entry_type != T("mp4a")) {
		codec_fourcc(t->entry_type, out->audio_codec,
		    sizeof(out->audio_codec));
		rc = 0;
	} else if ((rc = child(m, &r, T("esds"), &b)) == 1)
		rc = parse_esds(m, t, i, &b.body, out);
	else if (rc == 0)
		rc = mp4_fail(m, "track %zu: mp4a without esds", i);
	if (rc == -1)
		return -1;
	if (out->audio_rate < 1 || out->audio_rate > MP4_MAX_RATE ||
	    out->audio_channels < 1 || out->audio_channels > MP4_MAX_CHANNELS)
		return mp4_fail(m, "track %zu: audio rate %d or "
		    "channels %d out of range", i, out->audio_rate,
		    out->audio_channels);
	return 0;
}
