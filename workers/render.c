/* SPDX-License-Identifier: ISC */
/*
 * render.c: rvw-render, the segment renderer child.
 *
 * One task per run.  A segment's video is V_<run>_<segment>_<sha8>.mp4,
 * where sha8 is the sha8 of its finalized audio: the name says exactly
 * what the video contains, so a valid file of that name in
 * state/video/final/ is skipped and costs nothing, and a valid staged
 * file left by an interrupted attempt is reused instead of rendered
 * again.  Preflight runs before the first render: credits needed
 * (segments to render x cost per segment) must not exceed the credits
 * available, else the run stops with NO_GO before anything is spent.
 * Every render records a ledger intent (key <run>:<segment>:<sha8>)
 * through the supervisor before it starts and its result after, and
 * render_done carries an event id derived from that key, so a crash and a
 * retry never count a render twice.  Backend: local ffmpeg (free); the
 * Dzine browser backend is selected by RAYVAULT_RENDERER=dzine.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/fsutil.h"
#include "common/ids.h"
#include "common/probe.h"
#include "common/spec.h"
#include "workers/probe_lib.h"
#include "workers/render_lib.h"
#include "workers/targs.h"
#include "workers/worker.h"

struct seg_plan {
	const cJSON	*spec;		/* spec segment */
	const char	*segment_id;
	const char	*sha8;
	const char	*audio;
	double		 duration;
	char		 final_rel[PATH_MAX];
	char		 staged_rel[PATH_MAX];
	bool		 have_final, have_staged;
};

/* Does <rel> hold a video that passes the probe rules for <target>? */
static bool
valid_video(const char *state_dir, const char *rel, double target)
{
	char path[PATH_MAX], err[256];
	struct probe_info pi;

	if (fs_path(path, sizeof(path), "%s/%s", state_dir, rel) == -1 ||
	    !fs_exists(path))
		return false;
	if (probe_file(path, NULL, &pi, err, sizeof(err)) == -1)
		return false;
	return probe_validate(&pi, target, 0, err, sizeof(err)) == 0;
}

/*
 * A valid final video of the same segment and the same audio (same sha8)
 * made by another run: its content is exactly what this run would
 * render, so it is reused as it is and costs nothing.
 */
static bool
find_identical(const struct targs *t, struct seg_plan *p)
{
	char dir[PATH_MAX], pat[128], rel[PATH_MAX];
	struct dirent *de;
	size_t n, m;
	DIR *d;
	bool found = false;

	if (fs_path(dir, sizeof(dir), "%s/video/final", t->state_dir) == -1 ||
	    (d = opendir(dir)) == NULL)
		return false;
	n = (size_t)snprintf(pat, sizeof(pat), "_%s_%s.mp4", p->segment_id,
	    p->sha8);
	while (!found && (de = readdir(d)) != NULL) {
		m = strlen(de->d_name);
		if (m <= n + 2 || strncmp(de->d_name, "V_", 2) != 0 ||
		    strcmp(de->d_name + m - n, pat) != 0)
			continue;
		if (fs_path(rel, sizeof(rel), "video/final/%s",
		    de->d_name) == -1)
			continue;
		if (valid_video(t->state_dir, rel, p->duration)) {
			strlcpy(p->final_rel, rel, sizeof(p->final_rel));
			found = true;
		}
	}
	closedir(d);
	return found;
}

static int
plan_segment(const struct targs *t, const cJSON *s, struct seg_plan *p,
    char *err, size_t errlen)
{
	const cJSON *cs;
	struct render_req rq;

	memset(p, 0, sizeof(*p));
	p->spec = s;
	p->segment_id = targs_str(s, "segment_id");
	cs = targs_ckpt_seg(t, p->segment_id);
	p->sha8 = targs_str(cs, "sha8");
	p->audio = targs_str(cs, "audio");
	p->duration = targs_num(cs, "audio_duration", -1);
	if (p->sha8 == NULL || !id_sha8_valid(p->sha8) || p->audio == NULL ||
	    strstr(p->audio, "..") != NULL || p->duration <= 0) {
		snprintf(err, errlen, "segment %s: no finalized audio recorded "
		    "by the voice stage", p->segment_id);
		return -1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.state_dir = t->state_dir;
	rq.run_id = t->run_id;
	rq.segment_id = p->segment_id;
	rq.sha8 = p->sha8;
	if (render_staging_path(&rq, p->staged_rel, sizeof(p->staged_rel)) ==
	    -1 || fs_path(p->final_rel, sizeof(p->final_rel),
	    "video/final/V_%s_%s_%s.mp4", t->run_id, p->segment_id,
	    p->sha8) == -1) {
		snprintf(err, errlen, "segment %s: path too long",
		    p->segment_id);
		return -1;
	}
	p->have_final = valid_video(t->state_dir, p->final_rel, p->duration) ||
	    find_identical(t, p);
	if (!p->have_final)
		p->have_staged = valid_video(t->state_dir, p->staged_rel,
		    p->duration);
	return 0;
}

static cJSON *
seg_event(const struct seg_plan *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "segment_id", p->segment_id);
	cJSON_AddStringToObject(o, "sha8", p->sha8);
	return o;
}

static int
render_one(struct wrk_env *env, const struct targs *t, struct seg_plan *p,
    char *err, size_t errlen)
{
	char key[160], evid[ID_UUID_LEN + 1], audio[PATH_MAX], img[PATH_MAX];
	char prev[16] = "", ierr[256];
	const char *image = targs_str(cJSON_GetObjectItem(p->spec, "visual"),
	    "image");
	struct render_req rq;
	int rc, fresh;

	snprintf(key, sizeof(key), "%s:%s:%s", t->run_id, p->segment_id,
	    p->sha8);
	snprintf(ierr, sizeof(ierr), "render_done:%s", key);
	id_uuid_from_name(ierr, evid);
	if (!p->have_staged) {
		fresh = worker_ledger_intent(env, t->run_id, key,
		    p->segment_id, p->sha8, 0, prev, sizeof(prev));
		if (fresh == -1) {
			snprintf(err, errlen, "segment %s: the ledger intent "
			    "was not recorded (lock lost or store away)",
			    p->segment_id);
			return RENDER_ERR;
		}
		worker_event(env, t->run_id, "render_started", "INFO",
		    p->segment_id, seg_event(p));
		memset(&rq, 0, sizeof(rq));
		rq.state_dir = t->state_dir;
		rq.run_id = t->run_id;
		rq.segment_id = p->segment_id;
		rq.sha8 = p->sha8;
		if (fs_path(audio, sizeof(audio), "%s/%s", t->state_dir,
		    p->audio) == -1)
			return RENDER_ERR;
		rq.audio_path = audio;
		if (image != NULL && spec_resolve_path(t->spec_dir, image, img,
		    sizeof(img), err, errlen) == -1)
			return RENDER_ERR;
		rq.image_path = image != NULL ? img : NULL;
		rq.caption = targs_str(p->spec, "text");
		rc = render_ffmpeg_segment(&rq, worker_progress(env), err,
		    errlen);
		if (rc != RENDER_OK) {
			(void)worker_ledger_result(env, t->run_id, key,
			    "failed", 0, "");
			return rc;
		}
	}
	worker_event_id(env, evid, t->run_id, "render_done", "INFO",
	    p->segment_id, seg_event(p));
	(void)worker_ledger_result(env, t->run_id, key, "done", 0,
	    p->staged_rel);
	return RENDER_OK;
}

/* Credits needed vs available; -1 (NO_GO) with <err> explaining. */
static int
preflight(struct wrk_env *env, int to_render, char *err, size_t errlen)
{
	const struct rv_config *cfg = worker_config(env);
	long cost = strcmp(cfg->renderer, "dzine") == 0 ?
	    cfg->dzine_credits_per_segment : 0;
	long needed = cost * to_render;

	if (needed == 0)
		return 0;
	if (cfg->dzine_credits_available < 0 ||
	    needed > cfg->dzine_credits_available) {
		snprintf(err, errlen, "NO_GO: %d segments to render need %ld "
		    "credits, %ld available", to_render, needed,
		    cfg->dzine_credits_available);
		return -1;
	}
	return 0;
}

static cJSON *
seg_result(const struct seg_plan *p)
{
	cJSON *o = seg_event(p);

	cJSON_AddStringToObject(o, "video", p->have_final ? p->final_rel :
	    p->staged_rel);
	cJSON_AddBoolToObject(o, "render_skipped", p->have_final);
	return o;
}

static enum wrk_outcome
render_task(struct wrk_env *env, const char *type, const cJSON *args,
    cJSON **result, char *err, size_t errlen)
{
	struct seg_plan plan[128];
	struct targs t;
	const cJSON *s;
	cJSON *segs;
	int n = 0, i, todo = 0, rc;

	if (strcmp(type, "render") != 0 || targs_parse(args, &t, err,
	    errlen) == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "rvw-render: unknown task %s",
			    type);
		return WRK_FAIL;
	}
	cJSON_ArrayForEach(s, t.segments) {
		if (n == 128 || plan_segment(&t, s, &plan[n], err,
		    errlen) == -1)
			return WRK_FAIL;
		if (progress_step(worker_progress(env)) == -1)
			return WRK_STOPPED;
		todo += !plan[n].have_final && !plan[n].have_staged;
		n++;
	}
	if (preflight(env, todo, err, errlen) == -1) {
		*result = cJSON_CreateObject();
		cJSON_AddStringToObject(*result, "panic",
		    "panic_preflight_no_go");
		cJSON_AddNumberToObject(*result, "segments_to_render", todo);
		return WRK_PANIC;
	}
	*result = cJSON_CreateObject();
	segs = cJSON_AddArrayToObject(*result, "segments");
	for (i = 0; i < n; i++) {
		if (plan[i].have_final)
			worker_event(env, t.run_id, "render_skipped", "INFO",
			    plan[i].segment_id, seg_event(&plan[i]));
		else if ((rc = render_one(env, &t, &plan[i], err, errlen)) !=
		    RENDER_OK)
			return rc == RENDER_STOPPED ? WRK_STOPPED : WRK_FAIL;
		cJSON_AddItemToArray(segs, seg_result(&plan[i]));
	}
	return WRK_OK;
}

int
main(int argc, char **argv)
{
	worker_main(argc, argv, "render", render_task);
}
