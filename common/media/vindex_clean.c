/* SPDX-License-Identifier: ISC */
/*
 * vindex_clean.c: the operations that check the video index against the
 * disk (SPEC sections 5 and 6).  index-repair finds entries whose file is
 * gone or whose path leaves the state root, and with apply drops them;
 * orphans lists the videos in video/final/ that no entry names, by path
 * or by device and inode; clean-zombies quarantines or deletes old
 * orphans.
 *
 * Each takes the index lock itself: repair exclusive only when it
 * applies, orphans shared, clean-zombies exclusive for the whole run so
 * a video being finalized is never taken for an orphan.  All three
 * refuse without an index, so a lost index never turns every video into
 * an orphan.  This file neither probes videos nor adds entries
 * (vindex_refresh.c does) and never parses or writes index.json itself
 * (vindex.c and vindex_json.c do).  Nothing here logs: functions return
 * a vindex_rc and fill err.
 *
 * vindex_audit does repair's dry run and orphans' scan on an index the
 * caller loaded and locked.
 *
 * Public: vindex_repair, vindex_orphans, vindex_audit,
 * vindex_clean_zombies, vindex_files_clear, vindex_repair_report_clear,
 * vindex_zombie_report_clear.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/errbuf.h"
#include "common/core/fsutil.h"
#include "common/media/vindex.h"
#include "common/media/vindex_shared.h"

void
vindex_files_clear(struct vindex_files *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}

void
vindex_repair_report_clear(struct vindex_repair_report *rep)
{
	vindex_notes_clear(&rep->notes);
	memset(rep, 0, sizeof(*rep));
}

void
vindex_zombie_report_clear(struct vindex_zombie_report *rep)
{
	vindex_notes_clear(&rep->notes);
	memset(rep, 0, sizeof(*rep));
}

/* ---- repair, orphans, clean-zombies ---- */

enum path_class { PATH_OK, PATH_MISSING, PATH_OUTSIDE };

/*
 * The last directory path_classify() resolved: entries share a handful
 * of directories (video/final), so each is resolved once, not once per
 * file (1600 realpath calls cost ~10 000 readlink calls).
 */
struct dir_memo {
	char		 rel[PATH_MAX];	/* "" before the first */
	enum path_class	 cls;
};

/* Is <abs> (resolved) below the root (or, for a directory, the root)? */
static enum path_class
real_classify(const char *abs, const char *root, bool is_dir)
{
	char real[PATH_MAX];
	size_t n = strlen(root);

	if (realpath(abs, real) == NULL)
		return PATH_MISSING;
	if (strncmp(real, root, n) != 0 ||
	    (real[n] != '/' && !(is_dir && real[n] == '\0')))
		return PATH_OUTSIDE;
	return PATH_OK;
}

/*
 * Where does an entry's path lead?  <root> is the real state root.  A
 * file that is not a symlink stays where its directory is; a symlink is
 * resolved whole.
 */
static enum path_class
path_classify(const char *state_dir, const char *root, const char *rel,
    struct dir_memo *memo)
{
	char abs[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	struct stat sb;

	if (!vindex_rel_path_ok(rel))
		return PATH_OUTSIDE;
	if (fs_path(abs, sizeof(abs), "%s/%s", state_dir, rel) == -1)
		return PATH_OUTSIDE;
	if (lstat(abs, &sb) == -1)
		return PATH_MISSING;
	if (S_ISLNK(sb.st_mode))
		return real_classify(abs, root, false);
	if ((slash = strrchr(rel, '/')) == NULL)
		return PATH_OK;
	if ((size_t)(slash - rel) >= sizeof(memo->rel))
		return PATH_OUTSIDE;
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = '\0';
	if (memo->rel[0] == '\0' || strcmp(memo->rel, dir) != 0) {
		if (fs_path(abs, sizeof(abs), "%s/%s", state_dir, dir) == -1)
			return PATH_OUTSIDE;
		memo->cls = real_classify(abs, root, true);
		strlcpy(memo->rel, dir, sizeof(memo->rel));
	}
	return memo->cls;
}

static cJSON *
repair_entry(const struct vindex_repair_report *rep)
{
	char at[CLOCK_ISO_LEN];
	cJSON *h;

	if ((h = cJSON_CreateObject()) == NULL)
		return NULL;
	clock_utc_iso(at);
	(void)cJSON_AddStringToObject(h, "at", at);
	(void)cJSON_AddNumberToObject(h, "checked", (double)rep->checked);
	(void)cJSON_AddNumberToObject(h, "missing", (double)rep->missing);
	(void)cJSON_AddNumberToObject(h, "outside", (double)rep->outside);
	(void)cJSON_AddNumberToObject(h, "removed", (double)rep->removed);
	return h;
}

/* Classify every entry; with <apply>, drop the bad ones. */
static void
repair_scan(const char *state_dir, const char *root, struct vindex *idx,
    bool apply, struct vindex_repair_report *rep)
{
	struct dir_memo memo = { "", PATH_OK };
	struct vindex_item *it;
	enum path_class c;
	size_t i, j;

	for (i = j = 0; i < idx->nitems; i++) {
		it = &idx->items[i];
		rep->checked++;
		if ((c = path_classify(state_dir, root, it->path, &memo)) ==
		    PATH_OK) {
			idx->items[j++] = *it;
			continue;
		}
		if (c == PATH_MISSING)
			rep->missing++;
		else
			rep->outside++;
		(void)vindex_note_add(&rep->notes, it->path, c == PATH_MISSING ?
		    "missing" : "outside", "entry %s: %s", it->key,
		    c == PATH_MISSING ? "file is gone" :
		    "path leaves the state root");
		if (apply)
			rep->removed++;
		else
			idx->items[j++] = *it;
	}
	idx->nitems = j;
}

/*
 * Find entries whose file is gone or whose path leaves the state root;
 * with <apply>, remove them and append a repair_history entry (a dry run
 * writes nothing).  Returns VINDEX_OK, VINDEX_NOINDEX, VINDEX_CORRUPT or
 * VINDEX_ERR.
 */
int
vindex_repair(const char *state_dir, bool apply,
    struct vindex_repair_report *rep, char *err, size_t errlen)
{
	struct vindex idx;
	char root[PATH_MAX];
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	if (realpath(state_dir, root) == NULL)
		return errbuf_set(err, errlen, VINDEX_ERR, "%s: %s", state_dir,
		    strerror(errno));
	if ((fd = vindex_lock(state_dir, apply, VINDEX_LOCK_TIMEOUT_MS, err,
	    errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) != VINDEX_OK)
		goto out;
	if (idx.missing) {
		rc = errbuf_set(err, errlen, VINDEX_NOINDEX, "index missing: "
		    "nothing to repair");
		goto out;
	}
	repair_scan(state_dir, root, &idx, apply, rep);
	if (apply) {
		rep->applied = true;
		if (vindex_history_add(&idx, "repair_history",
		    repair_entry(rep)) == -1)
			rc = errbuf_set(err, errlen, VINDEX_ERR,
			    "out of memory");
		else
			rc = vindex_save(state_dir, &idx, err, errlen);
	}
out:
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}

struct devino {
	unsigned long long dev, ino;
};

static int
devino_cmp(const void *a, const void *b)
{
	const struct devino *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static bool
file_indexed(const struct vindex *idx, const struct devino *di,
    const char *name, const struct stat *st)
{
	struct devino k;
	char rel[VINDEX_PATH_MAX];
	long i;

	(void)snprintf(rel, sizeof(rel), VINDEX_FINAL_DIR "/%s", name);
	k.dev = (unsigned long long)st->st_dev;
	k.ino = (unsigned long long)st->st_ino;
	if (di != NULL && idx->nitems > 0 && bsearch(&k, di, idx->nitems,
	    sizeof(*di), devino_cmp) != NULL)
		return true;
	for (i = 0; i < (long)idx->nitems; i++)
		if (strcmp(idx->items[i].path, rel) == 0)
			return true;
	return false;
}

static int
files_add(struct vindex_files *f, const char *name, const struct stat *st)
{
	struct vindex_file *v;
	size_t cap;

	if (f->n == f->cap) {
		cap = f->cap == 0 ? 16 : f->cap * 2;
		if (cap > VINDEX_ITEMS_MAX ||
		    (v = reallocarray(f->v, cap, sizeof(*v))) == NULL)
			return -1;
		f->v = v;
		f->cap = cap;
	}
	v = &f->v[f->n++];
	(void)strlcpy(v->name, name, sizeof(v->name));
	v->bytes = (long long)st->st_size;
	v->mtime_ns = vindex_st_mtime_ns(st);
	return 0;
}

/*
 * Regular final/<name>.mp4 files that no entry names, by path or by device
 * and inode (so an entry written with another path still counts).
 */
static int
orphans_scan(const char *state_dir, const struct vindex *idx,
    struct vindex_files *out, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct devino *di;
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;
	int rc = 0;

	if (fs_path(dir, sizeof(dir), "%s/" VINDEX_FINAL_DIR, state_dir) == -1)
		return errbuf_set(err, errlen, VINDEX_ERR,
		    "state path too long");
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : errbuf_set(err, errlen,
		    VINDEX_ERR, "%s: %s", dir, strerror(errno));
	if ((di = calloc(idx->nitems + 1, sizeof(*di))) != NULL) {
		for (i = 0; i < idx->nitems; i++) {
			di[i].dev = idx->items[i].device;
			di[i].ino = idx->items[i].inode;
		}
		qsort(di, idx->nitems, sizeof(*di), devino_cmp);
	}
	while ((de = readdir(d)) != NULL) {
		if (!vindex_is_mp4(de->d_name) || strlen(de->d_name) >= 256 ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) ||
		    file_indexed(idx, di, de->d_name, &st))
			continue;
		if (files_add(out, de->d_name, &st) == -1) {
			rc = errbuf_set(err, errlen, VINDEX_ERR,
			    "%s: too many orphans or out of memory", dir);
			break;
		}
	}
	free(di);
	(void)closedir(d);
	return rc;
}

/*
 * Files in video/final/ that the index does not know, into <out> (the
 * caller clears it with vindex_files_clear).  Refuses with VINDEX_NOINDEX
 * when there is no index (every file would look orphaned) and with
 * VINDEX_CORRUPT when it cannot be read.
 */
int
vindex_orphans(const char *state_dir, struct vindex_files *out, char *err,
    size_t errlen)
{
	struct vindex idx;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((fd = vindex_lock(state_dir, false, VINDEX_LOCK_TIMEOUT_MS, err,
	    errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) == VINDEX_OK) {
		if (idx.missing)
			rc = errbuf_set(err, errlen, VINDEX_NOINDEX,
			    "index missing: run index-refresh first");
		else
			rc = orphans_scan(state_dir, &idx, out, err, errlen);
	}
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}

/*
 * Read-only: the dead entries (<rep>, as a dry index-repair finds them)
 * and the orphans (<out>) of <idx>, loaded by the caller under the index
 * lock it still holds, so a state is read and parsed once (baptism).
 * The caller clears both.  Returns VINDEX_OK, VINDEX_NOINDEX for a
 * missing index or VINDEX_ERR.
 */
int
vindex_audit(const char *state_dir, struct vindex *idx,
    struct vindex_repair_report *rep, struct vindex_files *out, char *err,
    size_t errlen)
{
	char root[PATH_MAX];

	memset(rep, 0, sizeof(*rep));
	memset(out, 0, sizeof(*out));
	if (idx->missing)
		return errbuf_set(err, errlen, VINDEX_NOINDEX,
		    "index missing: run index-refresh first");
	if (realpath(state_dir, root) == NULL)
		return errbuf_set(err, errlen, VINDEX_ERR, "%s: %s", state_dir,
		    strerror(errno));
	repair_scan(state_dir, root, idx, false, rep);
	return orphans_scan(state_dir, idx, out, err, errlen);
}

static int
file_newest_first(const void *a, const void *b)
{
	const struct vindex_file *x = a, *y = b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns > y->mtime_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Rename final/<name> to quarantine/<name>[.N]. */
static int
zombie_move(const char *state_dir, const char *name, char *why,
    size_t whylen)
{
	char src[PATH_MAX], dst[PATH_MAX], qdir[PATH_MAX];
	int i;

	if (fs_path(src, sizeof(src), "%s/" VINDEX_FINAL_DIR "/%s", state_dir,
	    name) == -1 || fs_path(qdir, sizeof(qdir), "%s/"
	    VINDEX_QUARANTINE_DIR, state_dir) == -1 ||
	    fs_mkdirs(qdir, 0700) == -1)
		return errbuf_set(why, whylen, -1, "%s: %s", qdir,
		    strerror(errno));
	for (i = 0; i < 100; i++) {
		if ((i == 0 ? fs_path(dst, sizeof(dst), "%s/%s", qdir, name) :
		    fs_path(dst, sizeof(dst), "%s/%s.%d", qdir, name, i)) == -1)
			return errbuf_set(why, whylen, -1, "path too long");
		if (!fs_exists(dst))
			break;
	}
	if (i == 100 || rename(src, dst) == -1)
		return errbuf_set(why, whylen, -1, "move to %s: %s", qdir,
		    i == 100 ? "too many copies" : strerror(errno));
	return 0;
}

/* Decide and act on one orphan (sorted newest first, <rank> 0-based). */
static void
zombie_one(const char *state_dir, const struct vindex_zombie_opts *o,
    const struct vindex_file *f, size_t *rank,
    struct vindex_zombie_report *rep)
{
	char path[PATH_MAX], why[256];
	long long age = (long long)o->now - f->mtime_ns / 1000000000LL;

	if (f->bytes < o->min_size_kb * 1024) {
		rep->kept_small++;
		(void)vindex_note_add(&rep->notes, f->name, "kept",
		    "smaller than %lld KB", o->min_size_kb);
	} else if ((*rank)++ < (size_t)o->keep_last_n) {
		rep->kept_recent++;
		(void)vindex_note_add(&rep->notes, f->name, "kept",
		    "one of the %d newest", o->keep_last_n);
	} else if (o->delete && age > o->delete_age_sec) {
		if (!o->dry_run && (fs_path(path, sizeof(path), "%s/"
		    VINDEX_FINAL_DIR "/%s", state_dir, f->name) == -1 ||
		    unlink(path) == -1)) {
			rep->errors++;
			(void)vindex_note_add(&rep->notes, f->name, "error",
			    "delete: %s", strerror(errno));
			return;
		}
		rep->deleted++;
		(void)vindex_note_add(&rep->notes, f->name, "deleted", "orphan "
		    "%lld s old", age);
	} else if (age > o->quarantine_age_sec) {
		if (!o->dry_run && zombie_move(state_dir, f->name, why,
		    sizeof(why)) == -1) {
			rep->errors++;
			(void)vindex_note_add(&rep->notes, f->name, "error",
			    "%s", why);
			return;
		}
		rep->quarantined++;
		(void)vindex_note_add(&rep->notes, f->name, "quarantined",
		    "orphan %lld s old", age);
	} else {
		rep->kept_young++;
		(void)vindex_note_add(&rep->notes, f->name, "kept",
		    "younger than %ld s", o->quarantine_age_sec);
	}
}

static cJSON *
zombie_entry(const struct vindex_zombie_opts *o,
    const struct vindex_zombie_report *rep)
{
	char at[CLOCK_ISO_LEN];
	cJSON *h;

	if ((h = cJSON_CreateObject()) == NULL)
		return NULL;
	clock_utc_iso(at);
	(void)cJSON_AddStringToObject(h, "at", at);
	(void)cJSON_AddStringToObject(h, "mode", o->delete ? "delete" :
	    "quarantine");
	(void)cJSON_AddNumberToObject(h, "orphans", (double)rep->orphans);
	(void)cJSON_AddNumberToObject(h, "quarantined",
	    (double)rep->quarantined);
	(void)cJSON_AddNumberToObject(h, "deleted", (double)rep->deleted);
	(void)cJSON_AddNumberToObject(h, "kept_small",
	    (double)rep->kept_small);
	(void)cJSON_AddNumberToObject(h, "kept_recent",
	    (double)rep->kept_recent);
	(void)cJSON_AddNumberToObject(h, "kept_young",
	    (double)rep->kept_young);
	(void)cJSON_AddNumberToObject(h, "errors", (double)rep->errors);
	return h;
}

/* Zero fields take the defaults; negative ones mean "none". */
static void
zombie_defaults(const struct vindex_zombie_opts *in,
    struct vindex_zombie_opts *o)
{
	*o = *in;
	if (o->min_size_kb == 0)
		o->min_size_kb = 500;
	else if (o->min_size_kb < 0)
		o->min_size_kb = 0;
	if (o->keep_last_n == 0)
		o->keep_last_n = 2;
	else if (o->keep_last_n < 0)
		o->keep_last_n = 0;
	if (o->quarantine_age_sec <= 0)
		o->quarantine_age_sec = 6 * 3600;
	if (o->delete_age_sec <= 0)
		o->delete_age_sec = 48 * 3600;
	if (o->now == 0)
		o->now = time(NULL);
}

/*
 * clean-zombies (SPEC section 6).  Orphans under min_size_kb are kept;
 * of the rest, the keep_last_n newest are kept; older than delete_age
 * are deleted when opts->delete; older than quarantine_age are moved to
 * video/quarantine/; younger ones are kept.  All of it happens under the
 * exclusive lock, so a video being finalized is never taken for an
 * orphan.  Refuses with VINDEX_NOINDEX or VINDEX_CORRUPT when the index
 * is missing or unreadable.  Appends cleanup_history unless dry_run.
 * Returns VINDEX_OK (per-file errors are counted in rep->errors).
 */
int
vindex_clean_zombies(const char *state_dir,
    const struct vindex_zombie_opts *opts, struct vindex_zombie_report *rep,
    char *err, size_t errlen)
{
	struct vindex_zombie_opts o;
	struct vindex_files orphans;
	struct vindex idx;
	char dir[PATH_MAX];
	size_t i, rank = 0;
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	memset(&orphans, 0, sizeof(orphans));
	zombie_defaults(opts, &o);
	if ((fd = vindex_lock(state_dir, true, VINDEX_LOCK_TIMEOUT_MS, err,
	    errlen)) == -1)
		return VINDEX_ERR;
	vindex_init(&idx);
	if ((rc = vindex_load(state_dir, &idx, err, errlen)) != VINDEX_OK)
		goto out;
	if (idx.missing) {
		rc = errbuf_set(err, errlen, VINDEX_NOINDEX, "index missing: "
		    "refusing to clean (every video would look orphaned); run "
		    "index-refresh first");
		goto out;
	}
	if ((rc = orphans_scan(state_dir, &idx, &orphans, err, errlen)) != 0)
		goto out;
	rep->orphans = orphans.n;
	if (orphans.n > 1)
		qsort(orphans.v, orphans.n, sizeof(orphans.v[0]),
		    file_newest_first);
	for (i = 0; i < orphans.n; i++)
		zombie_one(state_dir, &o, &orphans.v[i], &rank, rep);
	if (!o.dry_run && rep->quarantined + rep->deleted > 0 &&
	    fs_path(dir, sizeof(dir), "%s/" VINDEX_FINAL_DIR, state_dir) == 0)
		(void)fs_fsync_dir(dir);
	if (!o.dry_run && rep->quarantined > 0 && fs_path(dir, sizeof(dir),
	    "%s/" VINDEX_QUARANTINE_DIR, state_dir) == 0)
		(void)fs_fsync_dir(dir);
	if (o.dry_run)
		goto out;
	if (vindex_history_add(&idx, "cleanup_history",
	    zombie_entry(&o, rep)) == -1)
		rc = errbuf_set(err, errlen, VINDEX_ERR, "out of memory");
	else
		rc = vindex_save(state_dir, &idx, err, errlen);
out:
	vindex_files_clear(&orphans);
	vindex_clear(&idx);
	vindex_unlock(fd);
	return rc;
}
