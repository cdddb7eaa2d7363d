/* SPDX-License-Identifier: ISC */
/*
 * rv_storeprep: puts an embedded store into the states the operator
 * tooling tests need, through the store's own operations (claim,
 * heartbeat, gate, finish, ledger), plus one direct UPDATE that moves a
 * time column into the past so ages can be tested without waiting.
 *
 *	rv_storeprep DB claim WORKER            prints RUN_ID TOKEN EPOCH
 *	rv_storeprep DB heartbeat RUN WORKER TOKEN LATENCY_MS [STATE]
 *	rv_storeprep DB gate RUN WORKER TOKEN REASON [EVIDENCE.json]
 *	rv_storeprep DB finish RUN WORKER TOKEN STATUS
 *	rv_storeprep DB ledger RUN SEGMENT SHA8 EPOCH TOKEN CREDITS STATE
 *	rv_storeprep DB age VIDEO_ID COLUMN SECONDS
 *	rv_storeprep DB bulk STATE_DIR RUNS SEGMENTS
 *
 * DB "supabase" is the Supabase project of SUPABASE_URL and
 * SUPABASE_SERVICE_KEY instead of an embedded store (every command but
 * age and bulk).  gate stores the JSON of EVIDENCE.json with the gate,
 * as the supervisor stores the evidence stage's result.
 * COLUMN is lease_expires_at, last_heartbeat_at, gated_at or created_at;
 * it is set to the database's now minus SECONDS.  bulk makes RUNS done
 * runs RAY-Bnnn of SEGMENTS segments each, with spec mirrors, a small
 * file in video/final per segment and one index holding them all (for
 * timing the commands on a big state).  Exit 0, or 1 with a message on
 * stderr.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/media/vindex.h"

static int
usage(void)
{
	fprintf(stderr, "usage: rv_storeprep DB claim|heartbeat|gate|finish|"
	    "ledger|age ARGS...\n");
	return 1;
}

static int
age(const char *db, const char *video, const char *col, const char *secs)
{
	static const char *cols[] = { "lease_expires_at", "last_heartbeat_at",
	    "gated_at", "created_at", NULL };
	char sql[512];
	sqlite3 *h;
	char *msg = NULL;
	int i, rc;

	for (i = 0; cols[i] != NULL && strcmp(cols[i], col) != 0; i++)
		;
	if (cols[i] == NULL || !id_video_valid(video) ||
	    strspn(secs, "0123456789") != strlen(secs))
		return usage();
	snprintf(sql, sizeof(sql), "UPDATE pipeline_runs SET %s = "
	    "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '-%s seconds') "
	    "WHERE video_id = '%s'", col, secs, video);
	if (sqlite3_open(db, &h) != SQLITE_OK)
		return 1;
	sqlite3_busy_timeout(h, 5000);
	rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "rv_storeprep: %s\n", msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : 1;
}

static int
ledger(struct store *st, char **a, char *err, size_t errlen)
{
	struct store_ledger l, ex;
	enum store_write res;
	bool fresh;

	memset(&l, 0, sizeof(l));
	snprintf(l.key, sizeof(l.key), "%s:%s:%s", a[0], a[1], a[2]);
	strlcpy(l.run_id, a[0], sizeof(l.run_id));
	strlcpy(l.segment_id, a[1], sizeof(l.segment_id));
	strlcpy(l.sha8, a[2], sizeof(l.sha8));
	l.lease_epoch = atoll(a[3]);
	l.credits = atoi(a[5]);
	if (store_ledger_intent(st, &l, a[4], &fresh, &ex, &res, err,
	    errlen) == -1)
		return -1;
	if (res == STORE_WRITE_FENCED)
		return -1;
	if (strcmp(a[6], "intent") == 0)
		return 0;
	if (store_ledger_result(st, l.key, l.lease_epoch, a[6],
	    l.credits, "video/staging/x.mp4", &res, err, errlen) == -1)
		return -1;
	return res == STORE_WRITE_FENCED ? -1 : 0;
}

static char *
bulk_spec(int r, int nseg)
{
	cJSON *s = cJSON_CreateObject(), *arr, *o;
	char id[64];
	char *txt;
	int i;

	snprintf(id, sizeof(id), "RAY-B%03d", r);
	cJSON_AddStringToObject(s, "video_id", id);
	arr = cJSON_AddArrayToObject(s, "segments");
	for (i = 0; i < nseg; i++) {
		o = cJSON_CreateObject();
		snprintf(id, sizeof(id), "seg-%d", i);
		cJSON_AddStringToObject(o, "segment_id", id);
		cJSON_AddStringToObject(o, "kind", i == 0 ? "intro" :
		    "product");
		cJSON_AddStringToObject(o, "text", "Bulk words.");
		cJSON_AddNumberToObject(o, "approx_duration_sec", 3.0);
		cJSON_AddItemToArray(arr, o);
	}
	txt = cJSON_Print(s);
	cJSON_Delete(s);
	return txt;
}

/* Index one segment's file of run <run>. */
static int
bulk_video(const char *state, const char *run, int seg, struct vindex *idx)
{
	struct vindex_item it;
	char path[PATH_MAX];
	struct stat sb;
	FILE *fp;

	memset(&it, 0, sizeof(it));
	snprintf(it.key, sizeof(it.key), "%08x", (unsigned)arc4random());
	snprintf(it.segment_id, sizeof(it.segment_id), "seg-%d", seg);
	snprintf(it.path, sizeof(it.path), "video/final/V_%s_%s_%s.mp4", run,
	    it.segment_id, it.key);
	if (fs_path(path, sizeof(path), "%s/%s", state, it.path) == -1 ||
	    (fp = fopen(path, "w")) == NULL)
		return -1;
	fputs("bulk\n", fp);
	fclose(fp);
	if (stat(path, &sb) == -1)
		return -1;
	strlcpy(it.run_id, run, sizeof(it.run_id));
	it.file_bytes = sb.st_size;
	it.inode = sb.st_ino;
	it.device = sb.st_dev;
	it.duration = 3.0 + (seg % 3) * 0.01;
	it.bitrate_bps = 2000000;
	strlcpy(it.video_codec, "h264", sizeof(it.video_codec));
	strlcpy(it.audio_codec, "aac", sizeof(it.audio_codec));
	return vindex_upsert(idx, &it);
}

static int
bulk_run(struct store *st, const char *state, int r, int nseg,
    struct vindex *idx, char *err, size_t errlen)
{
	char run[STORE_ID_MAX], path[PATH_MAX], tok[ID_UUID_LEN + 1];
	struct store_claim c;
	char *spec = bulk_spec(r, nseg);
	bool ok;
	int i, rc = -1;

	snprintf(path, sizeof(path), "RAY-B%03d", r);
	if (store_enqueue(st, path, "", spec, run, err,
	    errlen) == -1 || fs_path(path, sizeof(path), "%s/jobs/%s.json",
	    state, run) == -1 || fs_write_atomic(path, spec,
	    strlen(spec)) == -1)
		goto out;
	id_uuid_new(tok);
	if (store_claim(st, "bulk-worker", tok, 15, "", "", &c, err,
	    errlen) == -1 || strcmp(c.run_id, run) != 0)
		goto out;
	for (i = 0; i < nseg; i++)
		if (bulk_video(state, run, i, idx) == -1)
			goto out;
	rc = store_finish(st, run, "bulk-worker", tok, "done", "",
	    &ok, err, errlen);
out:
	free(spec);
	return rc;
}

static int
bulk(struct store *st, char **a, char *err, size_t errlen)
{
	const char *sub[] = { "jobs", "video/final", NULL };
	char p[PATH_MAX];
	struct vindex idx;
	int i, n = atoi(a[1]), nseg = atoi(a[2]), fd, rc = 0;

	for (i = 0; sub[i] != NULL; i++)
		if (fs_path(p, sizeof(p), "%s/%s", a[0], sub[i]) == -1 ||
		    fs_mkdirs(p, 0700) == -1)
			return -1;
	if ((fd = vindex_lock(a[0], true, 5000, err, errlen)) == -1)
		return -1;
	vindex_init(&idx);
	if (vindex_load(a[0], &idx, err, errlen) != 0)
		rc = -1;
	for (i = 1; rc == 0 && i <= n; i++)
		rc = bulk_run(st, a[0], i, nseg, &idx, err, errlen);
	if (rc == 0 && vindex_save(a[0], &idx, err, errlen) != 0)
		rc = -1;
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}

static int
gate(struct store *st, char **a, const char *evfile, char *err, size_t errlen)
{
	char nonce[STORE_ID_MAX], *txt = NULL;
	cJSON *ev = NULL;
	bool ok = false;
	int rc;

	if (evfile != NULL) {
		if (fs_read_file(evfile, 1 << 20, &txt, NULL) == -1 ||
		    (ev = cJSON_Parse(txt)) == NULL) {
			snprintf(err, errlen, "%s: not readable JSON", evfile);
			free(txt);
			return -1;
		}
		free(txt);
	}
	rc = store_gate(st, a[0], a[1], a[2], a[3], WS_WAITING, ev, nonce,
	    &ok, err, errlen);
	cJSON_Delete(ev);
	return rc == -1 || !ok ? -1 : 0;
}

static int
dispatch(struct store *st, const char *cmd, int n, char **a, char *err,
    size_t errlen)
{
	struct store_claim c;
	struct store_hb hb;
	char tok[ID_UUID_LEN + 1];
	bool ok = false;

	if (strcmp(cmd, "claim") == 0 && n == 1) {
		id_uuid_new(tok);
		if (store_claim(st, a[0], tok, 15, "", "", &c, err,
		    errlen) == -1)
			return -1;
		if (c.run_id[0] == '\0') {
			snprintf(err, errlen, "nothing to claim");
			return -1;
		}
		printf("%s %s %lld\n", c.run_id, c.lock_token, c.lease_epoch);
		return 0;
	}
	if (strcmp(cmd, "heartbeat") == 0 && (n == 4 || n == 5))
		return store_heartbeat(st, a[0], a[1], a[2], 15,
		    atol(a[3]), n == 5 ? a[4] : "active", &hb, err, errlen);
	if (strcmp(cmd, "gate") == 0 && (n == 4 || n == 5))
		return gate(st, a, n == 5 ? a[4] : NULL, err, errlen);
	if (strcmp(cmd, "finish") == 0 && n == 4)
		return store_finish(st, a[0], a[1], a[2], a[3], "",
		    &ok, err, errlen) == -1 || !ok ? -1 : 0;
	if (strcmp(cmd, "ledger") == 0 && n == 7)
		return ledger(st, a, err, errlen);
	if (strcmp(cmd, "bulk") == 0 && n == 3)
		return bulk(st, a, err, errlen);
	snprintf(err, errlen, "bad command or argument count");
	return -1;
}

int
main(int argc, char **argv)
{
	struct store st;
	char err[512] = "";
	int rc;

	if (argc < 3)
		return usage();
	if (strcmp(argv[2], "age") == 0)
		return argc == 6 ? age(argv[1], argv[3], argv[4], argv[5]) :
		    usage();
	if (strcmp(argv[1], "supabase") == 0 ? store_supabase_open(&st,
	    getenv("SUPABASE_URL") ? getenv("SUPABASE_URL") : "",
	    getenv("SUPABASE_SERVICE_KEY") ? getenv("SUPABASE_SERVICE_KEY") :
	    "", 30, 10, err, sizeof(err)) == -1 :
	    store_sqlite_open(&st, argv[1], 30, err, sizeof(err)) == -1) {
		fprintf(stderr, "rv_storeprep: %s\n", err);
		return 1;
	}
	rc = dispatch(&st, argv[2], argc - 3, argv + 3, err, sizeof(err));
	if (rc == -1)
		fprintf(stderr, "rv_storeprep %s: %s\n", argv[2], err[0] ? err :
		    "refused");
	store_close(&st);
	return rc == -1 ? 1 : 0;
}
