/* SPDX-License-Identifier: ISC */
/*
 * dzine.c: the Dzine renderer's browser, one per render.
 *
 * Each render (and each balance read) starts the real Chromium binary
 * (DZINE_CHROMIUM, never the launcher script) headless with
 * --remote-debugging-pipe, by fork+exec in the renderer's own process
 * group (no setsid: the supervisor's group kill takes it too), with the
 * command pipe on its descriptor 3, the answer pipe on 4, stdin from
 * /dev/null, stdout and stderr to state/logs/chromium.log (opened
 * O_NOFOLLOW: a symlink there is refused, not written through), every
 * other descriptor closed, a clean signal mask, a parent-death signal and
 * the scrubbed environment of every external tool (subproc_tool_environ).
 * Chromium keeps its sandbox; only as root, where Chromium refuses to
 * start sandboxed, does dzine_browser_argv() add --no-sandbox (the render
 * child logs it and baptism warns).  The
 * profile is a fresh --user-data-dir under state/tmp/ named after the
 * renderer (workers/skeleton/scratch.c), removed afterwards, unless
 * DZINE_PROFILE_DIR names one that holds the operator's login;
 * such a profile is closed gracefully (Browser.close) so its cookies are
 * saved.  The browser's TMPDIR is a scratch folder of the renderer too:
 * Chromium makes a folder there for its singleton socket, which a killed
 * browser would otherwise leave in the system's /tmp at every freeze.
 * The flow (workers/render/dzine_flow.c, workers/render/dzine_run.c)
 * then drives one page attached as a flatten session.  The caller's session
 * hook hears when a browser process exists (from the fork until every
 * process of it is reaped), so the renderer's heartbeats can say so.
 *
 * At the end of every render, whatever happened, every process of the
 * browser is killed and reaped before the call returns.  Chromium's
 * crash handlers double-fork and setsid() out of its tree, so the
 * renderer makes itself a child subreaper (Linux): they come back to it as
 * children, and the kill sweeps every descendant of the renderer until
 * none is left, not even a zombie.  Without a subreaper (macOS) the sweep
 * starts from the tree listed while the browser still lives.  The
 * renderer runs nothing else while a browser is up.
 *
 * A finished download is renamed into the staged name in the same
 * directory (state/video/staging/) the moment it completes, so a
 * half-written export never carries a segment's name and a crash after
 * it leaves the paid export where a restart finds it; once it is there,
 * a failure of a later step (the balance read after) is not fatal.  A
 * partial download is removed.  The profile of a killed renderer is
 * removed by its successor's scratch sweep; dzine_sweep() clears the
 * rest: partial downloads, and profiles of versions that did not name
 * them after their owner.  Nothing here logs.
 *
 * Public: dzine_read_balance, dzine_render, dzine_sweep,
 * dzine_browser_argv, dzine_no_sandbox.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/platform.h"
#include "common/core/subproc.h"
#include "workers/render/cdp.h"
#include "workers/render/dzine.h"
#include "workers/skeleton/scratch.h"

#define PROFILE_PREFIX	"chromium."
#define FD_LIMIT	65536

struct browser {
	pid_t		 pid;
	int		 wfd, rfd;
	struct cdp	 cdp;
	char		 session[CDP_SESSION_MAX];
	char		 profile[PATH_MAX];
	bool		 temp_profile;
	char		 tmpdir[PATH_MAX];	/* the browser's TMPDIR */
};

static int
cloexec_pipe(int p[2])
{
	if (pipe(p) == -1)
		return -1;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) == -1) {
		(void)close(p[0]);
		(void)close(p[1]);
		p[0] = p[1] = -1;
		return -1;
	}
	return 0;
}

/* Chromium runs without its sandbox only as root (it refuses otherwise). */
bool
dzine_no_sandbox(uid_t euid)
{
	return euid == 0;
}

/*
 * Fill <argv> (room for DZINE_ARGV_MAX pointers) with the browser's
 * command line: <bin>, headless with the DevTools pipe, <udd>
 * ("--user-data-dir=..."), and --no-sandbox when <euid> is root.  The
 * strings are borrowed.  Returns the argument count.
 */
size_t
dzine_browser_argv(char **argv, const char *bin, const char *udd,
    uid_t euid)
{
	static const char *const flags[] = { "--headless", "--disable-gpu",
	    "--no-first-run", "--disable-background-networking",
	    "--disable-component-update", "--disable-sync",
	    "--remote-debugging-pipe", "--no-default-browser-check",
	    "--disable-dev-shm-usage", "--mute-audio",
	    "--password-store=basic", NULL };
	size_t n = 0, i;

	argv[n++] = (char *)bin;
	if (dzine_no_sandbox(euid))
		argv[n++] = "--no-sandbox";
	for (i = 0; flags[i] != NULL; i++)
		argv[n++] = (char *)flags[i];
	argv[n++] = (char *)udd;
	argv[n++] = "about:blank";
	argv[n] = NULL;
	return n;
}

/* Child side of fork: only async-signal-safe calls until execve(). */
static void __attribute__((noreturn))
exec_browser(char *const argv[], char *const envp[], int cmd_r, int res_w,
    int logfd, pid_t parent, long maxfd)
{
	sigset_t all;
	int null;
	long fd;

	if (plat_set_parent_death_signal(SIGKILL, parent) == -1 ||
	    (null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (null = fcntl(null, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (cmd_r = fcntl(cmd_r, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (res_w = fcntl(res_w, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (logfd = fcntl(logfd, F_DUPFD_CLOEXEC, 10)) == -1)
		_exit(127);
	/* dup2() leaves the new descriptors open across exec */
	if (dup2(null, STDIN_FILENO) == -1 ||
	    dup2(logfd, STDOUT_FILENO) == -1 ||
	    dup2(logfd, STDERR_FILENO) == -1 || dup2(cmd_r, 3) == -1 ||
	    dup2(res_w, 4) == -1)
		_exit(127);
#if defined(__linux__) && !defined(RV_PORTABLE)
	if (close_range(5, ~0U, 0) == -1)
#endif
		for (fd = 5; fd < maxfd; fd++)
			(void)close((int)fd);
	sigfillset(&all);
	(void)sigprocmask(SIG_UNBLOCK, &all, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	execve(argv[0], argv, envp);
	_exit(127);
}

static int
open_log(const char *state_dir)
{
	char path[PATH_MAX];
	int fd = -1;

	if (fs_path(path, sizeof(path), "%s/logs/chromium.log", state_dir) ==
	    0)
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
	if (fd == -1)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return fd;
}

static int
make_profile(const struct dzine_cfg *cfg, struct browser *b, char *err,
    size_t errlen)
{
	if (cfg->profile_dir != NULL && cfg->profile_dir[0] != '\0') {
		if (strlcpy(b->profile, cfg->profile_dir, sizeof(b->profile)) >=
		    sizeof(b->profile) || fs_mkdirs(b->profile, 0700) == -1) {
			snprintf(err, errlen, "DZINE_PROFILE_DIR %s: %s",
			    cfg->profile_dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	/* state/tmp/render.<pid>.chromium.XXXXXX: swept if we die */
	if (scratch_make(cfg->state_dir, "render", "chromium", b->profile,
	    sizeof(b->profile)) == -1) {
		snprintf(err, errlen, "cannot make a browser profile under "
		    "%s/tmp: %s", cfg->state_dir, strerror(errno));
		return -1;
	}
	b->temp_profile = true;
	return 0;
}

/*
 * The browser's TMPDIR, state/tmp/render.<pid>.btmp.XXXXXX: Chromium
 * makes a folder there for its singleton socket that a killed browser
 * leaves behind; here it goes with the render, or with the successor's
 * sweep when the renderer itself was killed.
 */
static int
make_tmpdir(const struct dzine_cfg *cfg, struct browser *b, char *err,
    size_t errlen)
{
	if (scratch_make(cfg->state_dir, "render", "btmp", b->tmpdir,
	    sizeof(b->tmpdir)) == -1) {
		b->tmpdir[0] = '\0';
		snprintf(err, errlen, "cannot make the browser's temporary "
		    "folder under %s/tmp: %s", cfg->state_dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
spawn(const struct dzine_cfg *cfg, struct browser *b, const char *bin,
    char *err, size_t errlen)
{
	char udd[PATH_MAX + 32], tmp[PATH_MAX + 8], *argv[DZINE_ARGV_MAX];
	char *const vars[] = { tmp, NULL };
	char **envp;
	int cmd[2] = { -1, -1 }, res[2] = { -1, -1 }, logfd;
	pid_t parent = getpid();
	long maxfd = sysconf(_SC_OPEN_MAX);

	if (maxfd <= 0 || maxfd > FD_LIMIT)
		maxfd = FD_LIMIT;
	snprintf(udd, sizeof(udd), "--user-data-dir=%s", b->profile);
	(void)dzine_browser_argv(argv, bin, udd, geteuid());
	snprintf(tmp, sizeof(tmp), "TMPDIR=%s", b->tmpdir);
	if ((envp = subproc_tool_environ()) == NULL ||
	    (envp = subproc_environ_set(envp, vars)) == NULL) {
		snprintf(err, errlen, "cannot start the browser: %s",
		    strerror(errno));
		return -1;
	}
	if ((logfd = open_log(cfg->state_dir)) == -1 ||
	    cloexec_pipe(cmd) == -1 || cloexec_pipe(res) == -1 ||
	    (b->pid = fork()) == -1) {
		snprintf(err, errlen, "cannot start the browser: %s",
		    strerror(errno));
		b->pid = 0;
	} else if (b->pid == 0)
		exec_browser(argv, envp, cmd[0], res[1], logfd, parent, maxfd);
	free(envp);
	if (logfd != -1)
		(void)close(logfd);
	if (cmd[0] != -1)
		(void)close(cmd[0]);
	if (res[1] != -1)
		(void)close(res[1]);
	b->wfd = cmd[1];
	b->rfd = res[0];
	return b->pid > 0 ? 0 : -1;
}

/* Open one page and attach to it as a flatten session. */
static int
attach_page(struct browser *b, char *err, size_t errlen)
{
	cJSON *p = cJSON_CreateObject(), *res = NULL;
	const char *s;
	int rc;

	cJSON_AddStringToObject(p, "url", "about:blank");
	if ((rc = cdp_call(&b->cdp, NULL, "Target.createTarget", p, DZ_CMD_MS,
	    &res, err, errlen)) != CDP_OK)
		return rc;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "targetId", cJSON_GetStringValue(
	    cJSON_GetObjectItem(res, "targetId")) ?: "");
	cJSON_AddBoolToObject(p, "flatten", true);
	cJSON_Delete(res);
	if ((rc = cdp_call(&b->cdp, NULL, "Target.attachToTarget", p,
	    DZ_CMD_MS, &res, err, errlen)) != CDP_OK)
		return rc;
	s = cJSON_GetStringValue(cJSON_GetObjectItem(res, "sessionId"));
	if (s == NULL || strlcpy(b->session, s, sizeof(b->session)) >=
	    sizeof(b->session)) {
		snprintf(err, errlen, "Target.attachToTarget: no session");
		cJSON_Delete(res);
		return CDP_ERR;
	}
	cJSON_Delete(res);
	return cdp_call(&b->cdp, b->session, "Page.enable", NULL, DZ_CMD_MS,
	    NULL, err, errlen);
}

/* Tell the caller that a browser session began or ended. */
static void
session(const struct dzine_cfg *cfg, bool open)
{
	if (cfg->session != NULL)
		cfg->session(cfg->session_arg, open);
}

static int
browser_start(const struct dzine_cfg *cfg, struct browser *b, char *err,
    size_t errlen)
{
	const char *bin = cfg->chromium != NULL ? cfg->chromium :
	    DZINE_CHROMIUM;
	char why[512];
	int rc;

	memset(b, 0, sizeof(*b));
	b->wfd = b->rfd = -1;
	if (access(bin, X_OK) == -1) {
		snprintf(err, errlen, "Chromium is not installed at %s "
		    "(Debian: apt-get install chromium)", bin);
		return DZ_FAIL;
	}
	(void)plat_set_subreaper();
	if (make_profile(cfg, b, err, errlen) == -1 ||
	    make_tmpdir(cfg, b, err, errlen) == -1 ||
	    spawn(cfg, b, bin, err, errlen) == -1)
		return DZ_FAIL;
	session(cfg, true);
	if (progress_step(cfg->prog) == -1)
		return DZ_STOPPED;
	cdp_init(&b->cdp, b->wfd, b->rfd, b->pid, cfg->prog);
	rc = cdp_call(&b->cdp, NULL, "Browser.getVersion", NULL,
	    DZINE_START_MS, NULL, why, sizeof(why));
	if (rc == CDP_OK)
		rc = attach_page(b, why, sizeof(why));
	if (rc == CDP_STOPPED)
		return DZ_STOPPED;
	if (rc != CDP_OK) {
		snprintf(err, errlen, "the browser did not start: %s (see "
		    "logs/chromium.log)", why);
		return DZ_FAIL;
	}
	return progress_step(cfg->prog) == -1 ? DZ_STOPPED : DZ_OK;
}

/*
 * Kill every process under the renderer (the browser and everything it
 * started, crash handlers included) and reap each one, until none is
 * left or DZINE_REAP_MS passed.  The tree is listed before the browser is
 * killed: without a subreaper (macOS, make PORTABLE=1) the browser's
 * children no longer descend from the renderer once it is dead.
 */
static void
kill_all(struct browser *b, struct progress *prog)
{
	int64_t end = clock_mono_ms() + DZINE_REAP_MS;
	pid_t pids[DZINE_PROCS_MAX];
	size_t n, i;

	n = plat_descendants(getpid(), pids, DZINE_PROCS_MAX);
	if (b->pid > 0)
		(void)kill(b->pid, SIGKILL);
	for (i = 0; i < n; i++)
		(void)kill(pids[i], SIGKILL);
	do {
		n = plat_descendants(getpid(), pids, DZINE_PROCS_MAX);
		for (i = 0; i < n; i++) {
			(void)kill(pids[i], SIGKILL);
			(void)waitpid(pids[i], NULL, WNOHANG);
		}
		if (n == 0)
			break;
		(void)progress_sleep(prog, 5);	/* a stop does not cut it short */
	} while (clock_mono_ms() < end);
	if (b->pid > 0)
		(void)waitpid(b->pid, NULL, WNOHANG);
	b->pid = 0;
}

/* A kept profile is closed gracefully so its login is saved. */
static void
close_gracefully(struct browser *b)
{
	int64_t end = clock_mono_ms() + DZINE_CLOSE_MS;
	char err[256];

	if (b->temp_profile || b->pid <= 0 || b->cdp.closed ||
	    cdp_call(&b->cdp, NULL, "Browser.close", NULL, DZINE_CLOSE_MS,
	    NULL, err, sizeof(err)) != CDP_OK)
		return;
	while (!b->cdp.closed && clock_mono_ms() < end &&
	    cdp_pause(&b->cdp, 50, err, sizeof(err)) == CDP_OK)
		;
}

/* Heartbeats go on while cleaning up, but a STOP does not cut it short. */
static int
tick_through(void *arg, long long value)
{
	(void)progress_tick(arg, value);
	return 0;
}

static void
browser_stop(const struct dzine_cfg *cfg, struct browser *b)
{
	struct progress *prog = cfg->prog;
	struct progress through = { tick_through, prog, 0 };

	if (prog != NULL) {
		through.value = prog->value;
		b->cdp.prog = &through;
	}
	close_gracefully(b);
	b->cdp.prog = prog;
	kill_all(b, prog);
	session(cfg, false);
	cdp_clear(&b->cdp);
	if (b->wfd != -1)
		(void)close(b->wfd);
	if (b->rfd != -1)
		(void)close(b->rfd);
	b->wfd = b->rfd = -1;
	if (b->temp_profile && b->profile[0] != '\0')
		(void)scratch_remove(b->profile);
	if (b->tmpdir[0] != '\0')
		(void)scratch_remove(b->tmpdir);
	b->profile[0] = b->tmpdir[0] = '\0';
	(void)progress_step(prog);	/* a phase done; a stop is seen later */
}

static void
run_init(struct dz_run *r, struct browser *b, const struct dzine_cfg *cfg,
    const struct dz_vars *v, const char *dl_dir)
{
	memset(r, 0, sizeof(*r));
	dz_run_init(r);
	r->cdp = &b->cdp;
	r->session = b->session;
	r->prog = cfg->prog;
	r->vars = v;
	r->download_dir = dl_dir;
}

/*
 * Read the Dzine credits balance through the flow's "preflight" steps.
 * Returns DZ_OK with *balance set, or a dz_rc with <err>.
 */
int
dzine_read_balance(const struct dzine_cfg *cfg, long *balance, char *err,
    size_t errlen)
{
	struct dz_vars v = { "", "", "", "" };
	struct dz_flow *f;
	struct browser b;
	struct dz_run r;
	int rc;

	*balance = -1;
	if ((f = dz_flow_load(cfg->flow_file, err, errlen)) == NULL)
		return DZ_FAIL;
	v.base = cfg->url != NULL && cfg->url[0] != '\0' ? cfg->url :
	    f->base_url;
	if ((rc = browser_start(cfg, &b, err, errlen)) == DZ_OK) {
		run_init(&r, &b, cfg, &v, NULL);	/* it never downloads */
		rc = dz_flow_run(f->preflight, f->npreflight, &r, err, errlen);
		*balance = r.credits[DZ_SLOT_BALANCE];
		if (rc == DZ_OK && *balance < 0) {
			snprintf(err, errlen, "the preflight steps read no "
			    "balance");
			rc = DZ_UI;
		}
	}
	browser_stop(cfg, &b);
	dz_flow_free(f);
	return rc;
}

static void
sync_dir(const char *path)
{
	char dir[PATH_MAX], *slash;

	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		(void)fs_fsync_dir(dir);
	}
}

static void
outcome(struct dzine_outcome *o, const struct dz_run *r,
    const struct browser *b)
{
	o->before = r->credits[DZ_SLOT_BEFORE];
	o->after = r->credits[DZ_SLOT_AFTER];
	o->pressed = r->pressed;
	o->browser_pid = b->pid;
	o->browser_status = b->cdp.peer_exited ? b->cdp.peer_status : 0;
}

/*
 * Render one segment with the flow's "render" steps: start a browser,
 * upload, press generate (after seg->before_generate), wait, download
 * the export to seg->out_path.  The browser is gone when this returns.
 * Returns DZ_OK, or a dz_rc with <err>; <out> says what happened either
 * way.
 */
int
dzine_render(const struct dzine_cfg *cfg, const struct dzine_seg *seg,
    struct dzine_outcome *out, char *err, size_t errlen)
{
	struct dz_vars v;
	char dl_dir[PATH_MAX];
	struct dz_flow *f;
	struct browser b;
	struct dz_run r;
	int rc;

	memset(out, 0, sizeof(*out));
	out->before = out->after = -1;
	if (fs_path(dl_dir, sizeof(dl_dir), "%s/video/staging",
	    cfg->state_dir) == -1 || fs_mkdirs(dl_dir, 0700) == -1) {
		snprintf(err, errlen, "%s: %s", dl_dir, strerror(errno));
		return DZ_FAIL;
	}
	if ((f = dz_flow_load(cfg->flow_file, err, errlen)) == NULL)
		return DZ_FAIL;
	v.base = cfg->url != NULL && cfg->url[0] != '\0' ? cfg->url :
	    f->base_url;
	v.image = seg->image != NULL ? seg->image : "";
	v.audio = seg->audio;
	v.prompt = seg->prompt != NULL ? seg->prompt : "";
	run_init(&r, &b, cfg, &v, dl_dir);
	if ((rc = browser_start(cfg, &b, err, errlen)) == DZ_OK) {
		r.needed = seg->needed;
		r.before_generate = seg->before_generate;
		r.arg = seg->arg;
		r.out_path = seg->out_path;
		rc = dz_flow_run(f->render, f->nrender, &r, err, errlen);
		/* once the export is in place, a later step is not fatal */
		if (r.download[0] != '\0' && (rc == DZ_UI || rc == DZ_FAIL))
			rc = DZ_OK;
	}
	outcome(out, &r, &b);
	browser_stop(cfg, &b);
	if (r.partial[0] != '\0')
		(void)unlink(r.partial);
	if (r.download[0] != '\0')
		sync_dir(r.download);
	dz_flow_free(f);
	return rc;
}

/* A browser download's name: a GUID (8-4-4-4-12 hex). */
static bool
guid_name(const char *s)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (s[i] == '\0' || strchr("0123456789abcdef",
		    s[i]) == NULL)
			return false;
	}
	return s[36] == '\0' || strcmp(s + 36, ".crdownload") == 0;
}

static void
sweep_dir(const char *dir, bool profiles)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (profiles ? strncmp(de->d_name, PROFILE_PREFIX,
		    strlen(PROFILE_PREFIX)) != 0 : !guid_name(de->d_name))
			continue;
		if (fs_path(path, sizeof(path), "%s/%s", dir, de->d_name) == -1)
			continue;
		if (profiles)
			(void)scratch_remove(path);
		else
			(void)unlink(path);
	}
	closedir(d);
}

/*
 * Remove what a killed renderer left behind: partial downloads in
 * state/video/staging/ and unowned browser profiles ("chromium.*", from
 * before profiles were named after their renderer) under state/tmp/.
 * Call it only while no browser of this state directory runs.
 */
void
dzine_sweep(const char *state_dir)
{
	char dir[PATH_MAX];

	if (fs_path(dir, sizeof(dir), "%s/tmp", state_dir) == 0)
		sweep_dir(dir, true);
	if (fs_path(dir, sizeof(dir), "%s/video/staging", state_dir) == 0)
		sweep_dir(dir, false);
}
