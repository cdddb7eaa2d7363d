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
 * Secrets are loaded only where needed: config_load_secrets() takes the
 * set of secrets to keep (rvw-notify the bot token, rvw-voice the
 * ElevenLabs key, the other children none); the others are checked for
 * presence and length but never copied, and every secret value read from
 * `.env` is wiped before its buffer is freed.  config_wipe() clears the
 * secrets of a loaded struct that a process does not need once started.
 * config_kind_secrets() says which secrets each child needs, and
 * config_child_environ() is the environment a child gets: this process's
 * minus the secrets the child does not need.  config_env_file_check()
 * refuses a `.env` that holds a secret and is readable by group or others.
 *
 * config_table_print() prints the table itself (rvctl --settings), which
 * docs/rayvault.env.5 is checked against.
 *
 * config_env_int() reads one whole number from the environment by the
 * same rules (rvsup's environment-only tuning).
 *
 * Public: config_load, config_load_secrets, config_wipe,
 * config_kind_secrets, config_child_environ, config_env_file_check,
 * config_env_int, config_print, config_redact, config_table_print.
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
	unsigned	 secret;	/* CFG_SECRET_* bit, 0: not secret */
	size_t		 off, size;
};

#define F(f)	offsetof(struct rv_config, f), sizeof(((struct rv_config *)0)->f)

static const struct cfg_key cfg_keys[] = {
	{ "SUPABASE_URL", CFG_STR, "", 0, 0, 0, F(supabase_url) },
	{ "SUPABASE_SERVICE_KEY", CFG_STR, "", 0, 0, CFG_SECRET_SUPABASE,
	    F(supabase_service_key) },
	{ "RAYVAULT_WORKER_ID", CFG_STR, "", 0, 0, 0, F(worker_id) },
	{ "DZINE_CREDIT_PRICE_USD", CFG_DBL, "0", 0, 1000, 0,
	    F(dzine_credit_price_usd) },
	{ "USD_BRL", CFG_DBL, "5.0", 0.01, 1000, 0, F(usd_brl) },
	{ "DZINE_CREDITS_AVAILABLE", CFG_LONG, "-1", -1, 1e9, 0,
	    F(dzine_credits_available) },
	{ "DZINE_CREDITS_PER_SEGMENT", CFG_INT, "1", 0, 10000, 0,
	    F(dzine_credits_per_segment) },
	{ "DZINE_FLOW_FILE", CFG_PATH, "config/dzine_flow.json", 0, 0, 0,
	    F(dzine_flow_file) },
	{ "DZINE_URL", CFG_STR, "", 0, 0, 0, F(dzine_url) },
	{ "DZINE_PROFILE_DIR", CFG_STR, "", 0, 0, 0,
	    F(dzine_profile_dir) },
	{ "TELEGRAM_BOT_TOKEN", CFG_STR, "", 0, 0, CFG_SECRET_TELEGRAM,
	    F(telegram_bot_token) },
	{ "TELEGRAM_CHAT_ID", CFG_STR, "", 0, 0, 0, F(telegram_chat_id) },
	{ "TELEGRAM_ADMIN_USER_IDS", CFG_STR, "", 0, 0, 0,
	    F(telegram_admin_user_ids) },
	{ "TELEGRAM_API_BASE", CFG_STR, "https://api.telegram.org", 0, 0,
	    0, F(telegram_api_base) },
	{ "RAYVAULT_TELEGRAM_POLL", CFG_BOOL, "0", 0, 1, 0,
	    F(telegram_poll) },
	{ "RAYVAULT_DASHBOARD_URL", CFG_STR, "", 0, 0, 0, F(dashboard_url) },
	{ "RAYVAULT_STATE_DIR", CFG_PATH, "state", 0, 0, 0, F(state_dir) },
	{ "RAYVAULT_SPOOL_DIR", CFG_PATH, "spool", 0, 0, 0, F(spool_dir) },
	{ "RAYVAULT_DB_PATH", CFG_STR, "", 0, 0, 0, F(db_path) },
	{ "RAYVAULT_LEASE_MINUTES", CFG_INT, "15", 1, 30, 0,
	    F(lease_minutes) },
	{ "RAYVAULT_HEARTBEAT_INTERVAL_SEC", CFG_INT, "30", 1, 3600, 0,
	    F(heartbeat_interval_sec) },
	{ "RAYVAULT_HEARTBEAT_TIMEOUT_SEC", CFG_INT, "10", 1, 3600, 0,
	    F(heartbeat_timeout_sec) },
	{ "RAYVAULT_POLL_INTERVAL_SEC", CFG_INT, "30", 1, 3600, 0,
	    F(poll_interval_sec) },
	{ "RAYVAULT_CHILD_HEARTBEAT_MS", CFG_INT, "1000", 50, 60000, 0,
	    F(child_heartbeat_ms) },
	{ "RAYVAULT_CHILD_IDLE_HEARTBEAT_MS", CFG_INT, "60000", 50, 600000, 0,
	    F(child_idle_heartbeat_ms) },
	{ "RAYVAULT_BROWSER_STALL_SEC", CFG_INT, "90", 1, 3600, 0,
	    F(browser_stall_sec) },
	{ "RAYVAULT_TTS", CFG_STR, "espeak", 0, 0, 0, F(tts) },
	{ "RAYVAULT_RENDERER", CFG_STR, "ffmpeg", 0, 0, 0, F(renderer) },
	{ "RAYVAULT_MIN_VIDEO_BYTES", CFG_LONG, "-1", -1, 1e12, 0,
	    F(min_video_bytes) },
	{ "ELEVENLABS_API_KEY", CFG_STR, "", 0, 0, CFG_SECRET_ELEVENLABS,
	    F(elevenlabs_api_key) },
	{ "ELEVENLABS_VOICE_ID", CFG_STR, "21m00Tcm4TlvDq8ikWAM", 0, 0, 0,
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

/*
 * Zero the stack below the caller.  Reading .env leaves its values there
 * beyond our own buffers: the dynamic linker's lazy binding and a signal
 * save the vector registers (which string functions fill with the text
 * they scan) into frames under the stack pointer, and those stay until
 * overwritten.  Seen: a child's stack held a secret it never kept.
 */
static void __attribute__((noinline))
scrub_stack(void)
{
	char buf[32768];

	explicit_bzero(buf, sizeof(buf));
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* Zero <n> bytes at <p> in a way the compiler keeps. */
static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static void
env_file_clear(struct env_file *ef)
{
	size_t i;

	for (i = 0; i < ef->n; i++) {
		wipe(ef->values[i], strlen(ef->values[i]));
		free(ef->names[i]);
		free(ef->values[i]);
	}
	ef->n = 0;
}

static const struct cfg_key *
secret_key(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (cfg_keys[i].secret != 0 &&
		    strlen(cfg_keys[i].name) == len &&
		    strncmp(cfg_keys[i].name, name, len) == 0)
			return &cfg_keys[i];
	return NULL;
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
	char line[2048], iobuf[4096], lno[16], *k, *v, *eq;
	FILE *fp;
	int n = 0, bad = 0;
	size_t len;

	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	/* our buffer, wiped below: stdio's would keep the secrets when freed */
	(void)setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
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
				wipe(line, sizeof(line));
				wipe(iobuf, sizeof(iobuf));
				return -1;
			}
			ef->n++;
		}
	}
	fclose(fp);
	wipe(line, sizeof(line));
	wipe(iobuf, sizeof(iobuf));
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

/*
 * The number <v> of setting <name>, within [min, max] and, if <whole>,
 * without a fraction.  Returns 0, or -1 with the problem line appended.
 */
static int
parse_number(const char *name, const char *v, double min, double max,
    bool whole, double *out, char *err, size_t errlen)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno != 0 || d != d) {
		errf(err, errlen, "%s: not a number: \"%s\"\n", name, v);
		return -1;
	}
	if (d < min || d > max) {
		errf(err, errlen, "%s: out of range: %s (%g to %g)\n", name, v,
		    min, max);
		return -1;
	}
	if (whole && d != (double)(long)d) {
		errf(err, errlen, "%s: not a whole number: \"%s\"\n", name,
		    v);
		return -1;
	}
	*out = d;
	return 0;
}

/*
 * A whole number read from the environment only (rvsup's tuning, outside
 * the table): unset or empty is <def>; otherwise the table's rules.
 */
int
config_env_int(const char *name, int def, int min, int max, int *out,
    char *err, size_t errlen)
{
	const char *v = getenv(name);
	double d;

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (errlen > 0)
		err[0] = '\0';
	if (parse_number(name, v, min, max, true, &d, err, errlen) == -1)
		return -1;
	*out = (int)d;
	return 0;
}

static int
set_key(struct rv_config *c, const struct cfg_key *k, const char *v,
    char *err, size_t errlen)
{
	char *p = (char *)c + k->off, cwd[PATH_MAX], tmp[PATH_MAX];
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
	if (parse_number(k->name, v, k->min, k->max, k->type != CFG_DBL, &d,
	    err, errlen) == -1)
		return -1;
	if (k->type == CFG_INT)
		*(int *)p = (int)d;
	else if (k->type == CFG_LONG)
		*(long *)p = (long)d;
	else
		*(double *)p = d;
	return 0;
}

/*
 * Load the settings into <out>, every secret included.  <state_dir_override>
 * (from --state-dir) beats RAYVAULT_STATE_DIR; <envfile> may be NULL for
 * "./.env".  Returns 0, or -1 with every problem written to <err> as
 * "KEY: problem" lines and <out> unchanged.
 */
int
config_load(struct rv_config *out, const char *state_dir_override,
    const char *envfile, char *err, size_t errlen)
{
	return config_load_secrets(out, state_dir_override, envfile,
	    CFG_SECRET_ALL, err, errlen);
}

/*
 * config_load() keeping only the secrets in <keep> (CFG_SECRET_* bits):
 * the others stay empty in <out>.  A secret that is not kept is still
 * checked for length.  SUPABASE_SERVICE_KEY is required with SUPABASE_URL
 * only where it is kept (rvsup, rvctl): a child never gets the key in its
 * environment, and rvsup refused the settings at start without it.
 */
int
config_load_secrets(struct rv_config *out, const char *state_dir_override,
    const char *envfile, unsigned keep, char *err, size_t errlen)
{
	struct rv_config c;
	bool supakey_set = false;
	struct env_file ef = { .n = 0 };
	const struct cfg_key *k;
	const char *v;
	char host[65], line[256];
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
		if (k->secret == CFG_SECRET_SUPABASE)
			supakey_set = *v != '\0';
		if (k->secret != 0 && (k->secret & keep) == 0) {
			if (strlen(v) >= k->size) {
				errf(err, errlen, "%s: value too long%s\n",
				    k->name, "");
				bad = 1;
			}
			continue;
		}
		if (set_key(&c, k, v, err, errlen) == -1)
			bad = 1;
	}
	env_file_clear(&ef);
	scrub_stack();
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
	if (c.child_idle_heartbeat_ms < c.child_heartbeat_ms) {
		errf(err, errlen, "RAYVAULT_CHILD_IDLE_HEARTBEAT_MS: must not "
		    "be less than RAYVAULT_CHILD_HEARTBEAT_MS%s%s\n", "", "");
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
	/* Only shown to the operator: any host, http or https. */
	if (c.dashboard_url[0] != '\0' && netaddr_link_check(
	    "RAYVAULT_DASHBOARD_URL", c.dashboard_url, line, sizeof(line)) == -1) {
		errf(err, errlen, "%s%s\n", line, "");
		bad = 1;
	}
	/* Only a process that keeps the key needs it (rvsup, rvctl). */
	if (c.supabase_url[0] != '\0' && (keep & CFG_SECRET_SUPABASE) != 0 &&
	    !supakey_set) {
		errf(err, errlen, "SUPABASE_SERVICE_KEY: required when "
		    "SUPABASE_URL is set%s%s\n", "", "");
		bad = 1;
	}
	if (bad) {
		config_wipe(&c, CFG_SECRET_ALL);
		scrub_stack();
		return -1;
	}
	*out = c;
	config_wipe(&c, CFG_SECRET_ALL);
	scrub_stack();
	return 0;
}

/*
 * The secrets rvw-<kind> needs: notify the bot token, voice the
 * ElevenLabs key, every other child none.
 */
unsigned
config_kind_secrets(const char *kind)
{
	if (strcmp(kind, "notify") == 0)
		return CFG_SECRET_TELEGRAM;
	if (strcmp(kind, "voice") == 0)
		return CFG_SECRET_ELEVENLABS;
	return 0;
}

/* Clear the secrets of <c> named in <which> (CFG_SECRET_* bits). */
void
config_wipe(struct rv_config *c, unsigned which)
{
	if (which & CFG_SECRET_SUPABASE)
		wipe(c->supabase_service_key, sizeof(c->supabase_service_key));
	if (which & CFG_SECRET_TELEGRAM)
		wipe(c->telegram_bot_token, sizeof(c->telegram_bot_token));
	if (which & CFG_SECRET_ELEVENLABS)
		wipe(c->elevenlabs_api_key, sizeof(c->elevenlabs_api_key));
}

/*
 * The environment for a child: pointers to this process's environment
 * strings (borrowed: valid while the environment is not changed), minus
 * every secret not in <keep>, NULL-terminated.  The caller frees the
 * array only.  NULL when out of memory.
 */
char **
config_child_environ(unsigned keep)
{
	const struct cfg_key *k;
	char **v, **e;
	size_t n = 0, eq;

	for (e = environ; *e != NULL; e++)
		n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	n = 0;
	for (e = environ; *e != NULL; e++) {
		eq = strcspn(*e, "=");
		if ((k = secret_key(*e, eq)) != NULL && (k->secret & keep) == 0)
			continue;
		v[n++] = *e;
	}
	v[n] = NULL;
	return v;
}

/*
 * Refuse an env file that holds a secret (a non-empty value of a secret
 * key) and that group or others can read.  Returns 0 (fine, or no file),
 * or -1 with a message naming the file and the fix in <err>.
 */
int
config_env_file_check(const char *envfile, char *err, size_t errlen)
{
	struct env_file ef = { .n = 0 };
	const char *path = envfile != NULL ? envfile : ".env";
	struct stat sb;
	bool secret = false;
	size_t i;

	err[0] = '\0';
	if (stat(path, &sb) == -1 || (sb.st_mode & 044) == 0)
		return 0;
	if (env_file_read(path, &ef, err, errlen) == -1) {
		env_file_clear(&ef);
		return 0;	/* unreadable: config_load says so */
	}
	err[0] = '\0';
	for (i = 0; i < ef.n; i++)
		if (secret_key(ef.names[i], strlen(ef.names[i])) != NULL &&
		    ef.values[i][0] != '\0')
			secret = true;
	env_file_clear(&ef);
	scrub_stack();
	if (!secret)
		return 0;
	snprintf(err, errlen, "%s holds secrets and is readable by other "
	    "users (mode %04o); fix: chmod 600 %s", path,
	    (unsigned)(sb.st_mode & 07777), path);
	return -1;
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

/*
 * The settings table, one "NAME<TAB>type<TAB>default<TAB>min<TAB>max<TAB>
 * secret|-" line a key; min and max are "-" where a type has no bounds
 * (text, paths, booleans).  Types: text, path, bool, int, number.
 */
void
config_table_print(FILE *fp)
{
	static const char *types[] = { [CFG_STR] = "text", [CFG_INT] = "int",
	    [CFG_LONG] = "int", [CFG_DBL] = "number", [CFG_BOOL] = "bool",
	    [CFG_PATH] = "path" };
	const struct cfg_key *k;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		k = &cfg_keys[i];
		fprintf(fp, "%s\t%s\t%s\t", k->name, types[k->type],
		    k->def);
		if (k->type == CFG_STR || k->type == CFG_PATH ||
		    k->type == CFG_BOOL)
			fprintf(fp, "-\t-\t");
		else
			fprintf(fp, "%.15g\t%.15g\t", k->min, k->max);
		fprintf(fp, "%s\n", k->secret != 0 ? "secret" : "-");
	}
}
