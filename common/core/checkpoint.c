/* SPDX-License-Identifier: ISC */
/*
 * checkpoint.c: the per-run stage checkpoint, state/checkpoints/<run>.json.
 *
 * {"version":1, "run_id", "video_id", "worker_id", "lock_token",
 *  "lease_epoch", "stages": {"evidence": "pending|in_progress|done", ...},
 *  "segments": {<segment_id>: {...}}, "finished": false, "updated_at"}
 *
 * Only the supervisor writes it, always through fs_write_atomic, and only
 * marks a stage done after that stage succeeded.  ckpt_load() validates
 * the whole shape before anything is used; a corrupt checkpoint is an
 * error the caller reports and moves aside (every stage is idempotent, so
 * a lost checkpoint only costs re-checking artifacts).
 *
 * Public: ckpt_new, ckpt_path, ckpt_load, ckpt_validate, ckpt_save,
 * ckpt_stage_get, ckpt_stage_set, ckpt_segment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/checkpoint.h"
#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"

#define CKPT_MAX	(4 * 1024 * 1024)

const char *const ckpt_stage_names[] = {
	"evidence", "voice", "render", "probe", "timeline", NULL
};

cJSON *
ckpt_new(const char *run_id, const char *video_id, const char *worker_id,
    const char *token, long long epoch)
{
	cJSON *c = cJSON_CreateObject(), *st;
	size_t i;

	cJSON_AddNumberToObject(c, "version", CKPT_VERSION);
	cJSON_AddStringToObject(c, "run_id", run_id);
	cJSON_AddStringToObject(c, "video_id", video_id);
	cJSON_AddStringToObject(c, "worker_id", worker_id);
	cJSON_AddStringToObject(c, "lock_token", token);
	cJSON_AddNumberToObject(c, "lease_epoch", (double)epoch);
	st = cJSON_AddObjectToObject(c, "stages");
	for (i = 0; ckpt_stage_names[i] != NULL; i++)
		cJSON_AddStringToObject(st, ckpt_stage_names[i], "pending");
	cJSON_AddObjectToObject(c, "segments");
	cJSON_AddBoolToObject(c, "finished", false);
	return c;
}

int
ckpt_path(char *buf, size_t size, const char *state_dir, const char *run_id)
{
	if (!id_uuid_valid(run_id)) {
		errno = EINVAL;
		return -1;
	}
	return fs_path(buf, size, "%s/checkpoints/%s.json", state_dir, run_id);
}

static bool
is_stage_state(const char *s)
{
	return strcmp(s, "pending") == 0 || strcmp(s, "in_progress") == 0 ||
	    strcmp(s, "done") == 0;
}

/* Check the whole shape.  Returns 0, or -1 with <err> naming the field. */
int
ckpt_validate(const cJSON *c, char *err, size_t errlen)
{
	const cJSON *v, *st, *s;
	size_t i;

	if (!cJSON_IsObject(c)) {
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	v = cJSON_GetObjectItem(c, "version");
	if (!cJSON_IsNumber(v) || v->valueint != CKPT_VERSION) {
		snprintf(err, errlen, "version: expected %d", CKPT_VERSION);
		return -1;
	}
	v = cJSON_GetObjectItem(c, "run_id");
	if (!cJSON_IsString(v) || !id_uuid_valid(v->valuestring)) {
		snprintf(err, errlen, "run_id: not a run id");
		return -1;
	}
	v = cJSON_GetObjectItem(c, "video_id");
	if (!cJSON_IsString(v) || !id_video_valid(v->valuestring)) {
		snprintf(err, errlen, "video_id: not a video id");
		return -1;
	}
	v = cJSON_GetObjectItem(c, "lease_epoch");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0) {
		snprintf(err, errlen, "lease_epoch: not a number");
		return -1;
	}
	if (!cJSON_IsString(cJSON_GetObjectItem(c, "lock_token"))) {
		snprintf(err, errlen, "lock_token: missing");
		return -1;
	}
	st = cJSON_GetObjectItem(c, "stages");
	for (i = 0; ckpt_stage_names[i] != NULL; i++) {
		s = cJSON_GetObjectItem(st, ckpt_stage_names[i]);
		if (!cJSON_IsString(s) || !is_stage_state(s->valuestring)) {
			snprintf(err, errlen, "stages.%s: not pending, "
			    "in_progress or done", ckpt_stage_names[i]);
			return -1;
		}
	}
	if (!cJSON_IsObject(cJSON_GetObjectItem(c, "segments"))) {
		snprintf(err, errlen, "segments: not an object");
		return -1;
	}
	return 0;
}

/*
 * Load and validate.  Returns 0, -1 with errno ENOENT when there is none,
 * or -1 with <err> describing the corruption (errno EINVAL).
 */
int
ckpt_load(const char *path, cJSON **out, char *err, size_t errlen)
{
	char *txt, why[256];
	cJSON *c;

	*out = NULL;
	if (fs_read_file(path, CKPT_MAX, &txt, NULL) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	c = cJSON_Parse(txt);
	free(txt);
	if (c == NULL) {
		snprintf(err, errlen, "%s: not valid JSON", path);
		errno = EINVAL;
		return -1;
	}
	if (ckpt_validate(c, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		cJSON_Delete(c);
		errno = EINVAL;
		return -1;
	}
	*out = c;
	return 0;
}

int
ckpt_save(const char *path, const cJSON *c, char *err, size_t errlen)
{
	char at[CLOCK_ISO_LEN], *txt;
	cJSON *copy;
	int rc;

	if ((copy = cJSON_Duplicate(c, true)) == NULL)
		goto nomem;
	clock_utc_iso(at);
	cJSON_DeleteItemFromObject(copy, "updated_at");
	cJSON_AddStringToObject(copy, "updated_at", at);
	txt = cJSON_Print(copy);
	cJSON_Delete(copy);
	if (txt == NULL)
		goto nomem;
	rc = fs_write_atomic(path, txt, strlen(txt));
	free(txt);
	if (rc == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return rc;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
	return -1;
}

const char *
ckpt_stage_get(const cJSON *c, const char *stage)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(c, "stages"), stage));

	return s != NULL ? s : "pending";
}

void
ckpt_stage_set(cJSON *c, const char *stage, const char *state)
{
	cJSON *st = cJSON_GetObjectItem(c, "stages");

	if (st == NULL)
		st = cJSON_AddObjectToObject(c, "stages");
	cJSON_DeleteItemFromObject(st, stage);
	cJSON_AddStringToObject(st, stage, state);
}

/* The segment's object, created when missing.  Borrowed from <c>. */
cJSON *
ckpt_segment(cJSON *c, const char *segment_id)
{
	cJSON *segs = cJSON_GetObjectItem(c, "segments"), *s;

	if (segs == NULL)
		segs = cJSON_AddObjectToObject(c, "segments");
	if ((s = cJSON_GetObjectItem(segs, segment_id)) == NULL)
		s = cJSON_AddObjectToObject(segs, segment_id);
	return s;
}
