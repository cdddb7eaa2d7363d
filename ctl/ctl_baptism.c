/* SPDX-License-Identifier: ISC */
/*
 * ctl_baptism.c: rvctl baptism --level A|B [--confirm], the acceptance
 * test of a worker machine (SPEC section 6).
 *
 * Level A looks without touching (but for two things: on a fresh install
 * it creates the embedded store's schema, as rvsup start would, and the
 * media tools' version lines are cached per binary in
 * state/runtime/tools.json by ctl_tools.c): the media tools, .env and
 * the settings a worker needs, the state directories, the store and its
 * contract, the index, the skip rule (final videos are named by the sha8
 * of their audio, so a re-run reuses them; a sample of audio files is
 * re-hashed), orphans and the drift of done runs.  It never starts a
 * worker and never claims a run.  Level B, for after the kill test ritual
 * and only with --confirm, adds: every checkpoint valid and consistent
 * with the store (the run is still claimed by this worker with the same
 * token and epoch, or finished), no temporary file left under the state
 * root, the spool drained, no stale pid file and no child a dead
 * supervisor left running.
 *
 * Each check prints "[PASS|WARN|FAIL] name: detail"; the report is saved
 * as state/baptism/baptism_<A|B>_<UTC stamp>.json (written atomically;
 * --json prints it too).  Exit 1 when a check failed, 0 otherwise; 64 for
 * level B without --confirm.
 *
 * Public: ctl_baptism.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/checkpoint.h"
#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/spool.h"
#include "common/media/vindex.h"
#include "ctl/ctl.h"

#define REHASH_MAX	20
#define LEFTOVERS_MAX	16

static const char *const state_subdirs[] = {
	"", "runtime", "checkpoints", "jobs", "evidence", "audio", "video",
	"video/staging", "video/final", "video/quarantine", "timeline",
	"baptism", "logs", "tmp", NULL
};

static void
check_tool(const struct ctl_env *env, struct ctl_diag *d, const char *tool,
    const char *flag, const char *why)
{
	char line[CTL_TOOL_LINE_MAX] = "", act[256];

	snprintf(act, sizeof(act), "Install %s (Debian: apt install %s; "
	    "macOS: brew install %s) and put it on PATH.", tool,
	    strcmp(tool, "espeak-ng") == 0 ? "espeak-ng" : "ffmpeg",
	    strcmp(tool, "espeak-ng") == 0 ? "espeak-ng" : "ffmpeg");
	if (ctl_tool_version(env->cfg_ok ? env->cfg.state_dir : "",
	    tool, flag, line, sizeof(line)) >= 0)
		ctl_diag_add(d, CTL_LVL_OK, tool, NULL, "found (%s)", line);
	else
		ctl_diag_add(d, CTL_LVL_CRIT, tool, act, "%s does not run: %s",
		    tool, why);
}

/*
 * The effective uid, or RV_TEST_EUID when RV_TESTING=1 (the golden test
 * sees the same report whoever runs it).
 */
static uid_t
bap_euid(void)
{
	const char *t = getenv("RV_TESTING"), *u = getenv("RV_TEST_EUID");

	if (t != NULL && strcmp(t, "1") == 0 && u != NULL && *u != '\0')
		return (uid_t)strtol(u, NULL, 10);
	return geteuid();
}

static void
check_settings(const struct ctl_env *env, struct ctl_diag *d)
{
	const struct rv_config *c = &env->cfg;
	bool tok = c->telegram_bot_token[0] != '\0';
	bool chat = c->telegram_chat_id[0] != '\0';
	char wid[STORE_WID_MAX];

	(void)ctl_local_worker_id(env, wid, sizeof(wid));
	ctl_diag_add(d, CTL_LVL_OK, "settings", NULL, "valid: worker %s, "
	    "store %s, renderer %s, voice %s, lease %d min, heartbeat %d s",
	    wid, c->supabase_url[0] ? "supabase" : "sqlite",
	    c->renderer, c->tts, c->lease_minutes, c->heartbeat_interval_sec);
	if (tok != chat)
		ctl_diag_add(d, CTL_LVL_CRIT, "telegram", "Set both "
		    "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID in .env, or "
		    "neither.", "TELEGRAM_BOT_TOKEN is %s but "
		    "TELEGRAM_CHAT_ID is %s", tok ? "set" : "unset",
		    chat ? "set" : "unset");
	else if (!tok)
		ctl_diag_add(d, CTL_LVL_WARN, "telegram", "Set "
		    "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID to get alerts.",
		    "alerts are off (no Telegram bot configured)");
	else if (c->telegram_poll && c->telegram_admin_user_ids[0] == '\0')
		ctl_diag_add(d, CTL_LVL_CRIT, "telegram", "Set "
		    "TELEGRAM_ADMIN_USER_IDS: without it nobody may press the "
		    "buttons.", "RAYVAULT_TELEGRAM_POLL=1 but "
		    "TELEGRAM_ADMIN_USER_IDS is empty");
	else
		ctl_diag_add(d, CTL_LVL_OK, "telegram", NULL, "bot token set, "
		    "chat set%s", c->telegram_poll ? ", this machine handles "
		    "the buttons" : "");
	if (strcmp(c->renderer, "dzine") == 0 &&
	    (c->dzine_credit_price_usd <= 0 || c->dzine_credits_available < 0))
		ctl_diag_add(d, CTL_LVL_WARN, "credits", "Set "
		    "DZINE_CREDIT_PRICE_USD and DZINE_CREDITS_AVAILABLE so "
		    "preflight can stop a run before it overspends.",
		    "renderer dzine without a credit price or balance");
	/* the render child adds --no-sandbox as root only (dzine.c) */
	if (strcmp(c->renderer, "dzine") == 0 && bap_euid() == 0)
		ctl_diag_add(d, CTL_LVL_WARN, "chromium_sandbox", "Run "
		    "RayVault as a normal user: Chromium then keeps its "
		    "sandbox.", "running as root: Chromium starts with "
		    "--no-sandbox");
}

static void
check_dirs(const struct ctl_env *env, struct ctl_diag *d)
{
	char p[PATH_MAX], missing[512] = "", open_[512] = "";
	struct stat sb;
	size_t i, nm = 0, no = 0;

	for (i = 0; state_subdirs[i] != NULL; i++) {
		if (fs_path(p, sizeof(p), "%s/%s", env->cfg.state_dir,
		    state_subdirs[i]) == -1)
			continue;
		if (stat(p, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
			if (nm++ > 0)
				(void)strlcat(missing, ", ", sizeof(missing));
			(void)strlcat(missing, *state_subdirs[i] ?
			    state_subdirs[i] : "(the root)", sizeof(missing));
		} else if ((sb.st_mode & 077) != 0 || access(p, W_OK) == -1) {
			if (no++ > 0)
				(void)strlcat(open_, ", ", sizeof(open_));
			(void)strlcat(open_, *state_subdirs[i] ?
			    state_subdirs[i] : "(the root)", sizeof(open_));
		}
	}
	if (nm > 0)
		ctl_diag_add(d, CTL_LVL_WARN, "state_dirs", "Start the worker "
		    "once (make worker); it creates the state directories.",
		    "%zu missing under %s: %s", nm, env->cfg.state_dir,
		    missing);
	if (no > 0)
		ctl_diag_add(d, CTL_LVL_CRIT, "state_dirs", "Make the state "
		    "directories private and writable: chmod -R go-rwx and "
		    "check the owner.", "open to other users or not "
		    "writable: %s", open_);
	if (nm + no == 0)
		ctl_diag_add(d, CTL_LVL_OK, "state_dirs", NULL, "all %zu "
		    "present, private and writable", i);
}

static void
check_store(struct ctl_env *env, struct ctl_diag *d)
{
	char err[512], now[STORE_TIME_MAX] = "", db[PATH_MAX];
	bool fresh = false;

	/*
	 * A fresh install has no embedded store yet: level A creates its
	 * schema (what rvsup start would do) instead of failing on it.  The
	 * Supabase store is only read.
	 */
	if (env->cfg.supabase_url[0] == '\0' && fs_path(db, sizeof(db),
	    "%s/rayvault.db", env->cfg.state_dir) == 0 && !fs_exists(db))
		fresh = fs_mkdirs(env->cfg.state_dir, 0700) == 0;
	if (ctl_store_try(env, fresh, err, sizeof(err)) == -1) {
		ctl_diag_add(d, CTL_LVL_CRIT, "store", "Make the store "
		    "reachable (SUPABASE_URL and the network, or the state "
		    "directory), then run the baptism again.", "unreachable: "
		    "%s", err);
		return;
	}
	(void)store_now(&env->st, now, sizeof(now), err,
	    sizeof(err));
	ctl_diag_add(d, CTL_LVL_OK, "store", NULL, "the %s store answers%s",
	    env->st.backend, fresh ? " (created now with its schema: a "
	    "fresh install)" : "");
	ctl_contract_checks(env, d, false);
}

/*
 * Does the file name of an index entry carry the sha8 of its key (and,
 * when <rehash>, of its audio)?  -1 no (<why> says), 0 not a sha8 name,
 * 1 yes, 2 yes and the audio was re-hashed.
 */
static int
skip_one(const struct ctl_env *env, const struct vindex_item *it,
    bool rehash, char *why, size_t size)
{
	char run[ID_UUID_LEN + 8], seg[ID_SEGMENT_MAX + 1];
	char sha[ID_SHA8_LEN + 1], got[ID_SHA8_LEN + 1], audio[PATH_MAX];
	const char *base = strrchr(it->path, '/');

	base = base != NULL ? base + 1 : it->path;
	if (id_parse_media_name(base, 'V', run, sizeof(run), seg, sizeof(seg),
	    sha) == -1)
		return 0;	/* named by its stem, not by a sha8 */
	if (strcmp(sha, it->key) != 0) {
		snprintf(why, size, "index entry %.20s points at %.160s",
		    it->key, base);
		return -1;
	}
	if (!rehash || fs_path(audio, sizeof(audio), "%s/audio/A_%s_%s_%s.wav",
	    env->cfg.state_dir, run, seg, sha) == -1 || !fs_exists(audio) ||
	    id_sha8_file(audio, got) == -1)
		return 1;
	if (strcmp(got, sha) != 0) {
		snprintf(why, size, "audio A_%s_%s_%s.wav hashes to %s", run,
		    seg, sha, got);
		return -1;
	}
	return 2;
}

/* The skip rule over every index entry, re-hashing a few audio files. */
static void
check_skip(const struct ctl_env *env, struct ctl_diag *d,
    const struct vindex *idx)
{
	char why[256] = "";
	size_t i, named = 0, hashed = 0, bad = 0;
	int r;

	for (i = idx->nitems; i > 0; i--) {
		r = skip_one(env, &idx->items[i - 1], hashed < REHASH_MAX, why,
		    sizeof(why));
		named += r >= 1;
		hashed += r == 2;
		bad += r == -1;
	}
	if (bad > 0)
		ctl_diag_add(d, CTL_LVL_CRIT, "skip_behaviour", "Rebuild the "
		    "index (rvctl index-refresh --force); a video whose name "
		    "lies is rendered and paid again.", "%zu final videos do "
		    "not match their sha8, e.g. %s", bad, why);
	else
		ctl_diag_add(d, CTL_LVL_OK, "skip_behaviour", NULL, "%zu final "
		    "videos are named by the sha8 of their audio (%zu audio "
		    "files re-hashed): a re-run reuses them for free", named,
		    hashed);
}

static void
orphans_diag(struct ctl_diag *d, int rc, const struct vindex_files *f,
    const char *err)
{
	if (rc != VINDEX_OK)
		ctl_diag_add(d, CTL_LVL_WARN, "orphans", "Build a valid index "
		    "first: rvctl index-refresh.", "not checked: %s", err);
	else if (f->n > 0)
		ctl_diag_add(d, CTL_LVL_WARN, "orphans", "Index them (rvctl "
		    "index-refresh) or set them aside (rvctl clean-zombies).",
		    "%zu videos in video/final the index does not know, e.g. "
		    "%s", f->n, f->v[0].name);
	else
		ctl_diag_add(d, CTL_LVL_OK, "orphans", NULL, "none");
}

/*
 * The index, the sha8 names and the orphans, from one read of the index
 * (under its shared lock while the files are compared with it).
 */
static void
check_index(const struct ctl_env *env, struct ctl_diag *d)
{
	struct vindex_repair_report rep;
	struct vindex_files f;
	struct vindex idx;
	char err[512];
	int fd, rc;

	vindex_init(&idx);
	if ((fd = vindex_lock(env->cfg.state_dir, false, 5000, err,
	    sizeof(err))) == -1 || vindex_load(env->cfg.state_dir, &idx,
	    err, sizeof(err)) != VINDEX_OK) {
		if (fd != -1)
			vindex_unlock(fd);
		vindex_clear(&idx);
		ctl_diag_add(d, CTL_LVL_CRIT, "index", "Rebuild it: rvctl "
		    "index-refresh --rebuild (the corrupt file is kept aside).",
		    "unreadable: %s", err);
		orphans_diag(d, VINDEX_CORRUPT, NULL, err);
		return;
	}
	rc = vindex_audit(env->cfg.state_dir, &idx, &rep, &f, err,
	    sizeof(err));
	vindex_unlock(fd);
	if (idx.missing)
		ctl_diag_add(d, CTL_LVL_WARN, "index", "Build the index: "
		    "rvctl index-refresh (make index-refresh).", "no index "
		    "yet (state/video/index.json)");
	else if (rc != VINDEX_OK)
		ctl_diag_add(d, CTL_LVL_WARN, "index", "Run rvctl "
		    "index-repair to see the entries.", "%zu entries, not "
		    "checked against the disk: %s", idx.nitems, err);
	else if (rep.missing + rep.outside > 0)
		ctl_diag_add(d, CTL_LVL_WARN, "index", "Drop the dead entries: "
		    "make index-repair-apply CONFIRM=YES.", "%zu entries, %zu "
		    "whose file is gone or outside the state root",
		    idx.nitems, rep.missing + rep.outside);
	else
		ctl_diag_add(d, CTL_LVL_OK, "index", NULL, "%zu entries, every "
		    "file present", idx.nitems);
	vindex_repair_report_clear(&rep);
	if (!idx.missing)
		check_skip(env, d, &idx);
	orphans_diag(d, rc, &f, err);
	vindex_files_clear(&f);
	vindex_clear(&idx);
}

static void
check_drift(struct ctl_env *env, struct ctl_diag *d)
{
	struct ctl_runs runs;
	struct ctl_totals t;
	char err[512];

	if (ctl_runs_load(env, NULL, 0, &runs, err,
	    sizeof(err)) != CTL_OK) {
		ctl_diag_add(d, CTL_LVL_WARN, "qc_drift", NULL, "not checked: "
		    "%s", err);
		return;
	}
	ctl_runs_totals(&runs, &t);
	if (t.verdict != TIMELINE_OK)
		ctl_diag_add(d, t.verdict == TIMELINE_CRITICAL ? CTL_LVL_CRIT :
		    CTL_LVL_WARN, "qc_drift", "Look at the worst run's "
		    "timeline (rvctl timeline --video ID) before editing.",
		    "a done run drifts %.3f s (%s)", t.drift_run->qc.max_drift,
		    t.drift_run->r.video_id);
	else if (t.missing_finished > 0)
		ctl_diag_add(d, CTL_LVL_WARN, "qc_drift", "Rebuild the "
		    "timeline of that run (rvctl timeline --video ID) and "
		    "re-render the missing segments.", "%zu videos of done "
		    "runs are missing (first %s/%s)", t.missing_finished,
		    t.missing_run->r.video_id, t.missing_run->qc.first_missing);
	else
		ctl_diag_add(d, CTL_LVL_OK, "qc_drift", NULL, "%zu done run%s, "
		    "all within 0.5 s of their targets", t.finished,
		    t.finished == 1 ? "" : "s");
	ctl_runs_clear(&runs);
}

static void
level_a(struct ctl_env *env, struct ctl_diag *d)
{
	check_tool(env, d, "ffprobe", "-version", "every video is validated "
	    "with it");
	check_tool(env, d, "ffmpeg", "-version", "the voice and the local "
	    "renderer need it");
	if (env->cfg_ok && strcmp(env->cfg.tts, "espeak") == 0)
		check_tool(env, d, "espeak-ng", "--version", "RAYVAULT_TTS=espeak "
		    "speaks with it");
	ctl_check_env_file(d);
	if (!env->cfg_ok) {
		ctl_diag_add(d, CTL_LVL_CRIT, "settings", "Fix the settings in "
		    ".env or the environment (rvsup check-config shows them).",
		    "invalid: %s", env->cfg_err);
		return;
	}
	check_settings(env, d);
	check_dirs(env, d);
	check_store(env, d);
	check_index(env, d);
	check_drift(env, d);
}

/* One checkpoint against the store's row of its run. */
static void
ckpt_vs_store(struct ctl_env *env, struct ctl_diag *d, const cJSON *c,
    size_t *bad)
{
	const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "run_id"));
	const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "lock_token"));
	const char *vid = cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "video_id"));
	long long ep = ctl_jll(c, "lease_epoch");
	const char *wid = cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "worker_id"));
	struct store_run r;
	char err[256], sup[STORE_WID_MAX];

	/* The worker that wrote the checkpoint, else this supervisor's. */
	if (wid == NULL || wid[0] == '\0') {
		(void)ctl_local_worker_id(env, sup, sizeof(sup));
		wid = sup;
	}

	if (store_get_run(&env->st, run, &r, NULL, err,
	    sizeof(err)) == -1) {
		(*bad)++;
		ctl_diag_add(d, CTL_LVL_CRIT, "checkpoint_store", "Move the "
		    "checkpoint aside: its run is not in this store.",
		    "checkpoint of %s (run %s): %s", vid, run, err);
		return;
	}
	if (strcmp(r.status, RUN_DONE) == 0 || strcmp(r.status,
	    RUN_FAILED) == 0 || strcmp(r.status, RUN_ABORTED) == 0)
		return;
	if (strcmp(r.lock_token, tok) == 0 && r.lease_epoch == ep &&
	    strcmp(r.worker_id, wid) == 0)
		return;
	(*bad)++;
	ctl_diag_add(d, CTL_LVL_CRIT, "checkpoint_store", "Start this worker "
	    "again so it recovers the run, or unlock the run and let it be "
	    "claimed afresh; then repeat baptism B.", "checkpoint of %s says "
	    "epoch %lld, token %.8s.. for worker %s, but the store has it %s "
	    "(epoch %lld, worker %s, %s)", vid, ep, tok, wid,
	    r.status, r.lease_epoch, r.worker_id[0] ? r.worker_id : "none",
	    r.lock_token[0] == '\0' ? "unlocked" : strcmp(r.lock_token, tok) ==
	    0 ? "same token" : "another token");
}

static void
check_checkpoints(struct ctl_env *env, struct ctl_diag *d)
{
	char dir[PATH_MAX], path[PATH_MAX], err[512];
	struct dirent *de;
	size_t n = 0, bad = 0, nstore = 0;
	char wid[STORE_WID_MAX];
	cJSON *c;
	DIR *dp;

	(void)ctl_local_worker_id(env, wid, sizeof(wid));

	if (fs_path(dir, sizeof(dir), "%s/checkpoints", env->cfg.state_dir) ==
	    -1 || (dp = opendir(dir)) == NULL) {
		ctl_diag_add(d, CTL_LVL_OK, "checkpoints", NULL, "none");
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (strlen(de->d_name) < 6 || strcmp(de->d_name +
		    strlen(de->d_name) - 5, ".json") != 0 ||
		    fs_path(path, sizeof(path), "%s/%s", dir, de->d_name) == -1)
			continue;
		n++;
		if (ckpt_load(path, &c, err, sizeof(err)) == -1) {
			bad++;
			ctl_diag_add(d, CTL_LVL_CRIT, "checkpoints", "Move the "
			    "corrupt checkpoint out of state/checkpoints: the "
			    "stages re-check their artifacts.",
			    "checkpoints/%s is corrupt: %s", de->d_name,
			    strchr(err, ':') ? strchr(err, ':') + 2 : err);
			continue;
		}
		if (env->st_open)
			ckpt_vs_store(env, d, c, &nstore);
		cJSON_Delete(c);
	}
	closedir(dp);
	if (bad == 0)
		ctl_diag_add(d, CTL_LVL_OK, "checkpoints", NULL, "%zu valid",
		    n);
	if (nstore == 0 && env->st_open)
		ctl_diag_add(d, CTL_LVL_OK, "checkpoint_store", NULL, "every "
		    "checkpoint's run is finished or still claimed by %s with "
		    "the same token and epoch", wid);
}

static void
level_b(struct ctl_env *env, struct ctl_diag *d)
{
	struct ctl_leftover lo[LEFTOVERS_MAX];
	char first[PATH_MAX];
	size_t n, i;
	bool stale;
	pid_t pid;

	if (!env->cfg_ok)
		return;
	check_checkpoints(env, d);
	if ((n = ctl_local_tmp_files(env->cfg.state_dir, first,
	    sizeof(first))) > 0)
		ctl_diag_add(d, CTL_LVL_CRIT, "tmp_files", "Remove them once "
		    "nothing writes (make stop, then make clean-hard).",
		    "%zu temporary files left by interrupted writes, e.g. %s",
		    n, first);
	else
		ctl_diag_add(d, CTL_LVL_OK, "tmp_files", NULL, "no temporary "
		    "file left under the state root");
	if ((n = spool_count(env->cfg.spool_dir)) > 0)
		ctl_diag_add(d, CTL_LVL_CRIT, "spool_drained", "Replay it: "
		    "rvctl replay-spool (make replay).", "%zu events still "
		    "wait in %s", n, env->cfg.spool_dir);
	else
		ctl_diag_add(d, CTL_LVL_OK, "spool_drained", NULL, "no event "
		    "waits");
	pid = ctl_local_supervisor(env, &stale);
	if (stale)
		ctl_diag_add(d, CTL_LVL_CRIT, "pid_file", "Start the worker "
		    "(it takes the pid file over), or remove "
		    "state/runtime/rvsup.pid once sure no rvsup runs.",
		    "state/runtime/rvsup.pid is left by a supervisor that is "
		    "gone");
	else
		ctl_diag_add(d, CTL_LVL_OK, "pid_file", NULL, pid > 0 ? "held "
		    "by the running rvsup %ld" : "none (no supervisor "
		    "running)", (long)pid);
	n = ctl_local_leftovers(env, pid, lo, LEFTOVERS_MAX);
	for (i = 0; i < n && i < LEFTOVERS_MAX; i++)
		ctl_diag_add(d, CTL_LVL_CRIT, "leftover_children", "Kill the "
		    "leftover children (kill -9 -PID for each), or start the "
		    "worker, which kills them first.", "rvw-%s (pid %ld) of "
		    "the dead supervisor %ld is still running", lo[i].kind,
		    (long)lo[i].pid, lo[i].supervisor_pid);
	if (n == 0)
		ctl_diag_add(d, CTL_LVL_OK, "leftover_children", NULL, "none");
}

static void
tally(const struct ctl_diag *d, size_t cnt[3])
{
	size_t i;

	cnt[0] = cnt[1] = cnt[2] = 0;
	for (i = 0; i < d->n; i++)
		cnt[d->v[i].level]++;
}

/* Save the report; returns the JSON (caller deletes) or NULL. */
static cJSON *
save_report(struct ctl_env *env, const struct ctl_diag *d, char level,
    char *path, size_t size)
{
	char stamp[CLOCK_ISO_LEN], at[CLOCK_ISO_LEN], dir[PATH_MAX];
	char *txt = NULL, *line, wid[STORE_WID_MAX];
	size_t cnt[3];
	cJSON *j, *s;

	clock_utc_stamp(stamp);
	clock_utc_iso(at);
	tally(d, cnt);
	j = ctl_diag_json(d, true);
	cJSON_AddStringToObject(j, "level", level == 'A' ? "A" : "B");
	cJSON_AddStringToObject(j, "at", at);
	cJSON_AddStringToObject(j, "state_dir", env->cfg_ok ?
	    env->cfg.state_dir : "");
	if (env->cfg_ok)
		(void)ctl_local_worker_id(env, wid, sizeof(wid));
	cJSON_AddStringToObject(j, "worker_id", env->cfg_ok ? wid : "");
	s = cJSON_AddObjectToObject(j, "summary");
	cJSON_AddNumberToObject(s, "pass", (double)cnt[0]);
	cJSON_AddNumberToObject(s, "warn", (double)cnt[1]);
	cJSON_AddNumberToObject(s, "fail", (double)cnt[2]);
	cJSON_ReplaceItemInObject(j, "exit", cJSON_CreateNumber(cnt[2] > 0 ?
	    CTL_WARN : CTL_OK));
	path[0] = '\0';
	if (!env->cfg_ok || fs_path(dir, sizeof(dir), "%s/baptism",
	    env->cfg.state_dir) == -1 || fs_mkdirs(dir, 0700) == -1 ||
	    fs_path(path, size, "%s/baptism_%c_%s.json", dir, level,
	    stamp) == -1 || (txt = cJSON_Print(j)) == NULL ||
	    (line = malloc(strlen(txt) + 2)) == NULL) {
		if (txt != NULL)
			free(txt);
		path[0] = '\0';
		return j;
	}
	snprintf(line, strlen(txt) + 2, "%s\n", txt);
	free(txt);
	txt = line;
	if (fs_write_atomic(path, txt, strlen(txt)) == -1) {
		fprintf(stderr, "rvctl baptism: cannot save %s: %s\n", path,
		    strerror(errno));
		path[0] = '\0';
	}
	free(txt);
	return j;
}

int
ctl_baptism(struct ctl_env *env, int argc, char **argv)
{
	const char *level = "A";
	bool confirm = false;
	const struct ctl_opt opts[] = {
		{ "--level", CTL_OPT_STR, &level, 0, 0 },
		{ "--confirm", CTL_OPT_FLAG, &confirm, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	char path[PATH_MAX];
	struct ctl_diag d;
	size_t cnt[3];
	cJSON *j;

	if (ctl_opts_parse("baptism", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("baptism"));
	if (strcmp(level, "A") != 0 && strcmp(level, "B") != 0) {
		fprintf(stderr, "rvctl baptism: --level is A or B, not "
		    "\"%s\"\n", level);
		return ctl_usage(ctl_lookup("baptism"));
	}
	if (*level == 'B' && !confirm) {
		fprintf(stderr, "rvctl baptism: level B judges what the last "
		    "runs left behind (run it after the kill test ritual); "
		    "confirm with --confirm (make baptism-full CONFIRM=YES)\n");
		return CTL_USAGE;
	}
	ctl_diag_init(&d, env->cfg_ok ? &env->cfg : NULL);
	level_a(env, &d);
	if (*level == 'B')
		level_b(env, &d);
	j = save_report(env, &d, *level, path, sizeof(path));
	tally(&d, cnt);
	if (env->json)
		ctl_print_json(j);
	else {
		printf("rvctl baptism level %s on %s\n\n", level, env->cfg_ok ?
		    env->cfg.state_dir : "?");
		ctl_diag_print(&d, stdout, true);
		printf("\nbaptism %s: %s%s%s (%zu PASS, %zu WARN, %zu FAIL)\n",
		    level, ctl_paint(stdout, cnt[2] > 0 ? CTL_LVL_CRIT :
		    CTL_LVL_OK), cnt[2] > 0 ? "FAILED" : "PASSED",
		    ctl_unpaint(stdout), cnt[0], cnt[1], cnt[2]);
		printf("report: %s\n", path[0] ? path : "(not saved)");
		ctl_diag_print_actions(&d, stdout);
	}
	cJSON_Delete(j);
	ctl_diag_clear(&d);
	return cnt[2] > 0 ? CTL_WARN : CTL_OK;
}
