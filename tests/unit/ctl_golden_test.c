/* SPDX-License-Identifier: ISC */
/*
 * ctl_golden_test.c: golden tests of the operator tooling's output.
 *
 * A state directory is prepared in a temporary directory with the real
 * embedded store and the real index: RAY-G1 done (three segments, two
 * paid renders, one video reused, a drift of +0.62 s and a low-bitrate
 * video), RAY-G3 done with a segment missing, an unresolved ledger intent
 * and no spec mirror (its spec comes from the store), RAY-G2 queued.  The
 * rvctl built beside this test (../../bin/rvctl) is run on it with a
 * fixed environment (dzine renderer, 10 credits a segment, US$ 0.05 a
 * credit, R$ 5.50 a dollar, 15 credits available, stub media tools on
 * PATH), and its output is compared, after normalising run ids, the
 * temporary path and timestamps, with tests/unit/golden/ctl_<case>.ok:
 * report text and JSON, a one-run report, preflight, timeline banner, CSV
 * and EDL, and the baptism JSON (printed and saved).  Exit codes are
 * checked too (a sanitizer build reports its findings with exit 99 or
 * 98, so they cannot pass for a warning).  RV_UPDATE_GOLDEN=1 rewrites
 * the .ok files instead.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/media/vindex.h"
#include "tests/unit/test.h"

static char golden[PATH_MAX], rvctl[PATH_MAX], tdir[64];
static char run_ids[3][ID_UUID_LEN + 1];
static bool update;

#define WORKER	"golden-worker"

struct gseg {
	const char	*id, *kind;
	double		 target;
	const char	*sha8;		/* NULL: no video */
	double		 duration;
	long long	 bitrate;
	int		 credits;	/* ledger: >0 paid, 0 none, -1 intent */
};

struct grun {
	const char	*video_id;
	bool		 finish, mirror;
	struct gseg	 segs[4];
};

static const struct grun g1 = { "RAY-G1", true, true, {
	{ "intro", "intro", 3.0, "1a2b3c4d", 3.02, 2500000, 10 },
	{ "product-1", "product", 4.0, "2b3c4d5e", 4.62, 800000, 10 },
	{ "outro", "outro", 2.5, "3c4d5e6f", 2.5, 3000000, 0 },
	{ NULL, NULL, 0, NULL, 0, 0, 0 } } };
static const struct grun g3 = { "RAY-G3", true, false, {
	{ "intro", "intro", 3.0, "4d5e6f70", 3.0, 2000000, 10 },
	{ "product-1", "product", 5.0, NULL, 0, 0, -1 },
	{ NULL, NULL, 0, NULL, 0, 0, 0 } } };
static const struct grun g2 = { "RAY-G2", false, true, {
	{ "intro", "intro", 2.0, NULL, 0, 0, 0 },
	{ "outro", "outro", 2.0, NULL, 0, 0, 0 },
	{ NULL, NULL, 0, NULL, 0, 0, 0 } } };

static int
write_plain(const char *path, const char *text, int mode)
{
	int fd, r = 0;
	size_t len = strlen(text);

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		return -1;
	if (write(fd, text, len) != (ssize_t)len)
		r = -1;
	if (close(fd) == -1)
		r = -1;
	return r;
}

static char *
spec_text(const struct grun *g)
{
	cJSON *s = cJSON_CreateObject(), *arr, *o;
	char *txt;
	int i;

	cJSON_AddStringToObject(s, "video_id", g->video_id);
	cJSON_AddStringToObject(s, "task_type", "");
	arr = cJSON_AddArrayToObject(s, "segments");
	for (i = 0; g->segs[i].id != NULL; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "segment_id", g->segs[i].id);
		cJSON_AddStringToObject(o, "kind", g->segs[i].kind);
		cJSON_AddStringToObject(o, "text", "Golden words.");
		cJSON_AddNumberToObject(o, "approx_duration_sec",
		    g->segs[i].target);
		cJSON_AddItemToArray(arr, o);
	}
	txt = cJSON_Print(s);
	cJSON_Delete(s);
	return txt;
}

static int
put_video(const char *state, const char *run, const struct gseg *s)
{
	struct vindex_item it;
	char rel[PATH_MAX], path[PATH_MAX], err[256];
	struct stat sb;

	memset(&it, 0, sizeof(it));
	snprintf(rel, sizeof(rel), "video/final/V_%s_%s_%s.mp4", run, s->id,
	    s->sha8);
	(void)fs_path(path, sizeof(path), "%s/%s", state, rel);
	if (write_plain(path, "not really a video\n", 0600) == -1 ||
	    stat(path, &sb) == -1)
		return -1;
	strlcpy(it.key, s->sha8, sizeof(it.key));
	strlcpy(it.path, rel, sizeof(it.path));
	strlcpy(it.run_id, run, sizeof(it.run_id));
	strlcpy(it.segment_id, s->id, sizeof(it.segment_id));
	it.file_bytes = (long long)sb.st_size;
	it.file_mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL +
	    sb.st_mtim.tv_nsec;
	it.inode = (unsigned long long)sb.st_ino;
	it.device = (unsigned long long)sb.st_dev;
	strlcpy(it.refreshed_at, "2026-01-01T00:00:00.000Z",
	    sizeof(it.refreshed_at));
	it.duration = s->duration;
	it.bitrate_bps = s->bitrate;
	strlcpy(it.video_codec, "h264", sizeof(it.video_codec));
	strlcpy(it.audio_codec, "aac", sizeof(it.audio_codec));
	if (vindex_put(state, &it, 5000, err, sizeof(err)) != 0) {
		printf("vindex_put: %s\n", err);
		return -1;
	}
	return 0;
}

static int
ledger_row(struct store *st, const char *run, const char *tok,
    long long epoch, const struct gseg *s, char *err, size_t errlen)
{
	struct store_ledger l, ex;
	enum store_write res;
	bool fresh;

	memset(&l, 0, sizeof(l));
	snprintf(l.key, sizeof(l.key), "%s:%s:%s", run, s->id,
	    s->sha8 ? s->sha8 : "99999999");
	strlcpy(l.run_id, run, sizeof(l.run_id));
	strlcpy(l.segment_id, s->id, sizeof(l.segment_id));
	strlcpy(l.sha8, s->sha8 ? s->sha8 : "99999999", sizeof(l.sha8));
	l.lease_epoch = epoch;
	l.credits = s->credits > 0 ? s->credits : 0;
	if (store_ledger_intent(st, &l, tok, &fresh, &ex, &res, err,
	    errlen) == -1)
		return -1;
	if (s->credits < 0)
		return 0;
	return store_ledger_result(st, l.key, epoch, "done",
	    s->credits, "video/staging/x.mp4", &res, err, errlen);
}

/* Enqueue, and for a finished run claim, pay, finish. */
static int
make_run(struct store *st, const char *state, const struct grun *g,
    char *run_id)
{
	char err[512], path[PATH_MAX], tok[ID_UUID_LEN + 1], *spec;
	struct store_claim c;
	bool ok;
	int i;

	spec = spec_text(g);
	if (store_enqueue(st, g->video_id, "", spec, run_id, err,
	    sizeof(err)) == -1)
		goto fail;
	(void)fs_path(path, sizeof(path), "%s/jobs/%s.json", state, run_id);
	if (g->mirror && write_plain(path, spec, 0600) == -1)
		goto fail;
	free(spec);
	spec = NULL;
	if (!g->finish)
		return 0;
	id_uuid_new(tok);
	if (store_claim(st, WORKER, tok, 15, "", "", &c, err,
	    sizeof(err)) == -1 || strcmp(c.run_id, run_id) != 0)
		goto fail;
	for (i = 0; g->segs[i].id != NULL; i++)
		if ((g->segs[i].sha8 != NULL && put_video(state, run_id,
		    &g->segs[i]) == -1) || (g->segs[i].credits != 0 &&
		    ledger_row(st, run_id, tok, c.lease_epoch, &g->segs[i],
		    err, sizeof(err)) == -1))
			goto fail;
	if (store_finish(st, run_id, WORKER, tok, "done", "", &ok,
	    err, sizeof(err)) == -1 || !ok)
		goto fail;
	return 0;
fail:
	printf("prepare %s: %s\n", g->video_id, err);
	free(spec);
	return -1;
}

static int
stub_tool(const char *name, const char *version)
{
	char path[PATH_MAX], text[256];

	if (fs_path(path, sizeof(path), "%s/bin/%s", tdir, name) == -1)
		return -1;
	snprintf(text, sizeof(text), "#!/bin/sh\necho '%s'\n", version);
	return write_plain(path, text, 0755);
}

static int
prepare(void)
{
	static const char *sub[] = { "", "runtime", "checkpoints", "jobs",
	    "evidence", "audio", "video", "video/staging", "video/final",
	    "video/quarantine", "timeline", "baptism", "logs", "tmp", NULL };
	char state[PATH_MAX], p[PATH_MAX], err[512];
	struct store st;
	int i, rc;

	(void)fs_path(state, sizeof(state), "%s/state", tdir);
	for (i = 0; sub[i] != NULL; i++) {
		(void)fs_path(p, sizeof(p), "%s/%s", state, sub[i]);
		if (fs_mkdirs(p, 0700) == -1)
			return -1;
	}
	(void)fs_path(p, sizeof(p), "%s/bin", tdir);
	if (fs_mkdirs(p, 0700) == -1 || stub_tool("ffprobe",
	    "ffprobe version golden") == -1 || stub_tool("ffmpeg",
	    "ffmpeg version golden") == -1 || stub_tool("espeak-ng",
	    "eSpeak NG golden") == -1)
		return -1;
	(void)fs_path(p, sizeof(p), "%s/rayvault.db", state);
	if (store_sqlite_open(&st, p, 30, err, sizeof(err)) == -1) {
		printf("store: %s\n", err);
		return -1;
	}
	rc = make_run(&st, state, &g1, run_ids[0]) == 0 &&
	    make_run(&st, state, &g3, run_ids[2]) == 0 &&
	    make_run(&st, state, &g2, run_ids[1]) == 0 ? 0 : -1;
	store_close(&st);
	return rc;
}

/* Run rvctl with <args> in the fixed environment; stdout into <out>. */
static int
run_ctl(const char *const *args, char **out)
{
	char *argv[16], *envp[24], ebuf[24][256], opath[PATH_MAX];
	const char *env[][2] = { { "RAYVAULT_STATE_DIR=", "/state" },
	    { "RAYVAULT_SPOOL_DIR=", "/spool" },
	    { "PATH=", "/bin:/usr/bin:/bin" }, { "HOME=", "" } };
	const char *fixed[] = { "RAYVAULT_WORKER_ID=" WORKER,
	    "RAYVAULT_RENDERER=dzine", "DZINE_CREDITS_PER_SEGMENT=10",
	    "DZINE_CREDIT_PRICE_USD=0.05", "USD_BRL=5.5",
	    "DZINE_CREDITS_AVAILABLE=15", "NO_COLOR=1", "RAYVAULT_TTS=espeak",
	    "TELEGRAM_BOT_TOKEN=golden-secret-token", "TELEGRAM_CHAT_ID=4242",
	    "ASAN_OPTIONS=exitcode=99", "UBSAN_OPTIONS=exitcode=98",
	    "RV_TESTING=1", "RV_TEST_EUID=1000", NULL };
	int i, n, status, fd;
	pid_t pid;

	argv[0] = rvctl;
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	for (i = 0; i < 4; i++) {
		snprintf(ebuf[i], sizeof(ebuf[i]), "%s%s%s", env[i][0], tdir,
		    env[i][1]);
		envp[i] = ebuf[i];
	}
	for (n = 0; fixed[n] != NULL; n++)
		envp[i++] = (char *)fixed[n];
	envp[i] = NULL;
	if (fs_path(opath, sizeof(opath), "%s/out.txt", tdir) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (chdir(tdir) == -1 || (fd = open(opath, O_WRONLY | O_CREAT |
		    O_TRUNC, 0600)) == -1)
			_exit(127);
		dup2(fd, STDOUT_FILENO);
		execve(rvctl, argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	if (fs_read_file(opath, 1 << 22, out, NULL) == -1)
		*out = strdup("");
	return WEXITSTATUS(status);
}

/* Replace every <from> in <s> (heap) with <to>. */
static char *
replace_all(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *p, *r, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	if (n == 0 || (r = malloc(strlen(s) + n * tl + 1)) == NULL)
		return s;
	for (o = r, p = s; *p != '\0';) {
		if (strncmp(p, from, fl) == 0) {
			memcpy(o, to, tl);
			o += tl;
			p += fl;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	free(s);
	return r;
}

static bool
digits(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return true;
}

/* Timestamps: ISO 8601 with optional fraction, and compact stamps. */
static void
norm_times(char *s)
{
	char *p, *e, *w;

	for (p = w = s; *p != '\0';) {
		if (digits(p, 4) && p[4] == '-' && digits(p + 5, 2) &&
		    p[7] == '-' && digits(p + 8, 2) && p[10] == 'T' &&
		    digits(p + 11, 2) && p[13] == ':' && digits(p + 14, 2) &&
		    p[16] == ':' && digits(p + 17, 2)) {
			e = p + 19;
			if (*e == '.')
				for (e++; isdigit((unsigned char)*e); e++)
					;
			e += *e == 'Z';
			memcpy(w, "<TIME>", 6);
			w += 6;
			p = e;
		} else if (digits(p, 8) && p[8] == 'T' && digits(p + 9, 6) &&
		    p[15] == 'Z') {
			memcpy(w, "<STAMP>", 7);
			w += 7;
			p += 16;
		} else
			*w++ = *p++;
	}
	*w = '\0';
}

static char *
normalise(char *s)
{
	static const char *names[] = { "<RUN-G1>", "<RUN-G2>", "<RUN-G3>" };
	int i;

	s = replace_all(s, tdir, "<T>");
	for (i = 0; i < 3; i++)
		s = replace_all(s, run_ids[i], names[i]);
	norm_times(s);
	return s;
}

static void
golden_check(const char *name, const char *got)
{
	char path[PATH_MAX], *want = NULL;
	size_t line = 1, i;

	if (fs_path(path, sizeof(path), "%s/ctl_%s.ok", golden, name) == -1) {
		CHECK(name, false, "golden path too long");
		return;
	}
	if (update) {
		CHECK(name, write_plain(path, got, 0644) == 0, "write %s: %s",
		    path, strerror(errno));
		printf("updated %s\n", path);
		return;
	}
	if (fs_read_file(path, 1 << 22, &want, NULL) == -1) {
		CHECK(name, false, "%s: %s (run with RV_UPDATE_GOLDEN=1 to "
		    "create it)", path, strerror(errno));
		return;
	}
	for (i = 0; want[i] != '\0' && want[i] == got[i]; i++)
		if (want[i] == '\n')
			line++;
	CHECK(name, want[i] == got[i], "%s differs at line %zu:\n--- want\n"
	    "%s\n--- got\n%s", path, line, want, got);
	free(want);
}

/* Run one command, check its exit code and its normalised output. */
static void
gcase(const char *name, int want_rc, const char *const *args)
{
	char *out = NULL;
	int rc = run_ctl(args, &out);

	CHECK(name, rc == want_rc, "exit %d, want %d", rc, want_rc);
	out = normalise(out);
	CHECK(name, strstr(out, "golden-secret-token") == NULL,
	    "a secret was printed");
	golden_check(name, out);
	free(out);
}

static void
file_case(const char *name, const char *rel)
{
	char path[PATH_MAX], *txt;

	(void)fs_path(path, sizeof(path), "%s/state/%s", tdir, rel);
	if (fs_read_file(path, 1 << 22, &txt, NULL) == -1) {
		CHECK(name, false, "%s: %s", path, strerror(errno));
		return;
	}
	txt = normalise(txt);
	golden_check(name, txt);
	free(txt);
}

/* The saved baptism report is what --json printed. */
static void
baptism_saved(void)
{
	char dir[PATH_MAX], path[PATH_MAX], *txt = NULL;
	struct dirent *de;
	DIR *d;

	(void)fs_path(dir, sizeof(dir), "%s/state/baptism", tdir);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, "baptism_A_", 10) == 0)
				(void)fs_path(path, sizeof(path), "%s/%s", dir,
				    de->d_name);
		closedir(d);
	}
	CHECK("baptism_saved", d != NULL && fs_read_file(path, 1 << 22, &txt,
	    NULL) == 0, "no saved report in %s", dir);
	if (txt == NULL)
		return;
	txt = normalise(txt);
	golden_check("baptism_A.json", txt);
	free(txt);
}

static void
find_paths(const char *argv0)
{
	char buf[PATH_MAX], tool[PATH_MAX];
	const char *env = getenv("RV_GOLDEN_DIR");
	struct stat st;

	(void)strlcpy(buf, argv0, sizeof(buf));
	(void)fs_path(tool, sizeof(tool), "%s/../../bin/rvctl", dirname(buf));
	if (realpath(tool, rvctl) == NULL)
		(void)strlcpy(rvctl, tool, sizeof(rvctl));
	if (env != NULL && env[0] != '\0') {
		(void)strlcpy(golden, env, sizeof(golden));
		return;
	}
	(void)strlcpy(golden, "tests/unit/golden", sizeof(golden));
	if (stat(golden, &st) == 0 || update)
		return;
	(void)strlcpy(buf, argv0, sizeof(buf));
	(void)fs_path(golden, sizeof(golden), "%s/../../../tests/unit/golden",
	    dirname(buf));
}

int
main(int argc, char **argv)
{
	const char *u = getenv("RV_UPDATE_GOLDEN");
	const char *report[] = { "report", NULL };
	const char *report_json[] = { "--json", "report", NULL };
	const char *report_g1[] = { "report", "--video", "RAY-G1", NULL };
	const char *preflight[] = { "preflight", NULL };
	const char *tl_g1[] = { "timeline", "--video", "RAY-G1", NULL };
	const char *tl_g3[] = { "timeline", "--video", "RAY-G3", NULL };
	const char *tl_g3_json[] = { "--json", "timeline", "--video", "RAY-G3",
	    NULL };
	const char *tl_latest[] = { "timeline", NULL };
	const char *baptism[] = { "baptism", "--level", "A", "--json", NULL };

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	update = u != NULL && strcmp(u, "1") == 0;
	find_paths(argv[0]);
	if (access(rvctl, X_OK) == -1) {
		printf("FAIL %s: %s (build rvctl first)\n", rvctl,
		    strerror(errno));
		return 1;
	}
	snprintf(tdir, sizeof(tdir), "/tmp/rvgold.XXXXXX");
	if (mkdtemp(tdir) == NULL || prepare() == -1) {
		printf("FAIL prepare the state in %s\n", tdir);
		return 1;
	}
	gcase("report.txt", 1, report);
	gcase("report.json", 1, report_json);
	gcase("report_g1.txt", 1, report_g1);
	gcase("preflight.txt", 2, preflight);
	gcase("timeline_g1.txt", 1, tl_g1);
	file_case("timeline_g1.csv", "timeline/timeline_RAY-G1_latest.csv");
	file_case("timeline_g1.edl", "timeline/timeline_RAY-G1_latest.edl");
	gcase("timeline_g3.txt", 1, tl_g3);
	file_case("timeline_g3.csv", "timeline/timeline_RAY-G3_latest.csv");
	gcase("timeline_g3.json", 1, tl_g3_json);
	gcase("timeline_latest.txt", 1, tl_latest);
	gcase("baptism_A.json", 0, baptism);
	baptism_saved();
	if (getenv("RV_KEEP") == NULL)
		test_rm_tree(tdir);
	return test_exit();
}
