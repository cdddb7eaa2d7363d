/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_EVIDENCE_CLAIMS_TEXT_H
#define RV_WORKERS_EVIDENCE_CLAIMS_TEXT_H

/*
 * Internals shared by the files of the claims module: claims.c
 * (extraction from HTML) and claims_norm.c (normalisation and
 * comparison).  Nothing outside them includes it.
 */

#include <stdbool.h>
#include <stddef.h>

/*
 * Copy <s> lower-cased (ASCII) into <out> of <outlen> bytes.  Returns
 * false when it does not fit (<out> then holds a truncated prefix).
 */
bool	claims_lower_copy(const char *s, char *out, size_t outlen);

#endif
