/* SPDX-License-Identifier: ISC */
/*
 * ctl_index.c: the video-index commands: index-refresh, index-repair,
 * orphans, clean-zombies and maintenance (SPEC sections 5 and 6).
 *
 * The work is done by common/media/vindex.c under the index lock; this file
 * turns options into its arguments and its reports into plain lines
 * ("quarantined V_x.mp4: orphan 30000 s old") or JSON.  A corrupt index
 * is never replaced silently: every command refuses and says how to
 * rebuild it (index-refresh --rebuild moves it aside first).  Cleanup
 * refuses without an index, since every video would look orphaned.
 *
 * Exit codes: 0 clean; 1 something to look at (a probe failed, bad
 * entries found by a dry run, orphans, a file that could not be moved);
 * 65 the index is missing (where one is needed) or corrupt; 70 an I/O
 * error.  maintenance runs an incremental index refresh for real (what
 * changed is probed, and a file whose last probe failed has no entry, so
 * it is probed again), then clean-zombies (a dry run unless --apply;
 * zombies are only quarantined, never deleted) and ends with the report
 * summary: the cleanup is the only step the safe form leaves dry, since
 * the recovery recipes of the guide rely on a fresh index.
 *
 * Public: ctl_index_refresh, ctl_index_repair, ctl_orphans,
 * ctl_clean_zombies, ctl_maintenance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/media/vindex.h"
#include "ctl/ctl.h"

#define REFUSE_HINT	"(rvctl index-refresh --rebuild moves a corrupt " \
			"index aside and builds a new one)"

static int
vindex_exit(const char *cmd, int rc, const char *err)
{
	if (rc == VINDEX_CORRUPT) {
		fprintf(stderr, "rvctl %s: the index is corrupt and was left "
		    "untouched: %s %s\n", cmd, err, REFUSE_HINT);
		return CTL_DATAERR;
	}
	if (rc == VINDEX_NOINDEX) {
		fprintf(stderr, "rvctl %s: refused: %s\n", cmd, err);
		return CTL_DATAERR;
	}
	fprintf(stderr, "rvctl %s: %s\n", cmd, err);
	return CTL_SOFTWARE;
}

static cJSON *
notes_json(const struct vindex_notes *nn)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < nn->n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", nn->v[i].name);
		cJSON_AddStringToObject(o, "what", nn->v[i].what);
		cJSON_AddStringToObject(o, "reason", nn->v[i].reason);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void
notes_print(const struct vindex_notes *nn)
{
	size_t i;

	for (i = 0; i < nn->n; i++)
		printf("  %-11s %s: %s\n", nn->v[i].what, nn->v[i].name,
		    nn->v[i].reason);
	if (nn->dropped > 0)
		printf("  (%zu more not shown)\n", nn->dropped);
}

static int
refresh_run(struct ctl_env *env, const struct vindex_refresh_opts *o,
    bool quiet)
{
	struct vindex_refresh_report rep;
	char err[512];
	cJSON *j;
	int rc;

	rc = vindex_refresh(env->cfg.state_dir, o, NULL, &rep, err,
	    sizeof(err));
	if (rc < 0) {
		vindex_refresh_report_clear(&rep);
		return vindex_exit("index-refresh", rc, err);
	}
	if (env->json && !quiet) {
		j = cJSON_CreateObject();
		cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
		cJSON_AddNumberToObject(j, "scanned", (double)rep.scanned);
		cJSON_AddNumberToObject(j, "probed", (double)rep.probed);
		cJSON_AddNumberToObject(j, "unchanged", (double)rep.unchanged);
		cJSON_AddNumberToObject(j, "skipped", (double)rep.skipped);
		cJSON_AddNumberToObject(j, "failed", (double)rep.failed);
		cJSON_AddNumberToObject(j, "removed", (double)rep.removed);
		cJSON_AddItemToObject(j, "notes", notes_json(&rep.notes));
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("index-refresh%s: %zu files scanned, %zu %s, %zu "
		    "unchanged, %zu skipped, %zu failed%s\n", o->dry_run ?
		    " (dry run)" : "", rep.scanned, rep.probed, o->dry_run ?
		    "would be probed" : "probed", rep.unchanged, rep.skipped,
		    rep.failed, rep.index_missing && !o->dry_run ?
		    " (new index)" : "");
		notes_print(&rep.notes);
		if (rep.failed > 0)
			printf("next: look at the failed files above; a video "
			    "that cannot be probed is not trusted\n");
	}
	vindex_refresh_report_clear(&rep);
	return rc > 0 ? CTL_WARN : CTL_OK;
}

/* --rebuild: move a corrupt index aside; a sound one is only refreshed. */
static int
rebuild(struct ctl_env *env)
{
	char moved[1024], err[512];
	struct vindex idx;
	int fd, rc;

	if ((fd = vindex_lock(env->cfg.state_dir, false,
	    VINDEX_LOCK_TIMEOUT_MS, err, sizeof(err))) == -1) {
		fprintf(stderr, "rvctl index-refresh: %s\n", err);
		return CTL_SOFTWARE;
	}
	vindex_init(&idx);
	rc = vindex_load(env->cfg.state_dir, &idx, err, sizeof(err));
	vindex_clear(&idx);
	vindex_unlock(fd);
	if (rc != VINDEX_CORRUPT) {
		printf("index-refresh: the index is %s; nothing to set aside\n",
		    rc == VINDEX_OK ? "sound" : "unreadable");
		return CTL_OK;
	}
	if (vindex_quarantine_corrupt(env->cfg.state_dir, moved,
	    sizeof(moved), err, sizeof(err)) < 0) {
		fprintf(stderr, "rvctl index-refresh: %s\n", err);
		return CTL_SOFTWARE;
	}
	printf("index-refresh: the corrupt index was moved to %s\n", moved);
	return CTL_OK;
}

int
ctl_index_refresh(struct ctl_env *env, int argc, char **argv)
{
	struct vindex_refresh_opts o;
	bool rebuild_it = false;
	long jobs = 0;
	const struct ctl_opt opts[] = {
		{ "--force", CTL_OPT_FLAG, &o.force, 0, 0 },
		{ "--allow-missing-sha8", CTL_OPT_FLAG, &o.allow_missing_sha8,
		    0, 0 },
		{ "--dry-run", CTL_OPT_FLAG, &o.dry_run, 0, 0 },
		{ "--prune", CTL_OPT_FLAG, &o.prune, 0, 0 },
		{ "--rebuild", CTL_OPT_FLAG, &rebuild_it, 0, 0 },
		{ "--jobs", CTL_OPT_INT, &jobs, 1, 64 },
		{ NULL, 0, NULL, 0, 0 }
	};
	int rc;

	memset(&o, 0, sizeof(o));
	if (ctl_opts_parse("index-refresh", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("index-refresh"));
	if (!ctl_settings_ok(env, "index-refresh"))
		return CTL_USAGE;
	o.jobs = (int)jobs;
	if (rebuild_it && !o.dry_run && (rc = rebuild(env)) != CTL_OK)
		return rc;
	return refresh_run(env, &o, false);
}

int
ctl_index_repair(struct ctl_env *env, int argc, char **argv)
{
	struct vindex_repair_report rep;
	bool apply = false;
	const struct ctl_opt opts[] = {
		{ "--apply", CTL_OPT_FLAG, &apply, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	char err[512];
	cJSON *j;
	int rc;

	if (ctl_opts_parse("index-repair", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("index-repair"));
	if (!ctl_settings_ok(env, "index-repair"))
		return CTL_USAGE;
	if ((rc = vindex_repair(env->cfg.state_dir, apply, &rep, err,
	    sizeof(err))) != VINDEX_OK) {
		vindex_repair_report_clear(&rep);
		return vindex_exit("index-repair", rc, err);
	}
	if (env->json) {
		j = cJSON_CreateObject();
		cJSON_AddBoolToObject(j, "applied", rep.applied);
		cJSON_AddNumberToObject(j, "checked", (double)rep.checked);
		cJSON_AddNumberToObject(j, "missing", (double)rep.missing);
		cJSON_AddNumberToObject(j, "outside", (double)rep.outside);
		cJSON_AddNumberToObject(j, "removed", (double)rep.removed);
		cJSON_AddItemToObject(j, "notes", notes_json(&rep.notes));
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("index-repair%s: %zu entries checked, %zu whose file is "
		    "gone, %zu outside the state root, %zu removed\n",
		    apply ? "" : " (dry run)", rep.checked, rep.missing,
		    rep.outside, rep.removed);
		notes_print(&rep.notes);
		if (!apply && rep.missing + rep.outside > 0)
			printf("next: remove them with rvctl index-repair "
			    "--apply (make index-repair-apply CONFIRM=YES)\n");
	}
	rc = !apply && rep.missing + rep.outside > 0 ? CTL_WARN : CTL_OK;
	vindex_repair_report_clear(&rep);
	return rc;
}

int
ctl_orphans(struct ctl_env *env, int argc, char **argv)
{
	const struct ctl_opt opts[] = { { NULL, 0, NULL, 0, 0 } };
	struct vindex_files f;
	char err[512];
	time_t now = time(NULL);
	cJSON *j, *o;
	size_t i;
	int rc;

	if (ctl_opts_parse("orphans", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("orphans"));
	if (!ctl_settings_ok(env, "orphans"))
		return CTL_USAGE;
	if ((rc = vindex_orphans(env->cfg.state_dir, &f, err,
	    sizeof(err))) != VINDEX_OK)
		return vindex_exit("orphans", rc, err);
	if (env->json) {
		j = cJSON_CreateArray();
		for (i = 0; i < f.n; i++) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", f.v[i].name);
			cJSON_AddNumberToObject(o, "bytes",
			    (double)f.v[i].bytes);
			cJSON_AddNumberToObject(o, "age_sec", (double)(now -
			    f.v[i].mtime_ns / 1000000000LL));
			cJSON_AddItemToArray(j, o);
		}
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		for (i = 0; i < f.n; i++)
			printf("%-64s %10lld bytes  %6.1f h old\n", f.v[i].name,
			    f.v[i].bytes, (double)(now - f.v[i].mtime_ns /
			    1000000000LL) / 3600.0);
		printf("%zu orphan%s in video/final (files the index does not "
		    "know)\n", f.n, f.n == 1 ? "" : "s");
		if (f.n > 0)
			printf("next: index them (rvctl index-refresh) if they "
			    "are good, or set them aside (rvctl clean-zombies)"
			    "\n");
	}
	rc = f.n > 0 ? CTL_WARN : CTL_OK;
	vindex_files_clear(&f);
	return rc;
}

static int
zombies_run(struct ctl_env *env, const struct vindex_zombie_opts *o,
    bool quiet)
{
	struct vindex_zombie_report rep;
	char err[512];
	cJSON *j;
	int rc;

	if ((rc = vindex_clean_zombies(env->cfg.state_dir, o, &rep, err,
	    sizeof(err))) != VINDEX_OK) {
		vindex_zombie_report_clear(&rep);
		return vindex_exit("clean-zombies", rc, err);
	}
	if (env->json && !quiet) {
		j = cJSON_CreateObject();
		cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
		cJSON_AddStringToObject(j, "mode", o->delete ? "delete" :
		    "quarantine");
		cJSON_AddNumberToObject(j, "orphans", (double)rep.orphans);
		cJSON_AddNumberToObject(j, "quarantined",
		    (double)rep.quarantined);
		cJSON_AddNumberToObject(j, "deleted", (double)rep.deleted);
		cJSON_AddNumberToObject(j, "kept_small",
		    (double)rep.kept_small);
		cJSON_AddNumberToObject(j, "kept_recent",
		    (double)rep.kept_recent);
		cJSON_AddNumberToObject(j, "kept_young",
		    (double)rep.kept_young);
		cJSON_AddNumberToObject(j, "errors", (double)rep.errors);
		cJSON_AddItemToObject(j, "notes", notes_json(&rep.notes));
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		notes_print(&rep.notes);
		printf("clean-zombies%s: %zu orphans, %zu %squarantined, %zu "
		    "%sdeleted, kept %zu small, %zu newest, %zu young, %zu "
		    "errors\n", o->dry_run ? " (dry run)" : "", rep.orphans,
		    rep.quarantined, o->dry_run ? "would be " : "",
		    rep.deleted, o->dry_run ? "would be " : "",
		    rep.kept_small, rep.kept_recent, rep.kept_young,
		    rep.errors);
	}
	rc = rep.errors > 0 ? CTL_WARN : CTL_OK;
	vindex_zombie_report_clear(&rep);
	return rc;
}

int
ctl_clean_zombies(struct ctl_env *env, int argc, char **argv)
{
	struct vindex_zombie_opts o;
	long min_kb = 500, keep = 2;
	const struct ctl_opt opts[] = {
		{ "--delete", CTL_OPT_FLAG, &o.delete, 0, 0 },
		{ "--dry-run", CTL_OPT_FLAG, &o.dry_run, 0, 0 },
		{ "--min-size-kb", CTL_OPT_INT, &min_kb, 0, 100000000 },
		{ "--keep-last-n", CTL_OPT_INT, &keep, 0, 100000 },
		{ NULL, 0, NULL, 0, 0 }
	};

	memset(&o, 0, sizeof(o));
	if (ctl_opts_parse("clean-zombies", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("clean-zombies"));
	if (!ctl_settings_ok(env, "clean-zombies"))
		return CTL_USAGE;
	o.min_size_kb = min_kb == 0 ? VINDEX_NONE : min_kb;
	o.keep_last_n = keep == 0 ? VINDEX_NONE : (int)keep;
	return zombies_run(env, &o, false);
}

int
ctl_maintenance(struct ctl_env *env, int argc, char **argv)
{
	struct vindex_refresh_opts ro;
	struct vindex_zombie_opts zo;
	struct ctl_runs runs;
	bool apply = false;
	const struct ctl_opt opts[] = {
		{ "--apply", CTL_OPT_FLAG, &apply, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	char err[512];
	int rc, worst;

	if (ctl_opts_parse("maintenance", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("maintenance"));
	if (!ctl_settings_ok(env, "maintenance"))
		return CTL_USAGE;
	memset(&ro, 0, sizeof(ro));
	memset(&zo, 0, sizeof(zo));
	zo.dry_run = !apply;
	printf("maintenance%s\n\n1. index refresh (incremental; files whose "
	    "probe failed are probed again)\n", apply ? "" : " (the cleanup "
	    "is a dry run: --apply quarantines)");
	if ((worst = refresh_run(env, &ro, true)) > CTL_CRIT)
		return worst;
	printf("\n2. orphan cleanup (%s)\n", apply ? "quarantine only" :
	    "dry run");
	if ((rc = zombies_run(env, &zo, true)) > CTL_CRIT)
		return rc;
	worst = rc > worst ? rc : worst;
	printf("\n3. report\n");
	if (ctl_runs_load(env, NULL, CTL_RI_LEDGER, &runs, err,
	    sizeof(err)) != CTL_OK) {
		fprintf(stderr, "rvctl maintenance: %s\n", err);
		return CTL_SOFTWARE;
	}
	ctl_report_summary(env, &runs, stdout);
	ctl_runs_clear(&runs);
	return worst;
}
