/* SPDX-License-Identifier: ISC */
/*
 * ids_test: ID patterns, UUIDs, sha8 of real files, media file-name
 * parsing, and the checkpoint file (round trip, every corruption named).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/checkpoint.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "tests/unit/test.h"

struct idcase {
	const char	*s;
	bool		 video, segment;
};

static const struct idcase ids[] = {
	{ "RAY-99", true, true },
	{ "a", true, true },
	{ "-a", false, false },
	{ "a_b", false, false },
	{ "a/b", false, false },
	{ "..", false, false },
	{ "a..b", false, false },
	{ "", false, false },
	{ "ação", false, false },
	{ "0123456789012345678901234567890123456789", true, true },
	{ "01234567890123456789012345678901234567890", true, false },
	{ "0123456789012345678901234567890123456789012345678901234567890123",
	    true, false },
	{ "01234567890123456789012345678901234567890123456789012345678901234",
	    false, false },
};

struct namecase {
	const char	*name;
	char		 prefix;
	int		 rc;
	const char	*run, *seg, *sha8;
};

static const struct namecase names[] = {
	{ "V_RAY-99_intro_0a1b2c3d.mp4", 'V', 0, "RAY-99", "intro", "0a1b2c3d" },
	{ "A_6f1c2a9e-0b1d-4c3e-9f00-112233445566_p-1_deadbeef.wav", 'A', 0,
	    "6f1c2a9e-0b1d-4c3e-9f00-112233445566", "p-1", "deadbeef" },
	{ "V_RAY-99_intro_0A1B2C3D.mp4", 'V', -1, NULL, NULL, NULL },
	{ "V_RAY-99_intro_0a1b2c3.mp4", 'V', -1, NULL, NULL, NULL },
	{ "V_RAY-99_in_tro_0a1b2c3d.mp4", 'V', -1, NULL, NULL, NULL },
	{ "A_RAY-99_intro_0a1b2c3d.wav", 'V', -1, NULL, NULL, NULL },
	{ "V_RAY-99_intro.mp4", 'V', -1, NULL, NULL, NULL },
	{ "V_.._intro_0a1b2c3d.mp4", 'V', -1, NULL, NULL, NULL },
};

static void
test_ids(void)
{
	char u[ID_UUID_LEN + 1], u2[ID_UUID_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		CHECK("video id", id_video_valid(ids[i].s) == ids[i].video,
		    "\"%s\"", ids[i].s);
		CHECK("segment id", id_segment_valid(ids[i].s) ==
		    ids[i].segment, "\"%s\"", ids[i].s);
	}
	id_uuid_new(u);
	id_uuid_new(u2);
	CHECK("uuid valid", id_uuid_valid(u) && u[14] == '4', "%s", u);
	CHECK("uuid fresh", strcmp(u, u2) != 0, "same twice");
	id_uuid_from_name("render_done:k", u);
	id_uuid_from_name("render_done:k", u2);
	CHECK("name uuid stable", strcmp(u, u2) == 0 && id_uuid_valid(u),
	    "%s %s", u, u2);
	id_uuid_from_name("render_done:j", u2);
	CHECK("name uuid differs", strcmp(u, u2) != 0, "%s", u2);
	CHECK("uuid invalid", !id_uuid_valid("6f1c2a9e-0b1d-4c3e-9f00-11223344556") &&
	    !id_uuid_valid("6f1c2a9e_0b1d-4c3e-9f00-112233445566"), "accepted");
}

static void
test_sha8(void)
{
	char path[] = "/tmp/rv-ids-XXXXXX", sha8[9], hex[65];
	int fd = mkstemp(path);

	(void)!write(fd, "abc", 3);
	close(fd);
	CHECK("sha8 file", id_sha8_file(path, sha8) == 0 &&
	    strcmp(sha8, "ba7816bf") == 0, "%s", sha8);
	id_sha256_buf("abc", 3, hex);
	CHECK("sha256 buf", strncmp(hex, "ba7816bf8f01cfea", 16) == 0, "%s",
	    hex);
	CHECK("sha8 valid", id_sha8_valid("ba7816bf") &&
	    !id_sha8_valid("BA7816BF") && !id_sha8_valid("ba7816b"), "x");
	unlink(path);
	CHECK("sha8 missing file", id_sha8_file(path, sha8) == -1, "no error");
}

static void
test_names(void)
{
	char run[80], seg[48], sha8[9];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		rc = id_parse_media_name(names[i].name, names[i].prefix, run,
		    sizeof(run), seg, sizeof(seg), sha8);
		CHECK(names[i].name, rc == names[i].rc, "rc %d", rc);
		if (rc == 0 && names[i].rc == 0)
			CHECK(names[i].name, strcmp(run, names[i].run) == 0 &&
			    strcmp(seg, names[i].seg) == 0 &&
			    strcmp(sha8, names[i].sha8) == 0, "%s %s %s", run,
			    seg, sha8);
	}
}

static void
test_checkpoint(void)
{
	char dir[] = "/tmp/rv-ckpt-XXXXXX", path[256], err[512];
	const char *bad[] = {
		"{",
		"[]",
		"{\"version\":2}",
		"{\"version\":1,\"run_id\":\"x\"}",
		"{\"version\":1,\"run_id\":\"6f1c2a9e-0b1d-4c3e-9f00-112233445566\","
		    "\"video_id\":\"a_b\"}",
		"{\"version\":1,\"run_id\":\"6f1c2a9e-0b1d-4c3e-9f00-112233445566\","
		    "\"video_id\":\"RAY-1\",\"lease_epoch\":1,\"lock_token\":\"t\","
		    "\"stages\":{\"evidence\":\"finished\"},\"segments\":{}}",
	};
	cJSON *c, *d;
	size_t i;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/c.json", dir);
	c = ckpt_new("6f1c2a9e-0b1d-4c3e-9f00-112233445566", "RAY-1", "wrk-1",
	    "tok", 3);
	ckpt_stage_set(c, "voice", "done");
	cJSON_AddStringToObject(ckpt_segment(c, "intro"), "sha8", "ba7816bf");
	CHECK("save", ckpt_save(path, c, err, sizeof(err)) == 0, "%s", err);
	CHECK("load", ckpt_load(path, &d, err, sizeof(err)) == 0, "%s", err);
	CHECK("round trip", d != NULL && strcmp(ckpt_stage_get(d, "voice"),
	    "done") == 0 && strcmp(ckpt_stage_get(d, "render"), "pending") == 0 &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ckpt_segment(d,
	    "intro"), "sha8")), "ba7816bf") == 0, "mismatch");
	cJSON_Delete(c);
	cJSON_Delete(d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)fs_write_atomic(path, bad[i], strlen(bad[i]));
		CHECK("corrupt checkpoint refused", ckpt_load(path, &d, err,
		    sizeof(err)) == -1 && d == NULL && strstr(err, path) != NULL,
		    "%s", bad[i]);
	}
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_ids();
	test_sha8();
	test_names();
	test_checkpoint();
	return test_exit();
}
