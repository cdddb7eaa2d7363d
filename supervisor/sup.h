/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_SUP_H
#define RV_SUPERVISOR_SUP_H

#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "common/config.h"
#include "common/store.h"

/* Child kinds, in the order they are started. */
enum kind {
	K_EVIDENCE = 0,
	K_VOICE,
	K_RENDER,
	K_PROBE,
	K_NOTIFY,
	K_NKINDS
};

enum child_state {
	CH_DOWN = 0,
	CH_STARTING,
	CH_READY,
	CH_BUSY,
	CH_STOPPING
};

struct child {
	enum kind	 kind;
	enum child_state state;
	pid_t		 pid;
	unsigned long long start_time;	/* /proc starttime, for leftovers */
	long		 gen;
	char		 ident[64];
	int64_t		 started_ms, last_hb_ms, last_progress_ms;
	long long	 progress;
	long long	 task_id;	/* 0: idle */
	int64_t		 restart_at;	/* when DOWN: next spawn time */
	int		 backoff_ms;
	int64_t		 restarts[8];	/* ring of recent restart times */
	int		 nrestarts;	/* total */
	bool		 paused;	/* SIGSTOPped by us */
	bool		 jobs_done;	/* finished at least one task */
	bool		 killed_by_us;
};

/* Pipeline stages. */
enum stage {
	ST_EVIDENCE = 0,
	ST_VOICE,
	ST_RENDER,
	ST_PROBE,
	ST_TIMELINE,
	ST_NSTAGES
};

enum run_mode {
	RM_NONE = 0,		/* no run */
	RM_RUNNING,		/* dispatching stages */
	RM_GATED,		/* waiting for the operator (gate or panic) */
	RM_QUARANTINE,		/* renderer frozen: waiting before restart */
	RM_FINISHING		/* finish/release sent, waiting for answer */
};

struct run {
	enum run_mode	 mode;
	char		 run_id[STORE_ID_MAX];
	char		 video_id[STORE_VID_MAX];
	char		 token[STORE_ID_MAX];
	long long	 epoch;
	bool		 is_recovery;
	cJSON		*spec;
	char		 spec_dir[CFG_STR_MAX];
	cJSON		*ckpt;		/* checkpoint document */
	enum stage	 stage;
	long long	 task_id;	/* outstanding task, 0: none */
	enum kind	 task_kind;
	int64_t		 task_sent_ms;
	int		 frozen;	/* panic_browser_frozen count */
	int64_t		 quarantine_until;
	int64_t		 retry_at;	/* stage retry after failure */
	int		 stage_failures;
	bool		 refetching;	/* evidence re-run after refetch */
	bool		 refetched;	/* a refetch already happened */
	bool		 gate_confirmed;
	char		 gate_reason[128];
	char		 worker_state[16];
	char		 status[STORE_STATUS_MAX];
	char		 lease_expires_at[STORE_TIME_MAX];
	long long	 hb_latency_ms;
	bool		 paused;	/* heartbeat uncertain: children stopped */
	bool		 fenced;	/* children killed near lease expiry */
};

struct sup_env {
	struct rv_config cfg;
	char		 bindir[1024];
	char		 worker_id[STORE_WID_MAX];
	bool		 once;
	char		 started_at[40];
	void		*zctx;
	void		*workers;	/* ROUTER */
	void		*control;	/* ROUTER */
	void		*lease;		/* PAIR to the lease thread */
	void		*events;	/* PAIR to the event thread */
	int		 sigpipe[2];
	struct child	 children[K_NKINDS];
	struct run	 run;
	long long	 next_task_id;
	int64_t		 next_claim_ms;
	int64_t		 next_sup_hb_ms;
	bool		 claim_pending;
	bool		 stopping;
	int64_t		 stop_deadline;
	bool		 exit_now;
	bool		 once_done;
	int		 quarantine_sec;
	int		 lost_lock_wait_sec;
	int		 stage_stall_sec;
	pid_t		 inhibit_pid;
	char		 state[16];	/* supervisor state: active ... */
	cJSON		*alerts;	/* outbox to rvw-notify (array) */
	long long	 alert_task;	/* task carrying alerts[0], 0: none */
	long		 notify_started_gen;
};

/* Signals seen by the handler (only flags and the self-pipe). */
extern volatile sig_atomic_t sup_sig_term, sup_sig_chld, sup_sig_hup;

const char *kind_name(enum kind k);
int	 kind_from_name(const char *name);
const char *stage_name(enum stage s);

/* child.c */
void	 child_init(struct sup_env *env);
void	 child_kill_leftovers(struct sup_env *env);
int	 child_spawn(struct sup_env *env, struct child *c);
void	 child_kill_tree(struct sup_env *env, struct child *c,
	    const char *why);
void	 child_reap(struct sup_env *env);
void	 child_check(struct sup_env *env, int64_t now);
void	 child_on_hb(struct sup_env *env, struct child *c, long long progress);
struct child *child_by_ident(struct sup_env *env, const char *ident);
void	 child_write_table(struct sup_env *env);
void	 child_pause_all(struct sup_env *env, bool pause);
void	 child_stop_all(struct sup_env *env);
bool	 child_any_alive(struct sup_env *env);
void	 child_kill_all(struct sup_env *env);
int	 child_send(struct sup_env *env, struct child *c, const char *type,
	    const cJSON *hdr, const cJSON *body);
void	 child_send_sup_hb(struct sup_env *env);
bool	 child_crash_loop(struct child *c, int64_t now);
cJSON	*child_status_json(struct child *c, int64_t now);

/* lease.c: store threads */
int	 lease_start(struct sup_env *env, char *err, size_t errlen);
void	 lease_stop(struct sup_env *env);
int	 lease_request(struct sup_env *env, const char *type, cJSON *args);
int	 events_request(struct sup_env *env, const char *type, cJSON *args);
void	 sup_event(struct sup_env *env, const char *event_type,
	    const char *severity, const char *reason_key, cJSON *payload);
void	 sup_event_id(struct sup_env *env, const char *event_id,
	    const char *event_type, const char *severity,
	    const char *reason_key, cJSON *payload);
int	 pair_recv(void *sock, char *type, size_t tsize, cJSON **body);

/* sched.c: the run and its stages */
void	 sched_on_claim(struct sup_env *env, const cJSON *c);
void	 sched_tick(struct sup_env *env, int64_t now);
void	 sched_on_result(struct sup_env *env, struct child *c,
	    const cJSON *hdr, const cJSON *body);
void	 sched_on_hb_answer(struct sup_env *env, const cJSON *a);
void	 sched_on_lease_msg(struct sup_env *env, const char *type,
	    const cJSON *body);
void	 sched_on_child_lost(struct sup_env *env, struct child *c,
	    const char *why, bool stuck);
void	 sched_shutdown(struct sup_env *env);
void	 sched_clear(struct sup_env *env);
void	 sched_alert(struct sup_env *env, const char *what,
	    const char *detail);
void	 sched_alert_x(struct sup_env *env, const char *what,
	    const char *detail, cJSON *extra);

/* notify.c: alerts to rvw-notify, operator actions from it */
void	 notify_enqueue(struct sup_env *env, const cJSON *alert);
void	 notify_flush(struct sup_env *env);
void	 notify_on_result(struct sup_env *env, long long task);
void	 notify_on_operator(struct sup_env *env, struct child *c,
	    const cJSON *hdr, const cJSON *body);
void	 notify_on_ack(struct sup_env *env, const cJSON *b);

/* control.c */
void	 control_dispatch(struct sup_env *env);
cJSON	*control_status(struct sup_env *env);

#endif
