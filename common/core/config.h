/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_CONFIG_H
#define RV_COMMON_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CFG_STR_MAX	512

/* The secrets, for config_load_secrets() and config_child_environ(). */
#define CFG_SECRET_SUPABASE	0x1u	/* SUPABASE_SERVICE_KEY */
#define CFG_SECRET_TELEGRAM	0x2u	/* TELEGRAM_BOT_TOKEN */
#define CFG_SECRET_ELEVENLABS	0x4u	/* ELEVENLABS_API_KEY */
#define CFG_SECRET_ALL		0x7u

/* Effective settings (SPEC section 7).  Paths are absolute. */
struct rv_config {
	char	supabase_url[CFG_STR_MAX];
	char	supabase_service_key[CFG_STR_MAX];	/* secret */
	char	worker_id[65];
	double	dzine_credit_price_usd;
	double	usd_brl;
	long	dzine_credits_available;		/* -1: unknown */
	char	telegram_bot_token[CFG_STR_MAX];	/* secret */
	char	telegram_chat_id[64];
	char	telegram_admin_user_ids[CFG_STR_MAX];
	char	telegram_api_base[CFG_STR_MAX];
	bool	telegram_poll;
	char	dashboard_url[CFG_STR_MAX];	/* "": no link in alerts */
	char	state_dir[CFG_STR_MAX];
	char	spool_dir[CFG_STR_MAX];
	char	db_path[CFG_STR_MAX];		/* "": <state>/rayvault.db */
	int	lease_minutes;
	int	heartbeat_interval_sec;
	int	heartbeat_timeout_sec;
	int	poll_interval_sec;
	int	child_heartbeat_ms;
	int	child_idle_heartbeat_ms;	/* a child without a task */
	int	browser_stall_sec;
	char	tts[32];
	char	renderer[32];
	long	min_video_bytes;			/* -1: renderer default */
	char	elevenlabs_api_key[CFG_STR_MAX];	/* secret */
	char	elevenlabs_voice_id[128];
	int	dzine_credits_per_segment;
	char	dzine_flow_file[CFG_STR_MAX];		/* the Dzine flow */
	char	dzine_url[CFG_STR_MAX];		/* "": the flow's base_url */
	char	dzine_profile_dir[CFG_STR_MAX];	/* "": fresh per render */
	bool	evidence_allow_private;	/* fetch from loopback/private nets */
};

int	config_load(struct rv_config *cfg, const char *state_dir_override,
	    const char *envfile, char *err, size_t errlen);
int	config_load_secrets(struct rv_config *cfg,
	    const char *state_dir_override, const char *envfile,
	    unsigned keep, char *err, size_t errlen);
void	config_wipe(struct rv_config *cfg, unsigned which);
unsigned config_kind_secrets(const char *kind);
char	**config_child_environ(unsigned keep);
int	config_env_file_check(const char *envfile, char *err,
	    size_t errlen);
int	config_env_int(const char *name, int def, int min, int max,
	    int *out, char *err, size_t errlen);
void	config_print(const struct rv_config *cfg, FILE *fp);
void	config_table_print(FILE *fp);
const char *config_redact(const struct rv_config *cfg, const char *text,
	    char *buf, size_t size);

#endif
