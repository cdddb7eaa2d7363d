/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_RENDER_FFMPEG_RENDER_H
#define RV_WORKERS_RENDER_FFMPEG_RENDER_H

#include <stddef.h>

#include "workers/skeleton/media_tool.h"

struct progress;

/*
 * The local ffmpeg renderer (SPEC section 3, "Render", backend ffmpeg):
 * a still image (or a colour card) with the segment's caption and its
 * finalized audio, as <state_dir>/video/staging/V_<run>_<seg>_<sha8>.mp4:
 * 1920x1080 H.264 yuv420p at 25 fps + AAC, +faststart, exactly as long as
 * the audio (within RENDER_DURATION_TOL).  See workers/render/ffmpeg_render.c.
 */

#define RENDER_OK	MEDIA_OK
#define RENDER_ERR	MEDIA_ERR	/* failed; err says why */
#define RENDER_STOPPED	MEDIA_STOPPED	/* the progress said stop */

#define RENDER_WIDTH		1920
#define RENDER_HEIGHT		1080
#define RENDER_FPS		25
#define RENDER_VIDEO_RATE	"1200k"	/* constant: clears the 1 Mbps gate */
#define RENDER_VIDEO_BUF	"2400k"
#define RENDER_DURATION_TOL	0.15	/* seconds, video vs audio */
#define RENDER_CAPTION_MAX	1024	/* bytes of caption text */
#define RENDER_CAPTION_COLS	48	/* characters per caption line */
#define RENDER_CAPTION_LINES	3
#define RENDER_CARD_COLOR	"0x1d2733"
#define RENDER_FONT	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

struct render_req {
	const char	*state_dir;	/* existing directory */
	const char	*run_id;
	const char	*segment_id;
	const char	*sha8;		/* names the output */
	const char	*audio_path;	/* finalized audio, as given */
	const char	*image_path;	/* NULL or "": colour card */
	const char	*caption;	/* NULL or "": no caption */
	const char	*card_color;	/* NULL: RENDER_CARD_COLOR */
	const char	*font_path;	/* NULL: RENDER_FONT */
	int		 width;		/* 0: RENDER_WIDTH x RENDER_HEIGHT; */
	int		 height;	/*  else a test size (render.c) */
};

int	render_staging_path(const struct render_req *req, char *rel,
	    size_t size);
int	render_caption_wrap(const char *caption, char *out, size_t size);
int	render_ffmpeg_segment(const struct render_req *req,
	    struct progress *prog, char *err, size_t errlen);

#endif
