/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_CLOCK_H
#define RV_COMMON_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLOCK_ISO_LEN	32

int64_t	clock_mono_ms(void);
void	clock_utc_iso(char buf[CLOCK_ISO_LEN]);
void	clock_utc_stamp(char buf[CLOCK_ISO_LEN]);
int	clock_parse_iso(const char *s, double *epoch);
void	clock_sleep_ms(int64_t ms);

#endif
