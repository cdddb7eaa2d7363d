/* SPDX-License-Identifier: ISC */
/*
 * ctl_contract.c: rvctl check-contract, does the store offer what this
 * build needs?
 *
 * Strictly read-only: the backend's own check_contract (schema, columns,
 * every statement prepared but never run, the clock), then the read
 * operations called for real with an id no run has (get_run must answer
 * "not found", list_runs, list_events and the ledger must answer).  It
 * never claims, heartbeats or writes, and it does not create a missing
 * embedded database: that is reported instead.  The earlier version's
 * contract check claimed real runs; this one cannot.
 *
 * A database of another schema (one the store door refuses to open) is a
 * failed check, not an unreachable store.
 *
 * Exit: 0 every check passed, 2 one failed, 69 the store is unreachable.
 * ctl_contract_checks() adds the same checks to doctor and baptism.
 *
 * Public: ctl_check_contract, ctl_contract_checks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/ids.h"
#include "common/store/store.h"
#include "ctl/ctl.h"

#define CONTRACT_ACTION	"The store does not match this build: do not " \
			"start a worker on it; apply the migration in " \
			"supabase/migrations (Supabase) or restore the " \
			"database from a backup, then run rvctl " \
			"check-contract again."

/* Call the read operations with an id no run has. */
static void
check_reads(struct ctl_env *env, struct ctl_diag *d, int *fails)
{
	const char *ghost = "00000000-0000-4000-8000-000000000000";
	struct store_ledger *rows = NULL;
	struct store_run r, *runs = NULL;
	char err[256] = "";
	const char *what = NULL;
	cJSON *evs = NULL;
	size_t n;

	errno = 0;
	if (store_get_run(&env->st, ghost, &r, NULL, err,
	    sizeof(err)) == 0 || errno != ENOENT)
		what = "get_run of an unknown run did not answer \"not found\"";
	else if (store_list_runs(&env->st, &runs, &n, err,
	    sizeof(err)) == -1)
		what = "list_runs";
	else if (store_list_events(&env->st, ghost, &evs, err,
	    sizeof(err)) == -1)
		what = "list_events";
	else if (store_ledger_list(&env->st, ghost, &rows, &n, err,
	    sizeof(err)) == -1)
		what = "ledger_list";
	free(runs);
	free(rows);
	cJSON_Delete(evs);
	if (what != NULL) {
		(*fails)++;
		ctl_diag_add(d, CTL_LVL_CRIT, "contract_reads", CONTRACT_ACTION,
		    "%s%s%s", what, err[0] ? ": " : "", err);
	} else
		ctl_diag_add(d, CTL_LVL_OK, "contract_reads", NULL, "get_run, "
		    "list_runs, list_events and ledger_list answer as "
		    "expected");
}

/*
 * Add the contract checks of the open store to <d>: one line per check
 * when <each> is true (check-contract), else one summary line (doctor).
 * Returns nothing; failures are CRIT checks.
 */
void
ctl_contract_checks(struct ctl_env *env, struct ctl_diag *d, bool each)
{
	const cJSON *c;
	cJSON *rep = NULL;
	char err[512], name[64];
	int fails = 0, total = 0;
	bool ok;

	if (store_check_contract(&env->st, &rep, err,
	    sizeof(err)) == -1) {
		ctl_diag_add(d, CTL_LVL_CRIT, "contract", CONTRACT_ACTION,
		    "the contract check could not run: %s", err);
		return;
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(rep, "checks")) {
		ok = cJSON_IsTrue(cJSON_GetObjectItem(c, "ok"));
		total++;
		fails += !ok;
		snprintf(name, sizeof(name), "contract_%s",
		    cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")) ?
		    cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")) : "?");
		if (each || !ok)
			ctl_diag_add(d, ok ? CTL_LVL_OK : CTL_LVL_CRIT, name,
			    ok ? NULL : CONTRACT_ACTION, "%s",
			    cJSON_GetStringValue(cJSON_GetObjectItem(c,
			    "detail")) ? cJSON_GetStringValue(
			    cJSON_GetObjectItem(c, "detail")) : "");
	}
	cJSON_Delete(rep);
	if (each)
		check_reads(env, d, &fails);
	else if (fails == 0)
		ctl_diag_add(d, CTL_LVL_OK, "contract", NULL, "the %s store "
		    "passes its %d contract checks (read-only)",
		    env->st.backend, total);
}

int
ctl_check_contract(struct ctl_env *env, int argc, char **argv)
{
	const struct ctl_opt opts[] = { { NULL, 0, NULL, 0, 0 } };
	struct ctl_diag d;
	const char *backend;
	char err[512];
	cJSON *j;
	int rc;

	if (ctl_opts_parse("check-contract", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("check-contract"));
	if (ctl_store_try(env, false, err, sizeof(err)) == -1 &&
	    errno != EPROTO) {
		fprintf(stderr, "rvctl check-contract: store unreachable: %s\n",
		    err);
		return env->cfg_ok ? CTL_UNAVAIL : CTL_USAGE;
	}
	ctl_diag_init(&d, &env->cfg);
	if (env->st_open)
		ctl_contract_checks(env, &d, true);
	else			/* reached, but a database of another schema */
		ctl_diag_add(&d, CTL_LVL_CRIT, "contract_schema",
		    CONTRACT_ACTION, "%s", err);
	backend = env->cfg.supabase_url[0] != '\0' ? "supabase" : "sqlite";
	if (env->json) {
		j = ctl_diag_json(&d, true);
		cJSON_AddStringToObject(j, "backend", backend);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("rvctl check-contract: %s store (read-only: nothing is "
		    "claimed or written)\n\n", backend);
		ctl_diag_print(&d, stdout, true);
		printf("\ncontract: %s%s%s\n", ctl_paint(stdout, d.worst),
		    d.worst == CTL_LVL_CRIT ? "BROKEN" : "OK",
		    ctl_unpaint(stdout));
		if (d.worst == CTL_LVL_CRIT)
			printf("next: %s\n", CONTRACT_ACTION);
	}
	rc = ctl_diag_exit(&d);
	ctl_diag_clear(&d);
	return rc;
}
