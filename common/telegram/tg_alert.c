/* SPDX-License-Identifier: ISC */
/*
 * tg_alert.c: what an alert says.
 *
 * An alert (an "alert" task the supervisor hands rvw-notify, or a finding
 * of rvctl doctor --alert) is validated into a struct tg_alert
 * (tg_alert_parse) and turned into the plain text of one
 * Telegram message (tg_alert_format): the kind's title, the video id, the
 * short run id (first 8 characters), the gate (first 8 hex digits of its
 * nonce, as rvctl shows it) when the alert names one, the worker, the
 * time in UTC and in Brasilia (UTC-3, no daylight saving time since
 * 2019), what the alert means and what the operator should do next (the
 * table below, which follows the panic table of the specification and
 * the operator guide's recipes), the detail, and for gates the evidence
 * diff.  The text is at most TG_TEXT_MAX bytes, always valid UTF-8,
 * without control characters other than newlines and tabs; an over-long
 * diff is cut with a note pointing at the evidence file.  Buttons are
 * only promised when the alert names its gate ("gate_nonce", a UUID): a
 * button must say which gate it decides; without one the text says to
 * decide with rvctl.  Gates and panics of a named run may also carry a
 * link to the run's dashboard page (tg_alert_links; the button itself is
 * workers/notify's).  No parse_mode is used, so nothing needs escaping.
 * Nothing here sends, queues or logs.
 *
 * Public: tg_alert_kind, tg_alert_links, tg_alert_parse, tg_alert_format,
 * tg_alert_times, tg_clean_text.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/telegram/telegram.h"
#include "common/telegram/tg_alert.h"

#define DIFF_NOTE	"\n[diff cut here; the full evidence is in " \
			"state/evidence/%s.json]"

/* Meanings and actions follow docs/OPERATOR.md, sections 4 and 9. */
static const struct tg_alert_kind kinds[] = {
	{ "panic_browser_frozen", "PANIC: renderer frozen",
	  "The renderer stopped making progress. Its process tree (browser "
	  "included) was killed; this worker keeps holding the lease.",
	  "Nothing yet: after a 45 s quarantine the renderer restarts and "
	  "the run resumes (at most twice per run). After the second time, "
	  "look at the Dzine flow (docs/dzine.md), then Approve to resume "
	  "or Abort.",
	  true },
	{ "panic_integrity_failure", "PANIC: evidence conflict survived a "
	  "refetch",
	  "Trusted sources (tier 4-5) still disagree on a critical claim "
	  "after a refetch. Nothing has been rendered or published.",
	  "Read the diff below and check the sources, then Approve (go on "
	  "with the override) or Abort the run.",
	  true },
	{ "panic_voice_contract_drift", "PANIC: voice off its target",
	  "A segment's audio cannot meet its target duration even after the "
	  "repair attempts. The run stopped.",
	  "Do not Abort. Fix that segment (its id is in the detail and in "
	  "rvctl events --run <run>) from a terminal: "
	  "rvctl amend --run <run> --segment <segment> --text \"...\" (or "
	  "--duration SEC) --operator <you>, then Approve: only that "
	  "segment is made again (docs/OPERATOR.md, Voice drift).",
	  true },
	{ "panic_dzine_ui_failure", "PANIC: Dzine render failed",
	  "A Dzine render failed or its export was rejected by the probe. "
	  "The run stopped; no further credits are spent.",
	  "Look at the render (docs/dzine.md, make logs), then decide: "
	  "Approve to render again, or Abort.",
	  true },
	{ "LOST LOCK", "PANIC: LOST LOCK",
	  "The store says another worker or an operator took the run. This "
	  "worker stopped the run's children and writes nothing more for "
	  "that lease epoch.",
	  "Nothing to undo: the worker claims again after 45 s. Check who "
	  "took the run with rvctl events --run <run id>.",
	  true },
	{ "panic_lost_lock", NULL, NULL, NULL, false },	/* as LOST LOCK */
	{ "panic_heartbeat_uncertain", "PANIC: lease heartbeat uncertain",
	  "Three lease heartbeats in a row failed. The run's children are "
	  "paused until the store confirms the lease; if it cannot before "
	  "the lease could be taken, they are killed.",
	  "Check the network and the store (make doctor). The run resumes "
	  "by itself once a renewal is confirmed.",
	  true },
	{ "gate_opened", "GATE: trusted sources disagree",
	  "Trusted sources (tier 4-5) disagree on a critical claim (price, "
	  "voltage, compatibility, model or EAN). The run waits: nothing is "
	  "rendered or published until you decide.",
	  "Read the evidence diff below, then Approve (go on with the "
	  "override), Refetch (collect the sources once more) or Abort.",
	  true },
	{ "crash_loop", "PANIC: crash loop",
	  "A worker child crashed more than 3 times in 60 s. The run "
	  "stopped.",
	  "Run make doctor and read make logs; fix the cause, then Approve "
	  "to resume or Abort.",
	  true },
	{ "stage_failed:", "STAGE FAILED",
	  "A stage failed twice in a row. The run waits for you.",
	  "Read the detail and make logs; fix the cause, then Approve to "
	  "retry the stage, or Abort.",
	  true },
	{ "STALE WORKER", "STALE WORKER",
	  "A run's lease expired, or its heartbeat is older than 3 "
	  "intervals, while it is marked active: its worker stopped "
	  "renewing.",
	  "Run make doctor: it names the worker. If that machine is alive, "
	  "look at its make status and make logs; if it died, start it "
	  "again (make worker WID=..); if it is gone for good: rvctl unlock "
	  "--run <run id> --operator NAME --reason \"worker gone\" --force.",
	  false },
	{ "stale_worker", NULL, NULL, NULL, false },	/* as STALE WORKER */
	{ "STALE WORKER (recovered)", "STALE WORKER (recovered)",
	  "This worker's supervisor had stopped renewing the run's lease (it "
	  "died or hung). It was started again and took its own run back: "
	  "the run goes on from its checkpoint.",
	  "Nothing to undo. Find out why the supervisor stopped: make logs "
	  "(state/logs/rvsup.log) and make doctor.",
	  false },
	{ "CONTRACT FAIL", "CONTRACT FAIL",
	  "The store does not offer what this build needs (contract check "
	  "at start); the worker claims nothing and checks again, up to "
	  "every minute.",
	  "make check-contract names the failing check. Fix the store "
	  "(apply the migration in supabase/migrations/, or put the right "
	  "database back): the worker takes work again by itself.",
	  false },
	{ "contract_fail", NULL, NULL, NULL, false },	/* as CONTRACT FAIL */
	{ NULL, NULL, "An alert this notifier has no description for.",
	  "Run make doctor: it ends with the next actions.", false }
};

/* The row of <kind>: its own, its alias's, or the catch-all last row. */
const struct tg_alert_kind *
tg_alert_kind(const char *kind)
{
	size_t i, n;

	for (i = 0; kinds[i].kind != NULL; i++) {
		n = strlen(kinds[i].kind);
		if (kinds[i].kind[n - 1] == ':' ? strncmp(kind, kinds[i].kind,
		    n) == 0 : strcmp(kind, kinds[i].kind) == 0)
			break;
	}
	/* An alias row (no title) shares the row before it. */
	while (i > 0 && kinds[i].kind != NULL && kinds[i].title == NULL)
		i--;
	return &kinds[i];
}

/*
 * Does alert <a> get the dashboard's "View details" button: a gate or a
 * panic (its kind's row says so) of a named run.
 */
bool
tg_alert_links(const struct tg_alert *a)
{
	return a->run_id[0] != '\0' && tg_alert_kind(a->kind)->link;
}

/* Length of the valid UTF-8 sequence at <s>, 0 when invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Copy <src> into <dst> as valid UTF-8: invalid bytes become '?', control
 * characters a space (newlines and tabs stay when <multiline>, carriage
 * returns go).  Stops at a character boundary when <dst> is full.
 * Returns the length written.
 */
size_t
tg_clean_text(char *dst, size_t size, const char *src, bool multiline)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t o = 0, n;

	if (size == 0)
		return 0;
	while (*s != '\0') {
		n = utf8_len(s);
		if (n == 1 && *s == '\r' && multiline) {
			s++;
			continue;
		}
		if (o + (n ? n : 1) >= size)
			break;
		if (n == 0) {
			dst[o++] = '?';
			s++;
		} else if (n == 1 && (*s < ' ' || *s == 0x7f)) {
			dst[o++] = (multiline && (*s == '\n' || *s == '\t')) ?
			    (char)*s : ' ';
			s++;
		} else {
			memcpy(dst + o, s, n);
			o += n;
			s += n;
		}
	}
	dst[o] = '\0';
	return o;
}

void
tg_alert_times(double epoch, char *utc, size_t usize, char *brt, size_t bsize)
{
	time_t t = (time_t)epoch, b = t + TG_ALERT_BRT_OFFSET_SEC;
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	(void)snprintf(utc, usize, "%s UTC", s);
	gmtime_r(&b, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	(void)snprintf(brt, bsize, "%s Bras\xc3\xadlia (UTC-3)", s);
}

static bool
kind_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("_:.- ()", s[i]) != NULL))
			return false;
	return i > 0 && i < TG_ALERT_KIND_MAX;
}

/* Drop trailing blanks and newlines. */
static void
rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && strchr(" \t\n", s[n - 1]) != NULL)
		s[--n] = '\0';
}

/* A string member: NULL when absent; -1 when present but not a string. */
static int
opt_str(const cJSON *args, const char *key, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	*out = v->valuestring;
	return 0;
}

int
tg_alert_parse(const cJSON *args, struct tg_alert *a, char *err,
    size_t errlen)
{
	static const char *keys[] = { "alert", "run_id", "video_id",
	    "worker_id", "at", "detail", "diff", "gate_nonce" };
	const char *v[8];
	const cJSON *b;
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < 8; i++)
		if (opt_str(args, keys[i], &v[i]) == -1) {
			(void)snprintf(err, errlen, "alert: \"%s\" is not a "
			    "string", keys[i]);
			return -1;
		}
	if (v[0] == NULL || !kind_ok(v[0])) {
		(void)snprintf(err, errlen, "alert: \"alert\" missing or not "
		    "a short name");
		return -1;
	}
	strlcpy(a->kind, v[0], sizeof(a->kind));
	if (v[1] != NULL && id_uuid_valid(v[1]))
		strlcpy(a->run_id, v[1], sizeof(a->run_id));
	if (v[2] != NULL && id_video_valid(v[2]))
		strlcpy(a->video_id, v[2], sizeof(a->video_id));
	if (v[7] != NULL && id_uuid_valid(v[7]) && a->run_id[0] != '\0')
		for (i = 0; i <= ID_UUID_LEN; i++)
			a->gate_nonce[i] = (char)tolower(
			    (unsigned char)v[7][i]);
	(void)tg_clean_text(a->worker_id, sizeof(a->worker_id), v[3], false);
	if (v[4] == NULL || clock_parse_iso(v[4], &a->at) == -1)
		a->at = (double)time(NULL);
	(void)tg_clean_text(a->detail, sizeof(a->detail), v[5], true);
	if (v[6] != NULL && tg_clean_text(a->diff, sizeof(a->diff), v[6],
	    true) < strlen(v[6]))
		a->diff_cut = true;
	rtrim(a->detail);
	rtrim(a->diff);
	b = cJSON_GetObjectItemCaseSensitive(args, "buttons");
	a->buttons = cJSON_IsTrue(b) && a->gate_nonce[0] != '\0';
	a->no_gate = cJSON_IsTrue(b) && !a->buttons;
	return 0;
}

struct sbuf {
	char	*p;
	size_t	 size, len;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append; on overflow cut at a UTF-8 character boundary. */
static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < b->size - b->len) {
		b->len += (size_t)n;
		return;
	}
	b->len = b->size - 1;
	while (b->len > 0 && ((unsigned char)b->p[b->len] & 0xc0) == 0x80)
		b->len--;
	b->p[b->len] = '\0';
}

static void
add_diff(struct sbuf *b, const struct tg_alert *a)
{
	size_t room, n;
	bool cut = a->diff_cut;

	sb_add(b, "\n\nEvidence diff:\n");
	if (b->len + sizeof(DIFF_NOTE) + ID_UUID_LEN + 1 >= b->size)
		return;
	room = b->size - 1 - b->len - (sizeof(DIFF_NOTE) + ID_UUID_LEN);
	n = strlen(a->diff);
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)a->diff[n] & 0xc0) == 0x80)
			n--;
		cut = true;
	}
	sb_add(b, "%.*s", (int)n, a->diff);
	if (cut)
		sb_add(b, DIFF_NOTE, a->run_id[0] ? a->run_id : "<run id>");
}

/*
 * The message text of alert <a> into <buf> (at most <size> - 1 bytes,
 * never more than TG_TEXT_MAX).  <held> counts similar alerts held back
 * by the rate limit since the last one sent.  Returns the length.
 */
size_t
tg_alert_format(const struct tg_alert *a, int held, char *buf, size_t size)
{
	const struct tg_alert_kind *k = tg_alert_kind(a->kind);
	struct sbuf b = { buf, size > TG_TEXT_MAX + 1 ? TG_TEXT_MAX + 1 : size,
	    0 };
	char utc[48], brt[64];

	if (size == 0)
		return 0;
	buf[0] = '\0';
	tg_alert_times(a->at, utc, sizeof(utc), brt, sizeof(brt));
	sb_add(&b, "RayVault %s", k->title ? k->title : a->kind);
	if (k->title != NULL && strcmp(k->title, a->kind) != 0)
		sb_add(&b, " (%s)", a->kind);
	sb_add(&b, "\nVideo: %s\nRun: %.8s\n", a->video_id[0] ? a->video_id :
	    "-", a->run_id[0] ? a->run_id : "-");
	if (a->gate_nonce[0] != '\0')
		sb_add(&b, "Gate: %.*s\n", TG_ALERT_NONCE_LEN, a->gate_nonce);
	sb_add(&b, "Worker: %s\nTime: %s / %s\n", a->worker_id[0] ?
	    a->worker_id : "-", utc, brt);
	sb_add(&b, "\nWhat happened: %s\n", k->meaning);
	if (a->detail[0] != '\0')
		sb_add(&b, "Detail: %s\n", a->detail);
	sb_add(&b, "\nWhat to do: %s", k->action);
	if (a->buttons)
		sb_add(&b, "\nButtons below: Approve, Refetch, Abort, Unlock "
		    "(admins only; they act on gate %.*s only).",
		    TG_ALERT_NONCE_LEN, a->gate_nonce);
	else if (a->no_gate)
		sb_add(&b, "\nNo buttons: this alert names no gate. Decide "
		    "with rvctl approve, refetch or abort --run %s --operator "
		    "NAME.", a->video_id[0] ? a->video_id : a->run_id[0] ?
		    a->run_id : "<run>");
	if (held > 0)
		sb_add(&b, "\n(%d similar alert%s held back by the rate limit; "
		    "see state/logs/alerts.log.)", held, held == 1 ? " was" :
		    "s were");
	if (a->diff[0] != '\0')
		add_diff(&b, a);
	return b.len;
}
