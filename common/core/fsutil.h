/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_FSUTIL_H
#define RV_COMMON_CORE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

int	fs_write_atomic(const char *path, const void *buf, size_t len);
int	fs_read_file(const char *path, size_t max, char **out, size_t *lenp);
int	fs_mkdirs(const char *path, int mode);
int	fs_secure_dir(const char *path, char *err, size_t errlen);
int	fs_fsync_dir(const char *dir);
int	fs_path(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
bool	fs_exists(const char *path);
void	fs_remove_dir_files(const char *dir);
int	fs_sweep_tmp(const char *dir);

#endif
