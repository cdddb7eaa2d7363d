/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_SUP_H
#define RV_SUPERVISOR_SUP_H

#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "common/core/config.h"
#include "common/store/store.h"
#include "supervisor/smsg.h"

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

#define CHILD_TREE_KEEP	64

struct child {
	enum kind	 kind;
	enum child_state state;
	pid_t		 pid;
	unsigned long long start_time;	/* /proc starttime, for leftovers */
	long		 gen;
	char		 ident[64];
	int64_t		 started_ms, last_hb_ms, last_progress_ms;
	int		 hb_every_ms;	/* its announced heartbeat rhythm */
	int64_t		 next_sup_hb;	/* our next heartbeat to it */
	long long	 progress;
	long long	 task_id;	/* 0: idle */
	int64_t		 restart_at;	/* when DOWN: next spawn time */
	int		 backoff_ms;
	int64_t		 restarts[8];	/* ring of recent restart times */
	int		 nrestarts;	/* total */
	bool		 paused;	/* SIGSTOPped by us */
	bool		 jobs_done;	/* finished at least one task */
	bool		 killed_by_us;
	bool		 browser;	/* its last heartbeat: inside a browser */
	bool		 lost_reported;	/* the run was told of its loss */
	/* its descendants at its last busy heartbeat (child_on_hb) */
	pid_t		 tree[CHILD_TREE_KEEP];
	unsigned long long tree_start[CHILD_TREE_KEEP];
	size_t		 ntree;
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

/* The run state machine's states and events (run.c has the table). */
enum run_state {
	RS_IDLE = 0,		/* no run; claim when due */
	RS_CLAIMING,		/* claim sent, no answer yet */
	RS_RUNNING,		/* dispatching stages */
	RS_GATING,		/* gate asked for, not confirmed by the store */
	RS_GATED,		/* the store holds our gate: wait for its decision */
	RS_QUARANTINE,		/* renderer frozen: wait before restarting it */
	RS_UNCERTAIN,		/* renewals failing: children paused */
	RS_FENCED,		/* near expiry unconfirmed: children killed */
	RS_FINISHING,		/* finish sent, not confirmed */
	RS_RELEASING,		/* stopping: claim kept, renewal ended */
	RS_NSTATES
};

enum run_event {
	RE_CLAIM_DUE = 0, RE_CLAIMED, RE_NOCLAIM, RE_CLAIM_FAILED,
	RE_HB_OK, RE_GATED_IN_STORE, RE_DECIDED_APPROVE, RE_DECIDED_REFETCH,
	RE_REFETCH_ASKED, RE_ABORTED, RE_LOST, RE_UNCERTAIN, RE_FENCE,
	RE_GATE_NEEDED, RE_GATE_OK, RE_GATE_REFUSED, RE_GATE_FAILED,
	RE_DISPATCH_DUE, RE_ALL_DONE, RE_QUARANTINE_OVER, RE_RETRY_DUE,
	RE_STAGE_OK, RE_STAGE_GATE, RE_STAGE_PANIC, RE_STAGE_FAILED,
	RE_CHILD_LOST, RE_BROWSER_FROZEN,
	RE_END_OK, RE_END_REFUSED, RE_END_FAILED, RE_STOP,
	RE_NEVENTS
};

struct smsg;
struct child;

/* One event for the machine; every pointer is borrowed for the call. */
struct run_ev {
	enum run_event	 type;
	const struct smsg *m;		/* store thread answer, if any */
	struct child	*c;		/* child, for results and losses */
	const cJSON	*hdr, *body;	/* child RESULT */
	const char	*text;		/* why */
};

/* A gate the run asked for and the alert to send once it is confirmed. */
struct gate_req {
	char		 reason[128];
	char		 worker_state[16];
	cJSON		*evidence;	/* owned; NULL: {} */
	char		 alert[64];
	char		 detail[512];
	cJSON		*extra;		/* owned alert keys; may be NULL */
};

struct run {
	enum run_state	 state;
	enum run_state	 resume;	/* state to go back to after
					   UNCERTAIN / FENCED */
	struct lease_view lease;	/* read-only copy of the lease thread's */
	char		 video_id[STORE_VID_MAX];
	bool		 is_recovery;
	cJSON		*spec;
	char		 spec_dir[CFG_STR_MAX];
	cJSON		*ckpt;		/* checkpoint document */
	enum stage	 stage;
	long long	 task_id;	/* outstanding task, 0: none */
	enum kind	 task_kind;
	int64_t		 task_sent_ms;
	bool		 task_store_fault; /* a store call of the task failed */
	int		 frozen;	/* panic_browser_frozen count */
	int64_t		 quarantine_until;
	int64_t		 retry_at;	/* stage, gate or finish retry */
	int		 retry_ms;	/* current backoff */
	int		 stage_failures;
	bool		 refetching;	/* evidence re-run after refetch */
	bool		 refetched;	/* a refetch already happened */
	struct gate_req	 gate;
	char		 gate_nonce[STORE_ID_MAX];	/* confirmed gate */
	char		 gate_older[4][STORE_ID_MAX];	/* gates of ours it
							   replaced */
	char		 gate_reason[128];
	char		 worker_state[16];
	char		 status[STORE_STATUS_MAX];
	char		 finish_status[STORE_STATUS_MAX];
	char		 finish_error[256];
};

#define ALERT_SEEN_MAX	64

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
	int		 claim_backoff_ms;
	bool		 stopping;
	int64_t		 stop_deadline;
	int		 stop_grace_ms;
	bool		 once_done;
	int		 quarantine_sec;
	int		 lost_lock_wait_sec;
	int		 stage_stall_sec;
	pid_t		 inhibit_pid;
	char		 state[16];	/* supervisor state: active ... */
	bool		 store_up;	/* lease thread's last health report */
	bool		 store_contract_broken; /* why it is not up */
	bool		 store_confirmed; /* its contract passed once */
	bool		 service_ready;	/* READY=1 went to the manager */
	int64_t		 store_retry_at; /* next contract check; 0: none */
	char		 store_error[256];
	cJSON		*alerts;	/* outbox to rvw-notify (array) */
	long long	 alert_task;	/* task carrying alerts[0], 0: none */
	long		 notify_started_gen;
	struct {
		char	 key[160];
		int64_t	 at;
	} alert_seen[ALERT_SEEN_MAX];	/* dedup: same alert, same run */
};

/* Signals seen by the handler (only flags and the self-pipe). */
extern volatile sig_atomic_t sup_sig_term, sup_sig_chld, sup_sig_hup;

const char *kind_name(enum kind k);
int	 kind_from_name(const char *name);
const char *stage_name(enum stage s);
int	 sup_pair(struct sup_env *env, const char *name, void **mine,
	    void **theirs, char *err, size_t errlen);

/* child.c: the child table and its state machine */
enum child_event {
	CE_SPAWNED = 0,		/* fork+exec done */
	CE_READY,		/* READY received */
	CE_TASK,		/* a task was sent */
	CE_RESULT,		/* its result arrived */
	CE_DIED,		/* reaped */
	CE_SILENT,		/* no heartbeat for liveness x interval */
	CE_STUCK,		/* heartbeats without progress */
	CE_NO_READY,		/* no READY in time */
	CE_STOP,		/* kill it now: its task is not wanted */
	CE_SHUTDOWN,		/* stop at a safe point (SIGTERM of rvsup) */
	CE_NEVENTS
};
void	 child_init(struct sup_env *env);
void	 child_event(struct sup_env *env, struct child *c,
	    enum child_event ev, const char *why);
void	 child_kill_leftovers(struct sup_env *env);
void	 child_reap(struct sup_env *env);
void	 child_check(struct sup_env *env, int64_t now);
int64_t	 child_next_deadline(struct sup_env *env);
void	 child_on_hb(struct sup_env *env, struct child *c, long long progress,
	    bool browser, long long next_ms);
struct child *child_by_ident(struct sup_env *env, const char *ident);
void	 child_write_table(struct sup_env *env);
void	 child_pause_all(struct sup_env *env, bool pause);
void	 child_stop_all(struct sup_env *env);
bool	 child_any_alive(struct sup_env *env);
void	 child_kill_all(struct sup_env *env);
int	 child_send(struct sup_env *env, struct child *c, const char *type,
	    const cJSON *hdr, const cJSON *body);
void	 child_send_sup_hb(struct sup_env *env, int64_t now);
bool	 child_crash_loop(struct child *c, int64_t now);
cJSON	*child_status_json(struct child *c, int64_t now);
void	 child_print_table(FILE *fp);

/* lease.c: the lease thread */
int	 lease_start(struct sup_env *env, char *err, size_t errlen);
void	 lease_stop(struct sup_env *env);
int	 lease_send(struct sup_env *env, struct smsg *m);

/* evthread.c: the event thread */
int	 evthread_start(struct sup_env *env, char *err, size_t errlen);
void	 evthread_stop(struct sup_env *env);
int	 evthread_send(struct sup_env *env, struct smsg *m);
int	 sup_spool_record(struct sup_env *env, cJSON *rec);
void	 sup_event(struct sup_env *env, const char *event_type,
	    const char *severity, const char *reason_key, cJSON *payload);
void	 sup_event_id(struct sup_env *env, const char *event_id,
	    const char *event_type, const char *severity,
	    const char *reason_key, cJSON *payload);

/* rvsup.c */
void	 sup_prev_token(struct sup_env *env, char *tok, size_t size);

/* run.c: the run state machine */
const char *run_state_name(enum run_state s);
const char *run_event_name(enum run_event e);
void	 run_post(struct sup_env *env, const struct run_ev *ev);
void	 run_post_type(struct sup_env *env, enum run_event type);
void	 run_on_lease_msg(struct sup_env *env, const struct smsg *m);
void	 run_tick(struct sup_env *env, int64_t now);
int64_t	 run_next_deadline(struct sup_env *env);
bool	 run_holding(const struct run *r);
void	 run_print_table(FILE *fp);

/* sched.c: the stages of the held run (actions of the run machine) */
void	 sched_setup(struct sup_env *env, const struct smsg *m);
void	 sched_clear(struct sup_env *env);
void	 sched_result(struct sup_env *env, struct child *c,
	    const cJSON *hdr, const cJSON *body);
bool	 sched_can_dispatch(struct sup_env *env);
void	 sched_dispatch(struct sup_env *env, int64_t now);
bool	 sched_all_done(const struct run *r);
void	 sched_stage_done(struct sup_env *env, const cJSON *body);
void	 sched_stage_failed(struct sup_env *env, const char *error);
void	 sched_stage_pending(struct sup_env *env);
void	 sched_gate_result(struct sup_env *env, const cJSON *body);
void	 sched_panic_result(struct sup_env *env, const char *panic,
	    const cJSON *body, const char *error);
void	 sched_prepare_gate(struct sup_env *env, const char *reason,
	    const char *ws, cJSON *evidence, const char *alert,
	    const char *detail, cJSON *extra);
void	 sched_gate_confirmed(struct sup_env *env, const char *nonce);
void	 sched_resume(struct sup_env *env, const char *decision);
void	 sched_apply_spec(struct sup_env *env, const cJSON *spec);
void	 sched_refetch(struct sup_env *env);
void	 sched_save_ckpt(struct sup_env *env);
void	 sched_set_worker_state(struct sup_env *env, const char *ws);
void	 sched_stop_task(struct sup_env *env, const char *why);
void	 sched_alert(struct sup_env *env, const char *what,
	    const char *detail);
void	 sched_alert_x(struct sup_env *env, const char *what,
	    const char *detail, cJSON *extra);
cJSON	*sched_buttons(void);

/* notify.c: alerts to rvw-notify, operator actions from it */
void	 notify_enqueue(struct sup_env *env, const cJSON *alert);
void	 notify_flush(struct sup_env *env);
bool	 notify_pending(struct sup_env *env);
void	 notify_on_result(struct sup_env *env, long long task);
void	 notify_on_operator(struct sup_env *env, struct child *c,
	    const cJSON *hdr, const cJSON *body);
void	 notify_on_ack(struct sup_env *env, const struct smsg *m);

/* control.c */
void	 control_dispatch(struct sup_env *env);
cJSON	*control_status(struct sup_env *env);

#endif
