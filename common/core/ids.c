/* SPDX-License-Identifier: ISC */
/*
 * ids.c: identifiers and content hashes.
 *
 * Video and segment IDs are validated against the patterns of SPEC
 * section 2 before any path is built from them, which is what keeps every
 * path inside the state root.  UUIDs (run ids, lock tokens, event ids,
 * gate nonces) are version 4 from arc4random.  sha8 is the first eight hex
 * digits of a file's SHA-256 and names finalized audio and video files.
 *
 * Public: id_video_valid, id_segment_valid, id_uuid_valid, id_uuid_new,
 * id_uuid_from_name,
 * id_sha256_file, id_sha256_buf, id_sha8_file, id_sha8_valid,
 * id_parse_media_name.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RV_PORTABLE
#include <sha2.h>		/* libmd; compat.h has its own (PORTABLE=1) */
#endif

#include "common/core/ids.h"

static bool
id_valid(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return false;
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		if ((unsigned char)s[i] >= 0x80)
			return false;
	}
	return true;
}

/* ^[A-Za-z0-9][A-Za-z0-9-]{0,63}$ */
bool
id_video_valid(const char *s)
{
	return id_valid(s, ID_VIDEO_MAX);
}

/* ^[A-Za-z0-9][A-Za-z0-9-]{0,39}$ */
bool
id_segment_valid(const char *s)
{
	return id_valid(s, ID_SEGMENT_MAX);
}

bool
id_uuid_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != ID_UUID_LEN)
		return false;
	for (i = 0; i < ID_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

void
id_uuid_new(char out[ID_UUID_LEN + 1])
{
	uint8_t b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, ID_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * A name-based UUID (SHA-256 of <name>, version 5 layout), so an event
 * that may be sent twice after a crash ("render_done" of one ledger key)
 * always carries the same event_id and the store keeps it once.
 */
void
id_uuid_from_name(const char *name, char out[ID_UUID_LEN + 1])
{
	SHA2_CTX ctx;
	uint8_t b[32];

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)name, strlen(name));
	SHA256Final(b, &ctx);
	b[6] = (b[6] & 0x0f) | 0x50;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, ID_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
id_sha256_buf(const void *buf, size_t len, char hex[65])
{
	SHA2_CTX ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, buf, len);
	SHA256End(&ctx, hex);
}

/* SHA-256 of a file as 64 hex digits.  -1 with errno on I/O error. */
int
id_sha256_file(const char *path, char hex[65])
{
	SHA2_CTX ctx;
	uint8_t buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	SHA256Init(&ctx);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		SHA256Update(&ctx, buf, (size_t)n);
	}
	close(fd);
	SHA256End(&ctx, hex);
	return 0;
}

int
id_sha8_file(const char *path, char sha8[ID_SHA8_LEN + 1])
{
	char hex[65];

	if (id_sha256_file(path, hex) == -1)
		return -1;
	memcpy(sha8, hex, ID_SHA8_LEN);
	sha8[ID_SHA8_LEN] = '\0';
	return 0;
}

bool
id_sha8_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != ID_SHA8_LEN)
		return false;
	for (i = 0; i < ID_SHA8_LEN; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    (s[i] < 'a' || s[i] > 'f'))
			return false;
	return true;
}

/*
 * Split "<prefix>_<run>_<segment>_<sha8>.<ext>" (A_ for audio, V_ for
 * video).  IDs never contain '_', so the split is unambiguous.  Returns 0,
 * or -1 when the name does not follow the pattern.
 */
int
id_parse_media_name(const char *name, char prefix, char *run, size_t runsz,
    char *seg, size_t segsz, char sha8[ID_SHA8_LEN + 1])
{
	const char *p, *u1, *u2, *dot;
	size_t n;

	if (name[0] != prefix || name[1] != '_')
		return -1;
	p = name + 2;
	if ((u1 = strchr(p, '_')) == NULL || (u2 = strchr(u1 + 1, '_')) ==
	    NULL || strchr(u2 + 1, '_') != NULL)
		return -1;
	if ((dot = strchr(u2 + 1, '.')) == NULL ||
	    (size_t)(dot - (u2 + 1)) != ID_SHA8_LEN)
		return -1;
	if ((n = (size_t)(u1 - p)) >= runsz)
		return -1;
	memcpy(run, p, n);
	run[n] = '\0';
	if ((n = (size_t)(u2 - (u1 + 1))) >= segsz)
		return -1;
	memcpy(seg, u1 + 1, n);
	seg[n] = '\0';
	memcpy(sha8, u2 + 1, ID_SHA8_LEN);
	sha8[ID_SHA8_LEN] = '\0';
	if (!id_sha8_valid(sha8) || !id_segment_valid(seg))
		return -1;
	if (!id_video_valid(run) && !id_uuid_valid(run))
		return -1;
	return 0;
}
