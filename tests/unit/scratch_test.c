/* SPDX-License-Identifier: ISC */
/*
 * scratch_test.c: unit tests for workers/skeleton/scratch.c.  Names carry the kind
 * and the owner's pid; the sweep at a child's start removes the scratch
 * directories of its kind whose owner is dead (a killed renderer's
 * half-written out.mp4, a browser profile several levels deep), its own
 * pid's from an earlier life and unowned old-style ones, and leaves a
 * live owner's directory, another kind's, plain files and look-alike
 * names alone.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "workers/skeleton/scratch.h"
#include "tests/unit/test.h"

static char state[256];

/* A pid that was just alive and is now gone (reaped). */
static pid_t
dead_pid(void)
{
	pid_t pid;

	if ((pid = fork()) == 0)
		_exit(0);
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);
	return pid;
}

static void
put(const char *rel, const char *content)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tmp/%s", state, rel);
	if (content == NULL) {
		if (fs_mkdirs(path, 0700) == -1)
			printf("# mkdir %s: %s\n", path, strerror(errno));
		return;
	}
	if ((fp = fopen(path, "w")) == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		return;
	}
	fputs(content, fp);
	fclose(fp);
}

static bool
there(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/tmp/%s", state, rel);
	return fs_exists(path);
}

static void
test_owner(void)
{
	pid_t pid = -1;

	CHECK("owner_new", scratch_owner("render.123.RUN-intro.aB3dE9",
	    "render", &pid) && pid == 123, "pid=%ld", (long)pid);
	CHECK("owner_legacy", scratch_owner("render-RUN-intro-aB3dE9",
	    "render", &pid) && pid == 0, "pid=%ld", (long)pid);
	CHECK("owner_other_kind", !scratch_owner("voice.123.x.aB3dE9",
	    "render", &pid), "matched");
	CHECK("owner_prefix", !scratch_owner("renderer.123.x", "render",
	    &pid), "matched");
	CHECK("owner_nopid", !scratch_owner("render.x.y", "render", &pid),
	    "matched");
	CHECK("owner_zero", !scratch_owner("render.0.y", "render", &pid),
	    "matched");
	CHECK("owner_nodot", !scratch_owner("render.123", "render", &pid),
	    "matched");
	CHECK("owner_huge", !scratch_owner("render.99999999999999999999.y",
	    "render", &pid), "matched");
	CHECK("owner_bad_kind", !scratch_owner("Render.1.y", "Render", &pid),
	    "matched");
}

static void
test_make(void)
{
	char buf[PATH_MAX], want[64];
	const char *base;
	struct stat st;
	pid_t pid = 0;

	CHECK("make", scratch_make(state, "render", "RUN-intro", buf,
	    sizeof(buf)) == 0 && stat(buf, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700, "%s: %s", buf, strerror(errno));
	base = strrchr(buf, '/') != NULL ? strrchr(buf, '/') + 1 : buf;
	snprintf(want, sizeof(want), "render.%ld.RUN-intro.", (long)getpid());
	CHECK("make_name", strncmp(base, want, strlen(want)) == 0 &&
	    strlen(base) == strlen(want) + 6 && scratch_owner(base, "render",
	    &pid) && pid == getpid(), "name %s", base);
	(void)rmdir(buf);
	errno = 0;
	CHECK("make_bad_kind", scratch_make(state, "../x", "t", buf,
	    sizeof(buf)) == -1 && errno == EINVAL && buf[0] == '\0',
	    "errno=%d", errno);
	errno = 0;
	CHECK("make_bad_tag", scratch_make(state, "voice", "a/b", buf,
	    sizeof(buf)) == -1 && errno == EINVAL, "errno=%d", errno);
	CHECK("make_no_tag", scratch_make(state, "voice", "", buf,
	    sizeof(buf)) == 0 && strstr(buf, "/voice.") != NULL, "%s", buf);
	(void)rmdir(buf);
}

static void
test_sweep(void)
{
	char dead[128], live[128], self[128], prof[160], other[128];
	char file[128], buf[PATH_MAX];
	pid_t d = dead_pid();
	int n;

	/* a killed renderer's scratch dir with a half-written render */
	snprintf(dead, sizeof(dead), "render.%ld.RUN-intro.aaaaaa", (long)d);
	put(dead, NULL);
	snprintf(buf, sizeof(buf), "%s/out.mp4", dead);
	put(buf, "half an mp4");
	/* its browser profile, several levels deep */
	snprintf(prof, sizeof(prof), "render.%ld.chromium.bbbbbb", (long)d);
	snprintf(buf, sizeof(buf), "%s/Default/Cache", prof);
	put(buf, NULL);
	snprintf(buf, sizeof(buf), "%s/Default/Cookies", prof);
	put(buf, "cookies");
	/* a live renderer's (our parent stands in for it) */
	snprintf(live, sizeof(live), "render.%ld.RUN-p1.cccccc",
	    (long)getppid());
	put(live, NULL);
	snprintf(buf, sizeof(buf), "%s/out.mp4", live);
	put(buf, "work in progress");
	/* our own pid, from an earlier life */
	snprintf(self, sizeof(self), "render.%ld.RUN-p2.dddddd",
	    (long)getpid());
	put(self, NULL);
	/* another kind's, dead too: not ours to sweep */
	snprintf(other, sizeof(other), "voice.%ld.RUN-intro.eeeeee", (long)d);
	put(other, NULL);
	snprintf(buf, sizeof(buf), "%s/final.wav", other);
	put(buf, "half a wav");
	/* old-style, no owner recorded */
	put("render-RUN-intro-ffffff", NULL);
	put("render-RUN-intro-ffffff/out.mp4", "old half");
	/* a plain file and a look-alike */
	snprintf(file, sizeof(file), "render.%ld.plain", (long)d);
	put(file, "not a directory");
	put("renderer.1.x", NULL);

	n = scratch_sweep(state, "render");
	CHECK("sweep_count", n == 4, "removed %d", n);
	CHECK("sweep_dead", !there(dead), "%s is still there", dead);
	CHECK("sweep_profile", !there(prof), "%s is still there", prof);
	CHECK("sweep_self", !there(self), "%s is still there", self);
	CHECK("sweep_legacy", !there("render-RUN-intro-ffffff"),
	    "legacy dir still there");
	snprintf(buf, sizeof(buf), "%s/out.mp4", live);
	CHECK("keep_live", there(live) && there(buf), "%s was removed", live);
	CHECK("keep_other_kind", there(other), "%s was removed", other);
	CHECK("keep_file", there(file), "%s was removed", file);
	CHECK("keep_lookalike", there("renderer.1.x"), "look-alike removed");

	n = scratch_sweep(state, "voice");
	CHECK("sweep_voice", n == 1 && !there(other), "removed %d", n);
	CHECK("sweep_again", scratch_sweep(state, "render") == 0,
	    "a second sweep removed something");
	snprintf(buf, sizeof(buf), "%s/none", state);
	CHECK("sweep_no_tmp", scratch_sweep(buf, "render") == 0,
	    "no tmp/ is not an error");
}

int
main(void)
{
	char dir[] = "/tmp/rv-scratch-test.XXXXXX", cmd[PATH_MAX + 16];

	if (mkdtemp(dir) == NULL) {
		printf("FAIL mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(state, sizeof(state), "%s/state", dir);
	test_owner();
	test_make();
	test_sweep();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return test_exit();
}
