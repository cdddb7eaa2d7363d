/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_VINDEX_JSON_H
#define RV_COMMON_MEDIA_VINDEX_JSON_H

/*
 * The file format of the video index (vindex_json.c): the text of
 * state/video/index.json to entries in memory and back.  Only the
 * vindex files include it.
 */

#include <stddef.h>

#include "common/media/vindex.h"

/*
 * Read the text of index.json into <idx> (empty, initialised by the
 * caller).  Takes <text> (<len> bytes, from malloc) and frees it.
 * Returns VINDEX_OK; VINDEX_CORRUPT with a phrase in <why> (no path),
 * <idx> left empty; VINDEX_ERR with <why> "out of memory".
 */
int	vindex_json_decode(char *text, size_t len, struct vindex *idx,
	    char *why, size_t whylen);

/*
 * The whole index as the text of index.json, with meta_info.state_root
 * set to the real path of <state_dir>.  The caller frees the result.
 * Returns NULL when memory runs out.
 */
char	*vindex_json_encode(const struct vindex *idx, const char *state_dir);

#endif
