/* SPDX-License-Identifier: ISC */
#ifndef RV_CTL_CTL_H
#define RV_CTL_CTL_H

#include <stdbool.h>

#include <cJSON.h>

#include "common/config.h"
#include "common/store.h"

/* Exit codes of every rvctl command. */
#define CTL_OK		0
#define CTL_WARN	1	/* also: refused */
#define CTL_CRIT	2
#define CTL_NOTRUN	3	/* status: no supervisor */
#define CTL_USAGE	64
#define CTL_DATAERR	65
#define CTL_UNAVAIL	69
#define CTL_SOFTWARE	70

struct ctl_env {
	struct rv_config cfg;
	bool		 json;
	bool		 cfg_ok;
	char		 cfg_err[4096];
	struct store	 st;
	bool		 st_open;
};

struct ctl_cmd {
	const char	*name;
	int		(*fn)(struct ctl_env *, int, char **);
	const char	*usage;
	const char	*help;
};

int	ctl_store(struct ctl_env *env);
void	ctl_print_json(const cJSON *j);
int	ctl_usage(const struct ctl_cmd *cmd);
const struct ctl_cmd *ctl_lookup(const char *name);

/* ctl_runs.c */
int	ctl_enqueue(struct ctl_env *, int, char **);
int	ctl_runs(struct ctl_env *, int, char **);
int	ctl_events(struct ctl_env *, int, char **);
int	ctl_action(struct ctl_env *, int, char **);
int	ctl_unlock(struct ctl_env *, int, char **);

/* ctl_status.c */
int	ctl_status(struct ctl_env *, int, char **);
cJSON	*ctl_control_request(struct ctl_env *env, const char *type,
	    cJSON *hdr_extra, int timeout_ms, char *err, size_t errlen);

#endif
