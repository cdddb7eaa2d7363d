/* SPDX-License-Identifier: ISC */
/*
 * config_test: the settings table.  Defaults, .env parsing (comments,
 * quotes, export), the environment winning over .env, every bad value
 * named by its key, invalid combinations refused, a failed load leaving
 * the previous settings untouched, and secrets never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/config.h"
#include "tests/unit/test.h"

static char envpath[] = "/tmp/rv-config-test.XXXXXX";

static void
write_env(const char *text)
{
	FILE *fp = fopen(envpath, "w");

	fputs(text, fp);
	fclose(fp);
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
	unsetenv("RAYVAULT_WORKER_ID");
	unsetenv("RAYVAULT_EVIDENCE_ALLOW_PRIVATE");
	unsetenv("TELEGRAM_API_BASE");
	unsetenv("SUPABASE_URL");
	unsetenv("SUPABASE_SERVICE_KEY");
	unsetenv("DZINE_URL");
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
	unlink(envpath);
	if (access(".env.example", R_OK) == 0)
		CHECK("shipped .env.example loads", config_load(&c, NULL,
		    ".env.example", err, sizeof(err)) == 0, "%s", err);
	return test_exit();
}
