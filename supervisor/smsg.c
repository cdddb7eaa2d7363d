/* SPDX-License-Identifier: ISC */
/*
 * smsg.c: typed messages between the supervisor's threads.
 *
 * A message is allocated by its sender and handed over as a pointer in
 * one inproc frame: ownership moves with it (smsg_send takes it, also on
 * failure; smsg_recv gives it).  Only threads of one process exchange
 * these, so nothing is serialised; the frame is checked to hold exactly a
 * pointer and the type to be in range before anything is used.
 *
 * Public: smsg_name, smsg_new, smsg_free, smsg_send, smsg_recv,
 * smsg_drain.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/core/log.h"
#include "supervisor/smsg.h"

static const char *const names[SM_NTYPES] = {
	[SM_CLAIM] = "CLAIM", [SM_GATE] = "GATE", [SM_STATE] = "STATE",
	[SM_FINISH] = "FINISH", [SM_RELEASE] = "RELEASE", [SM_KEEP] = "KEEP",
	[SM_DROP] = "DROP", [SM_POKE] = "POKE", [SM_CLAIMED] = "CLAIMED",
	[SM_NOCLAIM] = "NOCLAIM", [SM_CLAIM_FAILED] = "CLAIM_FAILED",
	[SM_HB] = "HB", [SM_UNCERTAIN] = "UNCERTAIN", [SM_FENCE] = "FENCE",
	[SM_GATE_OK] = "GATE_OK", [SM_GATE_REFUSED] = "GATE_REFUSED",
	[SM_GATE_FAILED] = "GATE_FAILED", [SM_END_OK] = "END_OK",
	[SM_END_REFUSED] = "END_REFUSED", [SM_END_FAILED] = "END_FAILED",
	[SM_STORE_HEALTH] = "STORE_HEALTH",
	[SM_CONTRACT_FAIL] = "CONTRACT_FAIL", [SM_EVENT] = "EVENT",
	[SM_LEDGER_INTENT] = "LEDGER_INTENT", [SM_OPERATOR] = "OPERATOR",
	[SM_REPLAY] = "REPLAY", [SM_FENCE_EPOCH] = "FENCE_EPOCH",
	[SM_LEDGER_ACK] = "LEDGER_ACK", [SM_OPERATOR_ACK] = "OPERATOR_ACK",
	[SM_STALE] = "STALE", [SM_QUIT] = "QUIT",
};

const char *
smsg_name(enum smsg_type t)
{
	return (unsigned)t < SM_NTYPES && names[t] != NULL ? names[t] : "?";
}

/* A zeroed message of type <t>; aborts on out-of-memory. */
struct smsg *
smsg_new(enum smsg_type t)
{
	struct smsg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		fatal("%s", __func__);
	m->type = t;
	return m;
}

void
smsg_free(struct smsg *m)
{
	if (m == NULL)
		return;
	cJSON_Delete(m->json);
	free(m);
}

/* Hand <m> to the other end.  Takes ownership, also on failure. */
int
smsg_send(void *sock, struct smsg *m)
{
	if (zmq_send(sock, &m, sizeof(m), ZMQ_DONTWAIT) == sizeof(m))
		return 0;
	log_warnx("%s: %s not delivered: %s", __func__, smsg_name(m->type),
	    zmq_strerror(zmq_errno()));
	smsg_free(m);
	return -1;
}

/* The next pending message (caller owns it), or NULL when none. */
struct smsg *
smsg_recv(void *sock)
{
	struct smsg *m;
	zmq_msg_t f;

	zmq_msg_init(&f);
	if (zmq_msg_recv(&f, sock, ZMQ_DONTWAIT) == -1) {
		zmq_msg_close(&f);
		return NULL;
	}
	if (zmq_msg_size(&f) != sizeof(m)) {
		log_warnx("%s: a frame of %zu bytes is not a message; dropped",
		    __func__, zmq_msg_size(&f));
		zmq_msg_close(&f);
		return NULL;
	}
	memcpy(&m, zmq_msg_data(&f), sizeof(m));
	zmq_msg_close(&f);
	if ((unsigned)m->type >= SM_NTYPES) {
		log_warnx("%s: message of unknown type %d; dropped", __func__,
		    (int)m->type);
		smsg_free(m);
		return NULL;
	}
	return m;
}

/* Free whatever is still queued on <sock> (at shutdown). */
void
smsg_drain(void *sock)
{
	struct smsg *m;

	while ((m = smsg_recv(sock)) != NULL)
		smsg_free(m);
}
