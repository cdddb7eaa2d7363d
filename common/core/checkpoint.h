/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_CHECKPOINT_H
#define RV_COMMON_CORE_CHECKPOINT_H

#include <stddef.h>

#include <cJSON.h>

#define CKPT_VERSION	1

extern const char *const ckpt_stage_names[];	/* NULL-terminated */

cJSON	*ckpt_new(const char *run_id, const char *video_id,
	    const char *worker_id, const char *token, long long epoch);
int	 ckpt_path(char *buf, size_t size, const char *state_dir,
	    const char *run_id);
int	 ckpt_load(const char *path, cJSON **out, char *err, size_t errlen);
int	 ckpt_validate(const cJSON *c, char *err, size_t errlen);
int	 ckpt_save(const char *path, const cJSON *c, char *err, size_t errlen);
const char *ckpt_stage_get(const cJSON *c, const char *stage);
void	 ckpt_stage_set(cJSON *c, const char *stage, const char *state);
cJSON	*ckpt_segment(cJSON *c, const char *segment_id);

#endif
