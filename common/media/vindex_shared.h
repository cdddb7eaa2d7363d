/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_MEDIA_VINDEX_SHARED_H
#define RV_COMMON_MEDIA_VINDEX_SHARED_H

/*
 * The helpers the files of the video index share: vindex.c (lock, load,
 * save, entries in memory), vindex_json.c (the file format),
 * vindex_refresh.c (refresh and its probe pool) and vindex_clean.c
 * (repair, orphans, clean-zombies).  Nothing outside them includes it;
 * the file format itself is declared in vindex_json.h.
 */

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>

#include "common/media/vindex.h"

/* vindex.c */

/*
 * Append a note to <nn>, or count it as dropped past VINDEX_NOTES_MAX.
 * Returns 0, or -1 when memory runs out (the note is dropped).
 */
int	vindex_note_add(struct vindex_notes *nn, const char *name,
	    const char *what, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* The modification time of <st> in nanoseconds. */
long long vindex_st_mtime_ns(const struct stat *st);

/* qsort comparator of struct vindex_item by key. */
int	vindex_item_cmp(const void *a, const void *b);

/*
 * Make room for <need> items (entries are not added).  Returns 0, or -1
 * with errno (EOVERFLOW past VINDEX_ITEMS_MAX, ENOMEM).
 */
int	vindex_item_grow(struct vindex *idx, size_t need);

/* True when <key> is a usable entry key (no '/', no control bytes). */
bool	vindex_key_ok(const char *key);

/*
 * vindex_save without the directory fsync after the rename.  The new
 * file is complete on disk before it replaces the old one, so after a
 * crash either index is there and valid; only this write may be lost.
 * For a write that loses nothing worth a second fsync (a refresh that
 * changed no entry and only adds its history line).
 */
int	vindex_save_lazy(const char *state_dir, struct vindex *idx, char *err,
	    size_t errlen);

/* vindex_refresh.c */

/* True for "<name>.mp4" that is not a dot file. */
bool	vindex_is_mp4(const char *name);

#endif
