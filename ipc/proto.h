/* SPDX-License-Identifier: ISC */
#ifndef RV_IPC_PROTO_H
#define RV_IPC_PROTO_H

/*
 * The wire protocol between rvsup and its children (RVW1) and between
 * rvctl and rvsup (RVC1).  Every message is multipart:
 *
 *	[tag "RVW1"|"RVC1"] [type] [header JSON object] [body JSON, optional]
 *
 * preceded on a ROUTER by the peer's routing id.  The tag carries the
 * protocol version: an incompatible change bumps the digit.  Nothing here
 * knows what a stage or a run is; the header and body are opaque JSON
 * whose required keys are listed in the type table of ipc/msg.c.
 */

#define IPC_TAG_WORKER		"RVW1"
#define IPC_TAG_CONTROL		"RVC1"
#define IPC_TAG_LEN		4

#define IPC_TYPE_MAX		15	/* bytes of a type verb */
#define IPC_HDR_MAX		(16 * 1024)
#define IPC_BODY_MAX		(1024 * 1024)
#define IPC_MSG_MAX		(IPC_BODY_MAX + IPC_HDR_MAX + 64)
#define IPC_IDENT_MAX		64
#define IPC_ENDPOINT_MAX	107	/* sun_path limit, including "ipc://" */

/* Worker channel, child -> supervisor. */
#define IPC_READY	"READY"		/* kind, pid, gen */
#define IPC_HB		"HB"		/* progress, busy [, browser] */
#define IPC_RESULT	"RESULT"	/* task_id, outcome [, error]; body */
#define IPC_EVENT	"EVENT"		/* task_id; body = event */
#define IPC_LEDGER	"LEDGER"	/* req_id, op; body */
#define IPC_OPERATOR	"OPERATOR"	/* req_id; body = action request */
/* Worker channel, supervisor -> child. */
#define IPC_TASK	"TASK"		/* task_id, type, epoch; body = args */
#define IPC_STOP	"STOP"		/* (none) */
#define IPC_LEDGER_ACK	"LEDGER_ACK"	/* req_id, ok [, fresh, prev_state] */
#define IPC_SUP_HB	"SUP_HB"	/* (none): the supervisor is alive */
#define IPC_VERBOSE	"VERBOSE"	/* level */
#define IPC_OPERATOR_ACK "OPERATOR_ACK"	/* req_id, ok [, result, msg] */

/* Control channel, rvctl -> supervisor, and replies. */
#define IPC_CTL_STATUS	"STATUS"	/* id */
#define IPC_CTL_VERBOSE	"SET_VERBOSE"	/* id, level */
#define IPC_CTL_REPLY	"REPLY"		/* id, ok [, error]; body */

/* Defaults of the liveness rules (SPEC section 1). */
#define IPC_LIVENESS		3	/* missed intervals = unresponsive */

#endif
