/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_CHILDREN_H
#define RV_COMMON_CORE_CHILDREN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#define CHILDREN_MAX		16	/* records in one file */
#define CHILDREN_KIND_MAX	16	/* a kind's bytes with the NUL */
#define CHILDREN_FILE_MAX	(1 << 20)	/* bytes of the file */
#define CHILDREN_PID_MAX	1000000000L
#define CHILDREN_WID_MAX	65	/* a worker id's bytes with the NUL */

/* One running child as the supervisor recorded it. */
struct children_rec {
	char			 kind[CHILDREN_KIND_MAX]; /* [a-z0-9_-]+ */
	pid_t			 pid;		/* 2 .. CHILDREN_PID_MAX */
	unsigned long long	 start_time;	/* plat_proc_starttime() */
	long			 gen;		/* >= 0 */
};

/* state/runtime/children.json: who wrote it and its children. */
struct children_table {
	pid_t			 supervisor_pid;
	char			 worker_id[CHILDREN_WID_MAX]; /* "": unknown */
	size_t			 n;
	struct children_rec	 v[CHILDREN_MAX];
};

/*
 * The path of children.json under <state_dir> into <buf>.  Returns 0, or
 * -1 with errno ENAMETOOLONG.
 */
int	children_path(const char *state_dir, char *buf, size_t size);

/*
 * Check <t> (borrowed) and write it as children.json under <state_dir>,
 * atomically (fs_write_atomic).  Returns 0, or -1 with errno set and
 * <err> (may be NULL) naming the file and the problem: EINVAL for a
 * record that would not read back, else the errno of the write.
 */
int	children_write(const char *state_dir, const struct children_table *t,
	    char *err, size_t errlen);

/*
 * Read children.json under <state_dir> into <t> (the caller's).  Returns
 * 0, or -1 with errno ENOENT when there is no file, EINVAL when its
 * content is bad (not JSON, a missing key, a wrong type, a value out of
 * range, too large), else the errno of the read; <err> (may be NULL)
 * names the file and the problem.  <t> is empty on failure.
 */
int	children_read(const char *state_dir, struct children_table *t,
	    char *err, size_t errlen);

/*
 * Parse the text of children.json (<len> bytes, borrowed) into <t> with
 * the checks of children_read.  Returns 0, or -1 with errno EINVAL and
 * <err> naming the problem (without a path); <t> is empty on failure.
 */
int	children_decode(const char *text, size_t len,
	    struct children_table *t, char *err, size_t errlen);

/*
 * The children.json text of <t> (cJSON_Print layout), checked as
 * children_decode would.  The caller frees it.  Returns NULL with errno
 * EINVAL and <err> naming the problem, or ENOMEM.
 */
char	*children_encode(const struct children_table *t, char *err,
	    size_t errlen);

/*
 * True when the process <r->pid> still exists and started at
 * r->start_time, i.e. it is the recorded child and not a reused pid.
 */
bool	children_rec_running(const struct children_rec *r);

#endif
