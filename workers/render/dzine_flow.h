/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_RENDER_DZINE_FLOW_H
#define RV_WORKERS_RENDER_DZINE_FLOW_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

struct cdp;
struct progress;

/*
 * The Dzine flow file (config/dzine_flow.json, docs/dzine.md): the steps
 * that drive the site, parsed and validated, and the runner that plays
 * them on a page over the DevTools protocol.  See workers/render/dzine_flow.c.
 */

#define DZ_STEPS_MAX	32
#define DZ_SEL_MAX	512	/* bytes of a CSS selector */
#define DZ_TEXT_MAX	1024	/* bytes of a URL or text template */
#define DZ_FILES_MAX	4	/* files of one set_files step */
#define DZ_FLOW_BYTES	(256 * 1024)	/* largest flow file read */
#define DZ_CMD_MS	10000	/* deadline of one DevTools command */
#define DZ_POLL_MS	200	/* period of page polls in waits */
#define DZ_PROBE_MS	3000	/* deadline of one page poll */

enum dz_rc {
	DZ_OK = 0,
	DZ_FAIL = -1,		/* local problem (files, flow file): err */
	DZ_UI = -2,		/* the site failed or misbehaved: err */
	DZ_NOGO = -3,		/* balance below the credits needed */
	DZ_GONE = -4,		/* the browser died or closed the pipe */
	DZ_STOPPED = -5		/* the progress said stop */
};

enum dz_kind {
	DZ_NAVIGATE, DZ_WAIT_SELECTOR, DZ_SET_FILES, DZ_TYPE, DZ_CLICK,
	DZ_WAIT_PROGRESS, DZ_READ_CREDITS, DZ_WAIT_DOWNLOAD, DZ_READ_ERROR
};

enum dz_slot { DZ_SLOT_BALANCE, DZ_SLOT_BEFORE, DZ_SLOT_AFTER, DZ_NSLOTS };

struct dz_step {
	enum dz_kind	 kind;
	char		 selector[DZ_SEL_MAX];
	char		 error_selector[DZ_SEL_MAX];	/* "": none */
	char		 done_selector[DZ_SEL_MAX];	/* wait_progress */
	char		 attribute[64];		/* wait_progress; "": text */
	char		 text[DZ_TEXT_MAX];	/* navigate url, type text */
	char		 files[DZ_FILES_MAX][64];	/* set_files */
	size_t		 nfiles;
	enum dz_slot	 slot;			/* read_credits "as" */
	int		 timeout_ms;
	bool		 optional;		/* set_files: skip if no file */
	bool		 generate;		/* click: the paid press */
};

struct dz_flow {
	char		 base_url[DZ_TEXT_MAX];
	struct dz_step	 preflight[DZ_STEPS_MAX];
	size_t		 npreflight;
	struct dz_step	 render[DZ_STEPS_MAX];
	size_t		 nrender;
};

/* Values the templates {base} {image} {audio} {prompt} stand for. */
struct dz_vars {
	const char	*base;
	const char	*image;		/* absolute path or "" */
	const char	*audio;
	const char	*prompt;
};

struct dz_run {
	struct cdp	*cdp;
	const char	*session;	/* the page's flatten session */
	struct progress	*prog;
	const struct dz_vars *vars;
	const char	*download_dir;	/* absolute; NULL: none */
	const char	*out_path;	/* a finished download moves here */
	long		 needed;	/* credits a press costs; 0: any */
	int		(*before_generate)(void *arg, char *err, size_t errlen);
	void		*arg;
	/* filled by the runner */
	long		 credits[DZ_NSLOTS];	/* -1: not read */
	bool		 pressed;	/* the generate click was sent */
	char		 download[PATH_MAX];	/* the export, once in place */
	char		 partial[PATH_MAX];	/* a download under way */
	long long	 bytes;
};

struct dz_flow *dz_flow_parse(const cJSON *root, char *err, size_t errlen);
struct dz_flow *dz_flow_load(const char *path, char *err, size_t errlen);
void	dz_flow_free(struct dz_flow *f);
int	dz_expand(const char *tmpl, const struct dz_vars *v, char *out,
	    size_t size);
long	dz_parse_credits(const char *text);
int	dz_parse_number(const char *text, double *out);
int	dz_js_string(const char *s, char *out, size_t size);
void	dz_run_init(struct dz_run *r);
int	dz_flow_run(const struct dz_step *steps, size_t n, struct dz_run *r,
	    char *err, size_t errlen);
const char *dz_kind_name(enum dz_kind k);

#endif
