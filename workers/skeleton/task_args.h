/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_SKELETON_TASK_ARGS_H
#define RV_WORKERS_SKELETON_TASK_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

/* The common part of every stage TASK's args, validated. */
struct targs {
	const char	*run_id;
	const char	*video_id;
	const char	*state_dir;
	const char	*spec_dir;
	long long	 epoch;
	const cJSON	*spec;
	const cJSON	*segments;	/* spec segments array */
	const cJSON	*ckpt;		/* checkpoint segments object */
	bool		 refetch;
};

int	targs_parse(const cJSON *args, struct targs *t, char *err,
	    size_t errlen);
const cJSON *targs_ckpt_seg(const struct targs *t, const char *segment_id);
const char *targs_str(const cJSON *o, const char *key);
double	targs_num(const cJSON *o, const char *key, double def);

#endif
