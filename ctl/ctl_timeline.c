/* SPDX-License-Identifier: ISC */
/*
 * ctl_timeline.c: rvctl timeline --video ID, rebuild a run's timeline.
 *
 * The order, kind and target of every segment come from the run's spec
 * (state/jobs/<run>.json, else the store's copy); each segment's video
 * and measured duration from the index and the checkpoint
 * (ctl_runinfo.c).  common/media/timeline.c writes the CSV and the EDL under
 * state/timeline/, stamped and as _latest (each swapped in atomically).
 * A banner tells READY and MISSING counts, the first missing segment,
 * the worst and the cumulative drift, the total duration and the verdict
 * (INCOMPLETE when a segment is missing, in the text and the JSON alike).
 * Without --video the most recent run is used, and stderr says which.
 *
 * Exit 0 when every segment is READY and the drift is within 0.5 s,
 * 1 when a segment is missing or the drift is over 0.5 s, 2 over 1.0 s;
 * 64 for bad options, 65 for an id that names no run or a run without a
 * usable spec, 70 when the files cannot be written.
 *
 * Public: ctl_timeline.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/media/timeline.h"
#include "ctl/ctl.h"

static void
banner(const struct ctl_run *r, const struct timeline_qc *qc,
    const struct timeline_paths *p)
{
	enum ctl_level lvl = qc->verdict == TIMELINE_CRITICAL ? CTL_LVL_CRIT :
	    qc->verdict == TIMELINE_WARN || qc->missing > 0 ? CTL_LVL_WARN :
	    CTL_LVL_OK;

	printf("TIMELINE %s (run %s)\n", r->r.video_id, r->r.run_id);
	printf("segments   %zu: %zu READY, %zu MISSING\n", r->nsegs,
	    qc->ready, qc->missing);
	if (qc->missing > 0)
		printf("missing    first %s (%s)\n", qc->first_missing,
		    ctl_run_terminal(r) ? "its video is gone from video/final: "
		    "restore it, or run rvctl index-refresh if it was moved" :
		    "not rendered yet: the worker renders it when it runs the "
		    "run");
	if (qc->ready > 0)
		printf("drift      worst %+.3f s at %s, cumulative %+.3f s, "
		    "largest running %.3f s\n", qc->worst_delta,
		    qc->worst_segment, qc->cum_drift, qc->max_drift);
	printf("duration   %.3f s of %zu READY segment%s (targets %.3f s)\n",
	    qc->total, qc->ready, qc->ready == 1 ? "" : "s",
	    qc->target_total);
	printf("verdict    %s%s%s%s\n", ctl_paint(stdout, lvl),
	    timeline_qc_verdict(qc), ctl_unpaint(stdout),
	    qc->verdict == TIMELINE_CRITICAL ? " (drift over 1.0 s: check "
	    "the voice of the worst segment)" : qc->verdict == TIMELINE_WARN ?
	    " (drift over 0.5 s)" : "");
	printf("CSV        %s\n", p->csv_latest);
	printf("EDL        %s (File > Import > Timeline in Resolve)\n",
	    p->edl_latest);
}

static cJSON *
qc_json(const struct ctl_run *r, const struct timeline_qc *qc,
    const struct timeline_paths *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "video_id", r->r.video_id);
	cJSON_AddStringToObject(o, "run_id", r->r.run_id);
	cJSON_AddNumberToObject(o, "segments", (double)r->nsegs);
	cJSON_AddNumberToObject(o, "ready", (double)qc->ready);
	cJSON_AddNumberToObject(o, "missing", (double)qc->missing);
	cJSON_AddStringToObject(o, "first_missing", qc->first_missing);
	cJSON_AddStringToObject(o, "worst_segment", qc->worst_segment);
	cJSON_AddNumberToObject(o, "worst_delta", qc->worst_delta);
	cJSON_AddNumberToObject(o, "cum_drift", round(qc->cum_drift * 1e6) /
	    1e6);
	cJSON_AddNumberToObject(o, "max_drift", qc->max_drift);
	cJSON_AddNumberToObject(o, "total_duration", qc->total);
	cJSON_AddNumberToObject(o, "target_duration", qc->target_total);
	cJSON_AddStringToObject(o, "verdict", timeline_qc_verdict(qc));
	cJSON_AddStringToObject(o, "csv", p->csv);
	cJSON_AddStringToObject(o, "edl", p->edl);
	cJSON_AddStringToObject(o, "csv_latest", p->csv_latest);
	cJSON_AddStringToObject(o, "edl_latest", p->edl_latest);
	return o;
}

static int
write_timeline(struct ctl_env *env, const struct ctl_run *r, int fps)
{
	struct timeline_opts topts;
	struct timeline_paths paths;
	struct timeline_seg *segs;
	struct timeline_qc qc;
	char err[512];
	cJSON *j;
	int n, rc;

	if ((n = ctl_run_timeline(r, &segs)) == -1) {
		fprintf(stderr, "rvctl timeline: out of memory\n");
		return CTL_SOFTWARE;
	}
	memset(&topts, 0, sizeof(topts));
	topts.fps = fps;
	rc = timeline_write(env->cfg.state_dir, r->r.video_id, segs,
	    (size_t)n, &topts, &qc, &paths, err, sizeof(err));
	free(segs);
	if (rc == -1) {
		fprintf(stderr, "rvctl timeline: %s\n", err);
		return CTL_SOFTWARE;
	}
	if (env->json) {
		j = qc_json(r, &qc, &paths);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else
		banner(r, &qc, &paths);
	if (qc.verdict == TIMELINE_CRITICAL)
		return CTL_CRIT;
	return qc.verdict == TIMELINE_WARN || qc.missing > 0 ? CTL_WARN :
	    CTL_OK;
}

/*
 * The run id of the most recent run (latest created_at; of equal ones the
 * last listed), said on stderr; CTL_DATAERR when there is none.
 */
static int
most_recent(struct ctl_env *env, char *run_id, size_t size)
{
	struct ctl_runs runs;
	const struct store_run *best = NULL;
	char err[512];
	size_t i;
	int rc;

	if ((rc = ctl_runs_load(env, NULL, CTL_RI_QUICK, &runs, err,
	    sizeof(err))) != CTL_OK) {
		fprintf(stderr, "rvctl timeline: %s\n", err);
		return rc;
	}
	for (i = 0; i < runs.n; i++)
		if (best == NULL || strcmp(runs.v[i].r.created_at,
		    best->created_at) >= 0)
			best = &runs.v[i].r;
	if (best == NULL) {
		fprintf(stderr, "rvctl timeline: there is no run yet: queue "
		    "one (rvctl enqueue SPEC) or name one with --video ID\n");
		ctl_runs_clear(&runs);
		return CTL_DATAERR;
	}
	fprintf(stderr, "rvctl timeline: no --video given: using the most "
	    "recent run, %s (run %s, created %s)\n", best->video_id,
	    best->run_id, best->created_at[0] != '\0' ? best->created_at :
	    "at an unknown time");
	(void)strlcpy(run_id, best->run_id, size);
	ctl_runs_clear(&runs);
	return CTL_OK;
}

int
ctl_timeline(struct ctl_env *env, int argc, char **argv)
{
	const char *video = NULL;
	long fps = TIMELINE_FPS_DEFAULT;
	const struct ctl_opt opts[] = {
		{ "--video", CTL_OPT_STR, &video, 0, 0 },
		{ "--run", CTL_OPT_STR, &video, 0, 0 },
		{ "--fps", CTL_OPT_INT, &fps, 1, 120 },
		{ NULL, 0, NULL, 0, 0 }
	};
	struct ctl_runs runs;
	char err[512], latest[STORE_ID_MAX];
	int rc;

	if (ctl_opts_parse("timeline", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("timeline"));
	if (!ctl_settings_ok(env, "timeline"))
		return CTL_USAGE;
	if (video == NULL) {
		if ((rc = most_recent(env, latest, sizeof(latest))) != CTL_OK)
			return rc;
		video = latest;
	}
	if ((rc = ctl_runs_load(env, video, 0, &runs, err,
	    sizeof(err))) != CTL_OK) {
		fprintf(stderr, "rvctl timeline: %s\n", err);
		return rc;
	}
	if (runs.n != 1 || !runs.v[0].have_spec) {
		fprintf(stderr, "rvctl timeline: %s: %s\n", video, runs.n == 1 ?
		    runs.v[0].spec_err : "more than one run matches");
		ctl_runs_clear(&runs);
		return CTL_DATAERR;
	}
	if (!runs.from_store)
		fprintf(stderr, "rvctl timeline: the store is unreachable "
		    "(%s); the timeline is built from the spec mirror\n",
		    runs.store_err);
	rc = write_timeline(env, &runs.v[0], (int)fps);
	ctl_runs_clear(&runs);
	return rc;
}
