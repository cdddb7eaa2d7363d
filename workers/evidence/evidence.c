/* SPDX-License-Identifier: ISC */
/*
 * evidence.c: rvw-evidence, the evidence collector child.
 *
 * One task per run: fetch every source of the spec, extract and compare
 * the critical claims (workers/evidence/collect.c), write
 * state/evidence/<run_id>.json.  A disagreement among tier 4-5 sources is
 * answered as a GATE with the evidence diff; the supervisor opens the gate
 * and nothing is published until the operator decides.  A refetch task
 * always collects again; otherwise a valid evidence file of this run is
 * reused (the stage is idempotent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "workers/evidence/collect.h"
#include "workers/skeleton/task_args.h"
#include "workers/skeleton/worker.h"

#define EVIDENCE_FILE_MAX	(8 * 1024 * 1024)
#define FETCH_TIMEOUT_MS	15000

/* A previous evidence file of this run, as a result object, or NULL. */
static cJSON *
existing(const char *path)
{
	cJSON *e, *r;
	char *txt;

	if (fs_read_file(path, EVIDENCE_FILE_MAX, &txt, NULL) == -1)
		return NULL;
	e = cJSON_Parse(txt);
	free(txt);
	if (!cJSON_IsArray(cJSON_GetObjectItem(e, "conflicts")) ||
	    !cJSON_IsArray(cJSON_GetObjectItem(e, "sources"))) {
		cJSON_Delete(e);
		return NULL;
	}
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "evidence_path", path);
	cJSON_AddItemToObject(r, "conflicts", cJSON_DetachItemFromObject(e,
	    "conflicts"));
	cJSON_AddItemToObject(r, "warnings", cJSON_IsArray(
	    cJSON_GetObjectItem(e, "warnings")) ? cJSON_DetachItemFromObject(e,
	    "warnings") : cJSON_CreateArray());
	cJSON_AddBoolToObject(r, "reused", true);
	cJSON_Delete(e);
	return r;
}

static enum wrk_outcome
evidence_task(struct wrk_env *env, const char *type, const cJSON *args,
    cJSON **result, char *err, size_t errlen)
{
	struct targs t;
	char path[1200], *diff;
	cJSON *res = NULL, *conf, *p;
	int rc;

	if (strcmp(type, "evidence") != 0) {
		snprintf(err, errlen, "rvw-evidence: unknown task %s", type);
		return WRK_FAIL;
	}
	if (targs_parse(args, &t, err, errlen) == -1)
		return WRK_FAIL;
	if (fs_path(path, sizeof(path), "%s/evidence/%s.json", t.state_dir,
	    t.run_id) == -1) {
		snprintf(err, errlen, "evidence path too long");
		return WRK_FAIL;
	}
	if (!t.refetch)
		res = existing(path);
	if (res == NULL) {
		rc = evidence_collect(t.spec, t.spec_dir, path,
		    worker_config(env)->usd_brl, FETCH_TIMEOUT_MS,
		    worker_config(env)->evidence_allow_private,
		    worker_progress(env), &res, err, errlen);
		if (rc == -2)
			return WRK_STOPPED;
		if (rc == -1)
			return WRK_FAIL;
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "sources_ok", targs_num(res,
		    "sources_ok", 0));
		cJSON_AddNumberToObject(p, "sources_failed", targs_num(res,
		    "sources_failed", 0));
		cJSON_AddBoolToObject(p, "refetch", t.refetch);
		worker_event(env, t.run_id, "evidence_collected", "INFO",
		    t.refetch ? "refetch" : "fetch", p);
	}
	*result = res;
	conf = cJSON_GetObjectItem(res, "conflicts");
	if (cJSON_GetArraySize(conf) == 0)
		return WRK_OK;
	if ((diff = evidence_diff_text(conf, 3000)) != NULL) {
		cJSON_AddStringToObject(res, "diff", diff);
		free(diff);
	}
	return WRK_GATE;
}

int
main(int argc, char **argv)
{
	worker_main(argc, argv, "evidence", evidence_task);
}
