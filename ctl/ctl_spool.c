/* SPDX-License-Identifier: ISC */
/*
 * ctl_spool.c: the operator's view of the spool (SPEC section 5):
 * rvctl replay-spool, quarantine and purge-spool.
 *
 * replay-spool sends every waiting event to the store with
 * common/core/spool.c (an event is deleted only once the store has it).
 * quarantine lists what replay set aside: unreadable files in spool/bad/
 * and events that failed three replays in spool/quarantine/, with their
 * type and run when they parse.  purge-spool deletes those two folders'
 * files, and only with --confirm; the waiting events themselves are never
 * purged (they are work the store has not seen).
 *
 * Exit codes: replay-spool 0 all sent, 1 some left, 69 store
 * unreachable; quarantine 0 empty, 1 files set aside; purge-spool 0,
 * 64 without --confirm.
 *
 * Public: ctl_replay_spool, ctl_quarantine, ctl_purge_spool,
 * ctl_spool_files.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/spool.h"
#include "common/store/spool_apply.h"
#include "ctl/ctl.h"

#define SPOOL_PEEK_MAX	(256 * 1024)

/* Regular files in <spool>/<sub>. */
size_t
ctl_spool_files(const char *spool, const char *sub)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	size_t n = 0;
	DIR *d;

	if (fs_path(dir, sizeof(dir), "%s/%s", spool, sub) == -1 ||
	    (d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && fs_path(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == 0 && lstat(path, &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			n++;
	closedir(d);
	return n;
}

int
ctl_replay_spool(struct ctl_env *env, int argc, char **argv)
{
	const struct ctl_opt opts[] = { { NULL, 0, NULL, 0, 0 } };
	struct spool_report rep;
	char err[512];
	size_t left;
	cJSON *j;

	if (ctl_opts_parse("replay-spool", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("replay-spool"));
	if (!ctl_settings_ok(env, "replay-spool"))
		return CTL_USAGE;
	if (ctl_store_try(env, true, err, sizeof(err)) == -1) {
		fprintf(stderr, "rvctl replay-spool: store unreachable: %s; "
		    "the %zu waiting events stay in %s\n", err,
		    spool_count(env->cfg.spool_dir), env->cfg.spool_dir);
		return CTL_UNAVAIL;
	}
	if (spool_apply_replay(env->cfg.spool_dir, &env->st, &rep, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "rvctl replay-spool: %s\n", err);
		return CTL_SOFTWARE;
	}
	left = spool_count(env->cfg.spool_dir);
	if (env->json) {
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "sent", rep.sent);
		cJSON_AddNumberToObject(j, "duplicate", rep.duplicate);
		cJSON_AddNumberToObject(j, "failed", rep.failed);
		cJSON_AddNumberToObject(j, "bad", rep.bad);
		cJSON_AddNumberToObject(j, "quarantined", rep.quarantined);
		cJSON_AddNumberToObject(j, "skipped", rep.skipped);
		cJSON_AddNumberToObject(j, "left", (double)left);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("replay-spool: %d sent, %d already in the store, %d "
		    "failed, %d unreadable (moved to bad/), %d quarantined, "
		    "%zu still waiting\n", rep.sent, rep.duplicate,
		    rep.failed, rep.bad, rep.quarantined, left);
		if (rep.bad + rep.quarantined > 0)
			printf("next: look at them with rvctl quarantine\n");
	}
	return left > 0 || rep.bad + rep.quarantined > 0 ? CTL_WARN : CTL_OK;
}

/* What a set-aside file says, for the listing. */
static void
peek(const char *path, char *what, size_t size)
{
	const char *t, *r;
	char *txt;
	cJSON *j;

	if (fs_read_file(path, SPOOL_PEEK_MAX, &txt, NULL) == -1) {
		snprintf(what, size, "unreadable: %s", strerror(errno));
		return;
	}
	j = cJSON_Parse(txt);
	free(txt);
	t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "event_type"));
	r = cJSON_GetStringValue(cJSON_GetObjectItem(j, "run_id"));
	if (j == NULL)
		snprintf(what, size, "not JSON");
	else
		snprintf(what, size, "%.60s run %.40s, %d attempts",
		    t ? t : "(no event_type)", r && *r ? r : "-",
		    ctl_jint(j, "attempts") > 0 ? ctl_jint(j, "attempts") :
		    0);
	cJSON_Delete(j);
}

/* List (or delete, with <purge>) the files of <spool>/<sub>. */
static size_t
walk_sub(const char *spool, const char *sub, bool purge, cJSON *arr,
    size_t *errors)
{
	char dir[PATH_MAX], path[PATH_MAX], what[256];
	struct dirent *de;
	struct stat sb;
	size_t n = 0;
	cJSON *o;
	DIR *d;

	if (fs_path(dir, sizeof(dir), "%s/%s", spool, sub) == -1 ||
	    (d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fs_path(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == -1 || lstat(path, &sb) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		n++;
		if (purge) {
			if (unlink(path) == -1) {
				(*errors)++;
				printf("cannot remove %s/%s: %s\n", sub,
				    de->d_name, strerror(errno));
			}
			continue;
		}
		peek(path, what, sizeof(what));
		if (arr != NULL) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "folder", sub);
			cJSON_AddStringToObject(o, "name", de->d_name);
			cJSON_AddNumberToObject(o, "bytes", (double)sb.st_size);
			cJSON_AddNumberToObject(o, "age_sec",
			    (double)(time(NULL) - sb.st_mtime));
			cJSON_AddStringToObject(o, "what", what);
			cJSON_AddItemToArray(arr, o);
		} else
			printf("%-10s %-48s %7lld bytes  %s\n", sub, de->d_name,
			    (long long)sb.st_size, what);
	}
	closedir(d);
	return n;
}

int
ctl_quarantine(struct ctl_env *env, int argc, char **argv)
{
	const struct ctl_opt opts[] = { { NULL, 0, NULL, 0, 0 } };
	cJSON *arr = NULL;
	size_t n, errors = 0;

	if (ctl_opts_parse("quarantine", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("quarantine"));
	if (!ctl_settings_ok(env, "quarantine"))
		return CTL_USAGE;
	if (env->json)
		arr = cJSON_CreateArray();
	n = walk_sub(env->cfg.spool_dir, "bad", false, arr, &errors);
	n += walk_sub(env->cfg.spool_dir, "quarantine", false, arr, &errors);
	if (env->json) {
		ctl_print_json(arr);
		cJSON_Delete(arr);
	} else {
		printf("%zu event file%s set aside in %s/bad and "
		    "%s/quarantine; %zu still waiting for replay\n", n,
		    n == 1 ? "" : "s", env->cfg.spool_dir, env->cfg.spool_dir,
		    spool_count(env->cfg.spool_dir));
		if (n > 0)
			printf("next: fix what they need, or remove them with "
			    "rvctl purge-spool --confirm (make purge-spool "
			    "CONFIRM=YES)\n");
	}
	return n > 0 ? CTL_WARN : CTL_OK;
}

int
ctl_purge_spool(struct ctl_env *env, int argc, char **argv)
{
	bool confirm = false;
	const struct ctl_opt opts[] = {
		{ "--confirm", CTL_OPT_FLAG, &confirm, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	size_t n, errors = 0;

	if (ctl_opts_parse("purge-spool", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("purge-spool"));
	if (!ctl_settings_ok(env, "purge-spool"))
		return CTL_USAGE;
	if (!confirm) {
		n = ctl_spool_files(env->cfg.spool_dir, "bad") +
		    ctl_spool_files(env->cfg.spool_dir, "quarantine");
		fprintf(stderr, "rvctl purge-spool: this deletes the %zu event "
		    "files in %s/bad and %s/quarantine for good; list them "
		    "with rvctl quarantine, then run rvctl purge-spool "
		    "--confirm\n", n, env->cfg.spool_dir, env->cfg.spool_dir);
		return CTL_USAGE;
	}
	n = walk_sub(env->cfg.spool_dir, "bad", true, NULL, &errors);
	n += walk_sub(env->cfg.spool_dir, "quarantine", true, NULL, &errors);
	printf("purge-spool: %zu file%s deleted from bad/ and quarantine/ "
	    "(waiting events were kept: %zu)\n", n - errors, n - errors == 1 ?
	    "" : "s", spool_count(env->cfg.spool_dir));
	return errors > 0 ? CTL_WARN : CTL_OK;
}
