/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_NOTIFY_ALERTS_H
#define RV_WORKERS_NOTIFY_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/ids.h"
#include "common/telegram/telegram.h"
#include "common/telegram/tg_alert.h"

/*
 * The parts of rvw-notify that need neither the network nor the
 * supervisor: buttons and presses (notify_press.c), and the outbox with
 * its duplicate and rate tables (notify_outbox.c).  What an alert says
 * is common/telegram/tg_alert.c, shared with rvctl doctor --alert.
 */

/* notify_press.c: inline buttons, callback data, presses. */
#define NOTIFY_ADMINS_MAX	32

struct notify_press {
	long long	 update_id;
	bool		 is_callback;
	char		 query_id[72];		/* "" when absent */
	long long	 from_id;		/* 0 when absent */
	char		 username[40];		/* "" when absent or odd */
	bool		 has_chat;
	long long	 chat_id;
	long long	 message_id;		/* 0 when absent */
	const char	*text;			/* borrowed: message text */
	char		 data[TG_CALLBACK_MAX + 2];	/* "" when absent */
};

/* What a button's callback data names. */
struct notify_cb {
	char		 action;			/* a r x u */
	char		 run_id[ID_UUID_LEN + 1];
	char		 nonce[TG_ALERT_NONCE_LEN + 1];	/* "" when legacy */
};

enum notify_press_verdict {
	PRESS_OK = 0,
	PRESS_IGNORE,		/* not a button press: nothing to answer */
	PRESS_NOT_AUTHORISED,
	PRESS_MALFORMED,
	PRESS_LEGACY		/* a button of before gate nonces */
};

int	notify_cb_format(char *buf, size_t size, char action,
	    const char *run_id, const char *gate_nonce);
int	notify_cb_parse(const char *data, struct notify_cb *cb);
const char *notify_cb_action_name(char action);
#define NOTIFY_LINK_LABEL	"View details"
int	notify_details_url(char *buf, size_t size, const char *base,
	    const char *run_id);
cJSON	*notify_keyboard(const char *run_id, const char *gate_nonce,
	    const char *link);
int	notify_ids_parse(const char *list, long long *ids, size_t max,
	    size_t *n, char *bad, size_t badlen);
bool	notify_chat_parse(const char *s, long long *id);
int	notify_press_parse(const cJSON *update, struct notify_press *p);
enum notify_press_verdict notify_press_check(const struct notify_press *p,
	    const long long *admins, size_t nadmins, bool chat_known,
	    long long chat_id, struct notify_cb *cb);
void	notify_press_who(const struct notify_press *p, char *operator_name,
	    size_t osize, char *who, size_t wsize);
const char *notify_answer_text(const char *action, const char *result,
	    const char *msg);
size_t	notify_decision_text(char *buf, size_t size, const char *orig,
	    const char *action_name, const char *who, const char *outcome,
	    double epoch);

/* notify_outbox.c: the queue of alerts waiting for Telegram. */
#define NOTIFY_QUEUE_MAX	64
#define NOTIFY_SEEN_MAX		128
#define NOTIFY_WINDOW_MS	(10 * 60 * 1000)
#define NOTIFY_PER_KEY_MAX	3	/* alerts of a kind for a run/window */
#define NOTIFY_PER_MIN		20	/* messages to the chat per minute */

struct notify_item {
	unsigned long long seq;
	char		*text;		/* owned */
	char		 kind[TG_ALERT_KIND_MAX];
	char		 run_id[ID_UUID_LEN + 1];
	char		 video_id[ID_VIDEO_MAX + 1];
	char		 gate_nonce[ID_UUID_LEN + 1];
	bool		 buttons;
	bool		 link;		/* a gate or panic: the dashboard link */
	int		 attempts;
};

struct notify_seen {
	char		 key[17];
	int64_t		 at;
};

struct notify_rate {
	char		 key[17];
	int64_t		 start;
	int		 count;
	int		 held;
};

struct notify_outbox {
	struct notify_item q[NOTIFY_QUEUE_MAX];
	size_t		 head, n;
	unsigned long long next_seq;
	struct notify_seen seen[NOTIFY_SEEN_MAX];
	size_t		 seen_next;
	struct notify_rate rate[NOTIFY_SEEN_MAX];
	size_t		 rate_next;
	int64_t		 sent_at[NOTIFY_PER_MIN];
	size_t		 sent_next;
};

enum notify_admit {
	NOTIFY_ADMIT = 0,
	NOTIFY_DUPLICATE,	/* same incident within the window */
	NOTIFY_RATE_LIMITED	/* too many of this kind for this run */
};

void	notify_outbox_init(struct notify_outbox *o);
void	notify_outbox_clear(struct notify_outbox *o);
enum notify_admit notify_outbox_admit(struct notify_outbox *o,
	    const struct tg_alert *a, int64_t now, int *held);
unsigned long long notify_outbox_push(struct notify_outbox *o, char *text,
	    const struct tg_alert *a, bool *dropped);
struct notify_item *notify_outbox_head(struct notify_outbox *o);
void	notify_outbox_pop(struct notify_outbox *o, unsigned long long seq);
bool	notify_outbox_may_send(const struct notify_outbox *o, int64_t now);
void	notify_outbox_sent(struct notify_outbox *o, int64_t now);
void	notify_incident_key(const struct tg_alert *a, bool with_detail,
	    char key[17]);

#endif
