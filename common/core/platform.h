/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_PLATFORM_H
#define RV_COMMON_CORE_PLATFORM_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

int	plat_harden_process(void);
int	plat_set_subreaper(void);
int	plat_set_parent_death_signal(int sig, pid_t expected_parent);
int	plat_parent_watch(pid_t parent);
int	plat_proc_starttime(pid_t pid, unsigned long long *start);
bool	plat_proc_alive(pid_t pid);
size_t	plat_children_of(pid_t parent, pid_t *out, size_t max);
size_t	plat_descendants(pid_t root, pid_t *out, size_t max);
long	plat_rss_kib(pid_t pid);
pid_t	plat_inhibit_sleep(pid_t holder);

#endif
