/* SPDX-License-Identifier: ISC */
/*
 * rvctl.c: the operator's command line.
 *
 *	rvctl [--state-dir DIR] [--json] <command> [options]
 *	rvctl --version | --help
 *
 * Each command is one entry of the table below, implemented in the ctl_*
 * file of its family.  Global options may come before or after the
 * command.  rvctl reaches a running rvsup only through its control
 * endpoint, and the store only through the store interface (the same CAS
 * operations the Telegram buttons use).  Exit codes: 0 ok, 1 warn or
 * refused, 2 critical, 3 no supervisor (status), 64 usage, 65 bad input
 * data, 69 store unreachable, 70 internal error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/config.h"
#include "common/core/platform.h"
#include "common/core/log.h"
#include "common/core/version.h"
#include "common/store/store.h"
#include "ctl/ctl.h"

static const struct ctl_cmd cmds[] = {
	{ "status", ctl_status, "status [--json]",
	    "live supervisor state, its run and children" },
	{ "log-level", ctl_log_level, "log-level error|warn|info|debug",
	    "change the running supervisor's and children's log level" },
	{ "enqueue", ctl_enqueue, "enqueue [--replace] FILE.json",
	    "validate a run spec and queue a run (--replace: in place of the "
	    "video's aborted or failed run)" },
	{ "amend", ctl_amend, "amend --run ID --segment SEG (--text TEXT | "
	    "--duration SEC) --operator NAME", "change one segment of a gated "
	    "or aborted run; only its audio and video are made again" },
	{ "runs", ctl_runs, "runs [--json]", "list runs" },
	{ "events", ctl_events, "events --run ID [--json]",
	    "show a run's events" },
	{ "approve", ctl_action, "approve --run ID --operator NAME "
	    "[--gate NONCE8]", "approve the run's open gate (or that gate)" },
	{ "refetch", ctl_action, "refetch --run ID --operator NAME "
	    "[--gate NONCE8]", "decide the open gate: re-collect the "
	    "evidence" },
	{ "abort", ctl_action, "abort --run ID --operator NAME "
	    "[--gate NONCE8]", "abort a run (deciding its open gate)" },
	{ "unlock", ctl_unlock, "unlock --run ID --operator NAME --reason TEXT "
	    "[--force]", "clear a run's lease (exit 0 unlocked, 1 refused)" },
	{ "doctor", ctl_doctor, "doctor [--no-replay] [--alert] [--json]",
	    "replay the spool, check store health, contract and this machine; "
	    "exit 0 ok, 1 warn, 2 critical; --alert also sends STALE WORKER "
	    "and CONTRACT FAIL to Telegram (once an hour per run and reason; "
	    "exit 64 when Telegram is not configured)" },
	{ "check-contract", ctl_check_contract, "check-contract [--json]",
	    "verify the store offers every operation this build needs "
	    "(read-only)" },
	{ "preflight", ctl_preflight, "preflight [--json]",
	    "credits the queue needs against the credits available, in US$ "
	    "and R$; exit 0 GO, 1 unknown, 2 NO_GO" },
	{ "report", ctl_report, "report [--video ID] [--json]",
	    "credits needed/saved/spent, cost, per-run table and quality" },
	{ "timeline", ctl_timeline, "timeline [--video ID] [--fps N] [--json]",
	    "rebuild a run's timeline CSV and EDL and show its QC (no --video: "
	    "the most recent run)" },
	{ "orphans", ctl_orphans, "orphans [--json]",
	    "list videos in video/final the index does not know" },
	{ "clean-zombies", ctl_clean_zombies, "clean-zombies [--delete] "
	    "[--dry-run] [--min-size-kb N] [--keep-last-n N] [--json]",
	    "quarantine orphans older than 6 h (delete: older than 48 h)" },
	{ "index-refresh", ctl_index_refresh, "index-refresh [--force] "
	    "[--allow-missing-sha8] [--dry-run] [--prune] [--rebuild] "
	    "[--jobs N] [--json]", "scan video/final and update the index" },
	{ "index-repair", ctl_index_repair, "index-repair [--apply] [--json]",
	    "find index entries whose file is gone (--apply removes them)" },
	{ "maintenance", ctl_maintenance, "maintenance [--apply]",
	    "index refresh + orphan cleanup + report (dry run without "
	    "--apply)" },
	{ "clean", ctl_clean, "clean [--dry-run]",
	    "safe cleanup of old scratch files, leftover temporary files and "
	    "old logs" },
	{ "clean-hard", ctl_clean, "clean-hard [--dry-run]",
	    "aggressive temporary-file cleanup (refused while rvsup runs)" },
	{ "replay-spool", ctl_replay_spool, "replay-spool [--json]",
	    "send the spooled events to the store" },
	{ "quarantine", ctl_quarantine, "quarantine [--json]",
	    "list the events set aside in spool/bad and spool/quarantine" },
	{ "purge-spool", ctl_purge_spool, "purge-spool --confirm",
	    "delete the events in spool/bad and spool/quarantine" },
	{ "baptism", ctl_baptism, "baptism [--level A|B] [--confirm] [--json]",
	    "acceptance checks of this machine; B (after the kill test) needs "
	    "--confirm" },
	{ "logs", ctl_logs, "logs [--lines N] [--name TEXT]",
	    "show the last lines of every log in state/logs" },
	{ "dashboard", ctl_dashboard, "dashboard [--listen 127.0.0.1:8787] "
	    "[--operator NAME]", "serve the operator's web page on loopback "
	    "(first stdout line: the login URL; port 0 picks a free one)" },
	{ "notify-test", ctl_notify_test, "notify-test [--text TEXT] [--json]",
	    "send one test message to TELEGRAM_CHAT_ID and show Telegram's "
	    "answer" },
	{ NULL, NULL, NULL, NULL }
};

const struct ctl_cmd *
ctl_lookup(const char *name)
{
	int i;

	for (i = 0; cmds[i].name != NULL; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

int
ctl_usage(const struct ctl_cmd *cmd)
{
	fprintf(stderr, "usage: rvctl [--state-dir DIR] %s\n  %s\n",
	    cmd->usage, cmd->help);
	return CTL_USAGE;
}

static void
usage_all(FILE *fp)
{
	int i;

	fprintf(fp, "usage: rvctl [--state-dir DIR] [--json] COMMAND "
	    "[options]\n       rvctl --version | --help\n\ncommands:\n");
	for (i = 0; cmds[i].name != NULL; i++)
		fprintf(fp, "  %-58s %s\n", cmds[i].usage, cmds[i].help);
	fprintf(fp, "\nEvery command takes --help.\n");
}

/*
 * Two tables for tools, left out of the usage text: "rvctl --commands"
 * prints "name<TAB>usage<TAB>help" a command (the shell completions in
 * contrib/completions are made from it: scripts/gen-completions), and
 * "rvctl --settings" the settings table of config.c (docs/rayvault.env.5
 * is checked against it).
 */
static int
dump_table(const char *what)
{
	int i;

	if (strcmp(what, "--settings") == 0) {
		config_table_print(stdout);
		return CTL_OK;
	}
	for (i = 0; cmds[i].name != NULL; i++)
		printf("%s\t%s\t%s\n", cmds[i].name, cmds[i].usage,
		    cmds[i].help);
	return CTL_OK;
}

/*
 * True when the settings loaded; otherwise says "rvctl <cmd>: invalid
 * settings" with the problems on stderr and returns false.
 */
bool
ctl_settings_ok(const struct ctl_env *env, const char *cmd)
{
	if (env->cfg_ok)
		return true;
	fprintf(stderr, "rvctl %s: invalid settings:\n%s", cmd, env->cfg_err);
	return false;
}

/* Open the store on first use.  Returns 0, or an exit code. */
int
ctl_store(struct ctl_env *env)
{
	char err[512];

	if (env->st_open)
		return 0;
	if (!env->cfg_ok) {
		fprintf(stderr, "rvctl: invalid settings:\n%s", env->cfg_err);
		return CTL_USAGE;
	}
	if (store_open(&env->st, &env->cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "rvctl: store unreachable: %s\n", err);
		return CTL_UNAVAIL;
	}
	env->st_open = true;
	return 0;
}

void
ctl_print_json(const cJSON *j)
{
	char *txt = cJSON_Print(j);

	if (txt != NULL) {
		puts(txt);
		free(txt);
	}
}

/* Take --state-dir and --json out of argv wherever they are. */
static int
global_opts(int *argc, char **argv, const char **statedir, bool *json)
{
	int i, o = 0;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--state-dir") == 0) {
			if (i + 1 >= *argc)
				return -1;
			*statedir = argv[++i];
		} else if (strncmp(argv[i], "--state-dir=", 12) == 0)
			*statedir = argv[i] + 12;
		else if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else
			argv[o++] = argv[i];
	}
	*argc = o;
	argv[o] = NULL;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct ctl_env env;
	const struct ctl_cmd *cmd;
	const char *statedir = NULL;
	int rc, i;

	log_init("rvctl", "ctl", NULL);
	log_set_level(LOG_LVL_WARN);
	if (argc == 2 && (strcmp(argv[1], "--commands") == 0 ||
	    strcmp(argv[1], "--settings") == 0))
		return dump_table(argv[1]);
	if (global_opts(&argc, argv, &statedir, &env.json) == -1 ||
	    argc < 2) {
		usage_all(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		version_print("rvctl");
		return CTL_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return CTL_OK;
	}
	if ((cmd = ctl_lookup(argv[1])) == NULL) {
		fprintf(stderr, "rvctl: unknown command \"%s\"\n", argv[1]);
		usage_all(stderr);
		return CTL_USAGE;
	}
	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			printf("usage: rvctl [--state-dir DIR] %s\n  %s\n",
			    cmd->usage, cmd->help);
			return CTL_OK;
		}
	if (plat_harden_process() == -1)
		fprintf(stderr, "rvctl: cannot turn core dumps off: %s\n",
		    strerror(errno));
	env.cfg_ok = config_load(&env.cfg, statedir, NULL, env.cfg_err,
	    sizeof(env.cfg_err)) == 0;
	rc = cmd->fn(&env, argc - 1, argv + 1);
	if (env.st_open)
		store_close(&env.st);
	return rc;
}
