/* SPDX-License-Identifier: ISC */
/*
 * compat_sha256.c: SHA-256 (FIPS 180-4) with the SHA256Init/Update/Final/
 * End interface of libmd's <sha2.h>, for the portable build.
 *
 * A straightforward implementation: one 64-byte block compressed at a
 * time, big-endian loads and stores done by hand so the host's byte
 * order does not matter.  compat_sha256_final() writes the 32-byte digest
 * and wipes the context; compat_sha256_end() writes 64 lowercase hex
 * digits and a NUL into <buf> (COMPAT_SHA256_DIGEST_STRING_LENGTH bytes)
 * and returns it.  The unit tests check it against the FIPS vectors and
 * against libmd.
 *
 * Public: compat_sha256_init, compat_sha256_update, compat_sha256_final,
 * compat_sha256_end.
 */
#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "common/core/compat.h"

static const uint32_t k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROTR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z)	(((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z)	(((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x)	(ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x)	(ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x)	(ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x)	(ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static void
compress(uint32_t st[8], const uint8_t blk[64])
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)blk[4 * i] << 24 |
		    (uint32_t)blk[4 * i + 1] << 16 |
		    (uint32_t)blk[4 * i + 2] << 8 | (uint32_t)blk[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = SSIG1(w[i - 2]) + w[i - 7] + SSIG0(w[i - 15]) +
		    w[i - 16];
	a = st[0]; b = st[1]; c = st[2]; d = st[3];
	e = st[4]; f = st[5]; g = st[6]; h = st[7];
	for (i = 0; i < 64; i++) {
		t1 = h + BSIG1(e) + CH(e, f, g) + k256[i] + w[i];
		t2 = BSIG0(a) + MAJ(a, b, c);
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	st[0] += a; st[1] += b; st[2] += c; st[3] += d;
	st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

void
compat_sha256_init(struct compat_sha256_ctx *ctx)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};

	memcpy(ctx->state, iv, sizeof(iv));
	ctx->bitcount = 0;
	memset(ctx->buffer, 0, sizeof(ctx->buffer));
}

void
compat_sha256_update(struct compat_sha256_ctx *ctx, const void *data,
    size_t len)
{
	const uint8_t *p = data;
	size_t used = (size_t)(ctx->bitcount >> 3) % COMPAT_SHA256_BLOCK_LENGTH;
	size_t n;

	ctx->bitcount += (uint64_t)len << 3;
	while (len > 0) {
		n = COMPAT_SHA256_BLOCK_LENGTH - used;
		if (n > len)
			n = len;
		memcpy(ctx->buffer + used, p, n);
		used += n;
		p += n;
		len -= n;
		if (used == COMPAT_SHA256_BLOCK_LENGTH) {
			compress(ctx->state, ctx->buffer);
			used = 0;
		}
	}
}

void
compat_sha256_final(uint8_t digest[COMPAT_SHA256_DIGEST_LENGTH],
    struct compat_sha256_ctx *ctx)
{
	uint64_t bits = ctx->bitcount;
	size_t used = (size_t)(bits >> 3) % COMPAT_SHA256_BLOCK_LENGTH;
	int i;

	ctx->buffer[used++] = 0x80;
	if (used > COMPAT_SHA256_BLOCK_LENGTH - 8) {
		memset(ctx->buffer + used, 0, COMPAT_SHA256_BLOCK_LENGTH - used);
		compress(ctx->state, ctx->buffer);
		used = 0;
	}
	memset(ctx->buffer + used, 0, COMPAT_SHA256_BLOCK_LENGTH - 8 - used);
	for (i = 0; i < 8; i++)
		ctx->buffer[COMPAT_SHA256_BLOCK_LENGTH - 1 - i] =
		    (uint8_t)(bits >> (8 * i));
	compress(ctx->state, ctx->buffer);
	for (i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)(ctx->state[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
		digest[4 * i + 3] = (uint8_t)ctx->state[i];
	}
	compat_explicit_bzero(ctx, sizeof(*ctx));
}

char *
compat_sha256_end(struct compat_sha256_ctx *ctx, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[COMPAT_SHA256_DIGEST_LENGTH];
	int i;

	compat_sha256_final(d, ctx);
	for (i = 0; i < COMPAT_SHA256_DIGEST_LENGTH; i++) {
		buf[2 * i] = hex[d[i] >> 4];
		buf[2 * i + 1] = hex[d[i] & 0x0f];
	}
	buf[2 * i] = '\0';
	return buf;
}
