/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_RUNTIME_H
#define RV_COMMON_CORE_RUNTIME_H

#include <sys/types.h>

#include <stdbool.h>

pid_t	rt_held_pid(const char *state_dir);
bool	rt_is_rvsup(pid_t pid);

#endif
