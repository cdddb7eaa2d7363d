/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_VINDEX_JSON_H
#define RV_COMMON_MEDIA_VINDEX_JSON_H

/*
 * The file formats of the video index: the text of state/video/index.json
 * to entries in memory and back (vindex_json.c), and its cache,
 * index.json.cache (vindex_cache.c).  Only the vindex files (and the
 * fuzz target) include it.
 */

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

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

/*
 * meta_info from <len> bytes of its unformatted JSON (no NUL needed),
 * long integers kept exact as decoding keeps them.  NULL when the text is
 * not an object or memory runs out.
 */
cJSON	*vindex_json_meta_parse(const char *text, size_t len);

/* vindex_cache.c */

/* A 64-bit hash of <len> bytes: tells versions of a file apart. */
uint64_t vindex_cache_hash(const void *buf, size_t len);

/*
 * The cache of <idx>, which must be what decoding the index text of
 * <json_len> bytes and hash <json_hash> gave.  Returns a buffer from
 * malloc of *lenp bytes, or NULL when memory runs out.
 */
unsigned char *vindex_cache_encode(const struct vindex *idx,
	    size_t json_len, uint64_t json_hash, size_t *lenp);

/*
 * Fill <idx> (empty, initialised by the caller) from the cache <buf> of
 * <len> bytes if it was made from the index text of <json_len> bytes and
 * hash <json_hash> and is whole; idx->cached is then set.  Returns 0, or
 * -1 with <idx> empty: the caller decodes the JSON instead.
 */
int	vindex_cache_decode(const unsigned char *buf, size_t len,
	    size_t json_len, uint64_t json_hash, struct vindex *idx);

#endif
