/* SPDX-License-Identifier: ISC */
#ifndef RV_CTL_CTL_H
#define RV_CTL_CTL_H

/*
 * What the rvctl command files share: the environment every command
 * gets, the command table entry, the exit codes, and the helpers of the
 * operator tooling (options, checks and their verdicts, what the runs
 * hold, facts about this machine).  Each command family lives in its own
 * ctl_<family>.c; rvctl.c holds the table and main.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stdio.h>

#include <cJSON.h>

#include "common/core/config.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/media/timeline.h"
#include "common/media/vindex.h"
#include "common/telegram/tg_alert.h"

/* Exit codes of every rvctl command. */
#define CTL_OK		0
#define CTL_WARN	1	/* also: refused */
#define CTL_CRIT	2
#define CTL_NOTRUN	3	/* status: no supervisor */
#define CTL_USAGE	64
#define CTL_DATAERR	65
#define CTL_UNAVAIL	69
#define CTL_SOFTWARE	70

struct ctl_alerts;

struct ctl_env {
	struct rv_config cfg;
	bool		 json;
	bool		 cfg_ok;
	char		 cfg_err[4096];
	struct store	 st;
	bool		 st_open;
	struct ctl_alerts *alerts;	/* doctor --alert collects here */
};

struct ctl_cmd {
	const char	*name;
	int		(*fn)(struct ctl_env *, int, char **);
	const char	*usage;
	const char	*help;
};

int	ctl_store(struct ctl_env *env);
bool	ctl_settings_ok(const struct ctl_env *env, const char *cmd);
void	ctl_print_json(const cJSON *j);
const char *ctl_jstr(const cJSON *o, const char *key);
int	ctl_jint(const cJSON *o, const char *key);
long long ctl_jll(const cJSON *o, const char *key);
int	ctl_usage(const struct ctl_cmd *cmd);
const struct ctl_cmd *ctl_lookup(const char *name);

/* ctl_runs.c */
int	ctl_enqueue(struct ctl_env *, int, char **);
int	ctl_amend(struct ctl_env *, int, char **);
int	ctl_runs(struct ctl_env *, int, char **);
int	ctl_events(struct ctl_env *, int, char **);
int	ctl_action(struct ctl_env *, int, char **);
int	ctl_unlock(struct ctl_env *, int, char **);
cJSON	*ctl_run_json(const struct store_run *r);

/* ctl_status.c */
int	ctl_status(struct ctl_env *, int, char **);
int	ctl_log_level(struct ctl_env *, int, char **);
cJSON	*ctl_control_request(struct ctl_env *env, const char *type,
	    cJSON *hdr_extra, int timeout_ms, char *err, size_t errlen);
struct ctl_runs;
cJSON	*ctl_status_json(const struct ctl_env *env, const cJSON *st,
	    const struct ctl_runs *runs, bool have_runs);

/* ctl_dashboard.c */
int	ctl_dashboard(struct ctl_env *, int, char **);

/* ctl_opts.c: option tables of the operator commands. */
enum ctl_opt_type {
	CTL_OPT_FLAG,		/* dst: bool * */
	CTL_OPT_STR,		/* dst: const char ** */
	CTL_OPT_INT		/* dst: long *, within [min, max] */
};

struct ctl_opt {
	const char	*name;		/* "--video" */
	enum ctl_opt_type type;
	void		*dst;
	long		 min, max;
};

int	ctl_opts_parse(const char *cmd, const struct ctl_opt *opts, int argc,
	    char **argv);

/* ctl_diag.c: checks with a verdict, colour, next actions. */
enum ctl_level {
	CTL_LVL_OK = 0,
	CTL_LVL_WARN,
	CTL_LVL_CRIT
};

struct ctl_check {
	char		name[48];
	enum ctl_level	level;
	char		detail[768];
	char		action[512];	/* "" when nothing to do */
};

struct ctl_diag {
	struct ctl_check *v;
	size_t		 n, cap;
	enum ctl_level	 worst;
	const struct rv_config *cfg;	/* secrets to mask; may be NULL */
};

void	ctl_diag_init(struct ctl_diag *d, const struct rv_config *cfg);
void	ctl_diag_clear(struct ctl_diag *d);
void	ctl_diag_add(struct ctl_diag *d, enum ctl_level lvl, const char *name,
	    const char *action, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
void	ctl_diag_print(const struct ctl_diag *d, FILE *fp, bool pass_fail);
void	ctl_diag_print_actions(const struct ctl_diag *d, FILE *fp);
cJSON	*ctl_diag_json(const struct ctl_diag *d, bool pass_fail);
int	ctl_diag_exit(const struct ctl_diag *d);
const char *ctl_level_name(enum ctl_level lvl, bool pass_fail);
bool	ctl_color(FILE *fp);
const char *ctl_paint(FILE *fp, enum ctl_level lvl);
const char *ctl_unpaint(FILE *fp);

/* ctl_runinfo.c: what the runs hold, for report, timeline and status. */
#define CTL_LOW_BITRATE_BPS	1000000LL	/* below: low bitrate */

struct ctl_seg {
	char		 segment_id[ID_SEGMENT_MAX + 1];
	char		 kind[16];
	double		 target;
	char		 file[VINDEX_PATH_MAX];	/* final video, "" missing */
	double		 duration;		/* probed */
	long long	 bitrate_bps;		/* 0: unknown */
	bool		 ready;
	bool		 paid;			/* a done ledger row */
	bool		 ledgered;		/* any ledger row */
};

struct ctl_run {
	struct store_run r;
	bool		 have_spec;
	char		 spec_err[160];		/* why there is no spec */
	struct ctl_seg	*segs;
	size_t		 nsegs;
	struct timeline_qc qc;
	size_t		 low_bitrate;
	long		 needed, saved, spent;	/* credits */
	size_t		 intents_open;		/* ledger intents unresolved */
};

enum ctl_index_state {
	CTL_INDEX_OK = 0,
	CTL_INDEX_MISSING,
	CTL_INDEX_CORRUPT,
	CTL_INDEX_BUSY		/* its lock was not free in time */
};

struct ctl_runs {
	struct ctl_run	*v;
	size_t		 n;
	bool		 from_store;	/* false: the state/jobs mirrors */
	bool		 ledger;	/* the ledger was read */
	char		 store_err[256];
	enum ctl_index_state index_state;
	char		 index_err[256];
	long		 per_segment;	/* credits a render costs */
};

struct ctl_totals {
	size_t		 runs, active, finished, segs, ready, missing;
	size_t		 missing_finished, to_render, low_bitrate;
	size_t		 intents_open;
	long		 needed, saved, spent;
	const struct ctl_run *worst_run;	/* largest |segment delta| */
	const struct ctl_run *drift_run;	/* largest |running drift| */
	const struct ctl_run *missing_run;	/* first finished, missing */
	enum timeline_verdict verdict;		/* worst over finished runs */
};

#define CTL_RI_LEDGER	0x01	/* read the credit ledger */
#define CTL_RI_QUICK	0x02	/* wait at most 100 ms for the index lock */

int	ctl_store_try(struct ctl_env *env, bool create, char *err,
	    size_t errlen);
int	ctl_runs_load(struct ctl_env *env, const char *only, int flags,
	    struct ctl_runs *out, char *err, size_t errlen);
void	ctl_runs_clear(struct ctl_runs *runs);
void	ctl_runs_totals(const struct ctl_runs *runs, struct ctl_totals *t);
bool	ctl_run_terminal(const struct ctl_run *run);
int	ctl_run_timeline(const struct ctl_run *run,
	    struct timeline_seg **segs);
void	ctl_money(const struct rv_config *cfg, long credits, char *buf,
	    size_t size);

/* ctl_local.c: this machine: supervisor, children, .env, .tmp files. */
struct ctl_leftover {
	pid_t		 pid;
	char		 kind[16];
	long		 supervisor_pid;
};

/* ctl_tools.c: a media tool's version line, cached per binary. */
#define CTL_TOOL_LINE_MAX	128
int	ctl_tool_version(const char *state_dir, const char *tool,
	    const char *flag, char *line, size_t size);

pid_t	ctl_local_supervisor(const struct ctl_env *env, bool *stale);
const char *ctl_local_worker_id(const struct ctl_env *env, char *buf,
	    size_t size);
size_t	ctl_local_leftovers(const struct ctl_env *env, pid_t live,
	    struct ctl_leftover *out, size_t max);
int	ctl_local_env_mode(const char *path, mode_t *mode);
size_t	ctl_local_tmp_walk(const char *dir, void (*fn)(const char *path,
	    const struct stat *sb, void *arg), void *arg);
size_t	ctl_local_tmp_files(const char *state_dir, char *first,
	    size_t firstlen);

/* ctl_doctor.c */
int	ctl_doctor(struct ctl_env *, int, char **);
void	ctl_check_env_file(struct ctl_diag *d);

/* ctl_contract.c */
int	ctl_check_contract(struct ctl_env *, int, char **);
void	ctl_contract_checks(struct ctl_env *env, struct ctl_diag *d,
	    bool each);

/* ctl_report.c */
int	ctl_preflight(struct ctl_env *, int, char **);
int	ctl_report(struct ctl_env *, int, char **);
cJSON	*ctl_report_summary_json(const struct ctl_env *env,
	    const struct ctl_runs *runs);
void	ctl_report_summary(const struct ctl_env *env,
	    const struct ctl_runs *runs, FILE *fp);

/* ctl_timeline.c */
int	ctl_timeline(struct ctl_env *, int, char **);

/* ctl_index.c */
int	ctl_index_refresh(struct ctl_env *, int, char **);
int	ctl_index_repair(struct ctl_env *, int, char **);
int	ctl_orphans(struct ctl_env *, int, char **);
int	ctl_clean_zombies(struct ctl_env *, int, char **);
int	ctl_maintenance(struct ctl_env *, int, char **);

/* ctl_clean.c */
int	ctl_clean(struct ctl_env *, int, char **);
int	ctl_logs(struct ctl_env *, int, char **);

/* ctl_spool.c */
int	ctl_replay_spool(struct ctl_env *, int, char **);
size_t	ctl_spool_files(const char *spool_dir, const char *sub);
int	ctl_quarantine(struct ctl_env *, int, char **);
int	ctl_purge_spool(struct ctl_env *, int, char **);

/* ctl_baptism.c */
int	ctl_baptism(struct ctl_env *, int, char **);

/* ctl_notify.c */
int	ctl_notify_test(struct ctl_env *, int, char **);

/* ctl_alert.c: doctor --alert, its findings sent to Telegram. */
#define CTL_ALERTS_MAX		64	/* findings kept per doctor run */
#define CTL_ALERT_SEND_MAX	5	/* messages sent per doctor run */
#define CTL_ALERT_STALE		"STALE WORKER"
#define CTL_ALERT_CONTRACT	"CONTRACT FAIL"

struct ctl_alert {
	char	 reason[TG_ALERT_KIND_MAX];
	char	 run_id[STORE_ID_MAX];		/* "": the store itself */
	char	 video_id[STORE_VID_MAX];
	char	 worker_id[STORE_WID_MAX];
	char	 detail[TG_ALERT_DETAIL_MAX];
};

struct ctl_alerts {
	struct ctl_alert v[CTL_ALERTS_MAX];
	size_t		 n;
	size_t		 over;		/* findings past CTL_ALERTS_MAX */
};

void	ctl_alert_add(struct ctl_alerts *al, const char *reason,
	    const char *run_id, const char *video_id, const char *worker_id,
	    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int	ctl_alert_send(struct ctl_env *env, struct ctl_diag *d,
	    bool runs_known);

#endif
