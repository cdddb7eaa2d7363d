/* SPDX-License-Identifier: ISC */
/*
 * probe.c: rvw-probe, the probe / indexer child.
 *
 * Task "probe": for every segment, wait until its staged render is
 * stable, probe and validate it, move it into state/video/final/ under
 * its sha8 name and upsert the index (workers/probe/probe_rules.c); a file
 * already final is only re-indexed.  A rejected render is moved to
 * state/video/quarantine/ so the retry renders it again: for a Dzine
 * render that is panic_dzine_ui_failure, otherwise a stage failure.
 * Task "timeline": write the run's timeline CSV and EDL from the final
 * files (common/media/timeline.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/media/timeline.h"
#include "common/media/vindex.h"
#include "workers/probe/probe_rules.h"
#include "workers/skeleton/task_args.h"
#include "workers/skeleton/worker.h"

static long long
min_bytes(struct wrk_env *env)
{
	const struct rv_config *cfg = worker_config(env);

	if (cfg->min_video_bytes >= 0)
		return cfg->min_video_bytes;
	return strcmp(cfg->renderer, "dzine") == 0 ? PROBE_MIN_BYTES_DZINE : 0;
}

static void
quarantine(const struct targs *t, const char *staged_rel)
{
	char from[PATH_MAX], to[PATH_MAX];
	const char *base = strrchr(staged_rel, '/');

	if (fs_path(from, sizeof(from), "%s/%s", t->state_dir, staged_rel) ==
	    -1 || fs_path(to, sizeof(to), "%s/video/quarantine/%s.rejected",
	    t->state_dir, base ? base + 1 : staged_rel) == -1)
		return;
	(void)rename(from, to);
}

static enum wrk_outcome
rejected(struct wrk_env *env, const struct targs *t, const char *seg,
    const char *staged, char *err, cJSON **result)
{
	bool dzine = strcmp(worker_config(env)->renderer, "dzine") == 0;
	cJSON *p = cJSON_CreateObject();

	quarantine(t, staged);
	cJSON_AddStringToObject(p, "segment_id", seg);
	cJSON_AddStringToObject(p, "rule", err);
	worker_event(env, t->run_id, "render_rejected", "ERROR", seg,
	    cJSON_Duplicate(p, true));
	if (!dzine) {
		cJSON_Delete(p);
		return WRK_FAIL;
	}
	cJSON_AddStringToObject(p, "panic", "panic_dzine_ui_failure");
	cJSON_Delete(*result);
	*result = p;
	return WRK_PANIC;
}

static cJSON *
seg_json(const char *seg, const struct vindex_item *item)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "segment_id", seg);
	cJSON_AddStringToObject(o, "final", item->path);
	cJSON_AddNumberToObject(o, "video_duration", item->duration);
	cJSON_AddNumberToObject(o, "bitrate_bps", (double)item->bitrate_bps);
	return o;
}

/*
 * A final video reused from an identical render (same segment, same
 * audio): probe and validate it where it is; it is indexed already.
 */
static int
check_final(struct wrk_env *env, const struct targs *t, const char *rel,
    double target, struct vindex_item *item, char *err, size_t errlen)
{
	struct probe_info pi;
	char path[PATH_MAX];

	if (fs_path(path, sizeof(path), "%s/%s", t->state_dir, rel) == -1)
		return PROBE_ERR;
	if (probe_file(path, worker_progress(env), &pi, err, errlen) == -1)
		return errno == ECANCELED ? PROBE_STOPPED : PROBE_ERR;
	if (probe_validate(&pi, target, min_bytes(env), err, errlen) != 0)
		return PROBE_REJECTED;
	memset(item, 0, sizeof(*item));
	strlcpy(item->path, rel, sizeof(item->path));
	item->duration = pi.duration;
	item->bitrate_bps = pi.bitrate_bps;
	return PROBE_OK;
}

static enum wrk_outcome
probe_task(struct wrk_env *env, const struct targs *t, cJSON **result,
    char *err, size_t errlen)
{
	struct vindex_item item;
	const cJSON *s, *cs;
	const char *seg, *sha8, *video;
	char staged[PATH_MAX];
	cJSON *segs;
	int rc;

	*result = cJSON_CreateObject();
	segs = cJSON_AddArrayToObject(*result, "segments");
	cJSON_ArrayForEach(s, t->segments) {
		seg = targs_str(s, "segment_id");
		cs = targs_ckpt_seg(t, seg);
		sha8 = targs_str(cs, "sha8");
		video = targs_str(cs, "video");
		if (sha8 == NULL || !id_sha8_valid(sha8) || video == NULL) {
			snprintf(err, errlen, "segment %s: no render recorded",
			    seg);
			return WRK_FAIL;
		}
		if (fs_path(staged, sizeof(staged),
		    "video/staging/V_%s_%s_%s.mp4", t->run_id, seg, sha8) == -1)
			return WRK_FAIL;
		if (cJSON_IsTrue(cJSON_GetObjectItem(cs, "render_skipped")) &&
		    strncmp(video, "video/final/", 12) == 0 &&
		    strstr(video, "..") == NULL) {
			rc = check_final(env, t, video, targs_num(cs,
			    "audio_duration", 0), &item, err, errlen);
			if (rc == PROBE_STOPPED)
				return WRK_STOPPED;
			if (rc == PROBE_OK) {
				cJSON_AddItemToArray(segs, seg_json(seg,
				    &item));
				continue;
			}
		}
		rc = probe_finalize(t->state_dir, staged, t->run_id, seg, sha8,
		    targs_num(cs, "audio_duration", 0), min_bytes(env),
		    worker_progress(env), &item, err, errlen);
		if (rc == PROBE_STOPPED)
			return WRK_STOPPED;
		if (rc == PROBE_REJECTED)
			return rejected(env, t, seg, staged, err, result);
		if (rc != PROBE_OK)
			return WRK_FAIL;
		cJSON_AddItemToArray(segs, seg_json(seg, &item));
	}
	return WRK_OK;
}

static enum wrk_outcome
timeline_task(struct wrk_env *env, const struct targs *t, cJSON **result,
    char *err, size_t errlen)
{
	struct timeline_seg segs[TIMELINE_SEGS_MAX];
	struct timeline_paths paths;
	struct timeline_qc qc;
	char full[PATH_MAX];
	const cJSON *s, *cs;
	const char *fin;
	size_t n = 0;
	cJSON *p;

	cJSON_ArrayForEach(s, t->segments) {
		if (n == TIMELINE_SEGS_MAX)
			break;
		cs = targs_ckpt_seg(t, targs_str(s, "segment_id"));
		fin = targs_str(cs, "final");
		segs[n].segment_id = targs_str(s, "segment_id");
		segs[n].category = targs_str(s, "kind");
		segs[n].target = targs_num(s, "approx_duration_sec", 0);
		segs[n].file = NULL;
		segs[n].probe_duration = targs_num(cs, "video_duration", 0);
		if (fin != NULL && fs_path(full, sizeof(full), "%s/%s",
		    t->state_dir, fin) == 0 && fs_exists(full))
			segs[n].file = fin;
		n++;
	}
	if (timeline_write(t->state_dir, t->video_id, segs, n, NULL, &qc,
	    &paths, err, errlen) == -1)
		return WRK_FAIL;
	*result = cJSON_CreateObject();
	cJSON_AddStringToObject(*result, "csv", paths.csv_latest);
	cJSON_AddStringToObject(*result, "edl", paths.edl_latest);
	cJSON_AddNumberToObject(*result, "ready", (double)qc.ready);
	cJSON_AddNumberToObject(*result, "missing", (double)qc.missing);
	cJSON_AddStringToObject(*result, "verdict",
	    timeline_verdict_name(qc.verdict));
	p = cJSON_Duplicate(*result, true);
	worker_event(env, t->run_id, "timeline_written", "INFO", "timeline", p);
	if (qc.missing > 0) {
		snprintf(err, errlen, "timeline: %zu segment(s) missing, first "
		    "%s", qc.missing, qc.first_missing);
		return WRK_FAIL;
	}
	return WRK_OK;
}

static enum wrk_outcome
probe_dispatch(struct wrk_env *env, const char *type, const cJSON *args,
    cJSON **result, char *err, size_t errlen)
{
	struct targs t;

	if (targs_parse(args, &t, err, errlen) == -1)
		return WRK_FAIL;
	if (strcmp(type, "probe") == 0)
		return probe_task(env, &t, result, err, errlen);
	if (strcmp(type, "timeline") == 0)
		return timeline_task(env, &t, result, err, errlen);
	snprintf(err, errlen, "rvw-probe: unknown task %s", type);
	return WRK_FAIL;
}

int
main(int argc, char **argv)
{
	worker_main(argc, argv, "probe", probe_dispatch);
}
