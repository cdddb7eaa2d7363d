/* SPDX-License-Identifier: ISC */
/*
 * vindex_test.c: unit tests for common/media/vindex.c.  Round trip of the file
 * format, its cache (index.json.cache), a missing index, corrupt indexes kept aside and never replaced,
 * the flock excluding a second process, refresh over real mp4 files made
 * with ffmpeg at test time (cold, warm, touched, forced, names without
 * sha8, an unprobe-able file, dry run, prune, history trimming), repair,
 * orphans and the clean-zombies rules.  Every case works in its own
 * mkdtemp directory under /tmp.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/subproc.h"
#include "common/media/vindex.h"
#include "common/media/vindex_json.h"
#include "tests/unit/test.h"

static char clips[4][PATH_MAX];	/* distinct small mp4 files */
static char clipdir[PATH_MAX];

static void
rm_rf(const char *dir)
{
	if (dir[0] != '\0')
		test_rm_tree(dir);
}

static void
tmpdir(char *buf, size_t size)
{
	(void)fs_path(buf, size, "/tmp/rv-vindex-XXXXXX");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
}

static void
set_age(const char *path, long age_sec)
{
	struct timespec ts[2];

	(void)clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_sec;
	ts[1] = ts[0];
	if (utimensat(AT_FDCWD, path, ts, 0) == -1)
		perror(path);
}

/* A sparse file of <size> bytes, <age_sec> old. */
static void
mkfile(const char *path, long long size, long age_sec)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    ftruncate(fd, size) == -1) {
		perror(path);
		exit(2);
	}
	(void)close(fd);
	set_age(path, age_sec);
}

static int
copy_file(const char *src, const char *dst)
{
	char *buf;
	size_t len;
	int r;

	if (fs_read_file(src, 64 * 1024 * 1024, &buf, &len) == -1)
		return -1;
	r = fs_write_atomic(dst, buf, len);
	free(buf);
	return r;
}

static void
make_clips(void)
{
	static const char *colors[4] = { "red", "green", "blue", "white" };
	char cmd[PATH_MAX * 2];
	int i;

	(void)fs_path(clipdir, sizeof(clipdir), "/tmp/rv-clips-XXXXXX");
	if (mkdtemp(clipdir) == NULL)
		exit(2);
	for (i = 0; i < 4; i++) {
		(void)fs_path(clips[i], sizeof(clips[i]), "%s/c%d.mp4",
		    clipdir, i);
		(void)fs_path(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y "
		    "-f lavfi -i color=c=%s:s=64x64:r=25:d=1 -f lavfi "
		    "-i sine=f=%d:d=1 -c:v libx264 -pix_fmt yuv420p -c:a aac "
		    "-shortest %s", colors[i], 300 + 100 * i, clips[i]);
		if (system(cmd) != 0) {
			printf("FAIL setup: ffmpeg could not make %s\n",
			    clips[i]);
			exit(1);
		}
	}
}

/* Put clip <i> into final/ as V_RUN-1_<seg>_<sha8>.mp4, an hour old. */
static void
add_clip(const char *state, int i, const char *seg, char *name,
    size_t namesz)
{
	char sha8[ID_SHA8_LEN + 1], dir[PATH_MAX], path[PATH_MAX];

	(void)fs_path(dir, sizeof(dir), "%s/video/final", state);
	(void)fs_mkdirs(dir, 0700);
	if (id_sha8_file(clips[i], sha8) == -1)
		exit(2);
	(void)fs_path(name, namesz, "V_RUN-1_%s_%s.mp4", seg, sha8);
	(void)fs_path(path, sizeof(path), "%s/%s", dir, name);
	if (copy_file(clips[i], path) == -1)
		exit(2);
	set_age(path, 3600);
}

static void
sample_item(struct vindex_item *it, const char *key, const char *seg)
{
	memset(it, 0, sizeof(*it));
	(void)strlcpy(it->key, key, sizeof(it->key));
	(void)fs_path(it->path, sizeof(it->path),
	    "video/final/V_RUN-1_%s_%s.mp4", seg, key);
	(void)strlcpy(it->run_id, "RUN-1", sizeof(it->run_id));
	(void)strlcpy(it->segment_id, seg, sizeof(it->segment_id));
	it->file_bytes = 812345;
	it->file_mtime_ns = 1732530000123456789LL;
	it->inode = 123456789012ULL;
	it->device = 66306;
	(void)strlcpy(it->refreshed_at, "2026-11-25T10:11:12.345Z",
	    sizeof(it->refreshed_at));
	it->duration = 6.04;
	it->bitrate_bps = 1075953;
	(void)strlcpy(it->video_codec, "h264", sizeof(it->video_codec));
	(void)strlcpy(it->audio_codec, "aac", sizeof(it->audio_codec));
}

static char *
read_index(const char *state)
{
	char path[PATH_MAX], *text = NULL;

	(void)fs_path(path, sizeof(path), "%s/video/index.json", state);
	if (fs_read_file(path, 1 << 24, &text, NULL) == -1)
		return NULL;
	return text;
}

static void
write_index(const char *state, const char *text)
{
	char path[PATH_MAX];

	(void)fs_path(path, sizeof(path), "%s/video", state);
	(void)fs_mkdirs(path, 0700);
	(void)fs_path(path, sizeof(path), "%s/video/index.json", state);
	if (fs_write_atomic(path, text, strlen(text)) == -1)
		exit(2);
}

static int
history_len(const char *state, const char *list)
{
	cJSON *root, *meta, *l;
	char *text;
	int n = -1;

	if ((text = read_index(state)) == NULL)
		return -1;
	if ((root = cJSON_Parse(text)) != NULL &&
	    (meta = cJSON_GetObjectItem(root, "meta_info")) != NULL &&
	    (l = cJSON_GetObjectItem(meta, list)) != NULL)
		n = cJSON_GetArraySize(l);
	cJSON_Delete(root);
	free(text);
	return n;
}

static void
test_roundtrip(void)
{
	struct vindex idx, back;
	struct vindex_item a, b, *f;
	char state[PATH_MAX], root[PATH_MAX], err[256], *text;
	cJSON *j, *meta;
	int i, rc;

	tmpdir(state, sizeof(state));
	vindex_init(&idx);
	vindex_init(&back);
	sample_item(&a, "0123abcd", "intro");
	sample_item(&b, "ffee0011", "outro");
	CHECK("roundtrip", vindex_upsert(&idx, &b) == 0 &&
	    vindex_upsert(&idx, &a) == 0 && idx.nitems == 2, "upsert");
	for (i = 0; i < 12; i++)
		(void)vindex_history_add(&idx, "refresh_history",
		    cJSON_CreateNumber(i));
	rc = vindex_save(state, &idx, err, sizeof(err));
	CHECK("roundtrip", rc == VINDEX_OK, "save: %s", err);
	rc = vindex_load(state, &back, err, sizeof(err));
	CHECK("roundtrip", rc == VINDEX_OK && !back.missing &&
	    back.nitems == 2, "load rc %d n %zu: %s", rc, back.nitems, err);
	f = vindex_find(&back, "0123abcd");
	CHECK("roundtrip", f != NULL && memcmp(f, &a, sizeof(a)) == 0,
	    "entry differs after round trip");
	CHECK("roundtrip", vindex_remove(&back, "0123abcd") == 0 &&
	    vindex_find(&back, "0123abcd") == NULL &&
	    vindex_remove(&back, "0123abcd") == -1, "remove");
	text = read_index(state);
	CHECK("roundtrip", text != NULL &&
	    strstr(text, "1732530000123456789") != NULL &&
	    strstr(text, "\"video/final/V_RUN-1_intro_0123abcd.mp4\"") != NULL,
	    "exact integers and relative path in the file");
	j = text != NULL ? cJSON_Parse(text) : NULL;
	meta = cJSON_GetObjectItem(j, "meta_info");
	CHECK("roundtrip", j != NULL && realpath(state, root) != NULL &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "version")),
	    "1.0") == 0 && cJSON_GetObjectItem(j, "schema_version")->
	    valuedouble == 2 && meta != NULL &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(meta,
	    "state_root")), root) == 0, "top-level shape");
	CHECK("roundtrip", history_len(state, "refresh_history") == 10 &&
	    history_len(state, "cleanup_history") == 0 &&
	    history_len(state, "repair_history") == 0, "history trimmed");
	cJSON_Delete(j);
	free(text);
	vindex_clear(&idx);
	vindex_clear(&back);
	rm_rf(state);
}

/* Big integers survive load and save exactly, in items and in meta. */
static void
test_bigints(void)
{
	struct vindex idx;
	struct vindex_item *it;
	char state[PATH_MAX], err[256], *text;
	int rc;

	tmpdir(state, sizeof(state));
	write_index(state, "{\"version\":\"1.0\",\"schema_version\":2,"
	    "\"items\":{\"0123abcd\":{\"path\":\"video/final/a.mp4\","
	    "\"file_mtime_ns\":1732530000123456789,"
	    "\"inode\":18446744073709551615,"
	    "\"note\":\"x\\\"1234567890123456789\"},"
	    "\"legacy\":{\"path\":\"video/final/b.mp4\","
	    "\"file_mtime_ns\":1.7325300001234568e+18}},"
	    "\"meta_info\":{\"refresh_history\":[{\"at\":"
	    "9007199254740993}]}}");
	vindex_init(&idx);
	rc = vindex_load(state, &idx, err, sizeof(err));
	it = vindex_find(&idx, "0123abcd");
	CHECK("bigints", rc == VINDEX_OK && it != NULL &&
	    it->file_mtime_ns == 1732530000123456789LL &&
	    it->inode == 18446744073709551615ULL &&
	    vindex_find(&idx, "legacy") != NULL, "rc %d (%s)", rc, err);
	rc = vindex_save(state, &idx, err, sizeof(err));
	text = read_index(state);
	CHECK("bigints", rc == VINDEX_OK && text != NULL &&
	    strstr(text, "1732530000123456789") != NULL &&
	    strstr(text, "9007199254740993") != NULL &&
	    strstr(text, "\x01") == NULL, "not written back exactly");
	free(text);
	vindex_clear(&idx);
	rm_rf(state);
}

/*
 * A hand-written index: entries out of key order, members in another order
 * than ours, a member given twice (the first counts, as cJSON's lookup
 * by name has it), an unknown member.  Loaded sorted by key, each field
 * from its own member.
 */
static void
test_member_order(void)
{
	struct vindex idx;
	struct vindex_item *it;
	char state[PATH_MAX], err[256];
	int rc;

	tmpdir(state, sizeof(state));
	write_index(state, "{\"version\":\"1.0\",\"schema_version\":2,"
	    "\"items\":{\"ffff0000\":{\"audio_codec\":\"aac\","
	    "\"duration\":2.5,\"x\":1,\"path\":\"video/final/z.mp4\","
	    "\"run_id\":\"r1\",\"path\":\"video/final/second.mp4\","
	    "\"segment_id\":\"seg-2\",\"bitrate_bps\":1200000},"
	    "\"0000ffff\":{\"path\":\"video/final/a.mp4\","
	    "\"inode\":7,\"device\":9,\"file_bytes\":42}}}");
	vindex_init(&idx);
	rc = vindex_load(state, &idx, err, sizeof(err));
	CHECK("member_order", rc == VINDEX_OK && idx.nitems == 2 &&
	    strcmp(idx.items[0].key, "0000ffff") == 0 &&
	    strcmp(idx.items[1].key, "ffff0000") == 0, "rc %d (%s), order",
	    rc, err);
	it = vindex_find(&idx, "ffff0000");
	CHECK("member_order", it != NULL &&
	    strcmp(it->path, "video/final/z.mp4") == 0 &&
	    strcmp(it->run_id, "r1") == 0 &&
	    strcmp(it->segment_id, "seg-2") == 0 &&
	    strcmp(it->audio_codec, "aac") == 0 && it->duration == 2.5 &&
	    it->bitrate_bps == 1200000 && it->video_codec[0] == '\0',
	    "fields of ffff0000 read wrong");
	it = vindex_find(&idx, "0000ffff");
	CHECK("member_order", it != NULL && it->inode == 7 &&
	    it->device == 9 && it->file_bytes == 42 && it->run_id[0] == '\0',
	    "fields of 0000ffff read wrong");
	vindex_clear(&idx);
	rm_rf(state);
}

/* Load <state>'s index with its cache moved aside for the call. */
static int
load_uncached(const char *state, struct vindex *idx, char *err,
    size_t errlen)
{
	char c[PATH_MAX], aside[PATH_MAX];
	int rc, moved;

	(void)fs_path(c, sizeof(c), "%s/video/index.json.cache", state);
	(void)fs_path(aside, sizeof(aside), "%s.aside", c);
	moved = rename(c, aside) == 0;
	rc = vindex_load(state, idx, err, errlen);
	if (moved && rename(aside, c) == -1)
		exit(2);
	return rc;
}

/* The same entries, byte for byte, and the same meta_info. */
static bool
same_index(const struct vindex *a, const struct vindex *b)
{
	return a->nitems == b->nitems && (a->nitems == 0 ||
	    memcmp(a->items, b->items, a->nitems * sizeof(a->items[0])) ==
	    0) && ((a->meta == NULL && b->meta == NULL) ||
	    cJSON_Compare(a->meta, b->meta, true));
}

static void
cache_put(const char *state, const void *buf, size_t len)
{
	char c[PATH_MAX];

	(void)fs_path(c, sizeof(c), "%s/video/index.json.cache", state);
	if (fs_write_atomic(c, buf, len) == -1)
		exit(2);
}

/* A cache of <idx> with the hashes of <text>, the current index.json. */
static int
cache_forge(const char *state, const struct vindex *idx, const char *text)
{
	unsigned char *enc;
	size_t elen;

	if (text == NULL || (enc = vindex_cache_encode(idx, strlen(text),
	    vindex_cache_hash(text, strlen(text)), &elen)) == NULL)
		return -1;
	cache_put(state, enc, elen);
	free(enc);
	return 0;
}

/*
 * index.json.cache: written by every save, read only when it was made
 * from the very text of index.json, and then loading gives exactly what
 * decoding the JSON gives (the awkward values: long integers, a double
 * that needs 17 digits, escapes and UTF-8, empty and absent fields, meta_info
 * with its own long integers).  An index changed by hand (same length,
 * one digit), a damaged, truncated, empty or foreign cache, and a cache
 * with valid hashes but entries out of order or a bad key all fall back
 * to the JSON; a corrupt index stays corrupt whatever the cache says.
 */
static void
test_cache(void)
{
	struct vindex idx, a, b;
	struct vindex_item bad[2];
	char state[PATH_MAX], c[PATH_MAX], err[256], *text, *cbuf, *p;
	size_t clen;
	int rc, rb;

	tmpdir(state, sizeof(state));
	vindex_init(&idx);
	vindex_init(&a);
	vindex_init(&b);
	(void)fs_path(c, sizeof(c), "%s/video/index.json.cache", state);
	write_index(state, "{\"version\":\"1.0\",\"schema_version\":2,"
	    "\"items\":{\"0123abcd\":{\"path\":\"video/final/v\\u00e9 \\\"q\\\""
	    "\\\\ \\t.mp4\",\"run_id\":\"RUN-1\",\"segment_id\":\"intro\","
	    "\"file_bytes\":9007199254740993,\"file_mtime_ns\":"
	    "1732530000123456789,\"inode\":18446744073709551615,\"device\":0,"
	    "\"refreshed_at\":\"\",\"duration\":0.33333333333333331,"
	    "\"bitrate_bps\":1200000,\"video_codec\":\"h264\"},"
	    "\"legacy\":{\"path\":\"old/b.mp4\",\"duration\":null}},"
	    "\"meta_info\":{\"refresh_history\":[{\"at\":9007199254740993,"
	    "\"note\":\"x\\u0001y\"}],\"extra\":[1.5,true,null,\"\"]}}");
	rc = vindex_load(state, &idx, err, sizeof(err));
	CHECK("cache", rc == VINDEX_OK && !idx.cached && !fs_exists(c),
	    "a hand-written index is decoded, no cache made: rc %d %s", rc,
	    err);
	rc = vindex_save(state, &idx, err, sizeof(err));
	CHECK("cache", rc == VINDEX_OK && fs_exists(c), "save makes the "
	    "cache: rc %d %s", rc, err);
	rc = vindex_load(state, &a, err, sizeof(err));
	rb = load_uncached(state, &b, err, sizeof(err));
	CHECK("cache", rc == VINDEX_OK && rb == VINDEX_OK && a.cached &&
	    !b.cached && a.nitems == 2 && same_index(&a, &b),
	    "cached load differs from the JSON's: rc %d/%d cached %d/%d",
	    rc, rb, a.cached, b.cached);
	CHECK("cache", a.nitems == 2 && a.items[0].file_mtime_ns ==
	    1732530000123456789LL && a.items[0].inode ==
	    18446744073709551615ULL && a.items[0].duration == 1.0 / 3 &&
	    strcmp(a.items[0].path,
	    "video/final/v\xc3\xa9 \"q\"\\ \t.mp4") == 0 &&
	    strcmp(a.items[1].key, "legacy") == 0, "values not exact: %lld "
	    "%llu %.17g [%s]", a.nitems ? a.items[0].file_mtime_ns : 0,
	    a.nitems ? a.items[0].inode : 0, a.nitems ? a.items[0].duration :
	    0, a.nitems ? a.items[0].path : "");

	/* the index edited by hand: same length, one digit */
	text = read_index(state);
	p = text != NULL ? strstr(text, "1200000") : NULL;
	if (p != NULL)
		p[1] = '3';
	write_index(state, text != NULL ? text : "");
	free(text);
	rc = vindex_load(state, &a, err, sizeof(err));
	CHECK("cache", rc == VINDEX_OK && !a.cached && a.nitems == 2 &&
	    a.items[0].bitrate_bps == 1300000, "an edited index read from "
	    "the stale cache: cached %d bitrate %lld", a.cached,
	    a.nitems ? a.items[0].bitrate_bps : -1);

	/* damaged, truncated, empty caches */
	rc = vindex_save(state, &idx, err, sizeof(err));
	CHECK("cache", rc == VINDEX_OK && fs_read_file(c, 1 << 24, &cbuf,
	    &clen) == 0 && clen > 200, "save: %s", err);
	if (rc == VINDEX_OK && clen > 200) {
		rb = load_uncached(state, &b, err, sizeof(err));
		cbuf[clen / 2] ^= 0x20;
		cache_put(state, cbuf, clen);
		rc = vindex_load(state, &a, err, sizeof(err));
		CHECK("cache", rc == VINDEX_OK && !a.cached &&
		    same_index(&a, &b), "a damaged cache was used");
		cache_put(state, cbuf, clen - 9);
		rc = vindex_load(state, &a, err, sizeof(err));
		CHECK("cache", rc == VINDEX_OK && !a.cached &&
		    same_index(&a, &b), "a truncated cache was used");
		cache_put(state, cbuf, 0);
		rc = vindex_load(state, &a, err, sizeof(err));
		CHECK("cache", rc == VINDEX_OK && !a.cached &&
		    same_index(&a, &b), "an empty cache broke the load");
		cbuf[clen / 2] ^= 0x20;
		cbuf[7] ^= 0x7f;	/* another version */
		cache_put(state, cbuf, clen);
		rc = vindex_load(state, &a, err, sizeof(err));
		CHECK("cache", rc == VINDEX_OK && !a.cached &&
		    same_index(&a, &b), "a cache of another version was used");
		free(cbuf);
	}

	/* valid hashes, invalid entries: out of order, then a bad key */
	text = read_index(state);
	sample_item(&bad[0], "ffff0000", "intro");
	sample_item(&bad[1], "0000ffff", "outro");
	idx.items[0] = bad[0];
	idx.items[1] = bad[1];
	rc = cache_forge(state, &idx, text) == 0 ? vindex_load(state, &a,
	    err, sizeof(err)) : -1;
	CHECK("cache", rc == VINDEX_OK && !a.cached && same_index(&a, &b),
	    "entries out of key order were accepted");
	(void)strlcpy(idx.items[1].key, "ffff0001/x", sizeof(idx.items[1].key));
	rc = cache_forge(state, &idx, text) == 0 ? vindex_load(state, &a,
	    err, sizeof(err)) : -1;
	CHECK("cache", rc == VINDEX_OK && !a.cached && same_index(&a, &b),
	    "a key with a slash was accepted");
	free(text);

	/* a corrupt index with a cache of the last good one */
	rc = vindex_save(state, &b, err, sizeof(err));
	write_index(state, "{\"version\":\"1.0\",\"schema_version\":2,"
	    "\"items\":{\"0123abcd\":{\"path\":7}}}");
	rc = vindex_load(state, &a, err, sizeof(err));
	CHECK("cache", rc == VINDEX_CORRUPT && a.nitems == 0 && fs_exists(c),
	    "a corrupt index was hidden by its cache: rc %d", rc);
	vindex_clear(&idx);
	vindex_clear(&a);
	vindex_clear(&b);
	rm_rf(state);
}

static void
test_missing_and_paths(void)
{
	static const struct { const char *p; bool ok; } t[] = {
		{ "video/final/a.mp4", true }, { "a", true },
		{ "", false }, { "/abs/a.mp4", false }, { "../a.mp4", false },
		{ "video/../../a", false }, { "video//a", false },
		{ "./a", false }, { "video/final/", false },
	};
	struct vindex idx;
	struct vindex_item it;
	char state[PATH_MAX], err[256];
	size_t i;
	int rc;

	tmpdir(state, sizeof(state));
	vindex_init(&idx);
	rc = vindex_load(state, &idx, err, sizeof(err));
	CHECK("missing", rc == VINDEX_OK && idx.missing && idx.nitems == 0,
	    "rc %d missing %d", rc, idx.missing);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK("rel_path", vindex_rel_path_ok(t[i].p) == t[i].ok,
		    "\"%s\" should be %s", t[i].p, t[i].ok ? "ok" : "refused");
	sample_item(&it, "0123abcd", "intro");
	(void)strlcpy(it.path, "/etc/passwd", sizeof(it.path));
	CHECK("rel_path", vindex_upsert(&idx, &it) == -1 && idx.nitems == 0,
	    "absolute path accepted by upsert");
	vindex_clear(&idx);
	rm_rf(state);
}

static const char *const corrupt_texts[] = {
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":{",
	"[]",
	"{\"version\":\"1.0\",\"schema_version\":1,\"items\":{}}",
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":[]}",
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":{\"ab\":"
	    "{\"path\":7}}}",
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":{\"ab\":"
	    "{\"path\":\"x.mp4\",\"file_bytes\":\"big\"}}}",
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":{},"
	    "\"meta_info\":{\"refresh_history\":{}}}",
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":{}} junk",
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":{\"ab\":"
	    "{\"path\":\"x.mp4\",\"run_id\":12345678901234567890}}}",
	"{\"version\":\"1.0\",\"schema_version\":2,\"items\":{\"ab\":"
	    "{\"path\":\"x.mp4\",\"file_mtime_ns\":-1732530000123456789}}}",
};

/* Every writer refuses a corrupt index and leaves it byte for byte. */
static void
corrupt_one(const char *state, const char *text, size_t n)
{
	struct vindex_refresh_report rr;
	struct vindex_zombie_report zr;
	struct vindex_zombie_opts zo = { 0 };
	struct vindex_item it;
	struct vindex idx;
	char err[256], *after;
	int rc;

	write_index(state, text);
	vindex_init(&idx);
	rc = vindex_load(state, &idx, err, sizeof(err));
	CHECK("corrupt", rc == VINDEX_CORRUPT && strstr(err, "corrupt") !=
	    NULL, "text %zu: load rc %d (%s)", n, rc, err);
	sample_item(&it, "0123abcd", "intro");
	CHECK("corrupt", vindex_put(state, &it, 1000, err, sizeof(err)) ==
	    VINDEX_CORRUPT, "text %zu: put did not refuse", n);
	CHECK("corrupt", vindex_refresh(state, NULL, NULL, &rr, err,
	    sizeof(err)) == VINDEX_CORRUPT, "text %zu: refresh", n);
	vindex_refresh_report_clear(&rr);
	CHECK("corrupt", vindex_clean_zombies(state, &zo, &zr, err,
	    sizeof(err)) == VINDEX_CORRUPT, "text %zu: clean-zombies", n);
	vindex_zombie_report_clear(&zr);
	after = read_index(state);
	CHECK("corrupt", after != NULL && strcmp(after, text) == 0,
	    "text %zu: index changed", n);
	free(after);
	vindex_clear(&idx);
}

static void
test_corrupt(void)
{
	char state[PATH_MAX], err[256], moved[PATH_MAX], *text;
	struct vindex idx;
	size_t i;
	int rc;

	tmpdir(state, sizeof(state));
	for (i = 0; i < sizeof(corrupt_texts) / sizeof(corrupt_texts[0]); i++)
		corrupt_one(state, corrupt_texts[i], i);
	rc = vindex_quarantine_corrupt(state, moved, sizeof(moved), err,
	    sizeof(err));
	text = NULL;
	CHECK("corrupt_aside", rc == VINDEX_OK && strstr(moved,
	    "/video/index.json.corrupt.") != NULL, "rc %d: %s", rc, err);
	if (rc == VINDEX_OK && fs_read_file(moved, 4096, &text, NULL) == 0)
		CHECK("corrupt_aside", strcmp(text, corrupt_texts[i - 1]) == 0,
		    "moved file differs");
	free(text);
	vindex_init(&idx);
	rc = vindex_load(state, &idx, err, sizeof(err));
	CHECK("corrupt_aside", rc == VINDEX_OK && idx.missing,
	    "after moving aside the index is missing");
	CHECK("corrupt_aside", vindex_save(state, &idx, err, sizeof(err)) ==
	    VINDEX_OK && vindex_quarantine_corrupt(state, NULL, 0, err,
	    sizeof(err)) == VINDEX_ERR && strstr(err, "valid") != NULL,
	    "a valid index must not be moved aside");
	vindex_clear(&idx);
	rm_rf(state);
}

static void
test_lock(void)
{
	struct vindex_item it;
	char state[PATH_MAX], err[256], c = 0;
	int to_parent[2], to_child[2], fd;
	int64_t t0, dt;
	pid_t pid;

	tmpdir(state, sizeof(state));
	if (pipe(to_parent) == -1 || pipe(to_child) == -1)
		exit(2);
	if ((pid = fork()) == 0) {
		fd = vindex_lock(state, true, -1, err, sizeof(err));
		if (write(to_parent[1], fd == -1 ? "n" : "y", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	CHECK("lock", read(to_parent[0], &c, 1) == 1 && c == 'y',
	    "child could not lock");
	t0 = clock_mono_ms();
	fd = vindex_lock(state, true, 200, err, sizeof(err));
	dt = clock_mono_ms() - t0;
	CHECK("lock", fd == -1 && errno == ETIMEDOUT && dt >= 190,
	    "second writer got the lock (fd %d, %lld ms)", fd, (long long)dt);
	vindex_unlock(fd);
	fd = vindex_lock(state, false, 0, err, sizeof(err));
	CHECK("lock", fd == -1, "a reader got in beside the writer");
	vindex_unlock(fd);
	sample_item(&it, "0123abcd", "intro");
	CHECK("lock", vindex_put(state, &it, 100, err, sizeof(err)) ==
	    VINDEX_ERR, "put went through a held lock");
	if (write(to_child[1], "x", 1) != 1)
		exit(2);
	(void)waitpid(pid, NULL, 0);
	fd = vindex_lock(state, true, 1000, err, sizeof(err));
	CHECK("lock", fd != -1, "lock after the child left: %s", err);
	vindex_unlock(fd);
	CHECK("lock", vindex_put(state, &it, 1000, err, sizeof(err)) ==
	    VINDEX_OK, "put: %s", err);
	rm_rf(state);
}

static int
refresh(const char *state, bool force, bool stem, bool dry, bool prune,
    struct vindex_refresh_report *rep)
{
	struct vindex_refresh_opts o = { .force = force,
	    .allow_missing_sha8 = stem, .dry_run = dry, .prune = prune };
	char err[256];
	int rc;

	vindex_refresh_report_clear(rep);
	if ((rc = vindex_refresh(state, &o, NULL, rep, err, sizeof(err))) < 0)
		printf("refresh: %s\n", err);
	return rc;
}

static size_t
index_count(const char *state)
{
	struct vindex idx;
	char err[256];
	size_t n;

	vindex_init(&idx);
	if (vindex_load(state, &idx, err, sizeof(err)) != VINDEX_OK)
		return (size_t)-1;
	n = idx.nitems;
	vindex_clear(&idx);
	return n;
}

static void
test_refresh_basic(void)
{
	struct vindex_refresh_report r;
	struct vindex idx;
	struct vindex_item *it;
	char state[PATH_MAX], name[3][128], path[PATH_MAX], err[256];
	int rc;

	tmpdir(state, sizeof(state));
	memset(&r, 0, sizeof(r));
	add_clip(state, 0, "intro", name[0], sizeof(name[0]));
	add_clip(state, 1, "product", name[1], sizeof(name[1]));
	add_clip(state, 2, "outro", name[2], sizeof(name[2]));
	rc = refresh(state, false, false, false, false, &r);
	CHECK("refresh_cold", rc == 0 && r.scanned == 3 && r.probed == 3 &&
	    r.unchanged == 0 && r.failed == 0 && r.index_missing,
	    "rc %d scanned %zu probed %zu", rc, r.scanned, r.probed);
	vindex_init(&idx);
	(void)vindex_load(state, &idx, err, sizeof(err));
	it = idx.nitems == 3 ? &idx.items[0] : NULL;
	CHECK("refresh_cold", it != NULL && fabs(it->duration - 1.0) < 0.1 &&
	    strcmp(it->video_codec, "h264") == 0 &&
	    strcmp(it->audio_codec, "aac") == 0 &&
	    strcmp(it->run_id, "RUN-1") == 0 && it->file_bytes > 0 &&
	    strncmp(it->path, "video/final/V_RUN-1_", 20) == 0,
	    "entries not filled from the probe");
	vindex_clear(&idx);
	rc = refresh(state, false, false, false, false, &r);
	CHECK("refresh_warm", rc == 0 && r.probed == 0 && r.unchanged == 3,
	    "probed %zu unchanged %zu", r.probed, r.unchanged);
	(void)fs_path(path, sizeof(path), "%s/video/final/%s", state,
	    name[1]);
	set_age(path, 1800);
	rc = refresh(state, false, false, false, false, &r);
	CHECK("refresh_touched", rc == 0 && r.probed == 1 && r.unchanged == 2,
	    "probed %zu unchanged %zu", r.probed, r.unchanged);
	rc = refresh(state, true, false, false, false, &r);
	CHECK("refresh_force", rc == 0 && r.probed == 3 && r.unchanged == 0,
	    "probed %zu", r.probed);
	CHECK("refresh_history", history_len(state, "refresh_history") == 4,
	    "history has %d entries", history_len(state, "refresh_history"));
	vindex_refresh_report_clear(&r);
	rm_rf(state);
}

static void
test_refresh_names(void)
{
	struct vindex_refresh_report r;
	char state[PATH_MAX], name[128], path[PATH_MAX], *before, *after;
	struct vindex idx;
	char err[256];
	int rc, i;

	tmpdir(state, sizeof(state));
	memset(&r, 0, sizeof(r));
	add_clip(state, 0, "intro", name, sizeof(name));
	(void)fs_path(path, sizeof(path), "%s/video/final/clip.mp4", state);
	(void)copy_file(clips[3], path);
	set_age(path, 3600);
	rc = refresh(state, false, false, false, false, &r);
	CHECK("refresh_nosha8", rc == 0 && r.probed == 1 && r.skipped == 1 &&
	    r.notes.n == 1 && strcmp(r.notes.v[0].name, "clip.mp4") == 0,
	    "probed %zu skipped %zu", r.probed, r.skipped);
	rc = refresh(state, false, true, false, false, &r);
	vindex_init(&idx);
	(void)vindex_load(state, &idx, err, sizeof(err));
	CHECK("refresh_nosha8", rc == 0 && r.probed == 1 && r.skipped == 0 &&
	    vindex_find(&idx, "clip") != NULL, "stem not indexed");
	vindex_clear(&idx);
	(void)fs_path(path, sizeof(path),
	    "%s/video/final/V_RUN-1_bad_0badf00d.mp4", state);
	(void)fs_write_atomic(path, "this is not a video at all", 26);
	set_age(path, 3600);
	before = read_index(state);
	rc = refresh(state, false, true, true, false, &r);
	after = read_index(state);
	CHECK("refresh_dry_run", rc == 0 && r.probed == 1 && before != NULL &&
	    after != NULL && strcmp(before, after) == 0,
	    "dry run probed %zu or wrote", r.probed);
	free(before);
	free(after);
	rc = refresh(state, false, true, false, false, &r);
	CHECK("refresh_failed", rc == 1 && r.failed == 1 && r.probed == 1 &&
	    index_count(state) == 2, "rc %d failed %zu", rc, r.failed);
	(void)unlink(path);
	(void)fs_path(path, sizeof(path), "%s/video/final/%s", state, name);
	(void)unlink(path);
	rc = refresh(state, false, true, false, true, &r);
	CHECK("refresh_prune", rc == 0 && r.removed == 1 &&
	    index_count(state) == 1, "removed %zu", r.removed);
	for (i = 0; i < 12; i++)
		(void)refresh(state, false, true, false, false, &r);
	CHECK("refresh_history", history_len(state, "refresh_history") == 10,
	    "history not trimmed to 10");
	vindex_refresh_report_clear(&r);
	rm_rf(state);
}

static int
stop_tick(void *arg, long long v)
{
	(void)arg;
	(void)v;
	return -1;
}

/*
 * Files written just now are probed after one short stability check; a
 * stop asked for meanwhile writes nothing.
 */
static void
test_refresh_fresh(void)
{
	struct progress stop = { stop_tick, NULL, 0 };
	struct vindex_refresh_report r;
	char state[PATH_MAX], name[128], path[PATH_MAX], err[256];
	int64_t t0, dt;
	int rc, i;

	tmpdir(state, sizeof(state));
	memset(&r, 0, sizeof(r));
	for (i = 0; i < 4; i++) {
		add_clip(state, i, i == 0 ? "a" : i == 1 ? "b" : i == 2 ?
		    "c" : "d", name, sizeof(name));
		(void)fs_path(path, sizeof(path), "%s/video/final/%s", state,
		    name);
		set_age(path, 0);
	}
	rc = vindex_refresh(state, NULL, &stop, &r, err, sizeof(err));
	CHECK("refresh_stop", rc == VINDEX_STOPPED && index_count(state) == 0,
	    "rc %d: stop not obeyed or index written", rc);
	vindex_refresh_report_clear(&r);
	t0 = clock_mono_ms();
	rc = refresh(state, false, false, false, false, &r);
	dt = clock_mono_ms() - t0;
	CHECK("refresh_fresh", rc == 0 && r.probed == 4 && r.skipped == 0 &&
	    dt >= 300, "rc %d probed %zu skipped %zu in %lld ms", rc,
	    r.probed, r.skipped, (long long)dt);
	vindex_refresh_report_clear(&r);
	rm_rf(state);
}

static void
test_repair(void)
{
	struct vindex_repair_report r;
	char state[PATH_MAX], name[128], text[2048], err[256];
	int rc;

	tmpdir(state, sizeof(state));
	add_clip(state, 0, "intro", name, sizeof(name));
	(void)fs_path(text, sizeof(text), "{\"version\":\"1.0\","
	    "\"schema_version\":2,\"items\":{"
	    "\"%.8s\":{\"path\":\"video/final/%s\"},"
	    "\"0000aaaa\":{\"path\":\"video/final/V_R_gone_0000aaaa.mp4\"},"
	    "\"0000bbbb\":{\"path\":\"/etc/passwd\"},"
	    "\"0000cccc\":{\"path\":\"../outside.mp4\"}}}",
	    name + strlen(name) - 12, name);
	write_index(state, text);
	rc = vindex_repair(state, false, &r, err, sizeof(err));
	CHECK("repair_dry", rc == VINDEX_OK && r.checked == 4 &&
	    r.missing == 1 && r.outside == 2 && r.removed == 0 &&
	    index_count(state) == 4, "rc %d (%s) missing %zu outside %zu",
	    rc, err, r.missing, r.outside);
	vindex_repair_report_clear(&r);
	rc = vindex_repair(state, true, &r, err, sizeof(err));
	CHECK("repair_apply", rc == VINDEX_OK && r.removed == 3 &&
	    index_count(state) == 1 &&
	    history_len(state, "repair_history") == 1,
	    "rc %d removed %zu", rc, r.removed);
	vindex_repair_report_clear(&r);
	rm_rf(state);
}

/*
 * Symlinks: a file that is a symlink is resolved whole, a directory on
 * the way is resolved once for all its entries; both may lead out of the
 * state root.  vindex_audit finds the same dead entries on an index the
 * caller loaded, plus the orphans, without writing anything.
 */
static void
test_repair_links(void)
{
	struct vindex_repair_report r;
	struct vindex_files f;
	struct vindex idx;
	char state[PATH_MAX], out[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	char name[128], text[4096], err[256];
	int rc;

	tmpdir(state, sizeof(state));
	tmpdir(out, sizeof(out));
	add_clip(state, 0, "intro", name, sizeof(name));
	(void)fs_path(p, sizeof(p), "%s/outside.mp4", out);
	(void)fs_write_atomic(p, "x", 1);
	(void)fs_path(q, sizeof(q), "%s/video/final/V_R_out_0000dddd.mp4",
	    state);
	(void)symlink(p, q);
	(void)fs_path(q, sizeof(q), "%s/video/final/V_R_in_0000eeee.mp4",
	    state);
	(void)fs_path(p, sizeof(p), "%s/video/final/%s", state, name);
	(void)symlink(p, q);
	(void)fs_path(q, sizeof(q), "%s/video/away", state);
	(void)symlink(out, q);
	(void)fs_path(text, sizeof(text), "{\"version\":\"1.0\","
	    "\"schema_version\":2,\"items\":{"
	    "\"%.8s\":{\"path\":\"video/final/%s\"},"
	    "\"0000dddd\":{\"path\":\"video/final/V_R_out_0000dddd.mp4\"},"
	    "\"0000eeee\":{\"path\":\"video/final/V_R_in_0000eeee.mp4\"},"
	    "\"0000ffff\":{\"path\":\"video/away/outside.mp4\"},"
	    "\"00001111\":{\"path\":\"video/away/gone.mp4\"}}}",
	    name + strlen(name) - 12, name);
	write_index(state, text);
	rc = vindex_repair(state, false, &r, err, sizeof(err));
	CHECK("repair_links", rc == VINDEX_OK && r.checked == 5 &&
	    r.missing == 1 && r.outside == 2, "rc %d (%s) missing %zu "
	    "outside %zu", rc, err, r.missing, r.outside);
	vindex_repair_report_clear(&r);

	vindex_init(&idx);
	rc = vindex_load(state, &idx, err, sizeof(err));
	if (rc == VINDEX_OK)
		rc = vindex_audit(state, &idx, &r, &f, err, sizeof(err));
	CHECK("audit", rc == VINDEX_OK && r.checked == 5 && r.missing == 1 &&
	    r.outside == 2 && idx.nitems == 5 && f.n == 0 &&
	    index_count(state) == 5, "rc %d (%s) missing %zu outside %zu "
	    "orphans %zu", rc, err, r.missing, r.outside, f.n);
	vindex_repair_report_clear(&r);
	vindex_files_clear(&f);
	vindex_clear(&idx);
	add_clip(state, 1, "outro", name, sizeof(name));
	vindex_init(&idx);
	rc = vindex_load(state, &idx, err, sizeof(err));
	if (rc == VINDEX_OK)
		rc = vindex_audit(state, &idx, &r, &f, err, sizeof(err));
	CHECK("audit_orphan", rc == VINDEX_OK && f.n == 1 &&
	    strcmp(f.v[0].name, name) == 0, "rc %d (%s) orphans %zu", rc,
	    err, f.n);
	vindex_repair_report_clear(&r);
	vindex_files_clear(&f);
	vindex_clear(&idx);
	rm_rf(state);
	rm_rf(out);
}

static void
test_orphans(void)
{
	struct vindex_refresh_report rr;
	struct vindex_files f;
	char state[PATH_MAX], name[128], name2[128], err[256];
	int rc;

	tmpdir(state, sizeof(state));
	memset(&rr, 0, sizeof(rr));
	add_clip(state, 0, "intro", name, sizeof(name));
	rc = vindex_orphans(state, &f, err, sizeof(err));
	CHECK("orphans", rc == VINDEX_NOINDEX, "no index must refuse: %d",
	    rc);
	vindex_files_clear(&f);
	(void)refresh(state, false, false, false, false, &rr);
	add_clip(state, 1, "outro", name2, sizeof(name2));
	rc = vindex_orphans(state, &f, err, sizeof(err));
	CHECK("orphans", rc == VINDEX_OK && f.n == 1 &&
	    strcmp(f.v[0].name, name2) == 0, "rc %d n %zu", rc, f.n);
	vindex_files_clear(&f);
	vindex_refresh_report_clear(&rr);
	rm_rf(state);
}

struct zfile {
	const char	*name;
	long long	 kb;
	long		 age_h;
};

static const struct zfile zfiles[] = {
	{ "V_R_n1_00000001.mp4", 600, 1 },	/* newest: kept */
	{ "V_R_n2_00000002.mp4", 600, 2 },	/* second newest: kept */
	{ "V_R_young_00000003.mp4", 600, 3 },	/* < 6 h: kept */
	{ "V_R_old_00000004.mp4", 600, 10 },	/* quarantined */
	{ "V_R_ancient_00000005.mp4", 600, 50 },	/* deleted (--delete) */
	{ "V_R_small_00000006.mp4", 100, 20 },	/* < 500 KB: kept */
	{ "V_R_indexed_00000007.mp4", 600, 100 },	/* in the index */
};

static void
zombie_setup(char *state, size_t size)
{
	struct vindex_item it;
	char dir[PATH_MAX], path[PATH_MAX], err[256];
	size_t i;

	tmpdir(state, size);
	(void)fs_path(dir, sizeof(dir), "%s/video/final", state);
	(void)fs_mkdirs(dir, 0700);
	for (i = 0; i < sizeof(zfiles) / sizeof(zfiles[0]); i++) {
		(void)fs_path(path, sizeof(path), "%s/%s", dir, zfiles[i].name);
		mkfile(path, zfiles[i].kb * 1024, zfiles[i].age_h * 3600);
	}
	if (vindex_item_fill(state, "video/final/V_R_indexed_00000007.mp4",
	    NULL, &it, err, sizeof(err)) == -1 ||
	    vindex_put(state, &it, 1000, err, sizeof(err)) != VINDEX_OK) {
		printf("FAIL zombies: setup: %s\n", err);
		exit(1);
	}
}

static bool
in_dir(const char *state, const char *sub, const char *name)
{
	char path[PATH_MAX];

	(void)fs_path(path, sizeof(path), "%s/video/%s/%s", state, sub, name);
	return fs_exists(path);
}

static void
test_zombies(void)
{
	struct vindex_zombie_opts o = { 0 };
	struct vindex_zombie_report r;
	char state[PATH_MAX], err[256];
	int rc;

	zombie_setup(state, sizeof(state));
	o.dry_run = true;
	o.delete = true;
	rc = vindex_clean_zombies(state, &o, &r, err, sizeof(err));
	CHECK("zombies_dry", rc == VINDEX_OK && r.orphans == 6 &&
	    r.deleted == 1 && r.quarantined == 1 && in_dir(state, "final",
	    zfiles[4].name) && in_dir(state, "final", zfiles[3].name),
	    "rc %d deleted %zu quarantined %zu", rc, r.deleted,
	    r.quarantined);
	vindex_zombie_report_clear(&r);
	o.dry_run = o.delete = false;
	rc = vindex_clean_zombies(state, &o, &r, err, sizeof(err));
	CHECK("zombies_quarantine", rc == VINDEX_OK && r.quarantined == 2 &&
	    r.deleted == 0 && r.kept_recent == 2 && r.kept_young == 1 &&
	    r.kept_small == 1 && in_dir(state, "quarantine", zfiles[3].name) &&
	    in_dir(state, "quarantine", zfiles[4].name) &&
	    in_dir(state, "final", zfiles[0].name) &&
	    in_dir(state, "final", zfiles[1].name) &&
	    in_dir(state, "final", zfiles[2].name) &&
	    in_dir(state, "final", zfiles[5].name) &&
	    in_dir(state, "final", zfiles[6].name) &&
	    history_len(state, "cleanup_history") == 1,
	    "rc %d (%s) q %zu recent %zu young %zu small %zu", rc, err,
	    r.quarantined, r.kept_recent, r.kept_young, r.kept_small);
	vindex_zombie_report_clear(&r);
	rm_rf(state);
	zombie_setup(state, sizeof(state));
	o.delete = true;
	rc = vindex_clean_zombies(state, &o, &r, err, sizeof(err));
	CHECK("zombies_delete", rc == VINDEX_OK && r.deleted == 1 &&
	    r.quarantined == 1 && !in_dir(state, "final", zfiles[4].name) &&
	    !in_dir(state, "quarantine", zfiles[4].name) &&
	    in_dir(state, "quarantine", zfiles[3].name),
	    "deleted %zu quarantined %zu", r.deleted, r.quarantined);
	vindex_zombie_report_clear(&r);
	rm_rf(state);
}

static void
test_zombies_refuse(void)
{
	struct vindex_zombie_opts o = { .delete = true };
	struct vindex_zombie_report r;
	char state[PATH_MAX], path[PATH_MAX], err[256];
	int rc;

	zombie_setup(state, sizeof(state));
	(void)fs_path(path, sizeof(path), "%s/video/index.json", state);
	(void)unlink(path);
	rc = vindex_clean_zombies(state, &o, &r, err, sizeof(err));
	CHECK("zombies_refuse", rc == VINDEX_NOINDEX && r.deleted == 0 &&
	    in_dir(state, "final", zfiles[4].name) &&
	    in_dir(state, "final", zfiles[6].name), "rc %d", rc);
	vindex_zombie_report_clear(&r);
	o.keep_last_n = VINDEX_NONE;
	o.min_size_kb = VINDEX_NONE;
	write_index(state, "{\"version\":\"1.0\",\"schema_version\":2,"
	    "\"items\":{}}");
	rc = vindex_clean_zombies(state, &o, &r, err, sizeof(err));
	CHECK("zombies_params", rc == VINDEX_OK && r.kept_small == 0 &&
	    r.kept_recent == 0 && r.deleted == 2 && r.quarantined == 2,
	    "deleted %zu quarantined %zu", r.deleted, r.quarantined);
	vindex_zombie_report_clear(&r);
	rm_rf(state);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	make_clips();
	test_roundtrip();
	test_bigints();
	test_member_order();
	test_cache();
	test_missing_and_paths();
	test_corrupt();
	test_lock();
	test_refresh_basic();
	test_refresh_names();
	test_refresh_fresh();
	test_repair();
	test_repair_links();
	test_orphans();
	test_zombies();
	test_zombies_refuse();
	rm_rf(clipdir);
	return test_exit();
}
