/* SPDX-License-Identifier: ISC */
/*
 * task_args.c: access to a stage TASK's arguments.
 *
 * The supervisor builds them, but a child still treats them as outside
 * input: targs_parse() checks every common field (ids by pattern, the
 * state dir absolute, the spec and its segments present) before a handler
 * builds any path from them.  Pointers borrow from the args object.
 *
 * Public: targs_parse, targs_ckpt_seg, targs_str, targs_num.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/ids.h"
#include "workers/skeleton/task_args.h"

const char *
targs_str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

double
targs_num(const cJSON *o, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int
targs_parse(const cJSON *a, struct targs *t, char *err, size_t errlen)
{
	const cJSON *s;

	memset(t, 0, sizeof(*t));
	t->run_id = targs_str(a, "run_id");
	t->video_id = targs_str(a, "video_id");
	t->state_dir = targs_str(a, "state_dir");
	t->spec_dir = targs_str(a, "spec_dir");
	t->epoch = (long long)targs_num(a, "lease_epoch", -1);
	t->spec = cJSON_GetObjectItem(a, "spec");
	t->ckpt = cJSON_GetObjectItem(a, "segments");
	t->refetch = cJSON_IsTrue(cJSON_GetObjectItem(a, "refetch"));
	if (t->run_id == NULL || !id_uuid_valid(t->run_id)) {
		snprintf(err, errlen, "task: run_id is not a run id");
		return -1;
	}
	if (t->video_id == NULL || !id_video_valid(t->video_id)) {
		snprintf(err, errlen, "task: video_id is not a video id");
		return -1;
	}
	if (t->state_dir == NULL || t->state_dir[0] != '/' ||
	    strstr(t->state_dir, "..") != NULL || t->spec_dir == NULL ||
	    t->spec_dir[0] != '/') {
		snprintf(err, errlen, "task: state_dir/spec_dir must be "
		    "absolute paths");
		return -1;
	}
	if (!cJSON_IsObject(t->spec) || !cJSON_IsArray(t->segments =
	    cJSON_GetObjectItem(t->spec, "segments"))) {
		snprintf(err, errlen, "task: spec without segments");
		return -1;
	}
	cJSON_ArrayForEach(s, t->segments) {
		const char *id = targs_str(s, "segment_id");

		if (id == NULL || !id_segment_valid(id)) {
			snprintf(err, errlen, "task: a segment_id is invalid");
			return -1;
		}
	}
	return 0;
}

/* The checkpoint's record of a segment (NULL when none). */
const cJSON *
targs_ckpt_seg(const struct targs *t, const char *segment_id)
{
	return cJSON_GetObjectItem(t->ckpt, segment_id);
}
