/* SPDX-License-Identifier: ISC */
/*
 * config_test: the settings table.  Defaults, .env parsing (comments,
 * quotes, export), the environment winning over .env, every bad value
 * named by its key, invalid combinations refused, a failed load leaving
 * the previous settings untouched, and secrets never printed.  Secrets
 * per process: a load keeps only the secrets asked for (and still checks
 * the others), a child's environment drops the secrets its kind does not
 * need, and a .env holding a secret that others can read is refused.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/config.h"
#include "tests/unit/test.h"

static char envpath[] = "/tmp/rv-config-test.XXXXXX";

extern char **environ;

static void
write_env(const char *text)
{
	FILE *fp = fopen(envpath, "w");

	fputs(text, fp);
	fclose(fp);
}

/* Is "<name>=" one of the entries of <v>? */
static int
has_var(char **v, const char *name)
{
	size_t n = strlen(name);

	for (; *v != NULL; v++)
		if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
			return 1;
	return 0;
}

static void
test_secrets(void)
{
	struct rv_config c;
	char err[4096], **v;
	const char *kinds[] = { "evidence", "voice", "render", "probe",
	    "notify" };
	size_t i;

	write_env("SUPABASE_URL=http://127.0.0.1:9\n"
	    "SUPABASE_SERVICE_KEY=service-key-1234\n"
	    "TELEGRAM_BOT_TOKEN=123:bot-token\n"
	    "ELEVENLABS_API_KEY=eleven-key\n");
	CHECK("load notify secrets", config_load_secrets(&c, NULL, envpath,
	    config_kind_secrets("notify"), err, sizeof(err)) == 0, "%s", err);
	CHECK("notify keeps the bot token", strcmp(c.telegram_bot_token,
	    "123:bot-token") == 0, "token \"%s\"", c.telegram_bot_token);
	CHECK("notify has no service key or tts key",
	    c.supabase_service_key[0] == '\0' &&
	    c.elevenlabs_api_key[0] == '\0', "key \"%s\" \"%s\"",
	    c.supabase_service_key, c.elevenlabs_api_key);
	/*
	 * A child started by rvsup has SUPABASE_URL but never the key (its
	 * environment is stripped of it): it must load; rvsup must not.
	 */
	write_env("SUPABASE_URL=http://127.0.0.1:9\n");
	for (i = 0; i < 5; i++)
		CHECK(kinds[i], config_load_secrets(&c, NULL, envpath,
		    config_kind_secrets(kinds[i]), err, sizeof(err)) == 0,
		    "a child without the service key: %s", err);
	CHECK("rvsup needs the service key", config_load_secrets(&c, NULL,
	    envpath, CFG_SECRET_SUPABASE, err, sizeof(err)) == -1 &&
	    strstr(err, "SUPABASE_SERVICE_KEY: required") != NULL, "%s", err);
	write_env("SUPABASE_URL=http://127.0.0.1:9\n"
	    "SUPABASE_SERVICE_KEY=service-key-1234\n"
	    "TELEGRAM_BOT_TOKEN=123:bot-token\n"
	    "ELEVENLABS_API_KEY=eleven-key\n");
	for (i = 0; i < 4; i++) {
		if (strcmp(kinds[i], "voice") == 0)
			continue;
		CHECK(kinds[i], config_load_secrets(&c, NULL, envpath,
		    config_kind_secrets(kinds[i]), err, sizeof(err)) == 0 &&
		    c.supabase_service_key[0] == '\0' &&
		    c.telegram_bot_token[0] == '\0' &&
		    c.elevenlabs_api_key[0] == '\0', "a secret was loaded: "
		    "%s", err);
	}
	CHECK("voice keeps its tts key", config_load_secrets(&c, NULL,
	    envpath, config_kind_secrets("voice"), err, sizeof(err)) == 0 &&
	    strcmp(c.elevenlabs_api_key, "eleven-key") == 0 &&
	    c.telegram_bot_token[0] == '\0', "%s", err);
	config_load(&c, NULL, NULL, err, sizeof(err));
	strlcpy(c.telegram_bot_token, "t", sizeof(c.telegram_bot_token));
	strlcpy(c.supabase_service_key, "s", sizeof(c.supabase_service_key));
	config_wipe(&c, CFG_SECRET_TELEGRAM);
	CHECK("wipe", c.telegram_bot_token[0] == '\0' &&
	    c.supabase_service_key[0] == 's', "not wiped as asked");

	setenv("SUPABASE_SERVICE_KEY", "env-service-key", 1);
	setenv("TELEGRAM_BOT_TOKEN", "env-bot-token", 1);
	setenv("ELEVENLABS_API_KEY", "env-eleven", 1);
	setenv("RV_CONFIG_TEST_OTHER", "1", 1);
	for (i = 0; i < 5; i++) {
		if ((v = config_child_environ(config_kind_secrets(kinds[i]))) ==
		    NULL) {
			CHECK("child environ", 0, "out of memory");
			continue;
		}
		CHECK(kinds[i], !has_var(v, "SUPABASE_SERVICE_KEY") &&
		    has_var(v, "TELEGRAM_BOT_TOKEN") ==
		    (strcmp(kinds[i], "notify") == 0) &&
		    has_var(v, "ELEVENLABS_API_KEY") ==
		    (strcmp(kinds[i], "voice") == 0) &&
		    has_var(v, "RV_CONFIG_TEST_OTHER") && has_var(v, "PATH"),
		    "child environment: service key %d, bot token %d, tts "
		    "key %d, other %d", has_var(v, "SUPABASE_SERVICE_KEY"),
		    has_var(v, "TELEGRAM_BOT_TOKEN"),
		    has_var(v, "ELEVENLABS_API_KEY"),
		    has_var(v, "RV_CONFIG_TEST_OTHER"));
		free(v);
	}
	unsetenv("SUPABASE_SERVICE_KEY");
	unsetenv("TELEGRAM_BOT_TOKEN");
	unsetenv("ELEVENLABS_API_KEY");
	unsetenv("RV_CONFIG_TEST_OTHER");
}

static void
test_env_mode(void)
{
	char err[1024];

	write_env("TELEGRAM_BOT_TOKEN=123:bot-token\n");
	chmod(envpath, 0644);
	CHECK("readable .env with a secret refused",
	    config_env_file_check(envpath, err, sizeof(err)) == -1 &&
	    strstr(err, envpath) != NULL && strstr(err, "chmod 600") != NULL,
	    "\"%s\"", err);
	chmod(envpath, 0640);
	CHECK("group-readable .env with a secret refused",
	    config_env_file_check(envpath, err, sizeof(err)) == -1, "accepted");
	chmod(envpath, 0600);
	CHECK("private .env with a secret accepted",
	    config_env_file_check(envpath, err, sizeof(err)) == 0, "%s", err);
	write_env("TELEGRAM_BOT_TOKEN=\nRAYVAULT_LEASE_MINUTES=5\n");
	chmod(envpath, 0644);
	CHECK("readable .env without a secret accepted",
	    config_env_file_check(envpath, err, sizeof(err)) == 0, "%s", err);
	chmod(envpath, 0600);
}

struct bad {
	const char	*env;
	const char	*key_in_error;
};

static const struct bad bads[] = {
	{ "RAYVAULT_LEASE_MINUTES=abc\n", "RAYVAULT_LEASE_MINUTES: not a number" },
	{ "RAYVAULT_LEASE_MINUTES=0\n", "RAYVAULT_LEASE_MINUTES: out of range" },
	{ "RAYVAULT_LEASE_MINUTES=2.5\n", "RAYVAULT_LEASE_MINUTES: not a whole" },
	{ "RAYVAULT_TELEGRAM_POLL=maybe\n", "RAYVAULT_TELEGRAM_POLL" },
	{ "RAYVAULT_EVIDENCE_ALLOW_PRIVATE=2\n",
	    "RAYVAULT_EVIDENCE_ALLOW_PRIVATE: not a boolean" },
	{ "RAYVAULT_TTS=festival\n", "RAYVAULT_TTS" },
	{ "RAYVAULT_RENDERER=blender\n", "RAYVAULT_RENDERER" },
	{ "RAYVAULT_HEARTBEAT_INTERVAL_SEC=300\n",
	    "RAYVAULT_HEARTBEAT_INTERVAL_SEC" },
	{ "RAYVAULT_HEARTBEAT_TIMEOUT_SEC=30\n",
	    "RAYVAULT_HEARTBEAT_TIMEOUT_SEC" },
	{ "RAYVAULT_CHILD_IDLE_HEARTBEAT_MS=500\n",
	    "RAYVAULT_CHILD_IDLE_HEARTBEAT_MS: must not be less than "
	    "RAYVAULT_CHILD_HEARTBEAT_MS" },
	{ "RAYVAULT_CHILD_IDLE_HEARTBEAT_MS=900000\n",
	    "RAYVAULT_CHILD_IDLE_HEARTBEAT_MS: out of range" },
	{ "SUPABASE_URL=ftp://x\nSUPABASE_SERVICE_KEY=k\n", "SUPABASE_URL" },
	{ "SUPABASE_URL=https://x.example\n", "SUPABASE_SERVICE_KEY" },
	{ "SUPABASE_URL=http://10.0.0.1\nSUPABASE_SERVICE_KEY=k\n",
	    "SUPABASE_URL: http:// is allowed only" },
	{ "SUPABASE_URL=http://127.evil.com\nSUPABASE_SERVICE_KEY=k\n",
	    "SUPABASE_URL: http:// is allowed only" },
	{ "TELEGRAM_API_BASE=http://api.telegram.org\n",
	    "TELEGRAM_API_BASE: http:// is allowed only" },
	{ "TELEGRAM_API_BASE=http://localhost.evil.com\n",
	    "TELEGRAM_API_BASE: http:// is allowed only" },
	{ "TELEGRAM_API_BASE=api.telegram.org\n",
	    "TELEGRAM_API_BASE: must start with https://" },
	{ "DZINE_URL=http://127.0.0.1.evil.example/tools\n",
	    "DZINE_URL: http:// is allowed only" },
	{ "RAYVAULT_DASHBOARD_URL=ftp://ops.example\n",
	    "RAYVAULT_DASHBOARD_URL: must start with http:// or https://" },
	{ "RAYVAULT_DASHBOARD_URL=ops.example:8787\n",
	    "RAYVAULT_DASHBOARD_URL: must start with http:// or https://" },
	{ "RAYVAULT_DASHBOARD_URL=https://ops.example/?x=1\n",
	    "RAYVAULT_DASHBOARD_URL: must not hold a query" },
	{ "RAYVAULT_DASHBOARD_URL=https://ops.example/#top\n",
	    "RAYVAULT_DASHBOARD_URL: must not hold a query" },
	{ "RAYVAULT_DASHBOARD_URL=https://op:pw@ops.example\n",
	    "RAYVAULT_DASHBOARD_URL: must not carry a user name" },
	{ "RAYVAULT_DASHBOARD_URL=\"https://ops example\"\n",
	    "RAYVAULT_DASHBOARD_URL: holds a space" },
	{ "RAYVAULT_DASHBOARD_URL=https://ops.example:80a\n",
	    "RAYVAULT_DASHBOARD_URL: the port must be digits" },
	{ "RAYVAULT_DASHBOARD_URL=http://\n",
	    "RAYVAULT_DASHBOARD_URL: no host" },
	{ "RAYVAULT_WORKER_ID=ab\n", "RAYVAULT_WORKER_ID" },
	{ "this line is wrong\n", "not KEY=VALUE" },
};

int
main(void)
{
	struct rv_config c, keep;
	char err[4096], buf[256];
	FILE *fp;
	size_t i;
	int fd;

	if ((fd = mkstemp(envpath)) == -1)
		return 2;
	close(fd);
	unsetenv("RAYVAULT_LEASE_MINUTES");
	unsetenv("RAYVAULT_STATE_DIR");
	unsetenv("RAYVAULT_HEARTBEAT_INTERVAL_SEC");
	unsetenv("RAYVAULT_HEARTBEAT_TIMEOUT_SEC");
	unsetenv("RAYVAULT_CHILD_HEARTBEAT_MS");
	unsetenv("RAYVAULT_CHILD_IDLE_HEARTBEAT_MS");
	unsetenv("RAYVAULT_WORKER_ID");
	unsetenv("RAYVAULT_EVIDENCE_ALLOW_PRIVATE");
	unsetenv("TELEGRAM_API_BASE");
	unsetenv("SUPABASE_URL");
	unsetenv("SUPABASE_SERVICE_KEY");
	unsetenv("DZINE_URL");
	unsetenv("RAYVAULT_DASHBOARD_URL");
	write_env("# comment\n\nexport RAYVAULT_LEASE_MINUTES=12\n"
	    "TELEGRAM_BOT_TOKEN=\"123:secret-token\"\n"
	    "RAYVAULT_WORKER_ID='Mac-Ray-01'\n");
	CHECK("load", config_load(&c, "/tmp/st", envpath, err,
	    sizeof(err)) == 0, "%s", err);
	CHECK("env file value", c.lease_minutes == 12, "%d", c.lease_minutes);
	CHECK("quotes stripped", strcmp(c.worker_id, "Mac-Ray-01") == 0, "%s",
	    c.worker_id);
	CHECK("private fetch off by default", !c.evidence_allow_private,
	    "allowed");
	CHECK("default", c.heartbeat_interval_sec == 30 &&
	    c.child_heartbeat_ms == 1000 && c.browser_stall_sec == 90, "x");
	CHECK("state dir override", strcmp(c.state_dir, "/tmp/st") == 0, "%s",
	    c.state_dir);
	CHECK("secret loaded", strcmp(c.telegram_bot_token,
	    "123:secret-token") == 0, "token");
	setenv("RAYVAULT_LEASE_MINUTES", "20", 1);
	CHECK("env wins", config_load(&c, NULL, envpath, err, sizeof(err)) ==
	    0 && c.lease_minutes == 20, "%d", c.lease_minutes);
	unsetenv("RAYVAULT_LEASE_MINUTES");
	setenv("RAYVAULT_EVIDENCE_ALLOW_PRIVATE", "1", 1);
	CHECK("private fetch allowed", config_load(&c, NULL, envpath, err,
	    sizeof(err)) == 0 && c.evidence_allow_private, "%s", err);
	unsetenv("RAYVAULT_EVIDENCE_ALLOW_PRIVATE");
	CHECK("reload", config_load(&c, "/tmp/st", envpath, err,
	    sizeof(err)) == 0 && !c.evidence_allow_private, "%s", err);

	fp = tmpfile();
	config_print(&c, fp);
	rewind(fp);
	memset(buf, 0, sizeof(buf));
	err[0] = '\0';
	while (fgets(buf, sizeof(buf), fp) != NULL)
		if (strstr(buf, "secret-token") != NULL)
			strlcpy(err, buf, sizeof(err));
	fclose(fp);
	CHECK("print redacts", err[0] == '\0', "printed %s", err);
	config_redact(&c, "GET /bot123:secret-token/getUpdates", buf,
	    sizeof(buf));
	CHECK("redact", strstr(buf, "secret") == NULL && strstr(buf,
	    "***") != NULL, "%s", buf);

	keep = c;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		write_env(bads[i].env);
		CHECK(bads[i].env, config_load(&c, NULL, envpath, err,
		    sizeof(err)) == -1, "accepted");
		CHECK(bads[i].env, strstr(err, bads[i].key_in_error) != NULL,
		    "error \"%s\" does not name \"%s\"", err,
		    bads[i].key_in_error);
		CHECK("unchanged on failure", memcmp(&c, &keep,
		    sizeof(c)) == 0, "settings changed");
	}
	write_env("RAYVAULT_LEASE_MINUTES=abc\nRAYVAULT_TTS=x\n");
	config_load(&c, NULL, envpath, err, sizeof(err));
	CHECK("all problems collected", strstr(err, "RAYVAULT_LEASE_MINUTES")
	    && strstr(err, "RAYVAULT_TTS"), "%s", err);
	write_env("TELEGRAM_API_BASE=http://10.1.1.1\nDZINE_URL=http://x\n");
	config_load(&c, NULL, envpath, err, sizeof(err));
	CHECK("all URL problems collected", strstr(err, "TELEGRAM_API_BASE:")
	    && strstr(err, "DZINE_URL:"), "%s", err);
	write_env("TELEGRAM_API_BASE=http://127.8.9.10:8080\n"
	    "DZINE_URL=http://localhost:9/tools/?a=1\n"
	    "SUPABASE_URL=http://[::1]:3000\nSUPABASE_SERVICE_KEY=k\n");
	CHECK("http to loopback", config_load(&c, NULL, envpath, err,
	    sizeof(err)) == 0, "%s", err);
	CHECK("no dashboard link by default", c.dashboard_url[0] == '\0',
	    "%s", c.dashboard_url);
	/* Where the operator's browser reaches the dashboard is theirs. */
	write_env("RAYVAULT_DASHBOARD_URL=http://10.8.0.2:8787/rv/\n");
	CHECK("dashboard link over http to any host", config_load(&c, NULL,
	    envpath, err, sizeof(err)) == 0 && strcmp(c.dashboard_url,
	    "http://10.8.0.2:8787/rv/") == 0, "%s", err);
	setenv("RAYVAULT_DASHBOARD_URL", "https://rv.example.net", 1);
	CHECK("dashboard link from the environment", config_load(&c, NULL,
	    envpath, err, sizeof(err)) == 0 && strcmp(c.dashboard_url,
	    "https://rv.example.net") == 0, "%s", err);
	unsetenv("RAYVAULT_DASHBOARD_URL");
	test_secrets();
	test_env_mode();
	unlink(envpath);
	if (access(".env.example", R_OK) == 0)
		CHECK("shipped .env.example loads", config_load(&c, NULL,
		    ".env.example", err, sizeof(err)) == 0, "%s", err);
	return test_exit();
}
