/* SPDX-License-Identifier: ISC */
/*
 * mp4.c: measure an MP4 (ISO BMFF) file from its boxes, the way
 * probe_file() measures it with ffprobe, at a tiny fraction of the cost.
 *
 * The reader is strict and small.  It walks the top-level boxes with
 * pread (16 bytes each), never trusting a size past the end of the file
 * or of the parent box (32- and 64-bit sizes; size 0, "to the end of the
 * file", only at the top level), then reads the one moov box (at the
 * start or at the end of the file, at most MP4_MOOV_MAX bytes) and
 * parses it in memory with bounds-checked readers.  It descends only the
 * boxes it needs, through fixed tables (moov, trak, edts, mdia, minf,
 * stbl), so nesting cannot run deep, and counts every box it looks at,
 * so a hostile file cannot make it work long.  At most MP4_READ_MAX
 * bytes are read per file.
 *
 * The answer matches ffprobe's for the files it accepts: the duration is
 * the movie header's (ffprobe's format duration, in whole microseconds
 * rounded as ffmpeg rounds them), size the file size, bitrate_bps = size
 * * 8 / duration, and the first video and first audio track give codecs,
 * picture size and audio format (see mp4_entry.c).
 *
 * Anything it does not fully understand is refused with -1 and a reason,
 * so the caller can fall back to ffprobe: no ftyp first, fragmented
 * files (mvex, moof), a missing or zero duration, tracks without the
 * boxes they need, several sample descriptions, edit lists other than
 * one plain 1:1 window of the media, track and movie durations that
 * disagree, chunks outside the media data, more sample bytes than media
 * data, tracks that are neither audio nor video but hold other than
 * timecode or text, cover art (ffprobe lists it as a video stream), a
 * moov over the limit, stray bytes.  It never decodes media data, so it
 * does not prove that the samples play.
 *
 * Nothing here logs or allocates beyond the moov buffer.  The internals
 * shared with mp4_entry.c are in mp4_box.h.
 *
 * Public: mp4_file, mp4_fd, mp4_codec_known.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/errbuf.h"
#include "common/media/mp4.h"
#include "common/media/mp4_box.h"
#include "common/media/ffprobe.h"

#define MP4_MAX_DURATION 86400ULL	/* seconds, as probe.c */

/* ---- internals shared with mp4_entry.c (mp4_box.h) ---- */

int
mp4_fail(struct movie *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)errbuf_vset(m->err, m->errlen, -1, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

const char *
mp4_cc(uint32_t t, char buf[5])
{
	int i;

	for (i = 0; i < 4; i++) {
		buf[i] = (char)(t >> (24 - 8 * i));
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '?';
	}
	buf[4] = '\0';
	return buf;
}

int
mp4_full(struct movie *m, struct rd *r, uint32_t type, int *version)
{
	char c[5];

	*version = rd_u8(r);
	rd_skip(r, 3);
	if (r->bad)
		return mp4_fail(m, "'%s' box truncated",
		    mp4_cc(type, c));
	if (*version > 1)
		return mp4_fail(m, "'%s' box of version %d",
		    mp4_cc(type, c), *version);
	return 0;
}

int
mp4_box_next(struct movie *m, struct rd *r, struct box *b)
{
	size_t start = r->off, left = r->len - r->off, hdr = 8;
	uint64_t size;
	char c[5];

	if (left == 0)
		return 0;
	if (left < 8)
		return mp4_fail(m, "%zu stray bytes at the end of a box",
		    left);
	if (++m->nboxes > MP4_BOXES_MAX)
		return mp4_fail(m, "more than %d boxes", MP4_BOXES_MAX);
	size = rd_u32(r);
	b->type = rd_u32(r);
	if (size == 1) {
		size = rd_u64(r);
		hdr = 16;
	}
	if (b->type == T("uuid"))
		hdr += 16;
	if (r->bad || size < hdr || size > left)
		return mp4_fail(m, "box '%s' claims %llu bytes, %zu are "
		    "left", mp4_cc(b->type, c), (unsigned long long)size,
		    left);
	b->body = (struct rd){ r->p + start + hdr, (size_t)size - hdr, 0,
	    false };
	r->off = start + (size_t)size;
	return 1;
}

int
mp4_read_at(struct movie *m, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(m->fd, (char *)buf + got, len - got,
		    (off_t)(off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return mp4_fail(m, "read: %s", strerror(errno));
		if (n == 0)
			return mp4_fail(m, "file shrank while being read");
		got += (size_t)n;
	}
	return 0;
}

/* ---- the top level ---- */

/* Note one top-level box; the others are skipped unread. */
static int
top_box(struct movie *m, uint32_t type, uint64_t off, uint64_t hdr,
    uint64_t size)
{
	if (type == T("moov")) {
		if (m->moov)
			return mp4_fail(m, "two moov boxes");
		m->moov = true;
		m->moov_off = off + hdr;
		m->moov_len = size - hdr;
	} else if (type == T("moof"))
		return mp4_fail(m, "fragmented MP4 (moof box)");
	else if (type == T("mdat")) {
		if (m->nmdat == MP4_MDAT_MAX)
			return mp4_fail(m, "more than %d mdat boxes",
			    MP4_MDAT_MAX);
		m->mdat[m->nmdat][0] = off + hdr;
		m->mdat[m->nmdat][1] = off + size;
		m->mdat_bytes += size - hdr;
		m->nmdat++;
	}
	return 0;
}

/* Walk the top-level boxes with one read of at most 16 bytes each. */
static int
walk_top(struct movie *m)
{
	unsigned char h[16];
	struct rd r;
	uint64_t off, left, size = 0, hdr;
	uint32_t type;
	size_t n = 0;
	char c[5];

	if (m->fsize < 8)
		return mp4_fail(m, "%llu bytes: too small for an MP4 "
		    "file", (unsigned long long)m->fsize);
	for (off = 0; off < m->fsize; off += size) {
		if ((left = m->fsize - off) < 8)
			return mp4_fail(m, "%llu stray bytes at the end "
			    "of the file", (unsigned long long)left);
		if (++n > MP4_TOP_MAX)
			return mp4_fail(m, "more than %d top-level boxes",
			    MP4_TOP_MAX);
		r = (struct rd){ h, left < 16 ? 8 : 16, 0, false };
		if (mp4_read_at(m, h, r.len, off) == -1)
			return -1;
		size = rd_u32(&r);
		type = rd_u32(&r);
		hdr = 8;
		if (size == 1) {
			size = rd_u64(&r);
			hdr = 16;
		} else if (size == 0)
			size = left;
		hdr += type == T("uuid") ? 16 : 0;
		if (r.bad || size < hdr || size > left)
			return mp4_fail(m, "box '%s' at offset %llu "
			    "claims %llu bytes, the file has %llu left",
			    mp4_cc(type, c), (unsigned long long)off,
			    (unsigned long long)size,
			    (unsigned long long)left);
		if (n == 1 && type != T("ftyp"))
			return mp4_fail(m, "no ftyp box first: not an "
			    "MP4 file");
		if (top_box(m, type, off, hdr, size) == -1)
			return -1;
	}
	return m->moov ? 0 : mp4_fail(m, "no moov box");
}

/* ---- inside moov ---- */

/*
 * The children of a box that matter, in a table: parse one with <fn>,
 * descend into <kids>, or refuse the file saying <why>.  Others are
 * skipped.
 */
struct kid {
	const char	*type;
	int		(*fn)(struct movie *, struct trak *, struct rd *);
	const struct kid *kids;
	const char	*why;
};

static int
walk(struct movie *m, struct trak *t, struct rd *r, const struct kid *k)
{
	const struct kid *p;
	struct box b;
	char c[5];
	int rc;

	while ((rc = mp4_box_next(m, r, &b)) == 1) {
		for (p = k; p->type != NULL && b.type != T(p->type); p++)
			;
		if (p->type == NULL)
			continue;
		if (p->why != NULL)
			return mp4_fail(m, "%s", p->why);
		if ((p->fn != NULL ? p->fn(m, t, &b.body) : walk(m, t,
		    &b.body, p->kids)) == -1)
			return -1;
		if (b.body.bad)
			return mp4_fail(m, "'%s' box truncated",
			    mp4_cc(b.type, c));
	}
	return rc;
}

/* A full box that may appear once in its parent (*seen). */
static int
once(struct movie *m, struct rd *r, uint32_t type, bool *seen, int *v)
{
	char c[5];

	if (*seen)
		return mp4_fail(m, "two '%s' boxes in one parent",
		    mp4_cc(type, c));
	*seen = true;
	return mp4_full(m, r, type, v);
}

static int
parse_mvhd(struct movie *m, struct trak *t, struct rd *r)
{
	int v;

	(void)t;
	if (once(m, r, T("mvhd"), &m->mvhd, &v) == -1)
		return -1;
	rd_skip(r, v == 1 ? 16 : 8);	/* creation, modification */
	m->ts = rd_u32(r);
	m->dur = v == 1 ? rd_u64(r) : rd_u32(r);
	return 0;
}

static int
parse_tkhd(struct movie *m, struct trak *t, struct rd *r)
{
	int v;

	if (once(m, r, T("tkhd"), &t->tkhd, &v) == -1)
		return -1;
	rd_skip(r, v == 1 ? 24 : 16);	/* times, track id, reserved */
	t->tkhd_dur = v == 1 ? rd_u64(r) : rd_u32(r);
	rd_skip(r, 60);			/* ... matrix, width, height */
	return 0;
}

/* One plain edit only: the media from edit_media on, at rate 1. */
static int
parse_elst(struct movie *m, struct trak *t, struct rd *r)
{
	uint32_t n, rate;
	int v;

	if (once(m, r, T("elst"), &t->edts, &v) == -1)
		return -1;
	if ((n = rd_u32(r)) != 1)
		return mp4_fail(m, "track %zu: edit list of %u entries",
		    m->ntrak, n);
	t->edit_dur = v == 1 ? rd_u64(r) : rd_u32(r);
	t->edit_media = v == 1 ? (int64_t)rd_u64(r) : (int32_t)rd_u32(r);
	rate = rd_u32(r);
	if (!r->bad && (t->edit_media < 0 || rate != 0x10000))
		return mp4_fail(m, "track %zu: edit list is not a plain "
		    "1:1 mapping (media time %lld, rate 0x%x)", m->ntrak,
		    (long long)t->edit_media, rate);
	return 0;
}

static int
parse_mdhd(struct movie *m, struct trak *t, struct rd *r)
{
	int v;

	if (once(m, r, T("mdhd"), &t->mdhd, &v) == -1)
		return -1;
	rd_skip(r, v == 1 ? 16 : 8);
	t->mdhd_ts = rd_u32(r);
	t->mdhd_dur = v == 1 ? rd_u64(r) : rd_u32(r);
	if (v == 0 && t->mdhd_dur == UINT32_MAX)
		t->mdhd_dur = UINT64_MAX;	/* "unknown" */
	return 0;
}

static int
parse_hdlr(struct movie *m, struct trak *t, struct rd *r)
{
	int v;

	if (once(m, r, T("hdlr"), &t->hdlr, &v) == -1)
		return -1;
	rd_skip(r, 4);
	t->handler = rd_u32(r);
	return 0;
}

static int
parse_stsd(struct movie *m, struct trak *t, struct rd *r)
{
	struct box b;
	uint32_t n;
	int v;

	if (once(m, r, T("stsd"), &t->stsd, &v) == -1)
		return -1;
	if ((n = rd_u32(r)) != 1 || r->bad)
		return mp4_fail(m, "track %zu: %u sample descriptions, "
		    "want 1", m->ntrak, n);
	if (mp4_box_next(m, r, &b) != 1)
		return mp4_fail(m, "track %zu: stsd without its entry",
		    m->ntrak);
	t->entry_type = b.type;
	t->entry = b.body;
	return 0;
}

/* Sample count and total sample bytes. */
static int
parse_stsz(struct movie *m, struct trak *t, struct rd *r)
{
	uint64_t i, size, n;
	int v;

	if (once(m, r, T("stsz"), &t->stsz, &v) == -1)
		return -1;
	size = rd_u32(r);
	t->nsamples = n = rd_u32(r);
	if (size != 0) {
		t->sbytes = size * n;
		return 0;
	}
	if ((r->len - r->off) / 4 < n)
		return mp4_fail(m, "track %zu: stsz lists %llu samples, "
		    "holds fewer", m->ntrak, (unsigned long long)n);
	for (i = 0; i < n; i++)
		t->sbytes += rd_u32(r);
	return 0;
}

/* Every chunk must start inside an mdat box. */
static int
chunks(struct movie *m, struct trak *t, struct rd *r, bool wide)
{
	uint64_t i, n, off;
	size_t k;
	int v;

	if (once(m, r, wide ? T("co64") : T("stco"), &t->stco, &v) == -1)
		return -1;
	n = rd_u32(r);
	if (r->bad || (r->len - r->off) / (wide ? 8 : 4) < n)
		return mp4_fail(m, "track %zu: chunk offset table "
		    "truncated", m->ntrak);
	t->nchunks = n;
	for (i = 0; i < n; i++) {
		off = wide ? rd_u64(r) : rd_u32(r);
		t->chunk0 = i == 0 ? off : t->chunk0;
		for (k = 0; k < m->nmdat; k++)
			if (off >= m->mdat[k][0] && off < m->mdat[k][1])
				break;
		if (k == m->nmdat)
			return mp4_fail(m, "track %zu: chunk at offset "
			    "%llu is outside the media data", m->ntrak,
			    (unsigned long long)off);
	}
	return 0;
}

static int
parse_stco(struct movie *m, struct trak *t, struct rd *r)
{
	return chunks(m, t, r, false);
}

static int
parse_co64(struct movie *m, struct trak *t, struct rd *r)
{
	return chunks(m, t, r, true);
}

/* Cover art: ffprobe lists it as a video stream, so leave it to ffprobe. */
static int
check_meta(struct movie *m, struct trak *t, struct rd *r)
{
	(void)t;
	if (memmem(r->p, r->len, "covr", 4) != NULL)
		return mp4_fail(m, "cover art present");
	return 0;
}

static const struct kid stbl_kids[] = {
	{ "stsd", parse_stsd, NULL, NULL },
	{ "stsz", parse_stsz, NULL, NULL },
	{ "stco", parse_stco, NULL, NULL },
	{ "co64", parse_co64, NULL, NULL },
	{ "stz2", NULL, NULL, "stz2 not supported" },
	{ NULL, NULL, NULL, NULL }
};
static const struct kid minf_kids[] = {
	{ "stbl", NULL, stbl_kids, NULL },
	{ NULL, NULL, NULL, NULL }
};
static const struct kid mdia_kids[] = {
	{ "mdhd", parse_mdhd, NULL, NULL },
	{ "hdlr", parse_hdlr, NULL, NULL },
	{ "minf", NULL, minf_kids, NULL },
	{ NULL, NULL, NULL, NULL }
};
static const struct kid edts_kids[] = {
	{ "elst", parse_elst, NULL, NULL },
	{ NULL, NULL, NULL, NULL }
};
static const struct kid trak_kids[] = {
	{ "tkhd", parse_tkhd, NULL, NULL },
	{ "edts", NULL, edts_kids, NULL },
	{ "mdia", NULL, mdia_kids, NULL },
	{ "trak", NULL, NULL, "box nested in a track" },
	{ "moov", NULL, NULL, "box nested in a track" },
	{ NULL, NULL, NULL, NULL }
};

static int
parse_trak(struct movie *m, struct trak *t, struct rd *r)
{
	(void)t;
	if (m->ntrak == MP4_TRAK_MAX)
		return mp4_fail(m, "more than %d tracks", MP4_TRAK_MAX);
	if (walk(m, &m->trak[m->ntrak], r, trak_kids) == -1)
		return -1;
	m->ntrak++;
	return 0;
}

static const struct kid moov_kids[] = {
	{ "mvhd", parse_mvhd, NULL, NULL },
	{ "trak", parse_trak, NULL, NULL },
	{ "udta", check_meta, NULL, NULL },
	{ "meta", check_meta, NULL, NULL },
	{ "mvex", NULL, NULL, "fragmented MP4 (mvex box)" },
	{ NULL, NULL, NULL, NULL }
};

/* ---- checks and the answer ---- */

/*
 * Sample entries of tracks that are neither audio nor video (timecode,
 * subtitles, captions).  ffprobe decides a stream's kind by its sample
 * entry as much as by its handler, so any other entry there is left to
 * it: an mp4a track with a damaged handler is still audio to ffprobe.
 */
static bool
other_entry(uint32_t type)
{
	static const char ok[][5] = { "tmcd", "tx3g", "text", "wvtt",
	    "stpp", "c608", "c708" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (type == T(ok[i]))
			return true;
	return false;
}

/*
 * An audio or video track must be complete, and its durations must
 * agree: one plain edit as long as the track header says and no longer
 * than the media, or no edit and a track header as long as the media
 * (within one movie tick).
 */
static int
check_track(struct movie *m, const struct trak *t, size_t i)
{
	double media, tick = 1.0 / m->ts;

	if (!t->stsd || !t->stsz || !t->stco || t->nsamples == 0 ||
	    t->nchunks == 0)
		return mp4_fail(m, "track %zu: no samples or sample "
		    "tables", i);
	if (t->mdhd_ts == 0 || t->mdhd_dur == 0 || t->mdhd_dur == UINT64_MAX)
		return mp4_fail(m, "track %zu: no media duration", i);
	media = (double)t->mdhd_dur / t->mdhd_ts;
	if (t->edts) {
		if (t->edit_dur + 1 < t->tkhd_dur ||
		    t->edit_dur > t->tkhd_dur + 1 ||
		    (double)t->edit_dur / m->ts > media + tick ||
		    (uint64_t)t->edit_media >= t->mdhd_dur)
			return mp4_fail(m, "track %zu: the edit list "
			    "changes the duration", i);
	} else if ((double)t->tkhd_dur / m->ts > media + tick ||
	    (double)t->tkhd_dur / m->ts < media - tick)
		return mp4_fail(m, "track %zu: track and media durations "
		    "differ", i);
	return 0;
}

static int
movie_check(struct movie *m)
{
	const struct trak *t;
	uint64_t longest = 0, sbytes = 0;
	size_t i;
	char c[5];

	if (!m->mvhd)
		return mp4_fail(m, "no mvhd box");
	if (m->ts == 0 || m->dur == 0 || m->dur == UINT32_MAX ||
	    m->dur / m->ts > MP4_MAX_DURATION)
		return mp4_fail(m, "no movie duration, or out of range");
	for (i = 0; i < m->ntrak; i++) {
		t = &m->trak[i];
		if (!t->tkhd || !t->mdhd || !t->hdlr)
			return mp4_fail(m, "track %zu: missing tkhd, "
			    "mdhd or hdlr", i);
		if ((sbytes += t->sbytes) > m->mdat_bytes)
			return mp4_fail(m, "more sample bytes than media "
			    "data");
		longest = t->tkhd_dur > longest ? t->tkhd_dur : longest;
		if (t->handler == T("vide") || t->handler == T("soun")) {
			if (check_track(m, t, i) == -1)
				return -1;
		} else if (t->stsd && !other_entry(t->entry_type))
			return mp4_fail(m, "track %zu: sample entry '%s' "
			    "in a track that is neither audio nor video", i,
			    mp4_cc(t->entry_type, c));
	}
	if (longest + 1 < m->dur || longest > m->dur + 1)
		return mp4_fail(m, "movie lasts %llu ticks, its longest "
		    "track %llu", (unsigned long long)m->dur,
		    (unsigned long long)longest);
	return 0;
}

/* First video and first audio track into <out>, as ffprobe orders them. */
static int
movie_fill(struct movie *m, struct probe_info *out)
{
	const struct trak *t;
	uint64_t us;
	size_t i;

	for (i = 0; i < m->ntrak; i++) {
		t = &m->trak[i];
		if (t->handler == T("vide") && out->video_codec[0] == '\0' &&
		    mp4_video_entry(m, t, i, out) == -1)
			return -1;
		if (t->handler == T("soun") && out->audio_codec[0] == '\0' &&
		    mp4_audio_entry(m, t, i, out) == -1)
			return -1;
	}
	if (out->video_codec[0] == '\0' && out->audio_codec[0] == '\0')
		return mp4_fail(m, "no audio or video track");
	/* microseconds, rounded as ffmpeg's av_rescale rounds */
	us = m->dur / m->ts * 1000000 +
	    (m->dur % m->ts * 1000000 + m->ts / 2) / m->ts;
	if (us == 0 || us > MP4_MAX_DURATION * 1000000)
		return mp4_fail(m, "movie duration %llu us out of range",
		    (unsigned long long)us);
	out->duration = (double)us / 1e6;
	out->size = (long long)m->fsize;
	out->bitrate_bps = (long long)((double)m->fsize * 8.0 * 1e6 /
	    (double)us);
	return 0;
}

static int
probe_movie(struct movie *m, struct probe_info *out)
{
	struct stat st;
	struct rd r;
	unsigned char *buf;
	int rc;

	if (fstat(m->fd, &st) == -1)
		return mp4_fail(m, "fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return mp4_fail(m, "not a regular file");
	m->fsize = (uint64_t)st.st_size;
	if (walk_top(m) == -1)
		return -1;
	if (m->moov_len > MP4_MOOV_MAX)
		return mp4_fail(m, "moov of %llu bytes is over the %d "
		    "limit", (unsigned long long)m->moov_len,
		    MP4_MOOV_MAX);
	if ((buf = malloc(m->moov_len + 1)) == NULL)
		return mp4_fail(m, "out of memory");
	r = (struct rd){ buf, (size_t)m->moov_len, 0, false };
	if ((rc = mp4_read_at(m, buf, r.len, m->moov_off)) == 0 &&
	    (rc = walk(m, NULL, &r, moov_kids)) == 0 &&
	    (rc = movie_check(m)) == 0)
		rc = movie_fill(m, out);
	free(buf);
	return rc;
}

/*
 * Measure the MP4 file open on <fd> (borrowed; read with pread only, so
 * its offset is left alone) into <out>, which is zeroed first.  Returns
 * 0, or -1 with <err> giving the reason, errno EINVAL and <out> zeroed:
 * the caller should then ask ffprobe.
 */
int
mp4_fd(int fd, struct probe_info *out, char *err, size_t errlen)
{
	struct movie *m;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->fd = fd;
	m->err = err;
	m->errlen = errlen;
	if ((rc = probe_movie(m, out)) == -1) {
		memset(out, 0, sizeof(*out));
		errno = EINVAL;
	}
	free(m);
	return rc;
}

/*
 * Open <path> (borrowed) and measure it as mp4_fd does.  Returns 0,
 * or -1 with <err> naming the file and the reason (errno ENOENT and the
 * like when it cannot be opened, EINVAL otherwise).
 */
int
mp4_file(const char *path, struct probe_info *out, char *err,
    size_t errlen)
{
	char why[200];
	int fd, rc, saved;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		saved = errno;
		(void)snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if ((rc = mp4_fd(fd, out, why, sizeof(why))) == -1)
		(void)snprintf(err, errlen, "%s: %s", path, why);
	(void)close(fd);
	if (rc == -1)
		errno = EINVAL;
	return rc;
}

/*
 * True for the codec names mp4 gives as ffprobe does (h264, hevc,
 * aac, mp3) and for "" (no such track); false for a fourcc it passed on,
 * whose ffprobe name may differ ("vp09" is "vp9" there).
 */
bool
mp4_codec_known(const char *codec)
{
	return codec[0] == '\0' || strcmp(codec, "h264") == 0 ||
	    strcmp(codec, "hevc") == 0 || strcmp(codec, "aac") == 0 ||
	    strcmp(codec, "mp3") == 0;
}
