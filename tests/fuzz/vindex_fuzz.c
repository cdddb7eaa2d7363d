/* SPDX-License-Identifier: ISC */
/*
 * vindex_fuzz.c: libFuzzer target for the two readers of the video index
 * (common/media/vindex_json.c, vindex_cache.c): state/video/index.json,
 * which other tools and the operator may write, and index.json.cache.
 *
 * The input is decoded as index text.  It is also the body of a cache
 * whose header this target seals with the right hashes (the layout
 * vindex_cache.c documents: the input's first byte is the entry count,
 * its next two the length of meta_info), so that the entry and meta
 * checks are reached rather than the hash refusing everything.  A cache
 * that decodes must encode back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/media/vindex.h"
#include "common/media/vindex_json.h"

#define HEAD_LEN	64		/* magic + 7 words */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char magic[8] = { 'R', 'V', 'I', 'X', 'C', 0, 0, 1 };

static void
json_case(const uint8_t *data, size_t size)
{
	struct vindex idx;
	char why[256], *text;

	if ((text = malloc(size + 1)) == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	vindex_init(&idx);
	(void)vindex_json_decode(text, size, &idx, why, sizeof(why));
	vindex_clear(&idx);
}

static void
cache_case(const uint8_t *data, size_t size)
{
	static const char json[] = "{}";
	struct vindex idx;
	unsigned char *buf, *again;
	uint64_t h[7];
	size_t body, len, alen;

	if (size < 3)
		return;
	body = size - 3;
	if ((buf = malloc(HEAD_LEN + body)) == NULL)
		return;
	memcpy(buf, magic, sizeof(magic));
	memcpy(buf + HEAD_LEN, data + 3, body);
	len = HEAD_LEN + body;
	h[0] = UINT64_C(0x0102030405060708);
	h[1] = sizeof(json) - 1;
	h[2] = vindex_cache_hash(json, sizeof(json) - 1);
	h[3] = data[0];
	h[4] = (uint64_t)data[1] | (uint64_t)data[2] << 8;
	h[5] = vindex_cache_hash(buf + HEAD_LEN, body);
	h[6] = 0;
	memcpy(buf + 8, h, sizeof(h));
	vindex_init(&idx);
	if (vindex_cache_decode(buf, len, sizeof(json) - 1, h[2], &idx) ==
	    0 && idx.meta == NULL) {
		/* without meta_info the encoding is unique: it must agree */
		again = vindex_cache_encode(&idx, sizeof(json) - 1, h[2],
		    &alen);
		if (again != NULL && (alen != len || memcmp(again, buf,
		    len) != 0))
			abort();
		free(again);
	}
	vindex_clear(&idx);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_case(data, size);
	cache_case(data, size);
	return 0;
}
