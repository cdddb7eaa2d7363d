/* SPDX-License-Identifier: ISC */
/*
 * ctl_clean.c: housekeeping of the state directory: rvctl clean,
 * clean-hard and logs.
 *
 * clean (safe, any time): files in state/tmp/ older than an hour,
 * temporary files left by interrupted atomic writes (their writer is
 * gone) older than an hour, and logs in state/logs/ untouched for 14
 * days.  clean-hard (aggressive; refused while a supervisor holds the
 * state directory): everything in state/tmp/, every leftover temporary
 * file, logs untouched for a day, rejected renders in video/quarantine/
 * (*.rejected) and stamped timeline copies older than 7 days (the
 * _latest ones stay).  Neither ever touches the pid file or anything else
 * in runtime/, the spool, final videos, checkpoints, specs, evidence,
 * audio, the index or the database: only the directories named above are
 * walked.  --dry-run lists what would go.
 *
 * logs prints the last lines of every log in state/logs/.
 *
 * Public: ctl_clean, ctl_logs.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "ctl/ctl.h"

#define HOUR		3600L
#define DAY		(24 * HOUR)
#define LOG_TAIL_MAX	(256 * 1024)

struct sweep {
	const char	*state_dir;
	bool		 dry_run;
	time_t		 now;
	long		 tmp_age;	/* leftover temporary files older */
	size_t		 files, errors;
	long long	 bytes;
};

static void
drop(struct sweep *sw, const char *path, const struct stat *sb,
    const char *why)
{
	const char *rel = path + strlen(sw->state_dir) + 1;

	if (!sw->dry_run && unlink(path) == -1) {
		printf("  cannot remove %s: %s\n", rel, strerror(errno));
		sw->errors++;
		return;
	}
	printf("  %s %s (%s, %lld bytes)\n", sw->dry_run ? "would remove" :
	    "removed", rel, why, (long long)sb->st_size);
	sw->files++;
	sw->bytes += (long long)sb->st_size;
}

/*
 * Regular files in <dir> (recursively when <deep>) older than <age>
 * seconds whose name ends in <suffix> (NULL: any).
 */
static void
sweep_dir(struct sweep *sw, const char *dir, long age, const char *suffix,
    bool deep, const char *why)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	size_t n, sl = suffix ? strlen(suffix) : 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fs_path(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == -1 ||
		    lstat(path, &sb) == -1)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			if (deep)
				sweep_dir(sw, path, age, suffix, deep, why);
			continue;
		}
		n = strlen(de->d_name);
		if (!S_ISREG(sb.st_mode) || sw->now - sb.st_mtime < age ||
		    (suffix != NULL && (n < sl || strcmp(de->d_name + n - sl,
		    suffix) != 0)))
			continue;
		drop(sw, path, &sb, why);
	}
	closedir(d);
}

static void
sweep_tmp(const char *path, const struct stat *sb, void *arg)
{
	struct sweep *sw = arg;

	if (sw->now - sb->st_mtime >= sw->tmp_age)
		drop(sw, path, sb, "left by an interrupted write");
}

/* Stamped timeline copies older than <age>; _latest files stay. */
static void
sweep_timelines(struct sweep *sw, long age)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (fs_path(dir, sizeof(dir), "%s/timeline", sw->state_dir) == -1 ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "timeline_", 9) != 0 ||
		    strstr(de->d_name, "_latest.") != NULL ||
		    fs_path(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == -1 || lstat(path, &sb) == -1 ||
		    !S_ISREG(sb.st_mode) || sw->now - sb.st_mtime < age)
			continue;
		drop(sw, path, &sb, "old timeline copy");
	}
	closedir(d);
}

static void
sub_path(const struct sweep *sw, char *buf, size_t size, const char *sub)
{
	if (fs_path(buf, size, "%s/%s", sw->state_dir, sub) == -1)
		buf[0] = '\0';
}

static void
clean_run(struct sweep *sw, bool hard)
{
	char p[PATH_MAX];

	sub_path(sw, p, sizeof(p), "tmp");
	sweep_dir(sw, p, hard ? 0 : HOUR, NULL, true, hard ? "scratch" :
	    "scratch older than 1 h");
	sw->tmp_age = hard ? 0 : HOUR;
	(void)ctl_local_tmp_walk(sw->state_dir, sweep_tmp, sw);
	sub_path(sw, p, sizeof(p), "logs");
	sweep_dir(sw, p, hard ? DAY : 14 * DAY, NULL, false, hard ?
	    "log untouched for a day" : "log untouched for 14 days");
	if (!hard)
		return;
	sub_path(sw, p, sizeof(p), "video/quarantine");
	sweep_dir(sw, p, 0, ".rejected", false, "rejected render");
	sweep_timelines(sw, 7 * DAY);
}

int
ctl_clean(struct ctl_env *env, int argc, char **argv)
{
	bool hard = strcmp(argv[0], "clean-hard") == 0, dry = false, stale;
	const struct ctl_opt opts[] = {
		{ "--dry-run", CTL_OPT_FLAG, &dry, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	struct sweep sw;
	pid_t pid;

	if (ctl_opts_parse(argv[0], opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup(argv[0]));
	if (!ctl_settings_ok(env, argv[0]))
		return CTL_USAGE;
	if (hard && (pid = ctl_local_supervisor(env, &stale)) > 0) {
		fprintf(stderr, "rvctl clean-hard: refused: rvsup %ld is "
		    "running on %s and may be using its temporary files; stop "
		    "it first (make stop), or use rvctl clean\n", (long)pid,
		    env->cfg.state_dir);
		return CTL_WARN;
	}
	memset(&sw, 0, sizeof(sw));
	sw.state_dir = env->cfg.state_dir;
	sw.dry_run = dry;
	sw.now = time(NULL);
	printf("%s%s on %s (never the pid file, the spool or final "
	    "videos)\n", argv[0], dry ? " (dry run)" : "", sw.state_dir);
	clean_run(&sw, hard);
	printf("%s: %zu file%s, %lld bytes %s%s\n", argv[0], sw.files,
	    sw.files == 1 ? "" : "s", sw.bytes, dry ? "would be freed" :
	    "freed", sw.errors > 0 ? "; some files could not be removed" :
	    "");
	return sw.errors > 0 ? CTL_WARN : CTL_OK;
}

/* Print the last <lines> lines of <path>. */
static void
tail_file(const char *path, const char *name, long lines)
{
	char *buf, *p;
	struct stat sb;
	off_t from;
	ssize_t n, end;
	long k = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1 || (buf = malloc(LOG_TAIL_MAX + 1)) == NULL) {
		if (fd != -1)
			close(fd);
		printf("==> %s: %s\n", name, strerror(errno));
		return;
	}
	from = sb.st_size > LOG_TAIL_MAX ? sb.st_size - LOG_TAIL_MAX : 0;
	n = pread(fd, buf, LOG_TAIL_MAX, from);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	end = n > 0 && buf[n - 1] == '\n' ? n - 1 : n;
	for (p = buf + end; p > buf; p--)
		if (p[-1] == '\n' && ++k >= lines)
			break;
	printf("==> %s <==\n%s%s", name, p, n > 0 && buf[n - 1] != '\n' ?
	    "\n" : "");
	free(buf);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ctl_logs(struct ctl_env *env, int argc, char **argv)
{
	long lines = 20;
	const char *only = NULL;
	const struct ctl_opt opts[] = {
		{ "--lines", CTL_OPT_INT, &lines, 1, 10000 },
		{ "--name", CTL_OPT_STR, &only, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	char dir[PATH_MAX], path[PATH_MAX], *names[256];
	struct dirent *de;
	size_t n = 0, i;
	DIR *d;

	if (ctl_opts_parse("logs", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("logs"));
	if (!ctl_settings_ok(env, "logs"))
		return CTL_USAGE;
	if (fs_path(dir, sizeof(dir), "%s/logs", env->cfg.state_dir) == -1 ||
	    (d = opendir(dir)) == NULL) {
		printf("no logs in %s/logs yet\n", env->cfg.state_dir);
		return CTL_OK;
	}
	while ((de = readdir(d)) != NULL && n < 256)
		if (de->d_name[0] != '.' && (only == NULL ||
		    strstr(de->d_name, only) != NULL) &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if (fs_path(path, sizeof(path), "%s/%s", dir, names[i]) == 0)
			tail_file(path, names[i], lines);
		free(names[i]);
	}
	if (n == 0)
		printf("no log%s%s in %s\n", only ? " matching " : "",
		    only ? only : "", dir);
	return CTL_OK;
}
