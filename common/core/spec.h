/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_SPEC_H
#define RV_COMMON_CORE_SPEC_H

#include <stddef.h>

#include <cJSON.h>

#define SPEC_FILE_MAX		(1024 * 1024)
#define SPEC_SOURCES_MAX	32
#define SPEC_SEGMENTS_MAX	100
#define SPEC_TEXT_MAX		4000	/* characters */
#define SPEC_PROMPT_MAX		2000
#define SPEC_URL_MAX		2048	/* bytes */
#define SPEC_NAME_MAX		200
#define SPEC_TASK_TYPE_MAX	31

cJSON	*spec_parse(const char *text, size_t len, const char *spec_dir,
	    char *err, size_t errlen);
cJSON	*spec_load_file(const char *path, char *err, size_t errlen);
int	 spec_resolve_path(const char *spec_dir, const char *rel, char *out,
	    size_t outsz, char *err, size_t errlen);
long	 spec_text_chars(const char *s);

#endif
