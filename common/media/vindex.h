/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_VINDEX_H
#define RV_COMMON_MEDIA_VINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/ids.h"

/*
 * The video index, state/video/index.json (SPEC section 5), and the
 * operations on it: refresh, repair, orphans, clean-zombies.  See
 * common/media/vindex.c for the rules.
 */

struct probe_info;
struct progress;

#define VINDEX_VERSION		"1.0"
#define VINDEX_SCHEMA		2
#define VINDEX_HISTORY_MAX	10
#define VINDEX_KEY_MAX		128	/* sha8, or a file stem */
#define VINDEX_PATH_MAX		1024
#define VINDEX_CODEC_MAX	32
#define VINDEX_ITEMS_MAX	20000
#define VINDEX_FILE_MAX		(64 * 1024 * 1024)
#define VINDEX_NOTES_MAX	1000
#define VINDEX_LOCK_TIMEOUT_MS	30000
#define VINDEX_FINAL_DIR	"video/final"
#define VINDEX_QUARANTINE_DIR	"video/quarantine"

/* Return codes shared by the functions below. */
enum vindex_rc {
	VINDEX_OK = 0,
	VINDEX_ERR = -1,	/* I/O, memory, lock timeout: err says which */
	VINDEX_CORRUPT = -2,	/* unparsable or wrong shape; file untouched */
	VINDEX_NOINDEX = -3,	/* the operation needs an existing index */
	VINDEX_STOPPED = -4	/* the progress callback asked to stop */
};

struct vindex_item {
	char		key[VINDEX_KEY_MAX + 1];
	char		path[VINDEX_PATH_MAX];	/* relative to the state root */
	char		run_id[ID_VIDEO_MAX + 1];	/* "" when unknown */
	char		segment_id[ID_SEGMENT_MAX + 1];	/* "" when unknown */
	long long	file_bytes;
	long long	file_mtime_ns;
	unsigned long long inode;
	unsigned long long device;
	char		refreshed_at[CLOCK_ISO_LEN];
	double		duration;
	long long	bitrate_bps;
	char		video_codec[VINDEX_CODEC_MAX];
	char		audio_codec[VINDEX_CODEC_MAX];
};

struct vindex {
	struct vindex_item *items;
	size_t		 nitems, cap;
	bool		 cached;	/* read from index.json.cache */
	bool		 missing;	/* no index.json existed at load */
	cJSON		*meta;		/* meta_info, owned */
};

/* One line of a report: a file or entry and what happened to it. */
struct vindex_note {
	char	name[VINDEX_PATH_MAX];
	char	what[16];	/* "skipped", "failed", "missing", ... */
	char	reason[256];
};

struct vindex_notes {
	struct vindex_note *v;
	size_t	 n, cap;
	size_t	 dropped;	/* notes beyond VINDEX_NOTES_MAX */
};

struct vindex_refresh_opts {
	bool	force;			/* re-probe unchanged files too */
	bool	allow_missing_sha8;	/* index names without sha8 by stem */
	bool	dry_run;		/* probe nothing, write nothing */
	bool	prune;			/* drop entries of vanished files */
	int	jobs;			/* probe processes; <= 0: cores */
	int	lock_timeout_ms;	/* <= 0: VINDEX_LOCK_TIMEOUT_MS */
};

struct vindex_refresh_report {
	size_t	scanned, probed, unchanged, skipped, failed, removed;
	bool	index_missing;		/* there was no index before */
	struct vindex_notes notes;	/* one per skipped or failed file */
};

struct vindex_repair_report {
	size_t	checked, missing, outside, removed;
	bool	applied;
	struct vindex_notes notes;	/* one per bad entry */
};

struct vindex_file {
	char		name[256];	/* file name inside video/final */
	long long	bytes;
	long long	mtime_ns;
};

struct vindex_files {
	struct vindex_file *v;
	size_t	 n, cap;
};

/* A zeroed struct gives the SPEC defaults; VINDEX_NONE asks for 0. */
#define VINDEX_NONE	(-1)
struct vindex_zombie_opts {
	bool	delete;			/* delete those older than delete_age */
	bool	dry_run;		/* decide and report, touch nothing */
	long long min_size_kb;		/* 0: 500; VINDEX_NONE: no minimum */
	int	keep_last_n;		/* 0: 2; VINDEX_NONE: keep none */
	long	quarantine_age_sec;	/* <= 0: default 6 h */
	long	delete_age_sec;		/* <= 0: default 48 h */
	time_t	now;			/* 0: time(NULL) */
};

struct vindex_zombie_report {
	size_t	orphans, quarantined, deleted, kept_small, kept_recent;
	size_t	kept_young, errors;
	struct vindex_notes notes;	/* one per orphan: action and reason */
};

/* Plain data. */
void	vindex_init(struct vindex *idx);
void	vindex_clear(struct vindex *idx);
struct vindex_item *vindex_find(struct vindex *idx, const char *key);
int	vindex_upsert(struct vindex *idx, const struct vindex_item *item);
int	vindex_remove(struct vindex *idx, const char *key);
int	vindex_history_add(struct vindex *idx, const char *list,
	    cJSON *entry);
bool	vindex_rel_path_ok(const char *rel);
int	vindex_item_fill(const char *state_dir, const char *rel,
	    const struct probe_info *pi, struct vindex_item *item,
	    char *err, size_t errlen);

/* The file and its lock. */
int	vindex_lock(const char *state_dir, bool exclusive, int timeout_ms,
	    char *err, size_t errlen);
void	vindex_unlock(int fd);
int	vindex_load(const char *state_dir, struct vindex *idx, char *err,
	    size_t errlen);
int	vindex_save(const char *state_dir, struct vindex *idx, char *err,
	    size_t errlen);
int	vindex_put(const char *state_dir, const struct vindex_item *item,
	    int timeout_ms, char *err, size_t errlen);
int	vindex_quarantine_corrupt(const char *state_dir, char *moved,
	    size_t movedsz, char *err, size_t errlen);

/* Operations. */
int	vindex_refresh(const char *state_dir,
	    const struct vindex_refresh_opts *opts, struct progress *prog,
	    struct vindex_refresh_report *rep, char *err, size_t errlen);
int	vindex_repair(const char *state_dir, bool apply,
	    struct vindex_repair_report *rep, char *err, size_t errlen);
int	vindex_orphans(const char *state_dir, struct vindex_files *out,
	    char *err, size_t errlen);
int	vindex_audit(const char *state_dir, struct vindex *idx,
	    struct vindex_repair_report *rep, struct vindex_files *out,
	    char *err, size_t errlen);
int	vindex_clean_zombies(const char *state_dir,
	    const struct vindex_zombie_opts *opts,
	    struct vindex_zombie_report *rep, char *err, size_t errlen);

void	vindex_notes_clear(struct vindex_notes *notes);
void	vindex_files_clear(struct vindex_files *files);
void	vindex_refresh_report_clear(struct vindex_refresh_report *rep);
void	vindex_repair_report_clear(struct vindex_repair_report *rep);
void	vindex_zombie_report_clear(struct vindex_zombie_report *rep);

#endif
