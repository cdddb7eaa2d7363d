/* SPDX-License-Identifier: ISC */
/*
 * ctl_runs.c: rvctl commands that act on runs in the store.
 *
 * enqueue validates a run spec (common/core/spec.c), records the absolute
 * directory it came from (saved pages and images are resolved inside it),
 * creates the run and mirrors the spec to state/jobs/<run_id>.json.  A
 * video id has one current run: a second enqueue is refused, and when
 * that run is aborted or failed the answer says that enqueue --replace
 * queues a new run in its place (never while it is active or done).
 *
 * amend changes one segment (its text or its target duration) of a run
 * waiting for approval or aborted, through the store's guarded amend (the
 * status check, the spec write and an operator_action event with before,
 * after and the operator are one transaction), then rewrites the spec
 * mirror.  rvctl never touches the checkpoint: the supervisor is its
 * only writer.  When the supervisor goes on with the run (Approve, or a
 * claim after a restart) it reads the stored spec again and compares
 * each segment with what its checkpoint recorded; an amended segment's
 * audio and video are moved aside and made again, the others are kept
 * (supervisor/sched.c, sched_apply_spec).  A new text is checked by the
 * spec's own rules (well-formed UTF-8, no control characters but tab and
 * newline, 1 to 4000 characters), a duration must be 0.5 to 600 s.
 * approve / refetch / abort / unlock go through the store's compare-and-
 * set operator action, exactly like the Telegram buttons, so a repeated
 * command is answered "already applied" and never applied twice.
 *
 * Every decision names the gate it decides (SPEC section 4): approve,
 * refetch and abort read the run and pass its open gate's nonce, or the
 * gate named with --gate (its first 8 hex digits, or the full nonce);
 * the store refuses a gate that is closed or replaced ("no longer
 * possible").  Without an open gate approve and refetch are not
 * possible (never sent without a nonce, so they cannot decide a gate
 * that opened meanwhile); abort still stops a run that has none.  The
 * answer names the gate: "approved run RAY-99 gate 1a2b3c4d (reason):
 * applied".
 *
 * Public: ctl_enqueue, ctl_amend, ctl_runs, ctl_events, ctl_action,
 * ctl_unlock, ctl_run_json.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/spec.h"
#include "common/store/store.h"
#include "ctl/ctl.h"

struct opts {
	const char	*run, *operator_name, *reason, *gate, *file;
	const char	*segment, *text, *duration;
	bool		 force, replace;
};

/* The gate a decision names, and how it reads. */
struct gate_pick {
	char		 nonce[STORE_ID_MAX];	/* to the store; "" none */
	char		 label[12];		/* first 8 hex, "" none */
	const char	*reason;		/* the gate's; NULL unknown */
};

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char **dst = NULL;

		if (strcmp(argv[i], "--run") == 0)
			dst = &o->run;
		else if (strcmp(argv[i], "--operator") == 0)
			dst = &o->operator_name;
		else if (strcmp(argv[i], "--reason") == 0)
			dst = &o->reason;
		else if (strcmp(argv[i], "--gate") == 0 ||
		    strcmp(argv[i], "--nonce") == 0)
			dst = &o->gate;
		else if (strcmp(argv[i], "--segment") == 0)
			dst = &o->segment;
		else if (strcmp(argv[i], "--text") == 0)
			dst = &o->text;
		else if (strcmp(argv[i], "--duration") == 0)
			dst = &o->duration;
		else if (strcmp(argv[i], "--force") == 0) {
			o->force = true;
			continue;
		} else if (strcmp(argv[i], "--replace") == 0) {
			o->replace = true;
			continue;
		} else if (argv[i][0] != '-' && o->file == NULL) {
			o->file = argv[i];
			continue;
		} else {
			fprintf(stderr, "rvctl %s: unknown option \"%s\"\n",
			    argv[0], argv[i]);
			return -1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "rvctl %s: %s needs a value\n", argv[0],
			    argv[i]);
			return -1;
		}
		if (*dst != NULL) {
			fprintf(stderr, "rvctl %s: %s given twice\n", argv[0],
			    argv[i]);
			return -1;
		}
		*dst = argv[++i];
	}
	return 0;
}

/* Resolve a run id or video id to the run id. */
static int
resolve_run(struct ctl_env *env, const char *id, struct store_run *r)
{
	char err[512];

	if (store_get_run(&env->st, id, r, NULL, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "rvctl: %s\n", err);
		return errno == ENOENT ? CTL_DATAERR : CTL_UNAVAIL;
	}
	return 0;
}

static int
mirror_spec(struct ctl_env *env, const char *run_id, const char *txt)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (fs_path(dir, sizeof(dir), "%s/jobs", env->cfg.state_dir) == -1 ||
	    fs_mkdirs(dir, 0700) == -1 ||
	    fs_path(path, sizeof(path), "%s/%s.json", dir, run_id) == -1 ||
	    fs_write_atomic(path, txt, strlen(txt)) == -1) {
		fprintf(stderr, "rvctl: cannot write the spec mirror "
		    "%s/%s.json: %s\n", dir, run_id, strerror(errno));
		return -1;
	}
	return 0;
}

int
ctl_enqueue(struct ctl_env *env, int argc, char **argv)
{
	char err[2048], run_id[STORE_ID_MAX], dirbuf[PATH_MAX], real[PATH_MAX];
	char old[STORE_ID_MAX];
	struct store_run prev;
	const char *task;
	struct opts o;
	cJSON *spec;
	char *txt;
	int rc;

	if (parse_opts(argc, argv, &o) == -1 || o.file == NULL)
		return ctl_usage(ctl_lookup("enqueue"));
	if ((spec = spec_load_file(o.file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rvctl enqueue: %s: %s\n", o.file, err);
		return CTL_DATAERR;
	}
	strlcpy(dirbuf, o.file, sizeof(dirbuf));
	if (realpath(dirname(dirbuf), real) == NULL) {
		fprintf(stderr, "rvctl enqueue: %s: %s\n", o.file,
		    strerror(errno));
		cJSON_Delete(spec);
		return CTL_DATAERR;
	}
	cJSON_DeleteItemFromObject(spec, "_spec_dir");
	cJSON_AddStringToObject(spec, "_spec_dir", real);
	if ((rc = ctl_store(env)) != 0) {
		cJSON_Delete(spec);
		return rc;
	}
	task = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "task_type"));
	txt = cJSON_Print(spec);
	old[0] = '\0';
	if (o.replace && store_get_run(&env->st, cJSON_GetStringValue(
	    cJSON_GetObjectItem(spec, "video_id")), &prev, NULL, err,
	    sizeof(err)) == 0)
		strlcpy(old, prev.run_id, sizeof(old));
	if ((o.replace ? store_enqueue_replace : store_enqueue)(&env->st,
	    cJSON_GetStringValue(cJSON_GetObjectItem(spec, "video_id")),
	    task ? task : "", txt, run_id, err, sizeof(err)) == -1) {
		rc = errno;
		fprintf(stderr, "rvctl enqueue: %s\n", err);
		if (rc == EEXIST && !o.replace && strstr(err,
		    "may be replaced") != NULL)
			fprintf(stderr, "rvctl enqueue: to queue it again, fix "
			    "the spec and run: rvctl enqueue --replace %s\n",
			    o.file);
		free(txt);
		cJSON_Delete(spec);
		return CTL_DATAERR;
	}
	rc = mirror_spec(env, run_id, txt) == -1 ? CTL_WARN : CTL_OK;
	if (env->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "run_id", run_id);
		cJSON_AddStringToObject(j, "video_id", cJSON_GetStringValue(
		    cJSON_GetObjectItem(spec, "video_id")));
		if (old[0] != '\0')
			cJSON_AddStringToObject(j, "replaces", old);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else
		printf("queued %s as run %s%s%s%s\n", cJSON_GetStringValue(
		    cJSON_GetObjectItem(spec, "video_id")), run_id,
		    old[0] ? " (replaces run " : "", old, old[0] ? ")" : "");
	free(txt);
	cJSON_Delete(spec);
	return rc;
}

/* One run as rvctl runs --json and the dashboard's /api/runs show it. */
cJSON *
ctl_run_json(const struct store_run *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "run_id", r->run_id);
	cJSON_AddStringToObject(o, "video_id", r->video_id);
	cJSON_AddStringToObject(o, "status", r->status);
	cJSON_AddStringToObject(o, "worker_id", r->worker_id);
	cJSON_AddStringToObject(o, "worker_state", r->worker_state);
	cJSON_AddNumberToObject(o, "lease_epoch", (double)r->lease_epoch);
	cJSON_AddBoolToObject(o, "locked", r->lock_token[0] != '\0');
	cJSON_AddStringToObject(o, "lease_expires_at", r->lease_expires_at);
	cJSON_AddBoolToObject(o, "lease_expired", r->lease_expired);
	cJSON_AddStringToObject(o, "gate_nonce", r->gate_nonce);
	cJSON_AddStringToObject(o, "gate_reason", r->gate_reason);
	cJSON_AddStringToObject(o, "decided_nonce", r->decided_nonce);
	cJSON_AddStringToObject(o, "decision", r->decision);
	cJSON_AddStringToObject(o, "created_at", r->created_at);
	cJSON_AddStringToObject(o, "error", r->error);
	return o;
}

int
ctl_runs(struct ctl_env *env, int argc, char **argv)
{
	struct store_run *runs = NULL;
	char err[512];
	size_t n, i;
	cJSON *arr;
	int rc;

	(void)argv;
	if (argc > 1)
		return ctl_usage(ctl_lookup("runs"));
	if ((rc = ctl_store(env)) != 0)
		return rc;
	if (store_list_runs(&env->st, &runs, &n, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "rvctl runs: %s\n", err);
		return CTL_UNAVAIL;
	}
	if (env->json) {
		arr = cJSON_CreateArray();
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, ctl_run_json(&runs[i]));
		ctl_print_json(arr);
		cJSON_Delete(arr);
	} else {
		printf("%-36s  %-16s  %-16s  %-8s  %s\n", "RUN", "VIDEO",
		    "STATUS", "STATE", "WORKER");
		for (i = 0; i < n; i++)
			printf("%-36s  %-16s  %-16s  %-8s  %s\n",
			    runs[i].run_id, runs[i].video_id, runs[i].status,
			    runs[i].worker_state, runs[i].worker_id[0] ?
			    runs[i].worker_id : "-");
	}
	free(runs);
	return CTL_OK;
}

int
ctl_events(struct ctl_env *env, int argc, char **argv)
{
	struct store_run r;
	struct opts o;
	char err[512];
	cJSON *evs, *e;
	int rc;

	if (parse_opts(argc, argv, &o) == -1 || o.run == NULL)
		return ctl_usage(ctl_lookup("events"));
	if ((rc = ctl_store(env)) != 0 || (rc = resolve_run(env, o.run,
	    &r)) != 0)
		return rc;
	if (store_list_events(&env->st, r.run_id, &evs, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "rvctl events: %s\n", err);
		return CTL_UNAVAIL;
	}
	if (env->json)
		ctl_print_json(evs);
	else
		cJSON_ArrayForEach(e, evs) {
			char *p = cJSON_PrintUnformatted(cJSON_GetObjectItem(e,
			    "payload"));

			printf("%s  %-8s  %-24s  %s\n", cJSON_GetStringValue(
			    cJSON_GetObjectItem(e, "occurred_at")),
			    cJSON_GetStringValue(cJSON_GetObjectItem(e,
			    "severity")), cJSON_GetStringValue(
			    cJSON_GetObjectItem(e, "event_type")), p ? p : "");
			free(p);
		}
	cJSON_Delete(evs);
	return CTL_OK;
}

/* 8 hex digits or a UUID, copied in lower case into <out>. */
static bool
gate_arg(const char *s, char *out, size_t size)
{
	size_t i, n = strlen(s);

	if (n == 8) {
		for (i = 0; i < n; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
	} else if (!id_uuid_valid(s))
		return false;
	if (n >= size)
		return false;
	for (i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	return true;
}

static bool
nonce_is(const char *full, const char *given)
{
	return full[0] != '\0' && strncasecmp(full, given,
	    strlen(given)) == 0;
}

/*
 * Which gate <action> decides on run <r>: the one named by <given>
 * (already checked; a prefix of the open or last decided gate is passed
 * in full), else the open gate, else the gate this action already
 * decided (the store answers "already applied").  Returns 0, or -1 when
 * there is no gate to name and <action> needs one.
 */
static int
gate_pick(const struct store_run *r, const char *action, const char *given,
    struct gate_pick *g)
{
	memset(g, 0, sizeof(*g));
	if (given != NULL) {
		if (nonce_is(r->gate_nonce, given)) {
			strlcpy(g->nonce, r->gate_nonce, sizeof(g->nonce));
			g->reason = r->gate_reason;
		} else if (nonce_is(r->decided_nonce, given))
			strlcpy(g->nonce, r->decided_nonce, sizeof(g->nonce));
		else
			strlcpy(g->nonce, given, sizeof(g->nonce));
	} else if (r->gate_nonce[0] != '\0') {
		strlcpy(g->nonce, r->gate_nonce, sizeof(g->nonce));
		g->reason = r->gate_reason;
	} else if (r->decided_nonce[0] != '\0' &&
	    strcmp(r->decision, action) == 0)
		strlcpy(g->nonce, r->decided_nonce, sizeof(g->nonce));
	else if (strcmp(action, "abort") != 0)
		return -1;
	(void)snprintf(g->label, sizeof(g->label), "%.8s", g->nonce);
	return 0;
}

static const char *
done_verb(const char *action)
{
	if (strcmp(action, "approve") == 0)
		return "approved";
	if (strcmp(action, "refetch") == 0)
		return "refetch requested for";
	return "aborted";
}

/* "<verb> run <video> gate <hex8> (<reason>)" or "... (no open gate)". */
static void
action_head(char *buf, size_t size, const char *verb,
    const struct store_run *r, const struct gate_pick *g)
{
	if (g->label[0] == '\0')
		(void)snprintf(buf, size, "%s run %s (no open gate)", verb,
		    r->video_id);
	else if (g->reason != NULL && g->reason[0] != '\0')
		(void)snprintf(buf, size, "%s run %s gate %s (%s)", verb,
		    r->video_id, g->label, g->reason);
	else
		(void)snprintf(buf, size, "%s run %s gate %s", verb,
		    r->video_id, g->label);
}

static void
action_print(const struct ctl_env *env, const char *action,
    const struct store_run *r, const struct gate_pick *g, const char *result,
    const char *words, const char *msg)
{
	char head[384];
	cJSON *j;

	if (env->json) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "action", action);
		cJSON_AddStringToObject(j, "run_id", r->run_id);
		cJSON_AddStringToObject(j, "video_id", r->video_id);
		cJSON_AddStringToObject(j, "gate", g->label);
		cJSON_AddStringToObject(j, "gate_reason", g->reason != NULL ?
		    g->reason : "");
		cJSON_AddStringToObject(j, "result", result);
		cJSON_AddStringToObject(j, "msg", msg);
		ctl_print_json(j);
		cJSON_Delete(j);
		return;
	}
	action_head(head, sizeof(head), strcmp(result, "applied") == 0 ?
	    done_verb(action) : action, r, g);
	printf("%s: %s%s%s\n", head, words, msg[0] ? ": " : "", msg);
}

/*
 * rvctl approve | refetch | abort --run ID --operator NAME [--gate N]:
 * decide the run's open gate (or gate N), through the store's operator
 * action.  Exit 0 applied or already applied, 1 not possible.
 */
int
ctl_action(struct ctl_env *env, int argc, char **argv)
{
	static const char *results[] = { "applied", "already_applied",
	    "not_possible" };
	enum store_action_result res;
	struct gate_pick g;
	struct store_run r;
	struct opts o;
	char err[512], msg[512] = "", given[STORE_ID_MAX];
	const char *words;
	int rc;

	if (parse_opts(argc, argv, &o) == -1 || o.run == NULL ||
	    o.operator_name == NULL)
		return ctl_usage(ctl_lookup(argv[0]));
	if (o.gate != NULL && !gate_arg(o.gate, given, sizeof(given))) {
		fprintf(stderr, "rvctl %s: --gate \"%.40s\" is not 8 hex "
		    "digits or a gate nonce\n", argv[0], o.gate);
		return CTL_USAGE;
	}
	if ((rc = ctl_store(env)) != 0 || (rc = resolve_run(env, o.run,
	    &r)) != 0)
		return rc;
	if (gate_pick(&r, argv[0], o.gate != NULL ? given : NULL, &g) == -1) {
		(void)snprintf(msg, sizeof(msg), "nothing to decide (status "
		    "%s)", r.status);
		action_print(env, argv[0], &r, &g, "not_possible",
		    "not possible", msg);
		return CTL_WARN;
	}
	if (store_operator_action(&env->st, r.run_id, argv[0],
	    o.operator_name, g.nonce, &res, msg, sizeof(msg), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "rvctl %s: %s\n", argv[0], err);
		return CTL_DATAERR;
	}
	if (res == ACTION_APPLIED)
		words = "applied";
	else if (res == ACTION_ALREADY_APPLIED)
		words = "already applied";
	else
		words = g.nonce[0] != '\0' ? "no longer possible" :
		    "not possible";
	action_print(env, argv[0], &r, &g, results[res], words, msg);
	return res == ACTION_NOT_POSSIBLE ? CTL_WARN : CTL_OK;
}

int
ctl_unlock(struct ctl_env *env, int argc, char **argv)
{
	struct store_run r;
	struct opts o;
	char err[512], msg[512] = "";
	bool unlocked = false;
	int rc;

	if (parse_opts(argc, argv, &o) == -1 || o.run == NULL ||
	    o.operator_name == NULL || o.reason == NULL)
		return ctl_usage(ctl_lookup("unlock"));
	if ((rc = ctl_store(env)) != 0 || (rc = resolve_run(env, o.run,
	    &r)) != 0)
		return rc;
	if (store_force_unlock(&env->st, r.run_id, o.operator_name,
	    o.reason, o.force, &unlocked, msg, sizeof(msg), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "rvctl unlock: %s\n", err);
		return CTL_DATAERR;
	}
	printf("unlock %s (%s): %s%s%s\n", r.video_id, r.run_id,
	    unlocked ? "unlocked" : "refused", msg[0] ? ": " : "", msg);
	return unlocked ? CTL_OK : CTL_WARN;
}

/* The --duration value: seconds, 0.5 to 600.  0, or -1 with a message. */
static int
amend_duration(const char *arg, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !isfinite(*d) ||
	    *d < STORE_AMEND_DUR_MIN || *d > STORE_AMEND_DUR_MAX) {
		fprintf(stderr, "rvctl amend: --duration \"%.40s\" must be a "
		    "number of seconds, %.1f to %.0f\n", arg,
		    STORE_AMEND_DUR_MIN, STORE_AMEND_DUR_MAX);
		return -1;
	}
	return 0;
}

/* The checks of the command line alone.  0, or an exit code. */
static int
amend_args(const struct opts *o, struct store_amend *a)
{
	long n;

	if (o->run == NULL || o->segment == NULL || o->operator_name == NULL) {
		fprintf(stderr, "rvctl amend: --run, --segment and --operator "
		    "are required\n");
		return ctl_usage(ctl_lookup("amend"));
	}
	if ((o->text == NULL) == (o->duration == NULL)) {
		fprintf(stderr, "rvctl amend: give either --text or "
		    "--duration%s\n", o->text != NULL ? ", not both" : "");
		return CTL_USAGE;
	}
	if (!id_segment_valid(o->segment)) {
		fprintf(stderr, "rvctl amend: --segment \"%.40s\" is not a "
		    "segment id (letters, digits and '-', at most 40)\n",
		    o->segment);
		return CTL_USAGE;
	}
	n = strlen(o->operator_name);
	if (n < 3 || n > STORE_WID_MAX - 1) {
		fprintf(stderr, "rvctl amend: --operator must be 3 to %d "
		    "characters\n", STORE_WID_MAX - 1);
		return CTL_USAGE;
	}
	if (o->text != NULL) {
		n = spec_text_chars(o->text);
		if (n < 1 || n > SPEC_TEXT_MAX ||
		    strlen(o->text) > STORE_AMEND_TEXT_MAX) {
			fprintf(stderr, "rvctl amend: --text must be 1 to %d "
			    "characters of UTF-8 text without control "
			    "characters (tab and newline allowed)\n",
			    SPEC_TEXT_MAX);
			return CTL_USAGE;
		}
	} else if (amend_duration(o->duration, &a->duration) == -1)
		return CTL_USAGE;
	a->segment_id = o->segment;
	a->text = o->text;
	a->operator_name = o->operator_name;
	return 0;
}

/* Rewrite state/jobs/<run_id>.json from the store's spec. */
static int
amend_mirror(struct ctl_env *env, const char *run_id)
{
	struct store_run r;
	char err[512], *spec = NULL, *txt;
	cJSON *j;
	int rc = -1;

	if (store_get_run(&env->st, run_id, &r, &spec, err,
	    sizeof(err)) == -1 || spec == NULL) {
		fprintf(stderr, "rvctl amend: cannot read the amended spec "
		    "back for the mirror: %s\n", spec == NULL ? "no spec" :
		    err);
		free(spec);
		return -1;
	}
	if ((j = cJSON_Parse(spec)) != NULL && (txt = cJSON_Print(j)) !=
	    NULL) {
		rc = mirror_spec(env, run_id, txt);
		free(txt);
	}
	cJSON_Delete(j);
	free(spec);
	return rc;
}

static void
amend_print(const struct ctl_env *env, const struct store_run *r,
    const struct store_amend *a, const char *result, const char *msg)
{
	cJSON *j;

	if (env->json) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "action", "amend");
		cJSON_AddStringToObject(j, "run_id", r->run_id);
		cJSON_AddStringToObject(j, "video_id", r->video_id);
		cJSON_AddStringToObject(j, "segment_id", a->segment_id);
		cJSON_AddStringToObject(j, "status", r->status);
		cJSON_AddStringToObject(j, "result", result);
		cJSON_AddStringToObject(j, "msg", msg);
		ctl_print_json(j);
		cJSON_Delete(j);
		return;
	}
	printf("amend run %s segment %s: %s%s%s\n", r->video_id, a->segment_id,
	    result, msg[0] ? ": " : "", msg);
	if (strcmp(result, "not_possible") == 0)
		return;
	if (strcmp(r->status, RUN_WAITING_APPROVAL) == 0)
		printf("next: rvctl approve --run %s --operator %s (only "
		    "segment %s's audio and video are made again)\n",
		    r->video_id, a->operator_name, a->segment_id);
	else if (strcmp(r->status, RUN_ABORTED) == 0)
		printf("next: put the change in the spec file too and queue "
		    "it again: rvctl enqueue --replace FILE\n");
}

/*
 * rvctl amend --run ID --segment SEG (--text TEXT | --duration SEC)
 * --operator NAME.  Exit 0 applied or already applied, 1 not possible
 * (the run is not waiting for approval or aborted), 64 bad arguments,
 * 65 unknown run or segment, 69 store unreachable.
 */
int
ctl_amend(struct ctl_env *env, int argc, char **argv)
{
	enum store_action_result res;
	struct store_amend a;
	struct store_run r;
	struct opts o;
	char err[512], msg[512] = "";
	int rc;

	memset(&a, 0, sizeof(a));
	if (parse_opts(argc, argv, &o) == -1 || o.file != NULL)
		return ctl_usage(ctl_lookup("amend"));
	if ((rc = amend_args(&o, &a)) != 0)
		return rc;
	if ((rc = ctl_store(env)) != 0 || (rc = resolve_run(env, o.run,
	    &r)) != 0)
		return rc;
	a.run_id = r.run_id;
	if (store_amend(&env->st, &a, &res, msg, sizeof(msg), err,
	    sizeof(err)) == -1) {
		rc = errno;
		fprintf(stderr, "rvctl amend: %s\n", err);
		return rc == EINVAL || rc == ENOENT ? CTL_DATAERR :
		    CTL_UNAVAIL;
	}
	if (res == ACTION_APPLIED && amend_mirror(env, r.run_id) == -1)
		rc = CTL_WARN;
	amend_print(env, &r, &a, store_action_result_name(res), msg);
	if (res == ACTION_NOT_POSSIBLE)
		return CTL_WARN;
	return rc;
}
