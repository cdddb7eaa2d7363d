/* SPDX-License-Identifier: ISC */
/*
 * ctl_runinfo.c: what every run holds, gathered once for report,
 * preflight, timeline, status and baptism.
 *
 * A run's segments come from its spec (the mirror state/jobs/<run>.json,
 * else the copy the store keeps); each segment's final video is found in
 * the video index by (run, segment), preferring the file whose sha8 is
 * the one the checkpoint recorded, else the newest; when the index has
 * nothing, the checkpoint's "final" path is used if the file is there.
 * A segment is READY when its file exists, MISSING otherwise (for every
 * run at once, video/final is listed once instead of a stat per file).
 * Quality is computed with timeline_qc() so report and timeline always
 * agree.
 *
 * Credits (SPEC section 3): a render costs DZINE_CREDITS_PER_SEGMENT with
 * the dzine renderer and nothing with ffmpeg.  needed = missing segments
 * of runs not yet finished x that price; saved = READY segments that have
 * no ledger row (the render was skipped because a valid file existed);
 * spent = the credits of ledger rows that are done or failed; an intent
 * without a result is counted as unresolved.
 *
 * The store is used when it answers; otherwise the mirrors alone give the
 * runs (status "unknown", no ledger), so a report works offline.  A
 * missing store or index is never created here.  Nothing here prints; errors come back as an exit code with <err> filled.
 *
 * Public: ctl_store_try, ctl_runs_load, ctl_runs_clear, ctl_runs_totals,
 * ctl_run_terminal, ctl_run_timeline, ctl_money.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/checkpoint.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/spec.h"
#include "common/store/store.h"
#include "common/media/timeline.h"
#include "common/media/vindex.h"
#include "ctl/ctl.h"

#define RUNS_MAX	100000

/* An entry of video/final, listed once instead of a stat per segment. */
struct final_ent {
	const char	*name;
	size_t		 off;		/* of the name, while listing */
	bool		 reg;		/* a regular file, by its d_type */
};

/* The index, sorted by (run, segment, newest first), for lookups. */
struct seg_index {
	struct vindex	  idx;
	struct vindex_item **by;
	size_t		  n;
	struct final_ent *final;	/* video/final by name, when listed */
	size_t		  nfinal;
	char		 *names;	/* their names, NUL-separated */
	bool		  listed;
};

/*
 * Open the store unless it is open.  With <create> false, a missing
 * embedded database is not created (errno ENOENT).  Returns 0, or -1 with
 * <err> filled and errno EINVAL (invalid settings), ENOENT, EPROTO (the
 * store was reached but is not this build's: a database of another
 * schema) or EIO (any other failure).  Prints nothing.
 */
int
ctl_store_try(struct ctl_env *env, bool create, char *err, size_t errlen)
{
	char db[PATH_MAX];

	if (env->st_open)
		return 0;
	if (!env->cfg_ok) {
		snprintf(err, errlen, "the settings are invalid (rvctl doctor "
		    "lists the problems)");
		errno = EINVAL;
		return -1;
	}
	if (!create && env->cfg.supabase_url[0] == '\0' &&
	    (fs_path(db, sizeof(db), "%s/rayvault.db",
	    env->cfg.state_dir) == -1 || !fs_exists(db))) {
		snprintf(err, errlen, "there is no store yet: %s/rayvault.db "
		    "does not exist (rvctl enqueue or rvsup start creates it)",
		    env->cfg.state_dir);
		errno = ENOENT;
		return -1;
	}
	errno = 0;
	if (store_open(&env->st, &env->cfg, err, errlen) == -1) {
		errno = errno == EINVAL ? EPROTO : EIO;
		return -1;
	}
	env->st_open = true;
	return 0;
}

bool
ctl_run_terminal(const struct ctl_run *run)
{
	const char *s = run->r.status;

	return strcmp(s, RUN_DONE) == 0 || strcmp(s, RUN_FAILED) == 0 ||
	    strcmp(s, RUN_ABORTED) == 0;
}

/* "US$ 1.50 / R$ 8.25" for <credits>. */
void
ctl_money(const struct rv_config *cfg, long credits, char *buf, size_t size)
{
	double usd = (double)credits * cfg->dzine_credit_price_usd;

	snprintf(buf, size, "US$ %.2f / R$ %.2f", usd, usd * cfg->usd_brl);
}

void
ctl_runs_clear(struct ctl_runs *runs)
{
	size_t i;

	for (i = 0; i < runs->n; i++)
		free(runs->v[i].segs);
	free(runs->v);
	memset(runs, 0, sizeof(*runs));
}

static int
runs_grow(struct ctl_runs *runs, size_t *cap)
{
	struct ctl_run *nv;
	size_t nc;

	if (runs->n < *cap)
		return 0;
	nc = *cap == 0 ? 16 : *cap * 2;
	if (nc > RUNS_MAX ||
	    (nv = reallocarray(runs->v, nc, sizeof(*nv))) == NULL)
		return -1;
	runs->v = nv;
	*cap = nc;
	return 0;
}

/* One run, or every run, from the store. */
static int
runs_from_store(struct ctl_env *env, const char *only, struct ctl_runs *out,
    char *err, size_t errlen)
{
	struct store_run *v = NULL;
	size_t n, i;
	int e;

	if (only != NULL) {
		if ((out->v = calloc(1, sizeof(*out->v))) == NULL)
			goto nomem;
		if (store_get_run(&env->st, only, &out->v[0].r, NULL,
		    err, errlen) == -1) {
			e = errno;
			if (e == ENOENT)
				snprintf(err, errlen, "no run for \"%s\" in "
				    "the store (rvctl runs lists them)", only);
			return e == ENOENT || e == EINVAL ? CTL_DATAERR :
			    CTL_UNAVAIL;
		}
		out->n = 1;
		return CTL_OK;
	}
	if (store_list_runs(&env->st, &v, &n, err, errlen) == -1)
		return CTL_UNAVAIL;
	if (n > 0 && (out->v = calloc(n, sizeof(*out->v))) == NULL) {
		free(v);
		goto nomem;
	}
	for (i = 0; i < n; i++)
		out->v[i].r = v[i];
	out->n = n;
	free(v);
	return CTL_OK;
nomem:
	snprintf(err, errlen, "out of memory");
	return CTL_SOFTWARE;
}

/* The video id a mirror names, or -1. */
static int
mirror_video(const char *path, char *vid, size_t size)
{
	cJSON *j;
	char *txt;
	const char *v;
	int rc = -1;

	if (fs_read_file(path, SPEC_FILE_MAX, &txt, NULL) == -1)
		return -1;
	j = cJSON_Parse(txt);
	free(txt);
	v = cJSON_GetStringValue(cJSON_GetObjectItem(j, "video_id"));
	if (v != NULL && id_video_valid(v)) {
		(void)strlcpy(vid, v, size);
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}

static bool
mirror_match(const char *name, const char *path, const char *only,
    struct store_run *r)
{
	char stem[STORE_ID_MAX + 8];
	size_t len = strlen(name);

	if (len != ID_UUID_LEN + 5 || strcmp(name + ID_UUID_LEN, ".json") != 0)
		return false;
	memcpy(stem, name, ID_UUID_LEN);
	stem[ID_UUID_LEN] = '\0';
	if (!id_uuid_valid(stem) || mirror_video(path, r->video_id,
	    sizeof(r->video_id)) == -1)
		return false;
	if (only != NULL && strcmp(only, stem) != 0 &&
	    strcmp(only, r->video_id) != 0)
		return false;
	(void)strlcpy(r->run_id, stem, sizeof(r->run_id));
	(void)strlcpy(r->status, "unknown", sizeof(r->status));
	return true;
}

/* Every run the state/jobs mirrors know, when the store is away. */
static int
runs_from_mirrors(struct ctl_env *env, const char *only,
    struct ctl_runs *out, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct store_run r;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	if (only != NULL && !id_uuid_valid(only) && !id_video_valid(only)) {
		snprintf(err, errlen, "\"%.80s\" is not a run id or video id",
		    only);
		return CTL_DATAERR;
	}
	if (fs_path(dir, sizeof(dir), "%s/jobs", env->cfg.state_dir) == 0 &&
	    (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			memset(&r, 0, sizeof(r));
			if (fs_path(path, sizeof(path), "%s/%s", dir,
			    de->d_name) == -1 ||
			    !mirror_match(de->d_name, path, only, &r))
				continue;
			if (runs_grow(out, &cap) == -1)
				break;
			memset(&out->v[out->n], 0, sizeof(out->v[0]));
			out->v[out->n++].r = r;
		}
		closedir(d);
	}
	if (only != NULL && out->n == 0) {
		snprintf(err, errlen, "no run for \"%s\": the store is "
		    "unreachable and no spec mirror in %s names it", only, dir);
		return CTL_DATAERR;
	}
	return CTL_OK;
}

static int
item_cmp(const void *a, const void *b)
{
	const struct vindex_item *x = *(struct vindex_item *const *)a;
	const struct vindex_item *y = *(struct vindex_item *const *)b;
	int c;

	if ((c = strcmp(x->run_id, y->run_id)) != 0)
		return c;
	if ((c = strcmp(x->segment_id, y->segment_id)) != 0)
		return c;
	if (x->file_mtime_ns != y->file_mtime_ns)
		return x->file_mtime_ns > y->file_mtime_ns ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void
index_load(const char *state_dir, int lock_ms, struct seg_index *si,
    struct ctl_runs *out)
{
	char path[PATH_MAX];
	size_t i;
	int fd, rc;

	vindex_init(&si->idx);
	if (fs_path(path, sizeof(path), "%s/video/index.json", state_dir) ==
	    -1 || !fs_exists(path)) {
		out->index_state = CTL_INDEX_MISSING;
		return;
	}
	if ((fd = vindex_lock(state_dir, false, lock_ms, out->index_err,
	    sizeof(out->index_err))) == -1) {
		out->index_state = CTL_INDEX_BUSY;
		return;
	}
	rc = vindex_load(state_dir, &si->idx, out->index_err,
	    sizeof(out->index_err));
	vindex_unlock(fd);
	if (rc != VINDEX_OK) {
		out->index_state = CTL_INDEX_CORRUPT;
		return;
	}
	if (si->idx.missing)
		out->index_state = CTL_INDEX_MISSING;
	if (si->idx.nitems == 0 || (si->by = calloc(si->idx.nitems,
	    sizeof(*si->by))) == NULL)
		return;
	for (i = 0; i < si->idx.nitems; i++)
		si->by[i] = &si->idx.items[i];
	si->n = si->idx.nitems;
	qsort(si->by, si->n, sizeof(*si->by), item_cmp);
}

/* Index of the first item of (run, seg), or si->n. */
static size_t
index_first(const struct seg_index *si, const char *run, const char *seg)
{
	size_t lo = 0, hi = si->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(si->by[mid]->run_id, run);
		if (c == 0)
			c = strcmp(si->by[mid]->segment_id, seg);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
final_cmp(const void *a, const void *b)
{
	return strcmp(((const struct final_ent *)a)->name,
	    ((const struct final_ent *)b)->name);
}

/*
 * List video/final into si->final, sorted, for rel_exists: one directory
 * read instead of 1 600 stats, which were a fifth of a whole report.  Any
 * failure leaves it unlisted (each file is then looked at on its own).
 */
static void
final_list(const char *state_dir, struct seg_index *si)
{
	char path[PATH_MAX], *names = NULL, *nn;
	struct final_ent *v = NULL, *nv;
	struct dirent *de;
	size_t used = 0, cap = 0, n = 0, len, i;
	DIR *d;

	if (fs_path(path, sizeof(path), "%s/" VINDEX_FINAL_DIR, state_dir) ==
	    -1 || (d = opendir(path)) == NULL)
		return;
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") ==
		    0)
			continue;
		len = strlen(de->d_name) + 1;
		if (used + len > cap) {
			cap = (used + len) * 2;
			if ((nn = realloc(names, cap)) == NULL)
				goto fail;
			names = nn;
		}
		if ((n & 1023) == 0) {
			if ((nv = reallocarray(v, n + 1024, sizeof(*v))) ==
			    NULL)
				goto fail;
			v = nv;
		}
		memcpy(names + used, de->d_name, len);
		v[n].off = used;
#ifdef DT_REG
		v[n++].reg = de->d_type == DT_REG;
#else
		v[n++].reg = false;
#endif
		used += len;
	}
	if (errno != 0)
		goto fail;
	(void)closedir(d);
	for (i = 0; i < n; i++)		/* names no longer move */
		v[i].name = names + v[i].off;
	if (n > 1)
		qsort(v, n, sizeof(*v), final_cmp);
	si->final = v;
	si->nfinal = n;
	si->names = names;
	si->listed = true;
	return;
fail:
	(void)closedir(d);
	free(names);
	free(v);
}

/*
 * Is there a file at <rel> under the state root?  A name in video/final
 * is looked up in the listing when there is one: a regular file there
 * exists, a name not there does not; anything else (a symlink, a type the
 * file system does not report) is stat()ed as before.
 */
static bool
rel_exists(const struct seg_index *si, const char *state_dir,
    const char *rel)
{
	char path[PATH_MAX];
	const struct final_ent *e;
	struct final_ent key;
	const size_t dl = sizeof(VINDEX_FINAL_DIR);	/* with its '/' */

	if (!vindex_rel_path_ok(rel))
		return false;
	if (si->listed && strncmp(rel, VINDEX_FINAL_DIR "/", dl) == 0 &&
	    strchr(rel + dl, '/') == NULL) {
		key.name = rel + dl;
		e = si->nfinal == 0 ? NULL : bsearch(&key, si->final,
		    si->nfinal, sizeof(*si->final), final_cmp);
		if (e == NULL)
			return false;
		if (e->reg)
			return true;
	}
	return fs_path(path, sizeof(path), "%s/%s", state_dir, rel) == 0 &&
	    fs_exists(path);
}

/* Find the final video of one segment. */
static void
seg_resolve(const char *state_dir, const struct seg_index *si,
    const char *run_id, const cJSON *cseg, struct ctl_seg *s)
{
	const char *sha8 = cJSON_GetStringValue(cJSON_GetObjectItem(cseg,
	    "sha8"));
	const char *fin = cJSON_GetStringValue(cJSON_GetObjectItem(cseg,
	    "final"));
	const struct vindex_item *best = NULL, *it;
	size_t i;

	for (i = index_first(si, run_id, s->segment_id); i < si->n; i++) {
		it = si->by[i];
		if (strcmp(it->run_id, run_id) != 0 ||
		    strcmp(it->segment_id, s->segment_id) != 0)
			break;
		if (!rel_exists(si, state_dir, it->path))
			continue;
		if (best == NULL)
			best = it;
		if (sha8 != NULL && strcmp(it->key, sha8) == 0) {
			best = it;
			break;
		}
	}
	if (best != NULL) {
		(void)strlcpy(s->file, best->path, sizeof(s->file));
		s->duration = best->duration;
		s->bitrate_bps = best->bitrate_bps;
		s->ready = true;
	} else if (fin != NULL && rel_exists(si, state_dir, fin)) {
		(void)strlcpy(s->file, fin, sizeof(s->file));
		s->duration = cJSON_GetNumberValue(cJSON_GetObjectItem(cseg,
		    "video_duration"));
		s->bitrate_bps = ctl_jll(cseg, "bitrate_bps");
		s->ready = isfinite(s->duration) && s->duration >= 0;
		if (!s->ready)
			s->file[0] = '\0';
	}
	if (!isfinite((double)s->bitrate_bps) || s->bitrate_bps < 0)
		s->bitrate_bps = 0;
}

static cJSON *
spec_load(struct ctl_env *env, const struct ctl_runs *runs,
    struct ctl_run *run)
{
	char path[PATH_MAX], *txt = NULL, err[256];
	struct store_run tmp;
	cJSON *j;

	if (fs_path(path, sizeof(path), "%s/jobs/%s.json", env->cfg.state_dir,
	    run->r.run_id) == -1 || fs_read_file(path, SPEC_FILE_MAX, &txt,
	    NULL) == -1) {
		txt = NULL;
		if (runs->from_store && store_get_run(&env->st,
		    run->r.run_id, &tmp, &txt, err, sizeof(err)) == -1)
			txt = NULL;
	}
	if (txt == NULL) {
		snprintf(run->spec_err, sizeof(run->spec_err), "no spec: "
		    "state/jobs/%s.json is missing and the store has none",
		    run->r.run_id);
		return NULL;
	}
	if ((j = cJSON_Parse(txt)) == NULL)
		snprintf(run->spec_err, sizeof(run->spec_err), "the spec of "
		    "run %s is not valid JSON", run->r.run_id);
	free(txt);
	return j;
}

/* Copy the spec's segment list; -1 with run->spec_err on a bad one. */
static int
spec_segments(const cJSON *spec, struct ctl_run *run)
{
	const cJSON *segs = cJSON_GetObjectItem(spec, "segments"), *s;
	const char *id, *kind;
	double t;
	size_t n = 0;

	if (!cJSON_IsArray(segs) || cJSON_GetArraySize(segs) < 1 ||
	    cJSON_GetArraySize(segs) > SPEC_SEGMENTS_MAX ||
	    (run->segs = calloc((size_t)cJSON_GetArraySize(segs),
	    sizeof(*run->segs))) == NULL) {
		snprintf(run->spec_err, sizeof(run->spec_err), "the spec has "
		    "no usable segments list");
		return -1;
	}
	cJSON_ArrayForEach(s, segs) {
		id = cJSON_GetStringValue(cJSON_GetObjectItem(s, "segment_id"));
		kind = cJSON_GetStringValue(cJSON_GetObjectItem(s, "kind"));
		t = cJSON_GetNumberValue(cJSON_GetObjectItem(s,
		    "approx_duration_sec"));
		if (id == NULL || !id_segment_valid(id) || kind == NULL ||
		    strlen(kind) >= sizeof(run->segs[0].kind) ||
		    !isfinite(t) || t <= 0 || t > 86400) {
			snprintf(run->spec_err, sizeof(run->spec_err), "spec "
			    "segment %zu: bad segment_id, kind or "
			    "approx_duration_sec", n + 1);
			return -1;
		}
		(void)strlcpy(run->segs[n].segment_id, id,
		    sizeof(run->segs[n].segment_id));
		(void)strlcpy(run->segs[n].kind, kind,
		    sizeof(run->segs[n].kind));
		run->segs[n++].target = t;
	}
	run->nsegs = n;
	return 0;
}

static cJSON *
ckpt_segments(const char *state_dir, const char *run_id, cJSON **ck)
{
	char path[PATH_MAX], err[256];

	*ck = NULL;
	if (ckpt_path(path, sizeof(path), state_dir, run_id) == -1 ||
	    !fs_exists(path) || ckpt_load(path, ck, err, sizeof(err)) == -1)
		return NULL;
	return cJSON_GetObjectItem(*ck, "segments");
}

/*
 * The timeline segments of <run> (strings borrowed from it) into *segs,
 * which the caller frees.  Returns the count, or -1 out of memory.
 */
int
ctl_run_timeline(const struct ctl_run *run, struct timeline_seg **segs)
{
	struct timeline_seg *v;
	size_t i;

	if ((v = calloc(run->nsegs + 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < run->nsegs; i++) {
		v[i].segment_id = run->segs[i].segment_id;
		v[i].category = run->segs[i].kind;
		v[i].target = run->segs[i].target;
		v[i].file = run->segs[i].ready ? run->segs[i].file : NULL;
		v[i].probe_duration = run->segs[i].duration;
	}
	*segs = v;
	return (int)run->nsegs;
}

static void
run_quality(struct ctl_run *run)
{
	struct timeline_seg *v;
	size_t i;

	for (i = 0; i < run->nsegs; i++)
		if (run->segs[i].ready && run->segs[i].bitrate_bps > 0 &&
		    run->segs[i].bitrate_bps < CTL_LOW_BITRATE_BPS)
			run->low_bitrate++;
	if (ctl_run_timeline(run, &v) == -1)
		return;
	timeline_qc(v, run->nsegs, &run->qc);
	free(v);
}

static void
run_segments(struct ctl_env *env, const struct ctl_runs *runs,
    const struct seg_index *si, struct ctl_run *run)
{
	cJSON *spec, *ck, *cs;
	size_t i;

	if ((spec = spec_load(env, runs, run)) == NULL)
		return;
	if (spec_segments(spec, run) == -1) {
		free(run->segs);
		run->segs = NULL;
		run->nsegs = 0;
		cJSON_Delete(spec);
		return;
	}
	cJSON_Delete(spec);
	run->have_spec = true;
	cs = ckpt_segments(env->cfg.state_dir, run->r.run_id, &ck);
	for (i = 0; i < run->nsegs; i++)
		seg_resolve(env->cfg.state_dir, si, run->r.run_id,
		    cJSON_GetObjectItem(cs, run->segs[i].segment_id),
		    &run->segs[i]);
	cJSON_Delete(ck);
	run_quality(run);
}

static int
ledger_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_ledger *)a)->run_id,
	    ((const struct store_ledger *)b)->run_id);
}

static void
run_credits(struct ctl_run *run, const struct store_ledger *rows,
    size_t nrows, long per)
{
	size_t i, k;
	long paid;

	for (k = 0; k < nrows; k++) {
		/* Every paid attempt counts: attempts x credits. */
		paid = rows[k].attempts > 1 ? rows[k].attempts : 1;
		if (strcmp(rows[k].state, "intent") == 0) {
			run->intents_open++;
			paid--;		/* the one in flight is not settled */
		}
		run->spent += paid * rows[k].credits;
		for (i = 0; i < run->nsegs; i++)
			if (strcmp(run->segs[i].segment_id,
			    rows[k].segment_id) == 0) {
				run->segs[i].ledgered = true;
				run->segs[i].paid |= strcmp(rows[k].state,
				    "done") == 0;
			}
	}
	for (i = 0; i < run->nsegs; i++) {
		if (run->segs[i].ready && !run->segs[i].ledgered)
			run->saved += per;
		if (!run->segs[i].ready && !ctl_run_terminal(run))
			run->needed += per;
	}
}

static void
runs_credits(struct ctl_env *env, struct ctl_runs *out)
{
	struct store_ledger *rows = NULL, key;
	const struct store_ledger *lo;
	char err[256];
	size_t n = 0, i, j;

	if (out->from_store && store_ledger_list(&env->st, NULL,
	    &rows, &n, err, sizeof(err)) == 0) {
		out->ledger = true;
		if (n > 1)
			qsort(rows, n, sizeof(*rows), ledger_cmp);
	}
	for (i = 0; i < out->n; i++) {
		memset(&key, 0, sizeof(key));
		(void)strlcpy(key.run_id, out->v[i].r.run_id,
		    sizeof(key.run_id));
		lo = NULL;
		for (j = 0; rows != NULL && j < n && lo == NULL; j++)
			if (ledger_cmp(&rows[j], &key) == 0)
				lo = &rows[j];
		for (j = 0; lo != NULL && lo + j < rows + n &&
		    ledger_cmp(lo + j, &key) == 0; j++)
			;
		run_credits(&out->v[i], lo, j, out->per_segment);
	}
	free(rows);
}

/*
 * Gather <only> (a run id or video id; NULL: every run) into <out>; the
 * caller clears it with ctl_runs_clear.  <flags>: CTL_RI_LEDGER reads the
 * credit ledger, CTL_RI_QUICK gives up on an index another command has locked (the
 * segments then come from the checkpoints alone).  When the
 * store is unreachable, out->from_store is false, out->store_err says
 * why, and the runs come from the mirrors.  Returns CTL_OK, or
 * CTL_DATAERR (no such run, bad id) or CTL_SOFTWARE with <err> filled.
 */
int
ctl_runs_load(struct ctl_env *env, const char *only, int flags,
    struct ctl_runs *out, char *err, size_t errlen)
{
	struct seg_index si;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&si, 0, sizeof(si));
	if (ctl_store_try(env, false, out->store_err,
	    sizeof(out->store_err)) == 0) {
		out->from_store = true;
		rc = runs_from_store(env, only, out, err, errlen);
		if (rc == CTL_UNAVAIL) {
			ctl_runs_clear(out);
			(void)strlcpy(out->store_err, err,
			    sizeof(out->store_err));
		} else if (rc != CTL_OK) {
			ctl_runs_clear(out);
			return rc;
		}
	}
	if (!out->from_store && (rc = runs_from_mirrors(env, only, out, err,
	    errlen)) != CTL_OK) {
		ctl_runs_clear(out);
		return rc;
	}
	out->per_segment = env->cfg_ok && strcmp(env->cfg.renderer,
	    "dzine") == 0 ? env->cfg.dzine_credits_per_segment : 0;
	index_load(env->cfg.state_dir, flags & CTL_RI_QUICK ? 100 : 5000, &si,
	    out);
	if (only == NULL)	/* every run: list video/final once */
		final_list(env->cfg.state_dir, &si);
	for (i = 0; i < out->n; i++)
		run_segments(env, out, &si, &out->v[i]);
	if (flags & CTL_RI_LEDGER)
		runs_credits(env, out);
	else
		for (i = 0; i < out->n; i++)
			run_credits(&out->v[i], NULL, 0, out->per_segment);
	free(si.by);
	free(si.final);
	free(si.names);
	vindex_clear(&si.idx);
	return CTL_OK;
}

static void
totals_run(const struct ctl_run *r, struct ctl_totals *t)
{
	bool fin = ctl_run_terminal(r);

	t->runs++;
	t->active += !fin && strcmp(r->r.status, "unknown") != 0;
	t->finished += strcmp(r->r.status, RUN_DONE) == 0;
	t->segs += r->nsegs;
	t->ready += r->qc.ready;
	t->missing += r->qc.missing;
	t->to_render += fin ? 0 : r->qc.missing;
	t->low_bitrate += r->low_bitrate;
	t->intents_open += r->intents_open;
	t->needed += r->needed;
	t->saved += r->saved;
	t->spent += r->spent;
	if (r->qc.ready > 0 && (t->worst_run == NULL ||
	    fabs(r->qc.worst_delta) > fabs(t->worst_run->qc.worst_delta)))
		t->worst_run = r;
	if (r->qc.ready > 0 && (t->drift_run == NULL ||
	    r->qc.max_drift > t->drift_run->qc.max_drift))
		t->drift_run = r;
	if (strcmp(r->r.status, RUN_DONE) != 0)
		return;
	t->missing_finished += r->qc.missing;
	if (r->qc.missing > 0 && t->missing_run == NULL)
		t->missing_run = r;
	if (r->qc.verdict > t->verdict)
		t->verdict = r->qc.verdict;
}

/* Sum the runs; quality verdicts count finished (done) runs only. */
void
ctl_runs_totals(const struct ctl_runs *runs, struct ctl_totals *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->verdict = TIMELINE_OK;
	for (i = 0; i < runs->n; i++)
		totals_run(&runs->v[i], t);
}
