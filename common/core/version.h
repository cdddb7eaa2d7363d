/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_VERSION_H
#define RV_COMMON_CORE_VERSION_H

const char *version_string(void);
void	 version_print(const char *prog);

#endif
