/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_MP4_BOX_H
#define RV_COMMON_MEDIA_MP4_BOX_H

/*
 * Internals shared by the two files of the MP4 reader: mp4.c (the
 * file and box structure, the checks, the public functions) and
 * mp4_entry.c (sample descriptions: codec, picture, audio format).
 * Nothing else includes it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct probe_info;

#define MP4_BOXES_MAX	20000	/* boxes looked at inside moov */
#define MP4_MDAT_MAX	16
#define MP4_TRAK_MAX	32

/* A box type from its four characters: T("moov"). */
#define T(s)	((uint32_t)(unsigned char)(s)[0] << 24 |		\
		    (uint32_t)(unsigned char)(s)[1] << 16 |		\
		    (uint32_t)(unsigned char)(s)[2] << 8 |		\
		    (uint32_t)(unsigned char)(s)[3])

/* A bounds-checked big-endian reader over bytes in memory. */
struct rd {
	const unsigned char *p;
	size_t		 len, off;
	bool		 bad;	/* a read went past the end */
};

struct box {
	uint32_t	 type;
	struct rd	 body;
};

struct trak {
	uint32_t	 handler;
	uint32_t	 mdhd_ts;
	uint64_t	 tkhd_dur, mdhd_dur, edit_dur, nsamples, sbytes;
	uint64_t	 nchunks, chunk0;	/* chunk count, first offset */
	int64_t		 edit_media;
	bool		 tkhd, edts, mdhd, hdlr, stsd, stsz, stco;
	uint32_t	 entry_type;	/* the one sample description */
	struct rd	 entry;		/* its body, inside the moov buffer */
};

struct movie {
	int		 fd;
	uint64_t	 fsize, mdat_bytes;
	uint64_t	 mdat[MP4_MDAT_MAX][2];	/* payloads [start, end) */
	size_t		 nmdat;
	uint64_t	 moov_off, moov_len;
	bool		 moov, mvhd;
	uint32_t	 ts;
	uint64_t	 dur;
	struct trak	 trak[MP4_TRAK_MAX];
	size_t		 ntrak, nboxes;
	char		*err;
	size_t		 errlen;
};

static inline uint64_t
rd_n(struct rd *r, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return 0;
	}
	for (i = 0; i < n; i++)
		v = v << 8 | r->p[r->off + i];
	r->off += n;
	return v;
}

#define rd_u8(r)	((uint8_t)rd_n((r), 1))
#define rd_u16(r)	((uint16_t)rd_n((r), 2))
#define rd_u32(r)	((uint32_t)rd_n((r), 4))
#define rd_u64(r)	rd_n((r), 8)

static inline void
rd_skip(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n)
		r->bad = true;
	else
		r->off += n;
}

/* mp4.c */

/* Put the reason into m->err; returns -1 with errno EINVAL. */
int	mp4_fail(struct movie *m, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* The printable form of a box type, for messages. */
const char *mp4_cc(uint32_t type, char buf[5]);

/*
 * The next child box of <r>.  Returns 1 with <b> set, 0 at the end, -1
 * when a size lies.
 */
int	mp4_box_next(struct movie *m, struct rd *r, struct box *b);

/* Read exactly <len> bytes at <off> of the file.  Returns 0 or -1. */
int	mp4_read_at(struct movie *m, void *buf, size_t len,
	    uint64_t off);

/* Version (0 or 1) and flags of a full box.  Returns 0 or -1. */
int	mp4_full(struct movie *m, struct rd *r, uint32_t type,
	    int *version);

/* mp4_entry.c */

/* Codec, picture size, audio format of track <i> into <out>. */
int	mp4_video_entry(struct movie *m, const struct trak *t, size_t i,
	    struct probe_info *out);
int	mp4_audio_entry(struct movie *m, const struct trak *t, size_t i,
	    struct probe_info *out);

#endif
