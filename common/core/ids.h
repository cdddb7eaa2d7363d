/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_IDS_H
#define RV_COMMON_CORE_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define ID_UUID_LEN	36	/* without the NUL */
#define ID_VIDEO_MAX	64
#define ID_SEGMENT_MAX	40
#define ID_SHA8_LEN	8

bool	id_video_valid(const char *s);
bool	id_segment_valid(const char *s);
bool	id_uuid_valid(const char *s);
void	id_uuid_new(char out[ID_UUID_LEN + 1]);
void	id_uuid_from_name(const char *name, char out[ID_UUID_LEN + 1]);
int	id_sha256_file(const char *path, char hex[65]);
void	id_sha256_buf(const void *buf, size_t len, char hex[65]);
int	id_sha8_file(const char *path, char sha8[ID_SHA8_LEN + 1]);
bool	id_sha8_valid(const char *s);
int	id_parse_media_name(const char *name, char prefix, char *run,
	    size_t runsz, char *seg, size_t segsz, char sha8[ID_SHA8_LEN + 1]);

#endif
