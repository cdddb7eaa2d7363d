/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_LOG_H
#define RV_COMMON_CORE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

extern int log_verbosity;

int	log_init(const char *prog, const char *role, const char *logdir);
void	log_set_role(const char *role);
void	log_set_level(int level);
void	log_close(void);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* The level is checked before any argument is formatted. */
#define log_info(...) do {						\
	if (log_verbosity >= LOG_LVL_INFO)				\
		log_info_(__VA_ARGS__);					\
} while (0)
#define log_debug(...) do {						\
	if (log_verbosity >= LOG_LVL_DEBUG)				\
		log_debug_(__VA_ARGS__);				\
} while (0)

#endif
