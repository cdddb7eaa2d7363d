/* SPDX-License-Identifier: ISC */
/*
 * ctl_tools.c: the version line of a media tool (ffprobe, ffmpeg,
 * espeak-ng) for baptism, without starting the tool every time.
 *
 * Starting ffmpeg or ffprobe just to read its version costs a large part
 * of a level-A baptism (each links some 200 libraries).  The line is kept
 * in state/runtime/tools.json per tool with the path it was found at on
 * PATH and that file's inode, size and mtime; while all of them are the
 * same the cached line is used, else the tool is run again and the
 * entry replaced (written atomically).  A tool that does not run is
 * never cached, so a broken install is seen at once.  The file is only a
 * cache: anything wrong with it (not JSON, a wrong type, a line with a
 * control character or too long) makes the tool run as if there were
 * none, and the file is rewritten.
 *
 * Public: ctl_tool_version.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/subproc.h"
#include "ctl/ctl.h"

#define TOOLS_FILE_MAX	(64 * 1024)

/* The executable <tool> on PATH into <out>; -1 when there is none. */
static int
which(const char *tool, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	size_t n;

	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n > 0 && fs_path(out, size, "%.*s/%s", (int)n, p,
		    tool) == 0 && access(out, X_OK) == 0)
			return 0;
		if (*end == ':')
			end++;
	}
	return -1;
}

/* "<path> <inode> <size> <mtime>": what must not change. */
static int
stamp_of(const char *path, char *out, size_t size)
{
	struct stat sb;
	int n;

	if (stat(path, &sb) == -1)
		return -1;
	n = snprintf(out, size, "%s %llu %lld %lld", path,
	    (unsigned long long)sb.st_ino, (long long)sb.st_size,
	    (long long)sb.st_mtime);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static bool
line_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= CTL_TOOL_LINE_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The cache file, parsed; an empty object when it is missing or bad. */
static cJSON *
cache_load(const char *file)
{
	char *txt = NULL;
	cJSON *j = NULL;

	if (fs_read_file(file, TOOLS_FILE_MAX, &txt, NULL) == 0)
		j = cJSON_Parse(txt);
	free(txt);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = cJSON_CreateObject();
	}
	return j;
}

/* Run "<tool> <flag>" and keep the first line, without " Copyright..". */
static int
run_tool(const char *tool, const char *flag, char *line, size_t size)
{
	char *argv[3];
	struct subproc_result res;
	int rc = -1;

	argv[0] = (char *)tool;
	argv[1] = (char *)flag;
	argv[2] = NULL;
	memset(&res, 0, sizeof(res));
	if (subproc_run(argv, 4096, 10000, NULL, false, &res) == 0 &&
	    res.status == 0) {
		(void)strlcpy(line, res.out != NULL ? res.out : "", size);
		line[strcspn(line, "\n")] = '\0';
		if (strstr(line, " Copyright") != NULL)
			*strstr(line, " Copyright") = '\0';
		rc = 0;
	}
	subproc_result_clear(&res);
	return rc;
}

/*
 * The version line of <tool> (started with <flag>) into <line>; returns
 * 1 when it came from the cache under <state_dir>, 0 when the tool ran,
 * -1 when it is not on PATH or does not run.
 */
int
ctl_tool_version(const char *state_dir, const char *tool, const char *flag,
    char *line, size_t size)
{
	char path[PATH_MAX], stamp[PATH_MAX + 80], dir[PATH_MAX];
	char file[PATH_MAX], *txt;
	const char *c_stamp, *c_line;
	cJSON *cache, *e;

	if (which(tool, path, sizeof(path)) == -1 ||
	    stamp_of(path, stamp, sizeof(stamp)) == -1)
		return -1;
	if (state_dir[0] == '\0' || fs_path(dir, sizeof(dir), "%s/runtime",
	    state_dir) == -1 || fs_path(file, sizeof(file), "%s/tools.json",
	    dir) == -1)
		return run_tool(tool, flag, line, size);
	cache = cache_load(file);
	e = cJSON_GetObjectItemCaseSensitive(cache, tool);
	c_stamp = cJSON_GetStringValue(cJSON_GetObjectItem(e, "stamp"));
	c_line = cJSON_GetStringValue(cJSON_GetObjectItem(e, "line"));
	if (c_stamp != NULL && c_line != NULL && strcmp(c_stamp, stamp) == 0 &&
	    line_ok(c_line)) {
		(void)strlcpy(line, c_line, size);
		cJSON_Delete(cache);
		return 1;
	}
	if (run_tool(tool, flag, line, size) == -1) {
		cJSON_Delete(cache);
		return -1;
	}
	if (line_ok(line) && (e = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(e, "stamp", stamp);
		cJSON_AddStringToObject(e, "line", line);
		cJSON_DeleteItemFromObjectCaseSensitive(cache, tool);
		cJSON_AddItemToObject(cache, tool, e);
		/* only a cache: a failed write costs the next run a start */
		if (fs_mkdirs(dir, 0700) == 0 &&
		    (txt = cJSON_Print(cache)) != NULL) {
			(void)fs_write_atomic(file, txt, strlen(txt));
			free(txt);
		}
	}
	cJSON_Delete(cache);
	return 0;
}
