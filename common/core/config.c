/* SPDX-License-Identifier: ISC */
/*
 * config.c: the settings table of SPEC section 7.
 *
 * Every key is declared once below with its type, default, bounds and
 * whether it is a secret.  config_load() reads `.env` (KEY=VALUE, '#'
 * comments, optional quotes), lets real environment variables win, checks
 * every key and the invalid combinations, and collects all problems as
 * "KEY: problem" lines before failing, so the operator fixes them in one
 * go.  On failure the caller's struct is left unchanged (parse into a
 * fresh struct, then copy).  Secrets are never printed: config_print()
 * shows them as "(set)" and config_redact() masks them in any text.
 *
 * Public: config_load, config_print, config_redact.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/config.h"
#include "common/core/errbuf.h"
#include "common/core/netaddr.h"

enum cfg_type { CFG_STR, CFG_INT, CFG_LONG, CFG_DBL, CFG_BOOL, CFG_PATH };

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	const char	*def;
	double		 min, max;
	bool		 secret;
	size_t		 off, size;
};

#define F(f)	offsetof(struct rv_config, f), sizeof(((struct rv_config *)0)->f)

static const struct cfg_key cfg_keys[] = {
	{ "SUPABASE_URL", CFG_STR, "", 0, 0, false, F(supabase_url) },
	{ "SUPABASE_SERVICE_KEY", CFG_STR, "", 0, 0, true,
	    F(supabase_service_key) },
	{ "RAYVAULT_WORKER_ID", CFG_STR, "", 0, 0, false, F(worker_id) },
	{ "DZINE_CREDIT_PRICE_USD", CFG_DBL, "0", 0, 1000, false,
	    F(dzine_credit_price_usd) },
	{ "USD_BRL", CFG_DBL, "5.0", 0.01, 1000, false, F(usd_brl) },
	{ "DZINE_CREDITS_AVAILABLE", CFG_LONG, "-1", -1, 1e9, false,
	    F(dzine_credits_available) },
	{ "DZINE_CREDITS_PER_SEGMENT", CFG_INT, "1", 0, 10000, false,
	    F(dzine_credits_per_segment) },
	{ "DZINE_FLOW_FILE", CFG_PATH, "config/dzine_flow.json", 0, 0, false,
	    F(dzine_flow_file) },
	{ "DZINE_URL", CFG_STR, "", 0, 0, false, F(dzine_url) },
	{ "DZINE_PROFILE_DIR", CFG_STR, "", 0, 0, false,
	    F(dzine_profile_dir) },
	{ "TELEGRAM_BOT_TOKEN", CFG_STR, "", 0, 0, true,
	    F(telegram_bot_token) },
	{ "TELEGRAM_CHAT_ID", CFG_STR, "", 0, 0, false, F(telegram_chat_id) },
	{ "TELEGRAM_ADMIN_USER_IDS", CFG_STR, "", 0, 0, false,
	    F(telegram_admin_user_ids) },
	{ "TELEGRAM_API_BASE", CFG_STR, "https://api.telegram.org", 0, 0,
	    false, F(telegram_api_base) },
	{ "RAYVAULT_TELEGRAM_POLL", CFG_BOOL, "0", 0, 1, false,
	    F(telegram_poll) },
	{ "RAYVAULT_STATE_DIR", CFG_PATH, "state", 0, 0, false, F(state_dir) },
	{ "RAYVAULT_SPOOL_DIR", CFG_PATH, "spool", 0, 0, false, F(spool_dir) },
	{ "RAYVAULT_DB_PATH", CFG_STR, "", 0, 0, false, F(db_path) },
	{ "RAYVAULT_LEASE_MINUTES", CFG_INT, "15", 1, 30, false,
	    F(lease_minutes) },
	{ "RAYVAULT_HEARTBEAT_INTERVAL_SEC", CFG_INT, "30", 1, 3600, false,
	    F(heartbeat_interval_sec) },
	{ "RAYVAULT_HEARTBEAT_TIMEOUT_SEC", CFG_INT, "10", 1, 3600, false,
	    F(heartbeat_timeout_sec) },
	{ "RAYVAULT_POLL_INTERVAL_SEC", CFG_INT, "30", 1, 3600, false,
	    F(poll_interval_sec) },
	{ "RAYVAULT_CHILD_HEARTBEAT_MS", CFG_INT, "1000", 50, 60000, false,
	    F(child_heartbeat_ms) },
	{ "RAYVAULT_BROWSER_STALL_SEC", CFG_INT, "90", 1, 3600, false,
	    F(browser_stall_sec) },
	{ "RAYVAULT_TTS", CFG_STR, "espeak", 0, 0, false, F(tts) },
	{ "RAYVAULT_RENDERER", CFG_STR, "ffmpeg", 0, 0, false, F(renderer) },
	{ "RAYVAULT_MIN_VIDEO_BYTES", CFG_LONG, "-1", -1, 1e12, false,
	    F(min_video_bytes) },
	{ "ELEVENLABS_API_KEY", CFG_STR, "", 0, 0, true,
	    F(elevenlabs_api_key) },
	{ "ELEVENLABS_VOICE_ID", CFG_STR, "21m00Tcm4TlvDq8ikWAM", 0, 0, false,
	    F(elevenlabs_voice_id) },
	{ "RAYVAULT_EVIDENCE_ALLOW_PRIVATE", CFG_BOOL, "0", 0, 1, false,
	    F(evidence_allow_private) },
};
#define NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

struct env_file {
	char	*names[64];
	char	*values[64];
	size_t	 n;
};

static void errf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Check the service URL <value> of setting <name> (netaddr_url_check());
 * empty is fine.  Appends the problem line and returns -1 when refused.
 */
static int
url_setting(char *err, size_t errlen, const char *name, const char *value)
{
	char line[256];

	if (value[0] == '\0')
		return 0;
	if (netaddr_url_check(name, value, line, sizeof(line)) == 0)
		return 0;
	errf(err, errlen, "%s%s\n", line, "");
	return -1;
}

/* Append one formatted problem line to <err>. */
static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;

	if (used >= errlen)
		return;
	va_start(ap, fmt);
	(void)errbuf_vset(err + used, errlen - used, 0, fmt, ap);
	va_end(ap);
}

static void
env_file_clear(struct env_file *ef)
{
	size_t i;

	for (i = 0; i < ef->n; i++) {
		free(ef->names[i]);
		free(ef->values[i]);
	}
	ef->n = 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parse a .env file.  A missing file is fine; a bad line is an error. */
static int
env_file_read(const char *path, struct env_file *ef, char *err, size_t errlen)
{
	char line[2048], lno[16], *k, *v, *eq;
	FILE *fp;
	int n = 0, bad = 0;
	size_t len;

	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		n++;
		snprintf(lno, sizeof(lno), "%d", n);
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if (strncmp(k, "export ", 7) == 0)
			k = trim(k + 7);
		if ((eq = strchr(k, '=')) == NULL) {
			errf(err, errlen, "%s:%s: not KEY=VALUE\n", path, lno);
			bad = 1;
			continue;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		len = strlen(v);
		if (len >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[len - 1] == v[0]) {
			v[len - 1] = '\0';
			v++;
		}
		if (ef->n < 64) {
			ef->names[ef->n] = strdup(k);
			ef->values[ef->n] = strdup(v);
			if (ef->names[ef->n] == NULL ||
			    ef->values[ef->n] == NULL) {
				free(ef->names[ef->n]);
				free(ef->values[ef->n]);
				fclose(fp);
				return -1;
			}
			ef->n++;
		}
	}
	fclose(fp);
	return bad ? -2 : 0;
}

static const char *
lookup(const struct env_file *ef, const char *name)
{
	const char *v;
	size_t i;

	if ((v = getenv(name)) != NULL)
		return v;
	for (i = ef->n; i > 0; i--)
		if (strcmp(ef->names[i - 1], name) == 0)
			return ef->values[i - 1];
	return NULL;
}

static int
set_key(struct rv_config *c, const struct cfg_key *k, const char *v,
    char *err, size_t errlen)
{
	char *p = (char *)c + k->off, *end, cwd[PATH_MAX], tmp[PATH_MAX];
	double d;

	switch (k->type) {
	case CFG_STR:
		if (strlen(v) >= k->size) {
			errf(err, errlen, "%s: value too long%s\n", k->name, "");
			return -1;
		}
		strlcpy(p, v, k->size);
		return 0;
	case CFG_PATH:
		if (*v == '\0') {
			errf(err, errlen, "%s: empty path%s\n", k->name, "");
			return -1;
		}
		if (*v != '/') {
			if (getcwd(cwd, sizeof(cwd)) == NULL)
				return -1;
			if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", cwd,
			    v) >= sizeof(tmp))
				tmp[0] = '\0';
			v = tmp;
		}
		if (strlen(v) >= k->size || strlen(v) > 200) {
			errf(err, errlen, "%s: path too long (ipc endpoints "
			    "under it must stay below 107 bytes)%s\n",
			    k->name, "");
			return -1;
		}
		strlcpy(p, v, k->size);
		return 0;
	case CFG_BOOL:
		if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
		    strcasecmp(v, "yes") == 0)
			*(bool *)p = true;
		else if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 ||
		    strcasecmp(v, "no") == 0 || *v == '\0')
			*(bool *)p = false;
		else {
			errf(err, errlen, "%s: not a boolean: \"%s\"\n",
			    k->name, v);
			return -1;
		}
		return 0;
	default:
		break;
	}
	errno = 0;
	d = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno != 0 || d != d) {
		errf(err, errlen, "%s: not a number: \"%s\"\n", k->name, v);
		return -1;
	}
	if (d < k->min || d > k->max) {
		errf(err, errlen, "%s: out of range: %s\n", k->name, v);
		return -1;
	}
	if (k->type != CFG_DBL && d != (double)(long)d) {
		errf(err, errlen, "%s: not a whole number: \"%s\"\n",
		    k->name, v);
		return -1;
	}
	if (k->type == CFG_INT)
		*(int *)p = (int)d;
	else if (k->type == CFG_LONG)
		*(long *)p = (long)d;
	else
		*(double *)p = d;
	return 0;
}

/*
 * Load the settings into <out>.  <state_dir_override> (from --state-dir)
 * beats RAYVAULT_STATE_DIR; <envfile> may be NULL for "./.env".  Returns 0,
 * or -1 with every problem written to <err> as "KEY: problem" lines and
 * <out> unchanged.
 */
int
config_load(struct rv_config *out, const char *state_dir_override,
    const char *envfile, char *err, size_t errlen)
{
	struct rv_config c;
	struct env_file ef = { .n = 0 };
	const struct cfg_key *k;
	const char *v;
	char host[65];
	size_t i;
	int bad = 0, r;

	err[0] = '\0';
	memset(&c, 0, sizeof(c));
	r = env_file_read(envfile != NULL ? envfile : ".env", &ef, err,
	    errlen);
	if (r == -1) {
		errf(err, errlen, "%s: cannot read: %s\n",
		    envfile != NULL ? envfile : ".env", strerror(errno));
		return -1;
	}
	if (r == -2)
		bad = 1;
	for (i = 0; i < NKEYS; i++) {
		k = &cfg_keys[i];
		v = lookup(&ef, k->name);
		if (k->type == CFG_PATH && strcmp(k->name,
		    "RAYVAULT_STATE_DIR") == 0 && state_dir_override != NULL)
			v = state_dir_override;
		if (v == NULL || (*v == '\0' && k->type != CFG_STR))
			v = k->def;
		if (set_key(&c, k, v, err, errlen) == -1)
			bad = 1;
	}
	env_file_clear(&ef);
	if (c.worker_id[0] == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			strlcpy(host, "rayvault", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		/* a worker id needs 3 characters; short host names get a prefix */
		if (strlen(host) < 3)
			snprintf(c.worker_id, sizeof(c.worker_id), "worker-%.50s",
			    host);
		else
			strlcpy(c.worker_id, host, sizeof(c.worker_id));
	}
	if (strlen(c.worker_id) < 3) {
		errf(err, errlen, "RAYVAULT_WORKER_ID: \"%s\" is shorter than "
		    "3 characters%s\n", c.worker_id, "");
		bad = 1;
	}
	if (!bad && c.heartbeat_interval_sec * 3 >= c.lease_minutes * 60) {
		errf(err, errlen, "RAYVAULT_HEARTBEAT_INTERVAL_SEC: must be "
		    "less than a third of RAYVAULT_LEASE_MINUTES%s%s\n", "", "");
		bad = 1;
	}
	if (!bad && c.heartbeat_timeout_sec >= c.heartbeat_interval_sec) {
		errf(err, errlen, "RAYVAULT_HEARTBEAT_TIMEOUT_SEC: must be "
		    "less than RAYVAULT_HEARTBEAT_INTERVAL_SEC%s%s\n", "", "");
		bad = 1;
	}
	if (strcmp(c.tts, "espeak") != 0 && strcmp(c.tts, "elevenlabs") != 0) {
		errf(err, errlen, "RAYVAULT_TTS: unknown engine \"%s\" "
		    "(espeak or elevenlabs)%s\n", c.tts, "");
		bad = 1;
	}
	if (strcmp(c.renderer, "ffmpeg") != 0 &&
	    strcmp(c.renderer, "dzine") != 0) {
		errf(err, errlen, "RAYVAULT_RENDERER: unknown renderer \"%s\" "
		    "(ffmpeg or dzine)%s\n", c.renderer, "");
		bad = 1;
	}
	/* URLs that carry a token or a session: http:// only to loopback. */
	if (url_setting(err, errlen, "SUPABASE_URL", c.supabase_url) == -1)
		bad = 1;
	if (url_setting(err, errlen, "TELEGRAM_API_BASE",
	    c.telegram_api_base) == -1)
		bad = 1;
	if (url_setting(err, errlen, "DZINE_URL", c.dzine_url) == -1)
		bad = 1;
	if (c.supabase_url[0] != '\0' && c.supabase_service_key[0] == '\0') {
		errf(err, errlen, "SUPABASE_SERVICE_KEY: required when "
		    "SUPABASE_URL is set%s%s\n", "", "");
		bad = 1;
	}
	if (bad)
		return -1;
	*out = c;
	return 0;
}

/* Print every effective setting, secrets as "(set)" or "(unset)". */
void
config_print(const struct rv_config *c, FILE *fp)
{
	const struct cfg_key *k;
	const char *p;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		k = &cfg_keys[i];
		p = (const char *)c + k->off;
		fprintf(fp, "%s=", k->name);
		if (k->secret)
			fputs(*p != '\0' ? "(set)" : "(unset)", fp);
		else if (k->type == CFG_STR || k->type == CFG_PATH)
			fputs(p, fp);
		else if (k->type == CFG_INT)
			fprintf(fp, "%d", *(const int *)p);
		else if (k->type == CFG_LONG)
			fprintf(fp, "%ld", *(const long *)p);
		else if (k->type == CFG_BOOL)
			fputs(*(const bool *)p ? "1" : "0", fp);
		else
			fprintf(fp, "%g", *(const double *)p);
		fputc('\n', fp);
	}
}

/*
 * Copy <text> into <buf> with every secret value replaced by "***".
 * Returns <buf>.
 */
const char *
config_redact(const struct rv_config *c, const char *text, char *buf,
    size_t size)
{
	const char *secrets[3];
	const char *p, *hit;
	size_t i, o = 0, slen;
	int s, best;

	secrets[0] = c->supabase_service_key;
	secrets[1] = c->telegram_bot_token;
	secrets[2] = c->elevenlabs_api_key;
	p = text;
	while (*p != '\0' && o + 1 < size) {
		best = -1;
		for (s = 0; s < 3; s++) {
			slen = strlen(secrets[s]);
			if (slen >= 4 && strncmp(p, secrets[s], slen) == 0)
				best = s;
		}
		if (best >= 0) {
			hit = "***";
			for (i = 0; hit[i] != '\0' && o + 1 < size; i++)
				buf[o++] = hit[i];
			p += strlen(secrets[best]);
			continue;
		}
		buf[o++] = *p++;
	}
	buf[o] = '\0';
	return buf;
}
