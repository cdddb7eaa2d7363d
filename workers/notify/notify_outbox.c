/* SPDX-License-Identifier: ISC */
/*
 * notify_outbox.c: the alerts waiting for Telegram, and the tables that
 * decide which alerts are sent at all.
 *
 * One incident sends one alert: an alert whose incident key (kind, run
 * id, gate nonce, and the detail with every run of digits folded, so
 * "heartbeat 31 s ago" and "heartbeat 62 s ago" are the same incident)
 * was admitted less than NOTIFY_WINDOW_MS ago is a duplicate.  A new gate
 * of the same run is a new incident: its message carries the only
 * buttons that can still decide.  Repeats that differ are rate
 * limited: at most NOTIFY_PER_KEY_MAX alerts of one kind for one run per
 * window; those held back are counted and the next one sent says so.  An
 * alert with buttons is never held back by that limit (the operator needs
 * its buttons), only by the duplicate rule.  Both tables are small rings:
 * the oldest entry is reused, so memory stays bounded.
 *
 * Admitted alerts wait in a FIFO ring of NOTIFY_QUEUE_MAX; when it is full
 * the oldest is dropped.  Items are sent in order, the head first, and
 * removed only once Telegram accepted them (notify_outbox_pop with the
 * item's sequence number, so an item dropped meanwhile is not confused
 * with its successor).  notify_outbox_may_send() keeps the chat under
 * Telegram's NOTIFY_PER_MIN messages per minute.  Nothing here logs.
 *
 * Public: notify_outbox_init, notify_outbox_clear, notify_outbox_admit,
 * notify_outbox_push, notify_outbox_head, notify_outbox_pop,
 * notify_outbox_may_send, notify_outbox_sent, notify_incident_key.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/notify/alerts.h"

void
notify_outbox_init(struct notify_outbox *o)
{
	memset(o, 0, sizeof(*o));
	o->next_seq = 1;
}

void
notify_outbox_clear(struct notify_outbox *o)
{
	size_t i;

	for (i = 0; i < NOTIFY_QUEUE_MAX; i++)
		free(o->q[i].text);
	notify_outbox_init(o);
}

/* The first 16 hex digits of the SHA-256 of the incident's key text. */
void
notify_incident_key(const struct tg_alert *a, bool with_detail,
    char key[17])
{
	char text[TG_ALERT_KIND_MAX + 2 * ID_UUID_LEN + TG_ALERT_DETAIL_MAX + 8];
	char hex[65];
	const char *d;
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), "%s|%s|", a->kind,
	    a->run_id[0] ? a->run_id : a->video_id);
	if (with_detail && a->gate_nonce[0] != '\0')
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s|",
		    a->gate_nonce);
	for (d = a->detail; with_detail && *d != '\0' && o + 1 < sizeof(text);
	    d++) {
		if (isdigit((unsigned char)*d)) {
			if (o == 0 || text[o - 1] != '#')
				text[o++] = '#';
			continue;
		}
		text[o++] = *d;
	}
	text[o] = '\0';
	id_sha256_buf(text, o, hex);
	memcpy(key, hex, 16);
	key[16] = '\0';
}

static bool
seen_recently(struct notify_outbox *o, const char *key, int64_t now)
{
	size_t i;

	for (i = 0; i < NOTIFY_SEEN_MAX; i++)
		if (o->seen[i].at != 0 && strcmp(o->seen[i].key, key) == 0 &&
		    now - o->seen[i].at < NOTIFY_WINDOW_MS)
			return true;
	return false;
}

static struct notify_rate *
rate_slot(struct notify_outbox *o, const char *key, int64_t now)
{
	struct notify_rate *r;
	size_t i;

	for (i = 0; i < NOTIFY_SEEN_MAX; i++)
		if (o->rate[i].start != 0 && strcmp(o->rate[i].key, key) == 0)
			return &o->rate[i];
	r = &o->rate[o->rate_next];
	o->rate_next = (o->rate_next + 1) % NOTIFY_SEEN_MAX;
	memset(r, 0, sizeof(*r));
	strlcpy(r->key, key, sizeof(r->key));
	r->start = now;
	return r;
}

/*
 * Decide whether alert <a> is sent.  On NOTIFY_ADMIT the incident is
 * recorded and *held receives how many similar alerts were held back
 * since the last one admitted.  <now> is a monotonic time in ms (> 0).
 */
enum notify_admit
notify_outbox_admit(struct notify_outbox *o, const struct tg_alert *a,
    int64_t now, int *held)
{
	struct notify_rate *r;
	char key[17], kr[17];

	*held = 0;
	notify_incident_key(a, true, key);
	if (seen_recently(o, key, now))
		return NOTIFY_DUPLICATE;
	notify_incident_key(a, false, kr);
	r = rate_slot(o, kr, now);
	if (now - r->start >= NOTIFY_WINDOW_MS) {
		r->start = now;
		r->count = 0;
	}
	if (r->count >= NOTIFY_PER_KEY_MAX && !a->buttons) {
		r->held++;
		return NOTIFY_RATE_LIMITED;
	}
	r->count++;
	*held = r->held;
	r->held = 0;
	strlcpy(o->seen[o->seen_next].key, key, sizeof(o->seen[0].key));
	o->seen[o->seen_next].at = now;
	o->seen_next = (o->seen_next + 1) % NOTIFY_SEEN_MAX;
	return NOTIFY_ADMIT;
}

/*
 * Queue <text> (takes ownership) for alert <a>.  When the ring is full
 * the oldest item is dropped and *dropped set.  Returns the item's
 * sequence number.
 */
unsigned long long
notify_outbox_push(struct notify_outbox *o, char *text,
    const struct tg_alert *a, bool *dropped)
{
	struct notify_item *it;

	*dropped = false;
	if (o->n == NOTIFY_QUEUE_MAX) {
		free(o->q[o->head].text);
		o->q[o->head].text = NULL;
		o->head = (o->head + 1) % NOTIFY_QUEUE_MAX;
		o->n--;
		*dropped = true;
	}
	it = &o->q[(o->head + o->n) % NOTIFY_QUEUE_MAX];
	memset(it, 0, sizeof(*it));
	it->seq = o->next_seq++;
	it->text = text;
	strlcpy(it->kind, a->kind, sizeof(it->kind));
	strlcpy(it->run_id, a->run_id, sizeof(it->run_id));
	strlcpy(it->video_id, a->video_id, sizeof(it->video_id));
	strlcpy(it->gate_nonce, a->gate_nonce, sizeof(it->gate_nonce));
	it->buttons = a->buttons;
	it->link = tg_alert_links(a);
	o->n++;
	return it->seq;
}

/* The oldest item (borrowed until the next push or pop), or NULL. */
struct notify_item *
notify_outbox_head(struct notify_outbox *o)
{
	return o->n > 0 ? &o->q[o->head] : NULL;
}

/* Remove the head if it is still item <seq>. */
void
notify_outbox_pop(struct notify_outbox *o, unsigned long long seq)
{
	struct notify_item *it = notify_outbox_head(o);

	if (it == NULL || it->seq != seq)
		return;
	free(it->text);
	it->text = NULL;
	o->head = (o->head + 1) % NOTIFY_QUEUE_MAX;
	o->n--;
}

/* Fewer than NOTIFY_PER_MIN messages in the last minute? */
bool
notify_outbox_may_send(const struct notify_outbox *o, int64_t now)
{
	size_t i, recent = 0;

	for (i = 0; i < NOTIFY_PER_MIN; i++)
		if (o->sent_at[i] != 0 && now - o->sent_at[i] < 60000)
			recent++;
	return recent < NOTIFY_PER_MIN;
}

void
notify_outbox_sent(struct notify_outbox *o, int64_t now)
{
	o->sent_at[o->sent_next] = now;
	o->sent_next = (o->sent_next + 1) % NOTIFY_PER_MIN;
}
