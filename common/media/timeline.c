/* SPDX-License-Identifier: ISC */
/*
 * timeline.c: a run's timeline as a CSV, a CMX 3600 EDL and a QC
 * summary (SPEC section 6, `rvctl timeline`).
 *
 * The CSV has the header TIMELINE_HEADER and one row per segment in
 * order.  Start_Sec/End_Sec accumulate the TARGET durations, so they say
 * where each segment belongs whatever was rendered.  Status is READY when
 * the final file exists, MISSING otherwise.  Delta_Sec is probe minus
 * target and Cum_Drift_Sec the running sum of the deltas (a MISSING row
 * has no probe or delta and carries the sum unchanged).  Numbers have
 * three decimals; Source_File is the file's base name; fields holding a
 * comma, quote or line break are quoted RFC 4180 style.  Lines end in LF.
 *
 * The EDL is what DaVinci Resolve imports: "TITLE:", "FCM: NON-DROP
 * FRAME", then one cut event per READY segment: reel AX, channels "AA/V"
 * (both audio channels and video; a parameter), source in 00:00:00:00 to
 * the clip's probed length, record in/out running on from the record
 * start, and a "* FROM CLIP NAME: <file name>" line Resolve links the
 * media by.  A MISSING segment leaves a gap of its target length, so the
 * later clips keep their places.  The frame rate is a parameter, 25 by
 * default; times are rounded to whole frames.
 *
 * timeline_csv/timeline_edl/timeline_qc are pure (no clock, no file
 * system) so golden tests can pin their output.  timeline_write checks
 * which files exist, then saves timeline_<video_id>_<stamp>.csv/.edl and
 * timeline_<video_id>_latest.csv/.edl under state/timeline/, each with
 * fs_write_atomic (the latest copies are swapped atomically).  Nothing
 * here logs.
 *
 * Public: timeline_qc, timeline_verdict_name, timeline_csv, timeline_edl,
 * timeline_write.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/timeline.h"

#define TITLE_MAX	70
#define TIMELINE_SECS_MAX	86400.0

struct buf {
	char	*p;
	size_t	 len, cap;
	bool	 failed;
};

static void	buf_printf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *p;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		cap = b->cap == 0 ? 1024 : b->cap;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Hand the text to the caller, or fail with ENOMEM. */
static int
buf_take(struct buf *b, char **out, size_t *lenp)
{
	if (b->failed || b->p == NULL) {
		free(b->p);
		errno = ENOMEM;
		return -1;
	}
	*out = b->p;
	if (lenp != NULL)
		*lenp = b->len;
	return 0;
}

/* One CSV field, quoted when it holds a comma, quote or line break. */
static void
buf_csv(struct buf *b, const char *s)
{
	const char *p;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_printf(b, "%s", s);
		return;
	}
	buf_printf(b, "\"");
	for (p = s; *p != '\0'; p++)
		buf_printf(b, *p == '"' ? "\"\"" : "%c", *p);
	buf_printf(b, "\"");
}

/* Three decimals, never "-0.000". */
static double
r3(double v)
{
	return fabs(v) < 0.0005 ? 0.0 : v;
}

/* Delta rounded to the microsecond, so 0.5 is 0.5 and not 0.50000001. */
static double
seg_delta(const struct timeline_seg *s)
{
	return round((s->probe_duration - s->target) * 1e6) / 1e6;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* A duration we can turn into frames: 0 to a day. */
static bool
secs_ok(double s)
{
	return isfinite(s) && s >= 0 && s <= TIMELINE_SECS_MAX;
}

static bool
segs_ok(const struct timeline_seg *segs, size_t n)
{
	size_t i;

	if (n > TIMELINE_SEGS_MAX || (n > 0 && segs == NULL))
		return false;
	for (i = 0; i < n; i++) {
		if (!id_segment_valid(segs[i].segment_id) ||
		    segs[i].category == NULL || !secs_ok(segs[i].target))
			return false;
		if (segs[i].file != NULL && !secs_ok(segs[i].probe_duration))
			return false;
	}
	return true;
}

/* Fill <qc> for <segs> (borrowed).  Pure: no clock, no file system. */
void
timeline_qc(const struct timeline_seg *segs, size_t n,
    struct timeline_qc *qc)
{
	double d, cum = 0;
	size_t i;

	memset(qc, 0, sizeof(*qc));
	for (i = 0; i < n; i++) {
		qc->target_total += segs[i].target;
		if (segs[i].file == NULL) {
			if (qc->missing++ == 0)
				(void)strlcpy(qc->first_missing,
				    segs[i].segment_id,
				    sizeof(qc->first_missing));
			continue;
		}
		qc->ready++;
		qc->total += segs[i].probe_duration;
		d = seg_delta(&segs[i]);
		cum += d;
		if (qc->worst_segment[0] == '\0' ||
		    fabs(d) > fabs(qc->worst_delta)) {
			qc->worst_delta = d;
			(void)strlcpy(qc->worst_segment, segs[i].segment_id,
			    sizeof(qc->worst_segment));
		}
		if (fabs(cum) > qc->max_drift)
			qc->max_drift = round(fabs(cum) * 1e6) / 1e6;
	}
	qc->cum_drift = round(cum * 1e6) / 1e6;
	qc->total = round(qc->total * 1e6) / 1e6;
	qc->target_total = round(qc->target_total * 1e6) / 1e6;
	if (qc->max_drift > TIMELINE_DRIFT_CRIT)
		qc->verdict = TIMELINE_CRITICAL;
	else if (qc->max_drift > TIMELINE_DRIFT_WARN)
		qc->verdict = TIMELINE_WARN;
}

/*
 * The verdict a person reads: INCOMPLETE when a segment is missing and
 * the drift of the others is fine (the text and the JSON both say this).
 */
const char *
timeline_qc_verdict(const struct timeline_qc *qc)
{
	if (qc->missing > 0 && qc->verdict == TIMELINE_OK)
		return "INCOMPLETE";
	return timeline_verdict_name(qc->verdict);
}

const char *
timeline_verdict_name(enum timeline_verdict v)
{
	switch (v) {
	case TIMELINE_OK:
		return "OK";
	case TIMELINE_WARN:
		return "WARN";
	case TIMELINE_CRITICAL:
		return "CRITICAL";
	}
	return "?";
}

static void
csv_row(struct buf *b, size_t order, const struct timeline_seg *s,
    double start, double *cum)
{
	double d;

	buf_printf(b, "%zu,", order);
	buf_csv(b, s->segment_id);
	buf_printf(b, ",");
	buf_csv(b, s->category);
	buf_printf(b, ",%.3f,%.3f,%.3f,", r3(start), r3(start + s->target),
	    r3(s->target));
	if (s->file == NULL) {
		buf_printf(b, ",MISSING,,,%.3f\n", r3(*cum));
		return;
	}
	d = seg_delta(s);
	*cum += d;
	buf_csv(b, base_name(s->file));
	buf_printf(b, ",READY,%.3f,%.3f,%.3f\n", r3(s->probe_duration),
	    r3(d), r3(*cum));
}

/*
 * The CSV text for <segs> (borrowed, in order) into *out (the caller
 * frees it), length in *lenp (may be NULL).  Pure.  Returns 0, or -1 with
 * errno EINVAL (bad segment id, category, duration, too many) or ENOMEM.
 */
int
timeline_csv(const struct timeline_seg *segs, size_t n, char **out,
    size_t *lenp)
{
	struct buf b = { NULL, 0, 0, false };
	double start = 0, cum = 0;
	size_t i;

	*out = NULL;
	if (!segs_ok(segs, n)) {
		errno = EINVAL;
		return -1;
	}
	buf_printf(&b, "%s\n", TIMELINE_HEADER);
	for (i = 0; i < n; i++) {
		csv_row(&b, i + 1, &segs[i], start, &cum);
		start += segs[i].target;
	}
	return buf_take(&b, out, lenp);
}

/* Whole frames, via whole milliseconds so halves round the same way. */
static long long
to_frames(double sec, int fps)
{
	long long ms = llround(sec * 1000);

	return (ms * fps + 500) / 1000;
}

static void
tc(char out[32], long long frames, int fps)
{
	long long s = frames / fps;

	(void)snprintf(out, 32, "%02lld:%02lld:%02lld:%02lld",
	    (s / 3600) % 100, (s / 60) % 60, s % 60, frames % fps);
}

/* Copy <s> into <dst> with control characters made visible as '_'. */
static void
edl_clean(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '_' :
		    s[i];
	dst[i] = '\0';
}

static void
edl_event(struct buf *b, size_t ev, const char *tracks, const char *file,
    long long len, long long rec, int fps)
{
	char si[32], so[32], ri[32], ro[32], name[256];

	tc(si, 0, fps);
	tc(so, len, fps);
	tc(ri, rec, fps);
	tc(ro, rec + len, fps);
	edl_clean(name, sizeof(name), base_name(file));
	buf_printf(b, "%03zu  %-8s %-5s %-8s %s %s %s %s\n", ev, "AX",
	    tracks, "C", si, so, ri, ro);
	buf_printf(b, "* FROM CLIP NAME: %s\n\n", name);
}

/*
 * The CMX 3600 EDL text for <segs> (borrowed) titled <title>, options
 * from <opts> (may be NULL).  Pure.  Returns 0 with *out owned by the
 * caller, or -1 with errno EINVAL or ENOMEM.
 */
int
timeline_edl(const char *title, const struct timeline_seg *segs, size_t n,
    const struct timeline_opts *opts, char **out, size_t *lenp)
{
	struct buf b = { NULL, 0, 0, false };
	const char *tracks = "AA/V";
	char t[TITLE_MAX + 1];
	long long rec = 0, len;
	size_t i, ev = 0;
	int fps = TIMELINE_FPS_DEFAULT;

	*out = NULL;
	if (opts != NULL && opts->fps > 0)
		fps = opts->fps;
	if (opts != NULL && opts->tracks != NULL)
		tracks = opts->tracks;
	if (opts != NULL && secs_ok(opts->record_start))
		rec = to_frames(opts->record_start, fps);
	if (!segs_ok(segs, n) || title == NULL || fps > 1000 ||
	    strlen(tracks) > 5 || (opts != NULL &&
	    !secs_ok(opts->record_start))) {
		errno = EINVAL;
		return -1;
	}
	edl_clean(t, sizeof(t), title);
	buf_printf(&b, "TITLE: %s\nFCM: NON-DROP FRAME\n\n", t);
	for (i = 0; i < n; i++) {
		if (segs[i].file == NULL) {
			rec += to_frames(segs[i].target, fps);
			continue;
		}
		if ((len = to_frames(segs[i].probe_duration, fps)) <= 0)
			continue;
		edl_event(&b, ++ev, tracks, segs[i].file, len, rec, fps);
		rec += len;
	}
	return buf_take(&b, out, lenp);
}

static bool
stamp_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) || i >= 32)
			return false;
	return i > 0;
}

static int
save_pair(const char *dir, const char *video_id, const char *stamp,
    const char *ext, const char *text, size_t len, char *path,
    char *latest)
{
	if (fs_path(path, PATH_MAX, "%s/timeline_%s_%s.%s", dir, video_id,
	    stamp, ext) == -1 || fs_path(latest, PATH_MAX,
	    "%s/timeline_%s_latest.%s", dir, video_id, ext) == -1)
		return -1;
	if (fs_write_atomic(path, text, len) == -1 ||
	    fs_write_atomic(latest, text, len) == -1)
		return -1;
	return 0;
}

/* A copy of <segs> where files that do not exist count as MISSING. */
static struct timeline_seg *
segs_checked(const char *state_dir, const struct timeline_seg *segs,
    size_t n)
{
	struct timeline_seg *v;
	char path[PATH_MAX];
	size_t i;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = segs[i];
		if (v[i].file == NULL)
			continue;
		if ((v[i].file[0] == '/' ? fs_path(path, sizeof(path), "%s",
		    v[i].file) : fs_path(path, sizeof(path), "%s/%s",
		    state_dir, v[i].file)) == -1 || !fs_exists(path))
			v[i].file = NULL;
	}
	return v;
}

/*
 * Write the timeline of <video_id>: segments whose file (relative to
 * <state_dir>, or absolute) does not exist become MISSING; the CSV and
 * EDL are saved under state/timeline/ with <opts>->stamp (NULL: the UTC
 * time now) and as _latest.  <opts>, <qc> and <paths> may be NULL.
 * Returns 0, or -1 with err saying what failed.
 */
int
timeline_write(const char *state_dir, const char *video_id,
    const struct timeline_seg *segs, size_t n,
    const struct timeline_opts *opts, struct timeline_qc *qc,
    struct timeline_paths *paths, char *err, size_t errlen)
{
	struct timeline_paths p;
	struct timeline_seg *v = NULL;
	char dir[PATH_MAX], now[CLOCK_ISO_LEN], *csv = NULL, *edl = NULL;
	const char *stamp = opts != NULL ? opts->stamp : NULL;
	size_t csvlen, edllen;
	int rc = -1;

	if (!id_video_valid(video_id) || (stamp != NULL && !stamp_ok(stamp))) {
		(void)snprintf(err, errlen, "bad video id or stamp");
		return -1;
	}
	if (stamp == NULL) {
		clock_utc_stamp(now);
		stamp = now;
	}
	if ((v = segs_checked(state_dir, segs, n)) == NULL ||
	    timeline_csv(v, n, &csv, &csvlen) == -1 ||
	    timeline_edl(video_id, v, n, opts, &edl, &edllen) == -1) {
		(void)snprintf(err, errlen, "timeline %s: %s", video_id,
		    errno == EINVAL ? "bad segment list" : strerror(errno));
		goto out;
	}
	if (qc != NULL)
		timeline_qc(v, n, qc);
	if (fs_path(dir, sizeof(dir), "%s/timeline", state_dir) == -1 ||
	    fs_mkdirs(dir, 0700) == -1 ||
	    save_pair(dir, video_id, stamp, "csv", csv, csvlen, p.csv,
	    p.csv_latest) == -1 ||
	    save_pair(dir, video_id, stamp, "edl", edl, edllen, p.edl,
	    p.edl_latest) == -1) {
		(void)snprintf(err, errlen, "write timeline in %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (paths != NULL)
		*paths = p;
	rc = 0;
out:
	free(v);
	free(csv);
	free(edl);
	return rc;
}
