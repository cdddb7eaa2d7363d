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
 *
 * Dzine (workers/render/dzine.c): a headless Chromium per segment follows the
 * flow file.  When DZINE_CREDITS_AVAILABLE is unset, preflight reads the
 * balance through the flow before anything is pressed.  The ledger intent
 * is written right before generate is pressed (after a balance check on
 * the page), and its result carries the credits spent as read back from
 * the page after the export.  An intent left open by a crash is resolved
 * by the export it left in staging (reused, not paid again); without one
 * the segment is rendered again.  An error on the site is
 * panic_dzine_ui_failure; a browser that dies mid-render is reported
 * (browser_died) and the renderer exits so the supervisor restarts it
 * and re-dispatches the stage.  While a browser runs, the heartbeats say
 * so ("browser": true), so only then is a lost renderer a frozen browser.
 *
 * Every wait heartbeats through the task's progress, the probes of
 * existing videos while the stage is planned included: ffprobe may take
 * long on a loaded machine, and that is work, not a frozen child.
 *
 * Only when RV_TESTING=1 (the rule of the fault hooks):
 * RV_TEST_RENDER_SIZE=WxH makes the local ffmpeg renderer draw its videos
 * at that size instead of 1920x1080, so pipeline tests that are not about
 * the picture spend a fraction of the CPU.  A bad value is logged and
 * ignored (the real size is used).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/log.h"
#include "common/media/ffprobe.h"
#include "common/core/spec.h"
#include "workers/render/dzine.h"
#include "workers/render/ffmpeg_render.h"
#include "workers/skeleton/media_tool.h"
#include "workers/skeleton/task_args.h"
#include "workers/skeleton/worker.h"

/* Outcomes of a Dzine render besides the RENDER_* of ffmpeg_render.h. */
#define RENDER_UI	(-10)	/* the site failed: panic_dzine_ui_failure */
#define RENDER_NOGO	(-11)	/* not enough credits on the page */
#define DIED_LINGER_MS	300	/* lets the browser_died event leave */

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

/*
 * Does <rel> hold a video that passes the probe rules for <target>?
 * ffprobe may take long on a loaded machine: <prog> keeps heartbeating.
 */
static bool
valid_video(const char *state_dir, const char *rel, double target,
    struct progress *prog)
{
	char path[PATH_MAX], err[256];
	struct probe_info pi;

	if (fs_path(path, sizeof(path), "%s/%s", state_dir, rel) == -1 ||
	    !fs_exists(path))
		return false;
	if (media_measure(path, prog, &pi, err, sizeof(err)) != MEDIA_OK)
		return false;
	return probe_validate(&pi, target, 0, err, sizeof(err)) == 0;
}

/*
 * A valid final video of the same segment and the same audio (same sha8)
 * made by another run: its content is exactly what this run would
 * render, so it is reused as it is and costs nothing.
 */
static bool
find_identical(const struct targs *t, struct seg_plan *p,
    struct progress *prog)
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
		if (valid_video(t->state_dir, rel, p->duration, prog)) {
			strlcpy(p->final_rel, rel, sizeof(p->final_rel));
			found = true;
		}
	}
	closedir(d);
	return found;
}

static int
plan_segment(const struct targs *t, const cJSON *s, struct progress *prog,
    struct seg_plan *p, char *err, size_t errlen)
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
	p->have_final = valid_video(t->state_dir, p->final_rel, p->duration,
	    prog) || find_identical(t, p, prog);
	if (!p->have_final)
		p->have_staged = valid_video(t->state_dir, p->staged_rel,
		    p->duration, prog);
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

static bool
use_dzine(struct wrk_env *env)
{
	return strcmp(worker_config(env)->renderer, "dzine") == 0;
}

static long
credit_cost(struct wrk_env *env)
{
	return use_dzine(env) ? worker_config(env)->dzine_credits_per_segment :
	    0;
}

/* The test frame size of RV_TEST_RENDER_SIZE into <rq>, if any. */
static void
test_size(struct render_req *rq)
{
	const char *t = getenv("RV_TESTING"), *v = getenv("RV_TEST_RENDER_SIZE");
	char *end;
	long w, h;

	if (t == NULL || strcmp(t, "1") != 0 || v == NULL || *v == '\0')
		return;
	w = strtol(v, &end, 10);
	h = *end == 'x' ? strtol(end + 1, &end, 10) : 0;
	if (*end != '\0' || w < 32 || w > RENDER_WIDTH || h < 32 ||
	    h > RENDER_HEIGHT || w % 2 != 0 || h % 2 != 0) {
		log_warnx("RV_TEST_RENDER_SIZE \"%s\" is not WxH (even, 32x32 "
		    "to %dx%d); rendering at the real size", v, RENDER_WIDTH,
		    RENDER_HEIGHT);
		return;
	}
	rq->width = (int)w;
	rq->height = (int)h;
}

/* The local ffmpeg render: intent, render, and a failed result if so. */
static int
render_local(struct wrk_env *env, const struct targs *t, struct seg_plan *p,
    const char *key, char *err, size_t errlen)
{
	char audio[PATH_MAX], img[PATH_MAX], prev[16] = "";
	const char *image = targs_str(cJSON_GetObjectItem(p->spec, "visual"),
	    "image");
	struct render_req rq;
	int rc, fresh;

	fresh = worker_ledger_intent(env, t->run_id, key, p->segment_id,
	    p->sha8, 0, prev, sizeof(prev));
	if (fresh == -1) {
		snprintf(err, errlen, "segment %s: the ledger intent was not "
		    "recorded (lock lost or store away)", p->segment_id);
		return RENDER_ERR;
	}
	worker_event(env, t->run_id, "render_started", "INFO", p->segment_id,
	    seg_event(p));
	memset(&rq, 0, sizeof(rq));
	rq.state_dir = t->state_dir;
	rq.run_id = t->run_id;
	rq.segment_id = p->segment_id;
	rq.sha8 = p->sha8;
	if (fs_path(audio, sizeof(audio), "%s/%s", t->state_dir, p->audio) ==
	    -1)
		return RENDER_ERR;
	rq.audio_path = audio;
	if (image != NULL && spec_resolve_path(t->spec_dir, image, img,
	    sizeof(img), err, errlen) == -1)
		return RENDER_ERR;
	rq.image_path = image != NULL ? img : NULL;
	rq.caption = targs_str(p->spec, "text");
	test_size(&rq);
	rc = render_ffmpeg_segment(&rq, worker_progress(env), err, errlen);
	if (rc != RENDER_OK)
		(void)worker_ledger_result(env, t->run_id, key, "failed", 0,
		    "");
	return rc;
}

struct dz_hook {
	struct wrk_env		*env;
	const struct targs	*t;
	const struct seg_plan	*p;
	const char		*key;
	bool			 booked;
};

/* Called right before generate is pressed: book the ledger intent. */
static int
dz_intent(void *arg, char *err, size_t errlen)
{
	struct dz_hook *h = arg;
	char prev[16] = "";
	cJSON *pl;
	int fresh;

	fresh = worker_ledger_intent(h->env, h->t->run_id, h->key,
	    h->p->segment_id, h->p->sha8, (int)credit_cost(h->env), prev,
	    sizeof(prev));
	if (fresh == -1) {
		snprintf(err, errlen, "the ledger intent was not recorded "
		    "(lock lost or store away); generate was not pressed");
		return -1;
	}
	if (fresh == 0) {
		pl = seg_event(h->p);
		cJSON_AddStringToObject(pl, "prev_state", prev);
		worker_event(h->env, h->t->run_id, "render_paid_again", "WARN",
		    h->p->segment_id, pl);
	}
	h->booked = true;
	return 0;
}

/* Report a dead browser, then leave: the supervisor restarts us. */
static void __attribute__((noreturn))
browser_died(struct wrk_env *env, const struct targs *t,
    const struct seg_plan *p, const struct dzine_outcome *o, const char *why)
{
	struct progress *prog = worker_progress(env);
	cJSON *pl = seg_event(p);

	cJSON_AddNumberToObject(pl, "browser_pid", (double)o->browser_pid);
	cJSON_AddNumberToObject(pl, "status", o->browser_status);
	cJSON_AddBoolToObject(pl, "generate_pressed", o->pressed);
	cJSON_AddStringToObject(pl, "error", why);
	log_warnx("segment %s: %s; the renderer restarts", p->segment_id, why);
	worker_event(env, t->run_id, "browser_died", "ERROR", p->segment_id,
	    pl);
	(void)progress_sleep(prog, DIED_LINGER_MS);
	_exit(EX_TEMPFAIL);
}

/* The browser session hook: the heartbeats say "browser" meanwhile. */
static void
dz_session(void *arg, bool open)
{
	worker_set_browser(arg, open);
}

static void
dz_config(struct wrk_env *env, const struct targs *t, struct dzine_cfg *dc)
{
	const struct rv_config *cfg = worker_config(env);
	static bool said;

	if (!said && dzine_no_sandbox(geteuid())) {
		log_warnx("running as root: Chromium starts with --no-sandbox "
		    "(run RayVault as a normal user to keep its sandbox)");
		said = true;
	}
	memset(dc, 0, sizeof(*dc));
	dc->state_dir = t->state_dir;
	dc->flow_file = cfg->dzine_flow_file;
	dc->url = cfg->dzine_url;
	dc->profile_dir = cfg->dzine_profile_dir;
	dc->prog = worker_progress(env);
	dc->session = dz_session;
	dc->session_arg = env;
}

/* The segment's face image: its own, else the product's; "" for none. */
static int
dz_image(const struct targs *t, const struct seg_plan *p, char *img,
    size_t size, char *err, size_t errlen)
{
	const char *image = targs_str(cJSON_GetObjectItem(p->spec, "visual"),
	    "image");

	if (image == NULL)
		image = targs_str(cJSON_GetObjectItem(t->spec, "product"),
		    "image");
	img[0] = '\0';
	if (image == NULL)
		return 0;
	return spec_resolve_path(t->spec_dir, image, img, size, err, errlen);
}

static void
dz_spent(struct wrk_env *env, const struct targs *t, const struct seg_plan *p,
    const struct dzine_outcome *o, long *credits)
{
	cJSON *pl = seg_event(p);

	/* a page that has not shown the charge yet says 0: trust the cost */
	*credits = credit_cost(env);
	if (o->before >= 0 && o->after >= 0 && o->before > o->after)
		*credits = o->before - o->after;
	cJSON_AddNumberToObject(pl, "balance_before", (double)o->before);
	cJSON_AddNumberToObject(pl, "balance_after", (double)o->after);
	cJSON_AddNumberToObject(pl, "credits_spent", (double)*credits);
	worker_event(env, t->run_id, "dzine_credits", *credits ==
	    credit_cost(env) ? "INFO" : "WARN", p->segment_id, pl);
}

/* A Dzine render of one segment; *credits gets what it cost. */
static int
render_dzine(struct wrk_env *env, const struct targs *t, struct seg_plan *p,
    const char *key, long *credits, char *err, size_t errlen)
{
	char audio[PATH_MAX], img[PATH_MAX], out[PATH_MAX], why[1024];
	struct dz_hook h = { env, t, p, key, false };
	struct dzine_outcome o;
	struct dzine_seg seg;
	struct dzine_cfg dc;
	int rc;

	if (fs_path(audio, sizeof(audio), "%s/%s", t->state_dir, p->audio) ==
	    -1 || fs_path(out, sizeof(out), "%s/%s", t->state_dir,
	    p->staged_rel) == -1 || dz_image(t, p, img, sizeof(img), err,
	    errlen) == -1)
		return RENDER_ERR;
	worker_event(env, t->run_id, "render_started", "INFO", p->segment_id,
	    seg_event(p));
	dz_config(env, t, &dc);
	memset(&seg, 0, sizeof(seg));
	seg.image = img;
	seg.audio = audio;
	seg.prompt = targs_str(cJSON_GetObjectItem(p->spec, "visual"),
	    "prompt") ?: targs_str(p->spec, "text");
	seg.out_path = out;
	seg.needed = credit_cost(env);
	seg.before_generate = dz_intent;
	seg.arg = &h;
	rc = dzine_render(&dc, &seg, &o, why, sizeof(why));
	if (rc == DZ_OK) {
		dz_spent(env, t, p, &o, credits);
		return RENDER_OK;
	}
	snprintf(err, errlen, "segment %s: %s", p->segment_id, why);
	if (rc == DZ_GONE)
		browser_died(env, t, p, &o, why);
	if (rc == DZ_STOPPED)
		return RENDER_STOPPED;	/* an open intent is resolved later */
	if (h.booked)
		(void)worker_ledger_result(env, t->run_id, key, "failed",
		    o.pressed ? (int)credit_cost(env) : 0, "");
	return rc == DZ_UI ? RENDER_UI : rc == DZ_NOGO ? RENDER_NOGO :
	    RENDER_ERR;
}

/*
 * Render one segment unless a valid staged file is there already (an
 * interrupted attempt's output, or the export that resolves an open
 * ledger intent); then render_done and the ledger result.
 */
static int
render_one(struct wrk_env *env, const struct targs *t, struct seg_plan *p,
    char *err, size_t errlen)
{
	char key[160], evid[ID_UUID_LEN + 1], name[200];
	long credits = credit_cost(env);
	int rc;

	snprintf(key, sizeof(key), "%s:%s:%s", t->run_id, p->segment_id,
	    p->sha8);
	snprintf(name, sizeof(name), "render_done:%s", key);
	id_uuid_from_name(name, evid);
	if (!p->have_staged) {
		rc = use_dzine(env) ? render_dzine(env, t, p, key, &credits,
		    err, errlen) : render_local(env, t, p, key, err, errlen);
		if (rc != RENDER_OK)
			return rc;
	}
	worker_event_id(env, evid, t->run_id, "render_done", "INFO",
	    p->segment_id, seg_event(p));
	(void)worker_ledger_result(env, t->run_id, key, "done", (int)credits,
	    p->staged_rel);
	return RENDER_OK;
}

static cJSON *
panic_result(const char *panic, int to_render)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "panic", panic);
	cJSON_AddNumberToObject(o, "segments_to_render", to_render);
	return o;
}

/* The balance as the Dzine site shows it, through the flow. */
static int
read_balance(struct wrk_env *env, const struct targs *t, long needed,
    long *balance, char *err, size_t errlen)
{
	struct dzine_cfg dc;
	char why[1024];
	cJSON *pl;
	int rc;

	dz_config(env, t, &dc);
	if ((rc = dzine_read_balance(&dc, balance, why, sizeof(why))) !=
	    DZ_OK) {
		snprintf(err, errlen, "reading the Dzine balance: %s", why);
		return rc;
	}
	pl = cJSON_CreateObject();
	cJSON_AddNumberToObject(pl, "balance", (double)*balance);
	cJSON_AddNumberToObject(pl, "credits_needed", (double)needed);
	worker_event(env, t->run_id, "dzine_balance", "INFO", "preflight", pl);
	return DZ_OK;
}

/*
 * Credits needed vs available (DZINE_CREDITS_AVAILABLE, else the balance
 * the Dzine site shows).  WRK_OK to go on; WRK_PANIC with *result (NO_GO,
 * or a site that would not show its balance); WRK_FAIL or WRK_STOPPED.
 */
static enum wrk_outcome
preflight(struct wrk_env *env, const struct targs *t, int to_render,
    cJSON **result, char *err, size_t errlen)
{
	long needed = credit_cost(env) * to_render;
	long available = worker_config(env)->dzine_credits_available;
	int rc;

	if (needed == 0)
		return WRK_OK;
	if (available < 0 && use_dzine(env)) {
		rc = read_balance(env, t, needed, &available, err, errlen);
		if (rc == DZ_STOPPED)
			return WRK_STOPPED;
		if (rc == DZ_UI) {
			*result = panic_result("panic_dzine_ui_failure",
			    to_render);
			return WRK_PANIC;
		}
		if (rc != DZ_OK)
			return WRK_FAIL;
	}
	if (available >= 0 && needed <= available)
		return WRK_OK;
	snprintf(err, errlen, "NO_GO: %d segments to render need %ld "
	    "credits, %ld available", to_render, needed, available);
	*result = panic_result("panic_preflight_no_go", to_render);
	return WRK_PANIC;
}

/* A render_one() failure as the stage's outcome. */
static enum wrk_outcome
render_failed(int rc, const struct seg_plan *p, cJSON **result,
    const char *err)
{
	const char *panic = rc == RENDER_UI ? "panic_dzine_ui_failure" :
	    "panic_preflight_no_go";

	if (rc == RENDER_STOPPED)
		return WRK_STOPPED;
	if (rc != RENDER_UI && rc != RENDER_NOGO)
		return WRK_FAIL;
	cJSON_Delete(*result);
	*result = seg_event(p);
	cJSON_AddStringToObject(*result, "panic", panic);
	cJSON_AddStringToObject(*result, "error", err);
	return WRK_PANIC;
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
	enum wrk_outcome o;
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
		if (n == 128 || plan_segment(&t, s, worker_progress(env),
		    &plan[n], err, errlen) == -1)
			return WRK_FAIL;
		if (progress_step(worker_progress(env)) == -1)
			return WRK_STOPPED;
		todo += !plan[n].have_final && !plan[n].have_staged;
		n++;
	}
	if (use_dzine(env))
		dzine_sweep(t.state_dir);
	if ((o = preflight(env, &t, todo, result, err, errlen)) != WRK_OK)
		return o;
	*result = cJSON_CreateObject();
	segs = cJSON_AddArrayToObject(*result, "segments");
	for (i = 0; i < n; i++) {
		if (plan[i].have_final)
			worker_event(env, t.run_id, "render_skipped", "INFO",
			    plan[i].segment_id, seg_event(&plan[i]));
		else if ((rc = render_one(env, &t, &plan[i], err, errlen)) !=
		    RENDER_OK)
			return render_failed(rc, &plan[i], result, err);
		cJSON_AddItemToArray(segs, seg_result(&plan[i]));
	}
	return WRK_OK;
}

int
main(int argc, char **argv)
{
	worker_main(argc, argv, "render", render_task);
}
