/* SPDX-License-Identifier: ISC */
/*
 * voice.c: rvw-voice, the voice-contract child.
 *
 * One task per run: for every segment, reuse a valid finalized audio file
 * (A_<run>_<segment>_<sha8>.wav whose bytes match its sha8 and whose
 * duration meets the contract) or synthesize, measure and finalize one
 * (workers/voice/contract.c).  A segment that cannot meet its target after
 * repair stops the run with panic_voice_contract_drift, naming the
 * segment, its target and what was measured.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "workers/skeleton/task_args.h"
#include "workers/voice/tts.h"
#include "workers/voice/contract.h"
#include "workers/skeleton/worker.h"

static cJSON *
seg_json(const char *segment_id, const struct voice_result *vr)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "segment_id", segment_id);
	cJSON_AddStringToObject(o, "audio", vr->path);
	cJSON_AddStringToObject(o, "sha8", vr->sha8);
	cJSON_AddNumberToObject(o, "audio_duration", vr->duration);
	cJSON_AddNumberToObject(o, "target", vr->target);
	cJSON_AddStringToObject(o, "voice_branch", vr->branch);
	return o;
}

static enum wrk_outcome
drift(struct wrk_env *env, const struct targs *t, const char *segment_id,
    double target, const char *why, cJSON **result)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "panic", "panic_voice_contract_drift");
	cJSON_AddStringToObject(r, "segment_id", segment_id);
	cJSON_AddNumberToObject(r, "target", target);
	cJSON_AddStringToObject(r, "detail", why);
	worker_event(env, t->run_id, "voice_contract_drift", "CRITICAL",
	    "panic_voice_contract_drift", cJSON_Duplicate(r, true));
	*result = r;
	return WRK_PANIC;
}

static int
one_segment(struct wrk_env *env, const struct targs *t,
    const struct tts_engine *eng, const cJSON *s, struct voice_result *vr,
    char *err, size_t errlen)
{
	struct voice_req req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.state_dir = t->state_dir;
	req.run_id = t->run_id;
	req.segment_id = targs_str(s, "segment_id");
	req.kind = targs_str(s, "kind");
	req.text = targs_str(s, "text");
	req.target = targs_num(s, "approx_duration_sec", -1);
	if (req.kind == NULL || req.text == NULL || req.target <= 0) {
		snprintf(err, errlen, "segment %s: kind, text or "
		    "approx_duration_sec missing", req.segment_id);
		return VOICE_ERR;
	}
	rc = voice_find_existing(t->state_dir, t->run_id, req.segment_id,
	    req.target, req.kind, worker_progress(env), vr, err, errlen);
	if (rc == 1)
		return 0;
	if (rc < 0 && rc != VOICE_ERR)
		return rc;
	return voice_finalize_segment(&req, eng, worker_progress(env), vr,
	    err, errlen);
}

static enum wrk_outcome
voice_task(struct wrk_env *env, const char *type, const cJSON *args,
    cJSON **result, char *err, size_t errlen)
{
	const struct rv_config *cfg = worker_config(env);
	struct tts_engine eng;
	struct voice_result vr;
	struct targs t;
	const cJSON *s;
	cJSON *segs;
	int rc;

	if (strcmp(type, "voice") != 0) {
		snprintf(err, errlen, "rvw-voice: unknown task %s", type);
		return WRK_FAIL;
	}
	if (targs_parse(args, &t, err, errlen) == -1)
		return WRK_FAIL;
	if (tts_engine_init(&eng, strcmp(cfg->tts, "elevenlabs") == 0 ?
	    "elevenlabs" : "espeak", strcmp(cfg->tts, "elevenlabs") == 0 ?
	    cfg->elevenlabs_voice_id : "", cfg->elevenlabs_api_key, "", err,
	    errlen) == -1)
		return WRK_FAIL;
	*result = cJSON_CreateObject();
	segs = cJSON_AddArrayToObject(*result, "segments");
	cJSON_ArrayForEach(s, t.segments) {
		rc = one_segment(env, &t, &eng, s, &vr, err, errlen);
		if (rc == VOICE_STOPPED) {
			tts_engine_clear(&eng);
			return WRK_STOPPED;
		}
		if (rc == VOICE_DRIFT) {
			tts_engine_clear(&eng);
			cJSON_Delete(*result);
			return drift(env, &t, targs_str(s, "segment_id"),
			    targs_num(s, "approx_duration_sec", 0), err,
			    result);
		}
		if (rc != 0) {
			tts_engine_clear(&eng);
			return WRK_FAIL;
		}
		cJSON_AddItemToArray(segs, seg_json(targs_str(s,
		    "segment_id"), &vr));
	}
	tts_engine_clear(&eng);
	return WRK_OK;
}

int
main(int argc, char **argv)
{
	worker_main(argc, argv, "voice", voice_task);
}
