/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_SMSG_H
#define RV_SUPERVISOR_SMSG_H

#include <stdbool.h>

#include <cJSON.h>

#include "common/store/store.h"

/*
 * Typed messages between the supervisor's main loop and its two store
 * threads (lease.c, evthread.c).  A message is a heap struct whose pointer
 * travels over an inproc PAIR; whoever receives it owns it.  No text is
 * parsed between threads: every type is an enum value with a fixed set of
 * fields, and each side has one handler table.  A type without a handler
 * is our bug: it is logged as an error and dropped.
 */
enum smsg_type {
	/* main -> lease thread */
	SM_CLAIM = 0,		/* prev_token */
	SM_GATE,		/* reason, worker_state, json = evidence */
	SM_STATE,		/* worker_state */
	SM_FINISH,		/* status, text = error */
	SM_RELEASE,		/* worker_state */
	SM_KEEP,		/* SIGTERM: stop renewing, keep the claim */
	SM_DROP,		/* lost lock: forget the lease, write nothing */
	SM_POKE,		/* renew now */
	/* lease thread -> main */
	SM_CLAIMED,		/* lease, video_id, status, flag = recovery,
				   json = spec (NULL: none stored), gate,
				   text = STALE WORKER (recovered) detail */
	SM_NOCLAIM,
	SM_CLAIM_FAILED,	/* text */
	SM_HB,			/* lease, ok, status, flag = force_refetch,
				   gate_nonce, decided_nonce, decision */
	SM_UNCERTAIN,		/* text */
	SM_FENCE,
	SM_GATE_OK,		/* gate_nonce */
	SM_GATE_REFUSED,	/* the lock is gone */
	SM_GATE_FAILED,		/* text */
	SM_END_OK,		/* status = which end (finish/release/keep) */
	SM_END_REFUSED,
	SM_END_FAILED,		/* text */
	SM_STORE_HEALTH,	/* ok, text */
	SM_CONTRACT_FAIL,	/* text */
	/* main -> event thread */
	SM_EVENT,		/* json = spool record (already spooled) */
	SM_LEDGER_INTENT,	/* ident, req_id, lease, json = body */
	SM_OPERATOR,		/* ident, req_id, json = body */
	SM_REPLAY,
	SM_FENCE_EPOCH,		/* lease.run_id, lease.epoch: drop older */
	/* event thread -> main */
	SM_LEDGER_ACK,		/* ident, req_id, ok, flag = fresh, status =
				   prev state, decision = "fenced"/"unknown" */
	SM_OPERATOR_ACK,	/* ident, req_id, ok, status = result, text */
	SM_STALE,		/* lease.run_id, video_id, text = worker,
				   num = heartbeat age, flag = expired */
	SM_QUIT,
	SM_NTYPES
};

/* What the lease thread holds; the main loop keeps a read-only copy. */
struct lease_view {
	bool		 holding;
	char		 run_id[STORE_ID_MAX];
	char		 token[STORE_ID_MAX];
	long long	 epoch;
	char		 expires_at[STORE_TIME_MAX];
	long long	 latency_ms;
};

struct smsg {
	enum smsg_type	 type;
	struct lease_view lease;
	char		 video_id[STORE_VID_MAX];
	char		 status[STORE_STATUS_MAX];
	char		 worker_state[16];
	char		 reason[128];
	char		 prev_token[STORE_ID_MAX];
	char		 gate_nonce[STORE_ID_MAX];
	char		 decided_nonce[STORE_ID_MAX];
	char		 decision[16];
	char		 gate_reason[128];
	char		 text[512];
	char		 ident[64];
	long long	 req_id;
	double		 num;
	bool		 ok;
	bool		 flag;
	cJSON		*json;		/* owned by the message */
};

const char	*smsg_name(enum smsg_type t);
struct smsg	*smsg_new(enum smsg_type t);
void		 smsg_free(struct smsg *m);
int		 smsg_send(void *sock, struct smsg *m);
struct smsg	*smsg_recv(void *sock);
void		 smsg_drain(void *sock);

#endif
