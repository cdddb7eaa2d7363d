/* SPDX-License-Identifier: ISC */
/*
 * children.c: state/runtime/children.json, the supervisor's record of
 * its running children, so that a successor (rvsup) or an operator
 * (rvctl doctor, baptism) can find the children a crashed supervisor
 * left behind.
 *
 * The file is {"supervisor_pid": N, "worker_id": "W", "children":
 * [{"kind": "render", "pid": N, "start_time": N, "gen": N}, ...]}, written
 * whole by rvsup
 * through fs_write_atomic.  Reading and writing apply the same checks:
 * every key present with its type, pids from 2 to CHILDREN_PID_MAX,
 * integers only, kinds of [a-z0-9_-], the worker id the supervisor runs
 * with (optional: files of older versions lack it; 3 to 64 printable
 * bytes), at most CHILDREN_MAX records and
 * CHILDREN_FILE_MAX bytes.  A bad file is refused whole with one phrase
 * naming the first problem ("children[1].pid: -4 is out of range").  The
 * start time is kept so a pid the kernel reused is never taken for the
 * recorded child (children_rec_running).
 *
 * This module neither kills nor logs anything, and does not decide which
 * record matters: the supervisor kills what it finds, rvctl reports it.
 *
 * Public: children_path, children_write, children_read, children_decode,
 * children_encode, children_rec_running.
 */
#include <sys/types.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/children.h"
#include "common/core/errbuf.h"
#include "common/core/fsutil.h"
#include "common/core/platform.h"

#define START_TIME_MAX	9007199254740992.0	/* 2^53: exact in JSON */

int
children_path(const char *state_dir, char *buf, size_t size)
{
	return fs_path(buf, size, "%s/runtime/children.json", state_dir);
}

/* -1 with errno EINVAL and "<where>: <problem>" in err. */
static int
bad(char *err, size_t errlen, const char *where, const char *problem)
{
	errno = EINVAL;
	return errbuf_set(err, errlen, -1, "%s: %s", where, problem);
}

/* The integer <name> of <o> in [min, max] into *out. */
static int
get_int(const cJSON *o, const char *name, double min, double max,
    double *out, const char *where, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char at[64];

	(void)snprintf(at, sizeof(at), "%s%s%s", where, *where ? "." : "",
	    name);
	if (v == NULL)
		return bad(err, errlen, at, "missing");
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble != floor(v->valuedouble))
		return bad(err, errlen, at, "not an integer");
	if (v->valuedouble < min || v->valuedouble > max) {
		errno = EINVAL;
		return errbuf_set(err, errlen, -1, "%s: %.0f is out of range "
		    "(%.0f to %.0f)", at, v->valuedouble, min, max);
	}
	*out = v->valuedouble;
	return 0;
}

static int
kind_check(const char *kind, const char *at, char *err, size_t errlen)
{
	size_t n = strlen(kind);

	if (n == 0 || n >= CHILDREN_KIND_MAX)
		return bad(err, errlen, at, "empty or too long");
	if (strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return bad(err, errlen, at, "holds a byte other than "
		    "[a-z0-9_-]");
	return 0;
}

/* A worker id: "" (unknown), else 3 to 64 bytes, no control character. */
static int
wid_check(const char *wid, char *err, size_t errlen)
{
	size_t n = strlen(wid), i;

	if (n == 0)
		return 0;
	if (n < 3 || n >= CHILDREN_WID_MAX)
		return bad(err, errlen, "worker_id", "shorter than 3 or longer "
		    "than 64 bytes");
	for (i = 0; i < n; i++)
		if ((unsigned char)wid[i] < 0x20 || wid[i] == 0x7f)
			return bad(err, errlen, "worker_id", "holds a control "
			    "character");
	return 0;
}

/* The checks of one record, shared by the writer and the reader. */
static int
rec_check(const struct children_rec *r, size_t i, char *err,
    size_t errlen)
{
	char at[64];

	(void)snprintf(at, sizeof(at), "children[%zu].kind", i);
	if (kind_check(r->kind, at, err, errlen) == -1)
		return -1;
	(void)snprintf(at, sizeof(at), "children[%zu].pid", i);
	if (r->pid < 2 || r->pid > CHILDREN_PID_MAX)
		return bad(err, errlen, at, "out of range");
	(void)snprintf(at, sizeof(at), "children[%zu]", i);
	if ((double)r->start_time > START_TIME_MAX || r->gen < 0)
		return bad(err, errlen, at, "start_time or gen out of range");
	return 0;
}

static int
rec_from_json(const cJSON *o, size_t i, struct children_rec *r, char *err,
    size_t errlen)
{
	const cJSON *k;
	char at[32], kat[48];
	double d;

	(void)snprintf(at, sizeof(at), "children[%zu]", i);
	(void)snprintf(kat, sizeof(kat), "%s.kind", at);
	if (!cJSON_IsObject(o))
		return bad(err, errlen, at, "not an object");
	if ((k = cJSON_GetObjectItemCaseSensitive(o, "kind")) == NULL)
		return bad(err, errlen, kat, "missing");
	if (!cJSON_IsString(k) || k->valuestring == NULL)
		return bad(err, errlen, kat, "not a string");
	if (kind_check(k->valuestring, kat, err, errlen) == -1)
		return -1;
	(void)strlcpy(r->kind, k->valuestring, sizeof(r->kind));
	if (get_int(o, "pid", 2, CHILDREN_PID_MAX, &d, at, err, errlen) == -1)
		return -1;
	r->pid = (pid_t)d;
	if (get_int(o, "start_time", 0, START_TIME_MAX, &d, at, err,
	    errlen) == -1)
		return -1;
	r->start_time = (unsigned long long)d;
	if (get_int(o, "gen", 0, START_TIME_MAX, &d, at, err, errlen) == -1)
		return -1;
	r->gen = (long)d;
	return 0;
}

static int
table_from_json(const cJSON *root, struct children_table *t, char *err,
    size_t errlen)
{
	const cJSON *arr, *o, *w;
	double d;

	if (!cJSON_IsObject(root))
		return bad(err, errlen, "top level", "not an object");
	if (get_int(root, "supervisor_pid", 2, CHILDREN_PID_MAX, &d, "", err,
	    errlen) == -1)
		return -1;
	t->supervisor_pid = (pid_t)d;
	if ((w = cJSON_GetObjectItemCaseSensitive(root, "worker_id")) != NULL) {
		if (!cJSON_IsString(w) || w->valuestring == NULL)
			return bad(err, errlen, "worker_id", "not a string");
		if (wid_check(w->valuestring, err, errlen) == -1)
			return -1;
		(void)strlcpy(t->worker_id, w->valuestring,
		    sizeof(t->worker_id));
	}
	if ((arr = cJSON_GetObjectItemCaseSensitive(root, "children")) == NULL)
		return bad(err, errlen, "children", "missing");
	if (!cJSON_IsArray(arr))
		return bad(err, errlen, "children", "not an array");
	if (cJSON_GetArraySize(arr) > CHILDREN_MAX) {
		errno = EINVAL;
		return errbuf_set(err, errlen, -1, "children: more than %d "
		    "records", CHILDREN_MAX);
	}
	cJSON_ArrayForEach(o, arr) {
		if (rec_from_json(o, t->n, &t->v[t->n], err, errlen) == -1)
			return -1;
		t->n++;
	}
	return 0;
}

int
children_decode(const char *text, size_t len, struct children_table *t,
    char *err, size_t errlen)
{
	const char *end;
	cJSON *root;
	int rc;

	memset(t, 0, sizeof(*t));
	if (len > CHILDREN_FILE_MAX) {
		errno = EINVAL;
		return errbuf_set(err, errlen, -1, "larger than %d bytes",
		    CHILDREN_FILE_MAX);
	}
	errno = EINVAL;
	if (memchr(text, '\0', len) != NULL)
		return errbuf_set(err, errlen, -1, "holds a NUL byte");
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	while (root != NULL && end < text + len && strchr(" \t\r\n", *end) !=
	    NULL)
		end++;
	if (root == NULL || end != text + len) {
		cJSON_Delete(root);
		return errbuf_set(err, errlen, -1, "not valid JSON");
	}
	rc = table_from_json(root, t, err, errlen);
	cJSON_Delete(root);
	if (rc == -1) {
		memset(t, 0, sizeof(*t));
		errno = EINVAL;
	}
	return rc;
}

char *
children_encode(const struct children_table *t, char *err, size_t errlen)
{
	cJSON *root, *arr, *o;
	char *txt;
	size_t i;

	if (t->supervisor_pid < 2 || t->supervisor_pid > CHILDREN_PID_MAX ||
	    t->n > CHILDREN_MAX) {
		(void)bad(err, errlen, "table", "supervisor_pid or the number "
		    "of children out of range");
		return NULL;
	}
	if (memchr(t->worker_id, '\0', sizeof(t->worker_id)) == NULL ||
	    wid_check(t->worker_id, err, errlen) == -1)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (rec_check(&t->v[i], i, err, errlen) == -1)
			return NULL;
	if ((root = cJSON_CreateObject()) == NULL)
		goto oom;
	if (cJSON_AddNumberToObject(root, "supervisor_pid",
	    (double)t->supervisor_pid) == NULL || (t->worker_id[0] != '\0' &&
	    cJSON_AddStringToObject(root, "worker_id", t->worker_id) == NULL) ||
	    (arr = cJSON_AddArrayToObject(root, "children")) == NULL)
		goto oom;
	for (i = 0; i < t->n; i++) {
		if ((o = cJSON_CreateObject()) == NULL)
			goto oom;
		if (!cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto oom;
		}
		if (cJSON_AddStringToObject(o, "kind", t->v[i].kind) == NULL ||
		    cJSON_AddNumberToObject(o, "pid",
		    (double)t->v[i].pid) == NULL ||
		    cJSON_AddNumberToObject(o, "start_time",
		    (double)t->v[i].start_time) == NULL ||
		    cJSON_AddNumberToObject(o, "gen",
		    (double)t->v[i].gen) == NULL)
			goto oom;
	}
	if ((txt = cJSON_Print(root)) == NULL)
		goto oom;
	cJSON_Delete(root);
	return txt;
oom:
	cJSON_Delete(root);
	errno = ENOMEM;
	(void)errbuf_set(err, errlen, -1, "out of memory");
	return NULL;
}

int
children_write(const char *state_dir, const struct children_table *t,
    char *err, size_t errlen)
{
	char path[1200], why[160];
	char *txt;
	int rc, saved;

	if (children_path(state_dir, path, sizeof(path)) == -1)
		return errbuf_set(err, errlen, -1, "%s/runtime/children.json: "
		    "%s", state_dir, strerror(errno));
	if ((txt = children_encode(t, why, sizeof(why))) == NULL)
		return errbuf_set(err, errlen, -1, "%s: %s", path, why);
	rc = fs_write_atomic(path, txt, strlen(txt));
	saved = errno;
	free(txt);
	errno = saved;
	if (rc == -1)
		return errbuf_set(err, errlen, -1, "%s: %s", path,
		    strerror(errno));
	return 0;
}

int
children_read(const char *state_dir, struct children_table *t, char *err,
    size_t errlen)
{
	char path[1200], why[160];
	char *txt;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	if (children_path(state_dir, path, sizeof(path)) == -1)
		return errbuf_set(err, errlen, -1, "%s/runtime/children.json: "
		    "%s", state_dir, strerror(errno));
	if (fs_read_file(path, CHILDREN_FILE_MAX, &txt, &len) == -1) {
		if (errno == EFBIG) {
			errno = EINVAL;
			return errbuf_set(err, errlen, -1, "%s: larger than %d "
			    "bytes", path, CHILDREN_FILE_MAX);
		}
		return errbuf_set(err, errlen, -1, "%s: %s", path,
		    strerror(errno));
	}
	rc = children_decode(txt, len, t, why, sizeof(why));
	free(txt);
	if (rc == -1) {
		errno = EINVAL;
		return errbuf_set(err, errlen, -1, "%s: %s", path, why);
	}
	return 0;
}

bool
children_rec_running(const struct children_rec *r)
{
	unsigned long long st;

	return plat_proc_starttime(r->pid, &st) == 0 && st == r->start_time;
}
