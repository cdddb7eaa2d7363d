/* SPDX-License-Identifier: ISC */
/*
 * ffmpeg_render.c: the local ffmpeg renderer (SPEC section 3, "Render").
 *
 * render_ffmpeg_segment() turns one segment into
 * <state_dir>/video/staging/V_<run>_<seg>_<sha8>.mp4: the segment's image
 * scaled and letterboxed to 1920x1080 (or a colour card from lavfi when
 * there is none), the caption drawn near the bottom, and the finalized
 * audio; H.264 (libx264 veryfast, stillimage tune, yuv420p, 25 fps) and
 * AAC in MP4 with +faststart, cut with -t to the audio's probed duration.
 * The video is constant bit rate (RENDER_VIDEO_RATE, x264 CBR with
 * filler): a still image alone would encode at a few kbit/s and trip the
 * report's "under 1 Mbps" gate, which is there to catch broken exports.
 * The image must probe as a still image (image2 or an *_pipe demuxer),
 * else "image X is not an image"; the audio must probe with an audio
 * stream.
 *
 * The caption is user text, so it never enters the filter graph: it is
 * cleaned (control characters become spaces, invalid UTF-8 becomes '?'),
 * wrapped to RENDER_CAPTION_LINES lines of RENDER_CAPTION_COLS characters
 * (render_caption_wrap()), written to a file and drawn with
 * drawtext=textfile=...:expansion=none, so neither filter syntax nor
 * drawtext's %{} expansion can be injected.  The file paths that do enter
 * the graph (font, caption file) are escaped for both filter-graph levels.
 * Every path given to ffmpeg is "file:<path>".
 *
 * ffmpeg runs with -progress pipe:1, so its out_time feeds the caller's
 * progress (the heartbeat), and writes into a private temporary directory
 * under <state_dir>/tmp (workers/skeleton/scratch.c: named after this process, so
 * the successor of a killed renderer removes it).  The result is probed
 * (1920x1080, h264, aac, duration within RENDER_DURATION_TOL of the audio),
 * fsynced, made 0600 and renamed into video/staging/ (same file system:
 * atomic), so the probe stage never sees half a file.  The temporary
 * directory is removed on every path.  Nothing here logs, spends credits or
 * touches final/.
 *
 * Public: render_staging_path, render_caption_wrap, render_ffmpeg_segment.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "workers/skeleton/media_tool.h"
#include "workers/render/ffmpeg_render.h"
#include "workers/skeleton/scratch.h"

#define IMAGE_PROBE_TIMEOUT_MS	20000L
#define IMAGE_PROBE_OUT_MAX	(256 * 1024)
#define IMAGE_MAX_DIM		16384
#define GRAPH_MAX		(4 * PATH_MAX + 512)
#define ELLIPSIS		"\xe2\x80\xa6"

/* ---- caption ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at <p>, 0 when it is not valid. */
static size_t
u8_len(const unsigned char *p)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* Clean <in> into <out> (at least strlen(in) + 1 bytes): see the top. */
static void
caption_clean(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	bool space = true;
	size_t o = 0, n;

	while (*p != '\0' && o + 5 < size) {
		if (*p <= 0x20 || *p == 0x7f) {
			if (!space)
				out[o++] = ' ';
			space = true;
			p++;
			continue;
		}
		if ((n = u8_len(p)) == 0) {
			out[o++] = '?';
			p++;
		} else {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		}
		space = false;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

struct wrap {
	char	*out;
	size_t	 size, len;
	int	 line;		/* lines started */
	int	 cps;		/* characters on the current line */
	bool	 full;		/* text left over */
	bool	 overflow;	/* <out> too small */
};

static void
wrap_put(struct wrap *w, const char *p, size_t n, int cps)
{
	if (w->full)
		return;
	if (w->len + n + sizeof(ELLIPSIS) >= w->size) {
		w->overflow = w->full = true;
		return;
	}
	if (w->line == 0)
		w->line = 1;
	memcpy(w->out + w->len, p, n);
	w->len += n;
	w->out[w->len] = '\0';
	w->cps += cps;
}

static void
wrap_newline(struct wrap *w)
{
	if (w->full)
		return;
	if (w->line >= RENDER_CAPTION_LINES) {
		w->full = true;
		return;
	}
	wrap_put(w, "\n", 1, 0);
	w->line++;
	w->cps = 0;
}

static int
count_cps(const char *p, size_t n)
{
	int c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			c++;
	return c;
}

static void
wrap_word(struct wrap *w, const char *p, size_t n)
{
	int cps = count_cps(p, n);
	size_t l;

	if (w->cps > 0 && w->cps + 1 + cps <= RENDER_CAPTION_COLS) {
		wrap_put(w, " ", 1, 1);
		wrap_put(w, p, n, cps);
		return;
	}
	if (w->cps > 0)
		wrap_newline(w);
	if (cps <= RENDER_CAPTION_COLS) {
		wrap_put(w, p, n, cps);
		return;
	}
	/* Longer than a line: cut it between characters. */
	while (n > 0 && !w->full) {
		if (w->cps == RENDER_CAPTION_COLS)
			wrap_newline(w);
		l = u8_len((const unsigned char *)p);
		if (l == 0 || l > n)
			l = 1;
		wrap_put(w, p, l, 1);
		p += l;
		n -= l;
	}
}

/* Text was left over: end the last line with an ellipsis. */
static void
wrap_ellipsis(struct wrap *w)
{
	while (w->len > 0 && (w->cps > RENDER_CAPTION_COLS - 1 ||
	    w->out[w->len - 1] == ' ')) {
		do
			w->len--;
		while (w->len > 0 &&
		    ((unsigned char)w->out[w->len] & 0xc0) == 0x80);
		w->cps--;
	}
	memcpy(w->out + w->len, ELLIPSIS, sizeof(ELLIPSIS));
	w->len += sizeof(ELLIPSIS) - 1;
}

/*
 * Clean and wrap <caption> for drawing: at most RENDER_CAPTION_LINES lines
 * of at most RENDER_CAPTION_COLS characters joined by '\n', an ellipsis
 * when text was cut.  <out> gets "" for a caption with nothing to draw.
 * Returns 0, or -1 when the caption is over RENDER_CAPTION_MAX bytes or
 * <out> (1024 bytes is always enough) is too small.
 */
int
render_caption_wrap(const char *caption, char *out, size_t size)
{
	char clean[RENDER_CAPTION_MAX + 8], *p, *sp;
	struct wrap w = { out, size, 0, 0, 0, false, false };

	if (size == 0)
		return -1;
	out[0] = '\0';
	if (caption == NULL)
		return 0;
	if (strnlen(caption, RENDER_CAPTION_MAX + 1) > RENDER_CAPTION_MAX)
		return -1;
	caption_clean(caption, clean, sizeof(clean));
	for (p = clean; *p != '\0' && !w.full; p = sp) {
		if ((sp = strchr(p, ' ')) == NULL)
			sp = p + strlen(p);
		wrap_word(&w, p, (size_t)(sp - p));
		if (*sp == ' ')
			sp++;
	}
	if (w.overflow)
		return -1;
	if (w.full)
		wrap_ellipsis(&w);
	return 0;
}

/* ---- inputs ------------------------------------------------------- */

/* A still image: image2 or an *_pipe demuxer, with one sane picture. */
static int
image_json_ok(const char *json)
{
	const cJSON *fmt, *name, *st, *w, *h;
	cJSON *root;
	size_t n;
	int ok = 0;

	if ((root = cJSON_Parse(json)) == NULL)
		return 0;
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	name = cJSON_GetObjectItemCaseSensitive(fmt, "format_name");
	st = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root,
	    "streams"), 0);
	w = cJSON_GetObjectItemCaseSensitive(st, "width");
	h = cJSON_GetObjectItemCaseSensitive(st, "height");
	if (cJSON_IsString(name) && cJSON_IsNumber(w) && cJSON_IsNumber(h) &&
	    w->valuedouble >= 1 && w->valuedouble <= IMAGE_MAX_DIM &&
	    h->valuedouble >= 1 && h->valuedouble <= IMAGE_MAX_DIM) {
		n = strlen(name->valuestring);
		ok = strcmp(name->valuestring, "image2") == 0 || (n > 5 &&
		    strcmp(name->valuestring + n - 5, "_pipe") == 0);
	}
	cJSON_Delete(root);
	return ok;
}

static int
check_image(const char *path, struct progress *prog, char *err,
    size_t errlen)
{
	struct subproc_result res;
	struct stat sb;
	char arg[PATH_MAX + 8];
	char *argv[] = { "ffprobe", "-v", "error", "-print_format", "json",
	    "-show_format", "-show_streams", "-select_streams", "v:0", arg,
	    NULL };
	int ok;

	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "image %s does not exist or is not a "
		    "file", path);
		return RENDER_ERR;
	}
	if (media_file_arg(arg, sizeof(arg), path) == -1 ||
	    subproc_run(argv, IMAGE_PROBE_OUT_MAX, IMAGE_PROBE_TIMEOUT_MS, prog,
	    false, &res) == -1) {
		snprintf(err, errlen, "image %s: cannot run ffprobe: %s", path,
		    strerror(errno));
		return RENDER_ERR;
	}
	if (res.stopped) {
		subproc_result_clear(&res);
		snprintf(err, errlen, "render: stopped");
		return RENDER_STOPPED;
	}
	ok = res.status == 0 && !res.timed_out && res.out != NULL &&
	    res.outlen < IMAGE_PROBE_OUT_MAX && image_json_ok(res.out);
	subproc_result_clear(&res);
	if (!ok) {
		snprintf(err, errlen, "image %s is not an image", path);
		return RENDER_ERR;
	}
	return RENDER_OK;
}

static bool
color_ok(const char *c)
{
	size_t i, n = strlen(c);

	if (n == 8 && c[0] == '0' && c[1] == 'x') {
		for (i = 2; i < n; i++)
			if (!((c[i] >= '0' && c[i] <= '9') ||
			    (c[i] >= 'a' && c[i] <= 'f') ||
			    (c[i] >= 'A' && c[i] <= 'F')))
				return false;
		return true;
	}
	for (i = 0; i < n; i++)
		if (c[i] < 'a' || c[i] > 'z')
			return false;
	return n > 0 && n < 32;
}

static int
check_req(const struct render_req *req, char *err, size_t errlen)
{
	if (req->state_dir == NULL || req->state_dir[0] == '\0') {
		snprintf(err, errlen, "render: no state directory");
		return -1;
	}
	if (req->run_id == NULL || (!id_video_valid(req->run_id) &&
	    !id_uuid_valid(req->run_id))) {
		snprintf(err, errlen, "render: invalid run_id");
		return -1;
	}
	if (req->segment_id == NULL || !id_segment_valid(req->segment_id)) {
		snprintf(err, errlen, "render: invalid segment_id");
		return -1;
	}
	if (req->sha8 == NULL || !id_sha8_valid(req->sha8)) {
		snprintf(err, errlen, "render: invalid sha8");
		return -1;
	}
	if (req->audio_path == NULL || req->audio_path[0] == '\0') {
		snprintf(err, errlen, "segment %s: no audio", req->segment_id);
		return -1;
	}
	if (req->card_color != NULL && !color_ok(req->card_color)) {
		snprintf(err, errlen, "segment %s: card colour must be "
		    "0xRRGGBB or a colour name", req->segment_id);
		return -1;
	}
	return 0;
}

/* ---- the filter graph --------------------------------------------- */

/* Backslash-escape every character of <special> (and '\'). */
static int
escape(const char *in, const char *special, char *out, size_t size)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		if (o + 3 > size)
			return -1;
		if (*in == '\\' || strchr(special, *in) != NULL)
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
	return 0;
}

/* A path as a filter option value inside a filter graph. */
static int
graph_path(const char *path, char *out, size_t size)
{
	char lvl1[2 * PATH_MAX + 1];

	if (escape(path, "':", lvl1, sizeof(lvl1)) == -1)
		return -1;
	return escape(lvl1, "'[],;", out, size);
}

/* The frame size of <req>: RENDER_WIDTH x RENDER_HEIGHT unless a test set one. */
static void
frame_size(const struct render_req *req, int *w, int *h)
{
	*w = req->width > 0 ? req->width : RENDER_WIDTH;
	*h = req->height > 0 ? req->height : RENDER_HEIGHT;
}

static int
build_graph(const struct render_req *req, const char *capfile, char *graph,
    size_t size)
{
	char font[2 * PATH_MAX], cap[2 * PATH_MAX], in[256];
	int n, w, h;

	frame_size(req, &w, &h);
	if (req->image_path != NULL && req->image_path[0] != '\0')
		n = snprintf(in, sizeof(in), "[0:v]scale=%d:%d:"
		    "force_original_aspect_ratio=decrease,"
		    "pad=%d:%d:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,"
		    "fps=25,format=yuv420p", w, h, w, h);
	else
		n = snprintf(in, sizeof(in), "[0:v]format=yuv420p");
	if (n < 0 || (size_t)n >= sizeof(in))
		return -1;
	if (capfile == NULL) {
		n = snprintf(graph, size, "%s[v]", in);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	if (graph_path(req->font_path != NULL ? req->font_path : RENDER_FONT,
	    font, sizeof(font)) == -1 ||
	    graph_path(capfile, cap, sizeof(cap)) == -1)
		return -1;
	/* Caption metrics are for 1080 lines; a test size scales them. */
	n = snprintf(graph, size, "%s,drawtext=fontfile=%s:textfile=%s:"
	    "expansion=none:fontsize=%d:fontcolor=white:line_spacing=%d:"
	    "box=1:boxcolor=black@0.55:boxborderw=%d:x=(w-text_w)/2:"
	    "y=h-text_h-%d[v]", in, font, cap, 56 * h / RENDER_HEIGHT,
	    14 * h / RENDER_HEIGHT, 24 * h / RENDER_HEIGHT,
	    110 * h / RENDER_HEIGHT);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* ---- running ------------------------------------------------------ */

/* Per-call state of one render. */
struct rjob {
	const struct render_req	*req;
	struct progress		*prog;
	double			 audio_dur;
	char			 tmp[PATH_MAX];
	char			 capfile[PATH_MAX];	/* "": none */
	char			 out[PATH_MAX];
};

static int
tmp_make(struct rjob *j, char *err, size_t errlen)
{
	const struct render_req *req = j->req;

	/* state/tmp/render.<pid>.<run>-<segment>.XXXXXX: swept if we die */
	if (scratch_make_job(req->state_dir, "render", req->run_id,
	    req->segment_id, j->tmp, sizeof(j->tmp), err, errlen) == -1)
		return -1;
	if (fs_path(j->out, sizeof(j->out), "%s/out.mp4", j->tmp) == -1) {
		snprintf(err, errlen, "render: temporary path: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
write_caption(struct rjob *j, char *err, size_t errlen)
{
	const char *font = j->req->font_path != NULL ? j->req->font_path :
	    RENDER_FONT;
	char text[1024];

	j->capfile[0] = '\0';
	if (render_caption_wrap(j->req->caption, text, sizeof(text)) == -1) {
		snprintf(err, errlen, "segment %s: caption over %d bytes",
		    j->req->segment_id, RENDER_CAPTION_MAX);
		return -1;
	}
	if (text[0] == '\0')
		return 0;
	if (!fs_exists(font)) {
		snprintf(err, errlen, "render: font %s is missing", font);
		return -1;
	}
	if (fs_path(j->capfile, sizeof(j->capfile), "%s/caption.txt",
	    j->tmp) == -1 ||
	    fs_write_atomic(j->capfile, text, strlen(text)) == -1) {
		snprintf(err, errlen, "render: cannot write the caption: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The video input: the looped image or a lavfi colour card. */
static int
video_input(const struct render_req *req, char **argv, int *n, char *img,
    size_t imgsz, char *card, size_t cardsz)
{
	int w, h;

	if (req->image_path != NULL && req->image_path[0] != '\0') {
		if (media_file_arg(img, imgsz, req->image_path) == -1)
			return -1;
		argv[(*n)++] = "-loop";
		argv[(*n)++] = "1";
		argv[(*n)++] = "-framerate";
		argv[(*n)++] = "25";
		argv[(*n)++] = "-i";
		argv[(*n)++] = img;
		return 0;
	}
	frame_size(req, &w, &h);
	snprintf(card, cardsz, "color=c=%s:s=%dx%d:r=25",
	    req->card_color != NULL ? req->card_color : RENDER_CARD_COLOR, w,
	    h);
	argv[(*n)++] = "-f";
	argv[(*n)++] = "lavfi";
	argv[(*n)++] = "-i";
	argv[(*n)++] = card;
	return 0;
}

static int
run_ffmpeg(struct rjob *j, char *err, size_t errlen)
{
	static const char *const tail[] = { "-map", "[v]", "-map", "1:a:0",
	    "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
	    "-b:v", RENDER_VIDEO_RATE, "-minrate", RENDER_VIDEO_RATE,
	    "-maxrate", RENDER_VIDEO_RATE, "-bufsize", RENDER_VIDEO_BUF,
	    "-x264-params", "nal-hrd=cbr",
	    "-pix_fmt", "yuv420p", "-r", "25", "-c:a", "aac", "-b:a", "192k",
	    "-ar", "48000", "-movflags", "+faststart", "-f", "mp4", NULL };
	char img[PATH_MAX + 8], aud[PATH_MAX + 8], out[PATH_MAX + 8];
	char card[64], dur[32], graph[GRAPH_MAX];
	char *argv[64] = { "ffmpeg", "-nostdin", "-hide_banner", "-v",
	    "error", "-y", "-progress", "pipe:1", "-nostats" };
	int i, n = 9;

	if (video_input(j->req, argv, &n, img, sizeof(img), card,
	    sizeof(card)) == -1 ||
	    media_file_arg(aud, sizeof(aud), j->req->audio_path) == -1 ||
	    media_file_arg(out, sizeof(out), j->out) == -1 ||
	    build_graph(j->req, j->capfile[0] != '\0' ? j->capfile : NULL,
	    graph, sizeof(graph)) == -1) {
		snprintf(err, errlen, "render: path too long");
		return RENDER_ERR;
	}
	snprintf(dur, sizeof(dur), "%.6f", j->audio_dur);
	argv[n++] = "-i";
	argv[n++] = aud;
	argv[n++] = "-filter_complex";
	argv[n++] = graph;
	for (i = 0; tail[i] != NULL; i++)
		argv[n++] = (char *)tail[i];
	argv[n++] = "-t";
	argv[n++] = dur;
	argv[n++] = out;
	argv[n] = NULL;
	/* A still-image render runs far faster than real time. */
	return media_run(argv, MEDIA_TIMEOUT_MS + (long)(j->audio_dur * 20000),
	    true, j->prog, err, errlen);
}

static int
verify_output(struct rjob *j, char *err, size_t errlen)
{
	struct probe_info pi;
	int r, w, h;

	if ((r = media_measure(j->out, j->prog, &pi, err, errlen)) != 0)
		return r;
	frame_size(j->req, &w, &h);
	if (strcmp(pi.video_codec, "h264") != 0 ||
	    strcmp(pi.audio_codec, "aac") != 0 || pi.width != w ||
	    pi.height != h) {
		snprintf(err, errlen, "segment %s: render is %s/%s %dx%d, not "
		    "h264/aac %dx%d", j->req->segment_id, pi.video_codec,
		    pi.audio_codec, pi.width, pi.height, w, h);
		return RENDER_ERR;
	}
	if (fabs(pi.duration - j->audio_dur) > RENDER_DURATION_TOL) {
		snprintf(err, errlen, "segment %s: render lasts %.3f s, audio "
		    "%.3f s", j->req->segment_id, pi.duration, j->audio_dur);
		return RENDER_ERR;
	}
	return RENDER_OK;
}

static int
fsync_file(const char *path)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static int
commit(struct rjob *j, char *err, size_t errlen)
{
	char rel[192], dir[PATH_MAX], dest[PATH_MAX];

	if (render_staging_path(j->req, rel, sizeof(rel)) == -1 ||
	    fs_path(dir, sizeof(dir), "%s/video/staging",
	    j->req->state_dir) == -1 ||
	    fs_path(dest, sizeof(dest), "%s/%s", j->req->state_dir, rel) ==
	    -1) {
		snprintf(err, errlen, "render: path too long");
		return RENDER_ERR;
	}
	if (chmod(j->out, 0600) == -1 || fsync_file(j->out) == -1 ||
	    fs_mkdirs(dir, 0700) == -1 || rename(j->out, dest) == -1 ||
	    fs_fsync_dir(dir) == -1) {
		snprintf(err, errlen, "render: cannot store %s: %s", dest,
		    strerror(errno));
		return RENDER_ERR;
	}
	return RENDER_OK;
}

/*
 * "video/staging/V_<run>_<seg>_<sha8>.mp4" (relative to the state
 * directory) into <rel>.  Returns 0, or -1 for invalid IDs or a short
 * buffer.
 */
int
render_staging_path(const struct render_req *req, char *rel, size_t size)
{
	if (req->run_id == NULL || req->segment_id == NULL ||
	    req->sha8 == NULL || (!id_video_valid(req->run_id) &&
	    !id_uuid_valid(req->run_id)) ||
	    !id_segment_valid(req->segment_id) || !id_sha8_valid(req->sha8))
		return -1;
	return fs_path(rel, size, "video/staging/V_%s_%s_%s.mp4",
	    req->run_id, req->segment_id, req->sha8);
}

static int
probe_audio(struct rjob *j, char *err, size_t errlen)
{
	struct probe_info pi;
	char perr[512];
	int r;

	if ((r = media_measure(j->req->audio_path, j->prog, &pi, perr,
	    sizeof(perr))) != 0) {
		snprintf(err, errlen, "segment %s: audio: %s",
		    j->req->segment_id, perr);
		return r;
	}
	if (pi.audio_codec[0] == '\0') {
		snprintf(err, errlen, "segment %s: audio %s has no audio "
		    "stream", j->req->segment_id, j->req->audio_path);
		return RENDER_ERR;
	}
	j->audio_dur = pi.duration;
	return RENDER_OK;
}

/*
 * Render one segment (see the top of this file).  <req> and <prog> (may
 * be NULL) are borrowed.  Returns RENDER_OK with the file in
 * render_staging_path(), RENDER_STOPPED, or RENDER_ERR with <err> naming
 * the segment or file and the problem.  Nothing is staged on failure.
 */
int
render_ffmpeg_segment(const struct render_req *req, struct progress *prog,
    char *err, size_t errlen)
{
	struct rjob j;
	int r;

	memset(&j, 0, sizeof(j));
	j.req = req;
	j.prog = prog;
	if (check_req(req, err, errlen) == -1)
		return RENDER_ERR;
	if ((r = probe_audio(&j, err, errlen)) != 0)
		return r;
	if (req->image_path != NULL && req->image_path[0] != '\0' &&
	    (r = check_image(req->image_path, prog, err, errlen)) != 0)
		return r;
	if (tmp_make(&j, err, errlen) == -1 ||
	    write_caption(&j, err, errlen) == -1)
		r = RENDER_ERR;
	else if ((r = run_ffmpeg(&j, err, errlen)) == 0 &&
	    (r = verify_output(&j, err, errlen)) == 0)
		r = commit(&j, err, errlen);
	fs_remove_dir_files(j.tmp);
	return r;
}
