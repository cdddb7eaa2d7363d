/* SPDX-License-Identifier: ISC */
/*
 * vindex_cache.c: state/video/index.json.cache, the video index as it
 * decodes, kept beside index.json so that readers skip the JSON parse.
 *
 * Parsing index.json is most of what rvctl report, status and timeline
 * do: 200 runs of 8 segments make a 620 KB file and 20 000 cJSON nodes,
 * 12 of a report's 21 ms.  Every write of the index (vindex_save, under
 * the exclusive lock) also writes this file: the items and meta_info
 * that decoding the text just written gives, in a packed form that reads
 * back with no parsing.  A reader still reads index.json, which stays
 * the one truth, and uses the cache only when the cache names it: same
 * length, same 64-bit hash of its bytes.  Any difference (an index
 * written by another tool or an older build, edited by hand, restored
 * from a backup; a cache torn by a crash, from another build or another
 * byte order) and the reader decodes the JSON as before.  So the cache
 * can be deleted at any time, is never fsynced, and its failures are
 * never errors: a cache that cannot be written or read costs time only.
 *
 * The file, in the host's byte order:
 *
 *	header	"RVIXC" 0 0 CACHE_VERSION, the word 0x0102030405060708,
 *		then u64 json_len, json_hash, nitems, meta_len, body_hash, 0
 *	body	nitems items, by key, each: key, path, run_id, segment_id,
 *		refreshed_at, video_codec, audio_codec as u16 length +
 *		bytes (no NUL), then file_bytes, file_mtime_ns, inode,
 *		device, duration, bitrate_bps as 8 bytes each; then
 *		meta_len bytes of meta_info as unformatted JSON
 *
 * body_hash covers the body.  Loading checks every length against its
 * field, that no text holds a NUL, that keys are valid and strictly
 * ascending, and that the body ends where the header says: the same
 * invariants decoding the JSON gives.
 *
 * Public (to the vindex files, vindex_json.h): vindex_cache_hash,
 * vindex_cache_encode, vindex_cache_decode.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/media/vindex.h"
#include "common/media/vindex_json.h"
#include "common/media/vindex_shared.h"

#define CACHE_VERSION	1
#define CACHE_ORDER	UINT64_C(0x0102030405060708)

static const unsigned char cache_magic[8] = {
	'R', 'V', 'I', 'X', 'C', 0, 0, CACHE_VERSION
};

enum { H_ORDER, H_JSON_LEN, H_JSON_HASH, H_NITEMS, H_META_LEN, H_BODY_HASH,
    H_SPARE, H_N };
#define HEAD_LEN	(8 + H_N * 8)

/*
 * A 64-bit hash of <len> bytes, eight at a time.  Each step (xor, multiply
 * by an odd constant, xor-shift) is a bijection of the state, so inputs
 * that differ in one word never collide; it tells versions of a file
 * apart and is no defence against anyone forging one.
 */
uint64_t
vindex_cache_hash(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)len, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 29);
}

/* ---- writing ---- */

static void
put_u64(FILE *f, uint64_t v)
{
	(void)fwrite(&v, 8, 1, f);
}

static void
put_text(FILE *f, const char *s)
{
	uint16_t n = (uint16_t)strlen(s);	/* fields are < 64 KiB */

	(void)fwrite(&n, 2, 1, f);
	(void)fwrite(s, 1, n, f);
}

/*
 * The cache of <idx>, which must be what decoding the index text of
 * <json_len> bytes and hash <json_hash> gave.  Returns a buffer from
 * malloc of *lenp bytes, or NULL when memory runs out.
 */
unsigned char *
vindex_cache_encode(const struct vindex *idx, size_t json_len,
    uint64_t json_hash, size_t *lenp)
{
	const struct vindex_item *it;
	uint64_t h[H_N] = { 0 };
	char *buf = NULL, *meta = NULL;
	size_t len = 0, i, body;
	bool ok = true;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	(void)fwrite(cache_magic, 1, sizeof(cache_magic), f);
	(void)fwrite(h, 1, sizeof(h), f);	/* filled in below */
	for (i = 0; i < idx->nitems; i++) {
		it = &idx->items[i];
		put_text(f, it->key);
		put_text(f, it->path);
		put_text(f, it->run_id);
		put_text(f, it->segment_id);
		put_text(f, it->refreshed_at);
		put_text(f, it->video_codec);
		put_text(f, it->audio_codec);
		put_u64(f, (uint64_t)it->file_bytes);
		put_u64(f, (uint64_t)it->file_mtime_ns);
		put_u64(f, it->inode);
		put_u64(f, it->device);
		(void)fwrite(&it->duration, 8, 1, f);
		put_u64(f, (uint64_t)it->bitrate_bps);
	}
	(void)fflush(f);
	body = len;
	if (idx->meta != NULL) {
		if ((meta = cJSON_PrintUnformatted(idx->meta)) == NULL)
			ok = false;
		else
			(void)fputs(meta, f);
		free(meta);
	}
	if (ferror(f) != 0)
		ok = false;
	if (fclose(f) != 0 || !ok) {
		free(buf);
		return NULL;
	}
	h[H_ORDER] = CACHE_ORDER;
	h[H_JSON_LEN] = json_len;
	h[H_JSON_HASH] = json_hash;
	h[H_NITEMS] = idx->nitems;
	h[H_META_LEN] = len - body;
	h[H_BODY_HASH] = vindex_cache_hash(buf + HEAD_LEN, len - HEAD_LEN);
	memcpy(buf + 8, h, sizeof(h));
	*lenp = len;
	return (unsigned char *)buf;
}

/* ---- reading ---- */

struct in {
	const unsigned char	*p, *end;
};

static bool
get_u64(struct in *in, uint64_t *v)
{
	if (in->end - in->p < 8)
		return false;
	memcpy(v, in->p, 8);
	in->p += 8;
	return true;
}

/* A u16-counted text into <buf> of <size>: shorter, with no NUL in it. */
static bool
get_text(struct in *in, char *buf, size_t size)
{
	uint16_t n;

	if (in->end - in->p < 2)
		return false;
	memcpy(&n, in->p, 2);
	in->p += 2;
	if (n >= size || in->end - in->p < n || memchr(in->p, '\0', n) != NULL)
		return false;
	memcpy(buf, in->p, n);
	buf[n] = '\0';
	in->p += n;
	return true;
}

static bool
get_item(struct in *in, struct vindex_item *it)
{
	uint64_t u[6];
	size_t i;

	memset(it, 0, sizeof(*it));
	if (!get_text(in, it->key, sizeof(it->key)) ||
	    !get_text(in, it->path, sizeof(it->path)) ||
	    !get_text(in, it->run_id, sizeof(it->run_id)) ||
	    !get_text(in, it->segment_id, sizeof(it->segment_id)) ||
	    !get_text(in, it->refreshed_at, sizeof(it->refreshed_at)) ||
	    !get_text(in, it->video_codec, sizeof(it->video_codec)) ||
	    !get_text(in, it->audio_codec, sizeof(it->audio_codec)))
		return false;
	for (i = 0; i < 6; i++)
		if (!get_u64(in, &u[i]))
			return false;
	it->file_bytes = (long long)u[0];
	it->file_mtime_ns = (long long)u[1];
	it->inode = u[2];
	it->device = u[3];
	memcpy(&it->duration, &u[4], 8);
	it->bitrate_bps = (long long)u[5];
	return vindex_key_ok(it->key) && it->path[0] != '\0';
}

/*
 * Fill <idx> (empty, initialised by the caller) from the cache <buf> of
 * <len> bytes if it was made from the index text of <json_len> bytes and
 * hash <json_hash> and is whole.  Returns 0, or -1 with <idx> empty: the
 * caller decodes the JSON instead.
 */
int
vindex_cache_decode(const unsigned char *buf, size_t len, size_t json_len,
    uint64_t json_hash, struct vindex *idx)
{
	struct in in;
	uint64_t h[H_N];
	size_t i;

	if (len < HEAD_LEN || memcmp(buf, cache_magic, sizeof(cache_magic)) !=
	    0)
		return -1;
	memcpy(h, buf + 8, sizeof(h));
	if (h[H_ORDER] != CACHE_ORDER || h[H_JSON_LEN] != json_len ||
	    h[H_JSON_HASH] != json_hash || h[H_NITEMS] > VINDEX_ITEMS_MAX ||
	    h[H_META_LEN] > len - HEAD_LEN ||
	    h[H_BODY_HASH] != vindex_cache_hash(buf + HEAD_LEN,
	    len - HEAD_LEN))
		return -1;
	in.p = buf + HEAD_LEN;
	in.end = buf + len - h[H_META_LEN];
	if (vindex_item_grow(idx, (size_t)h[H_NITEMS]) == -1)
		return -1;
	for (i = 0; i < h[H_NITEMS]; i++) {
		if (!get_item(&in, &idx->items[i]) || (i > 0 &&
		    strcmp(idx->items[i - 1].key, idx->items[i].key) >= 0))
			goto fail;
		idx->nitems++;
	}
	if (in.p != in.end)
		goto fail;
	if (h[H_META_LEN] > 0 && (idx->meta = vindex_json_meta_parse(
	    (const char *)in.end, (size_t)h[H_META_LEN])) == NULL)
		goto fail;
	idx->cached = true;
	return 0;
fail:
	vindex_clear(idx);
	return -1;
}
