/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_STORE_SUPABASE_H
#define RV_COMMON_STORE_SUPABASE_H

/*
 * Internals shared by the files of the supabase store backend:
 * store_supabase.c (open, ops table, contract check), supabase_http.c
 * (the one curl handle, PostgREST requests and error mapping),
 * supabase_lease.c (claim, the holder's calls, operator calls) and
 * supabase_data.c (runs, events, credit ledger).  Nothing outside
 * common/store/ includes it.
 */

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/core/curl_dl.h"
#include "common/store/store.h"
#include "common/store/backend.h"

#define SBS_URL_MAX		512
#define SBS_KEY_MAX		4096
#define SBS_RESP_MAX		(4 * 1024 * 1024)	/* one answer */
#define SBS_LIST_MAX		(32 * 1024 * 1024)	/* list answers */
#define SBS_SPEC_MAX		(1024 * 1024)
#define SBS_PAYLOAD_MAX		(256 * 1024)
#define SBS_TIMEOUT_DEF		10		/* seconds */
#define SBS_CONNECT_MAX_MS	5000

/* One PostgREST endpoint; the store's impl pointer. */
struct sbs {
	CURL		*curl;		/* reused: keeps the connection */
	bool		 curl_global;	/* curl_global_init() to balance */
	struct curl_slist *hdr_rpc;	/* carries the key: never logged */
	struct curl_slist *hdr_insert;
	char		 base[SBS_URL_MAX];	/* <url>/rest/v1 */
	char		 host[128];	/* for messages */
	char		 curl_err[CURL_ERROR_SIZE];
	long		 timeout_ms;
	long		 connect_ms;
	int		 hb_interval;	/* seconds, for the recovery rule */
	char		*resp;
	size_t		 resp_alloc;
	size_t		 resp_len;
	size_t		 resp_cap;	/* limit of the current request */
	bool		 resp_over;
	bool		 down;		/* the last call got no answer */
	char		 why[256];	/* ... and why, for store_health() */
};

/* supabase_http.c */
void	sbs_seterr(char *err, size_t errlen, int errnum, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
int	sbs_http_init(struct sbs *s, const char *url, const char *key,
	    int timeout_sec, char *err, size_t errlen);
void	sbs_http_clear(struct sbs *s);
int	sbs_rpc(struct sbs *s, const char *fn, cJSON *args, size_t cap,
	    cJSON **out, char *err, size_t errlen);
int	sbs_insert(struct sbs *s, const char *table, cJSON *row,
	    bool *created, char *err, size_t errlen);
int	sbs_health(void *impl, char *why, size_t len);

/* supabase_lease.c */
int	sbs_claim(void *impl, const char *worker_id, const char *lock_token,
	    int lease_minutes, const char *task_type,
	    const char *prev_lock_token, struct store_claim *out, char *err,
	    size_t errlen);
int	sbs_heartbeat(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, int lease_minutes, long latency_ms,
	    const char *worker_state, struct store_hb *out, char *err,
	    size_t errlen);
int	sbs_release(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, const char *worker_state, bool *ok,
	    char *err, size_t errlen);
int	sbs_finish(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, const char *status, const char *error,
	    bool *ok, char *err, size_t errlen);
int	sbs_gate(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, const char *reason,
	    const char *worker_state, const cJSON *evidence, char *nonce_out,
	    bool *ok, char *err, size_t errlen);
int	sbs_set_worker_state(void *impl, const char *run_id,
	    const char *worker_id, const char *lock_token,
	    const char *worker_state, bool *ok, char *err, size_t errlen);
int	sbs_operator_action(void *impl, const char *run_id, const char *action,
	    const char *operator_name, const char *nonce,
	    enum store_action_result *res, char *msg, size_t msglen, char *err,
	    size_t errlen);
int	sbs_amend(void *impl, const struct store_amend *a,
	    enum store_action_result *res, char *msg, size_t msglen,
	    char *err, size_t errlen);
int	sbs_force_unlock(void *impl, const char *run_id,
	    const char *operator_id, const char *reason, bool force,
	    bool *unlocked, char *msg, size_t msglen, char *err,
	    size_t errlen);

/* supabase_data.c */
int	sbs_enqueue(void *impl, const char *video_id, const char *task_type,
	    const char *spec_json, bool replace, char *run_id_out, char *err,
	    size_t errlen);
int	sbs_add_event(void *impl, const struct store_event *ev,
	    enum store_write *res, char *err, size_t errlen);
int	sbs_get_run(void *impl, const char *run_or_video_id,
	    struct store_run *out, char **spec_json, char *err, size_t errlen);
int	sbs_list_runs(void *impl, struct store_run **out, size_t *n,
	    char *err, size_t errlen);
int	sbs_list_events(void *impl, const char *run_id, cJSON **out,
	    char *err, size_t errlen);
int	sbs_ledger_intent(void *impl, const struct store_ledger *l,
	    const char *lock_token, bool *fresh, struct store_ledger *existing,
	    enum store_write *res, char *err, size_t errlen);
int	sbs_ledger_result(void *impl, const char *key, long long lease_epoch,
	    const char *state, int credits, const char *output,
	    enum store_write *res, char *err, size_t errlen);
int	sbs_ledger_list(void *impl, const char *run_id,
	    struct store_ledger **out, size_t *n, char *err, size_t errlen);

/* Reading answers (supabase_data.c). */
cJSON	*sbs_args(void);
void	 sbs_arg_str(cJSON *args, const char *key, const char *val);
const cJSON *sbs_row(const cJSON *answer);
int	 sbs_get_str(const cJSON *o, const char *key, char *buf, size_t size,
	    bool required, const char *fn, char *err, size_t errlen);
int	 sbs_get_bool(const cJSON *o, const char *key, bool *v,
	    const char *fn, char *err, size_t errlen);
int	 sbs_get_ll(const cJSON *o, const char *key, long long *v,
	    const char *fn, char *err, size_t errlen);
int	 sbs_bad_answer(const char *fn, const char *what, char *err,
	    size_t errlen);

#endif
