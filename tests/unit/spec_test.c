/* SPDX-License-Identifier: ISC */
/*
 * spec_test.c: run-spec validation (common/core/spec.c) against a table of
 * good and bad specs.  A bad spec must be refused with an error that
 * starts with the field it names ("segments[2].segment_id: ...") and
 * says what is wrong.  The files specs refer to (images, saved pages, a
 * symlink leading out) are made in a fresh mkdtemp directory that is
 * removed at the end.  Prints "FAIL <case>: <detail>" per failure and
 * "N passed, M failed"; exits 1 when anything failed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/spec.h"
#include "tests/unit/test.h"

/* Table JSON is written with ' for " to stay readable. */
#define PROD	"'product':{'name':'Cordless drill'}"
#define SEG(id)	"{'segment_id':'" id "','kind':'intro'," \
		"'text':'Hi there','approx_duration_sec':6}"
#define HEAD	"{'video_id':'RAY-99'," PROD ","
#define ONESEG	"'segments':[" SEG("intro") "]"
#define SRC(s)	HEAD "'sources':[" s "]," ONESEG "}"
#define VIS(v)	HEAD "'segments':[{'segment_id':'intro','kind':'intro'," \
		"'text':'Hi','approx_duration_sec':6,'visual':" v "}]}"

struct tcase {
	const char *name;
	const char *json;
	const char *field;	/* NULL: valid; else the error's field */
	const char *detail;	/* substring the error must hold, or NULL */
};

static const struct tcase cases[] = {
	{ "minimal", HEAD ONESEG "}", NULL, NULL },
	{ "full", "{'video_id':'RAY-99','task_type':'review',"
	    "'product':{'name':'Drill','asin':'B00TEST123',"
	    "'image':'assets/x.png'},'sources':[{'url':'https://shop.example/"
	    "p?id=1','tier':5},{'path':'pages/a.html','tier':4}],"
	    "'segments':[{'segment_id':'intro','kind':'intro','text':'Hi',"
	    "'approx_duration_sec':6,'visual':{'prompt':'a drill',"
	    "'image':'assets/photo.jpg'}},{'segment_id':'p-1','kind':"
	    "'product','text':'Line one\\nline two','approx_duration_sec':"
	    "0.5,'visual':{'image':'assets/pic.webp'}},{'segment_id':'t1',"
	    "'kind':'transition','text':'And','approx_duration_sec':600},"
	    "{'segment_id':'OUTRO','kind':'outro','text':'Bye',"
	    "'approx_duration_sec':3}]}", NULL, NULL },
	{ "unknown keys ignored", "{'video_id':'RAY-99','x-note':[1,2],"
	    PROD "," ONESEG "}", NULL, NULL },
	{ "empty task type and asin", "{'video_id':'R','task_type':'',"
	    "'product':{'name':'D','asin':''}," ONESEG "}", NULL, NULL },
	{ "symlink inside", SRC("{'path':'link-in','tier':3}"), NULL, NULL },
	{ "dotted file name", SRC("{'path':'pages/a..b.html','tier':3}"),
	    NULL, NULL },
	{ "not json", "{'video_id':", "spec", "not valid JSON" },
	{ "trailing data", HEAD ONESEG "} x", "spec", "after the JSON" },
	{ "array", "[1,2]", "spec", "JSON object" },
	{ "no video id", "{" PROD "," ONESEG "}", "video_id", "required" },
	{ "video id underscore", "{'video_id':'RAY_99'," PROD "," ONESEG "}",
	    "video_id", "\"RAY_99\" is not a valid video id" },
	{ "video id leading dash", "{'video_id':'-RAY'," PROD "," ONESEG "}",
	    "video_id", "not a valid video id" },
	{ "video id number", "{'video_id':99," PROD "," ONESEG "}",
	    "video_id", "must be a string" },
	{ "video id twice", "{'video_id':'A','video_id':'B'," PROD ","
	    ONESEG "}", "video_id", "twice" },
	{ "task type long", "{'video_id':'R','task_type':"
	    "'abcdefghijabcdefghijabcdefghijab'," PROD "," ONESEG "}",
	    "task_type", "32 characters" },
	{ "task type space", "{'video_id':'R','task_type':'a b'," PROD ","
	    ONESEG "}", "task_type", "printable" },
	{ "no product", "{'video_id':'R'," ONESEG "}", "product", "required" },
	{ "product string", "{'video_id':'R','product':'x'," ONESEG "}",
	    "product", "object" },
	{ "empty name", "{'video_id':'R','product':{'name':''}," ONESEG "}",
	    "product.name", "0 characters" },
	{ "asin dash", "{'video_id':'R','product':{'name':'D','asin':'B0-1'},"
	    ONESEG "}", "product.asin", "letters and digits" },
	{ "asin long", "{'video_id':'R','product':{'name':'D','asin':"
	    "'B0123456789012345678X'}," ONESEG "}", "product.asin", "21" },
	{ "product image dotdot", "{'video_id':'R','product':{'name':'D',"
	    "'image':'../x.png'}," ONESEG "}", "product.image", "\"..\"" },
	{ "product image absolute", "{'video_id':'R','product':{'name':'D',"
	    "'image':'/etc/passwd'}," ONESEG "}", "product.image",
	    "absolute" },
	{ "product image fake", "{'video_id':'R','product':{'name':'D',"
	    "'image':'assets/fake.png'}," ONESEG "}", "product.image",
	    "\"assets/fake.png\" is not a PNG, JPEG or WebP image" },
	{ "sources object", HEAD "'sources':{}," ONESEG "}", "sources",
	    "array" },
	{ "source url and path", SRC("{'url':'https://a.example/',"
	    "'path':'pages/a.html','tier':5}"), "sources[0]", "exactly one" },
	{ "source neither", SRC("{'tier':5}"), "sources[0]", "exactly one" },
	{ "source not object", SRC("'https://a.example/'"), "sources[0]",
	    "object" },
	{ "source ftp", SRC("{'url':'ftp://a.example/x','tier':5}"),
	    "sources[0].url", "http" },
	{ "source file url", SRC("{'url':'file:///etc/passwd','tier':5}"),
	    "sources[0].url", "http" },
	{ "source no host", SRC("{'url':'https://','tier':5}"),
	    "sources[0].url", "no host" },
	{ "source url space", SRC("{'url':'https://a.example/a b',"
	    "'tier':5}"), "sources[0].url", "space" },
	{ "source missing file", SRC("{'path':'pages/none.html','tier':4}"),
	    "sources[0].path", "no such file" },
	{ "source directory", SRC("{'path':'pages/sub','tier':4}"),
	    "sources[0].path", "not a regular file" },
	{ "source symlink out", SRC("{'path':'link-out','tier':4}"),
	    "sources[0].path", "outside" },
	{ "source dotdot", SRC("{'path':'pages/../pages/a.html','tier':4}"),
	    "sources[0].path", "\"..\"" },
	{ "second source bad", SRC("{'url':'https://a.example/','tier':5},"
	    "{'path':'/etc/passwd','tier':4}"), "sources[1].path",
	    "absolute" },
	{ "tier missing", SRC("{'url':'https://a.example/'}"),
	    "sources[0].tier", "required" },
	{ "tier 0", SRC("{'url':'https://a.example/','tier':0}"),
	    "sources[0].tier", "1 to 5" },
	{ "tier 6", SRC("{'url':'https://a.example/','tier':6}"),
	    "sources[0].tier", "1 to 5" },
	{ "tier fraction", SRC("{'url':'https://a.example/','tier':2.5}"),
	    "sources[0].tier", "integer" },
	{ "tier string", SRC("{'url':'https://a.example/','tier':'5'}"),
	    "sources[0].tier", "integer" },
	{ "no segments", HEAD "'sources':[]}", "segments", "required" },
	{ "empty segments", HEAD "'segments':[]}", "segments", "0 entries" },
	{ "segment id underscore", HEAD "'segments':[" SEG("a") "," SEG("b")
	    "," SEG("a_b") "]}", "segments[2].segment_id",
	    "\"a_b\" is not a valid segment id (letters, digits and '-' "
	    "only, at most 40)" },
	{ "segment id slash", HEAD "'segments':[" SEG("a/b") "]}",
	    "segments[0].segment_id", "not a valid segment id" },
	{ "segment id dotdot", HEAD "'segments':[" SEG("..") "]}",
	    "segments[0].segment_id", "not a valid segment id" },
	{ "segment id 41", HEAD "'segments':["
	    SEG("abcdefghijabcdefghijabcdefghijabcdefghijx") "]}",
	    "segments[0].segment_id", "at most 40" },
	{ "segment id twice", HEAD "'segments':[" SEG("a") "," SEG("a") "]}",
	    "segments[1].segment_id", "already used by segments[0]" },
	{ "segment not object", HEAD "'segments':['intro']}", "segments[0]",
	    "object" },
	{ "kind unknown", HEAD "'segments':[{'segment_id':'a','kind':'ad',"
	    "'text':'x','approx_duration_sec':6}]}", "segments[0].kind",
	    "\"ad\" is not one of" },
	{ "text missing", HEAD "'segments':[{'segment_id':'a','kind':'intro',"
	    "'approx_duration_sec':6}]}", "segments[0].text", "required" },
	{ "text empty", HEAD "'segments':[{'segment_id':'a','kind':'intro',"
	    "'text':'','approx_duration_sec':6}]}", "segments[0].text",
	    "0 characters" },
	{ "video id nul", "{'video_id':'RAY-NUL\\u0000x'," PROD "," ONESEG "}",
	    "video_id", "holds \\u0000 (a NUL character)" },
	{ "text nul", HEAD "'segments':[{'segment_id':'a','kind':'intro',"
	    "'text':'a\\u0000b','approx_duration_sec':6}]}",
	    "segments[0].text", "holds \\u0000" },
	{ "text only nul", HEAD "'segments':[{'segment_id':'a','kind':"
	    "'intro','text':'\\u0000','approx_duration_sec':6}]}",
	    "segments[0].text", "holds \\u0000" },
	{ "text nul after control", HEAD "'segments':[{'segment_id':'a',"
	    "'kind':'intro','text':'\\u0001\\u0002\\u0000',"
	    "'approx_duration_sec':6}]}", "segments[0].text", "holds \\u0000" },
	{ "url nul", SRC("{'url':'https://shop.example/p\\u0000.evil',"
	    "'tier':5}"), "sources[0].url", "holds \\u0000" },
	{ "product name nul", "{'video_id':'R','product':{'name':'D\\u0000'},"
	    ONESEG "}", "product.name", "holds \\u0000" },
	{ "unknown key value nul", "{'video_id':'R','x-note':['a','b\\u0000'],"
	    PROD "," ONESEG "}", "x-note[1]", "holds \\u0000" },
	{ "key nul", "{'video_id\\u0000x':'R','video_id':'R'," PROD ","
	    ONESEG "}", "spec", "a key holds \\u0000" },
	{ "nested key nul", HEAD "'segments':[{'segment_id':'a','kind':"
	    "'intro','text':'x','approx_duration_sec':6,'v\\u0000':1}]}",
	    "segments[0]", "a key holds \\u0000" },
	{ "escaped backslash before u0000", HEAD "'segments':[{'segment_id':"
	    "'a','kind':'intro','text':'a\\\\u0000b','approx_duration_sec':"
	    "6}]}", NULL, NULL },
	{ "nul in bad json", "{'video_id':'R\\u0000',", "spec",
	    "not valid JSON" },
	/*
	 * A \u escape without 4 hex digits: cJSON reads it as U+0000 and
	 * cuts the string (this id was queued as "R"); refused, and the
	 * scan never shifts by a bad digit's -1.
	 */
	{ "bad u escape", "{'video_id':'R\\u000g'," PROD "," ONESEG "}",
	    "spec", "escape without 4 hex digits" },
	{ "short u escape", "{'video_id':'R\\u00'," PROD "," ONESEG "}",
	    "spec", "escape without 4 hex digits" },
	{ "text control", HEAD "'segments':[{'segment_id':'a','kind':"
	    "'intro','text':'a\\u0007b','approx_duration_sec':6}]}",
	    "segments[0].text", "control character" },
	{ "duration missing", HEAD "'segments':[{'segment_id':'a','kind':"
	    "'intro','text':'x'}]}", "segments[0].approx_duration_sec",
	    "required" },
	{ "duration small", HEAD "'segments':[{'segment_id':'a','kind':"
	    "'intro','text':'x','approx_duration_sec':0.4}]}",
	    "segments[0].approx_duration_sec", "0.5 to 600" },
	{ "duration large", HEAD "'segments':[{'segment_id':'a','kind':"
	    "'intro','text':'x','approx_duration_sec':601}]}",
	    "segments[0].approx_duration_sec", "0.5 to 600" },
	{ "duration string", HEAD "'segments':[{'segment_id':'a','kind':"
	    "'intro','text':'x','approx_duration_sec':'6'}]}",
	    "segments[0].approx_duration_sec", "number" },
	{ "visual string", VIS("'a drill'"), "segments[0].visual", "object" },
	{ "visual image fake", VIS("{'image':'assets/fake.png'}"),
	    "segments[0].visual.image", "\"assets/fake.png\" is not a PNG" },
	{ "visual image missing", VIS("{'image':'assets/none.png'}"),
	    "segments[0].visual.image", "no such file" },
	{ "visual image symlink out", VIS("{'image':'link-out'}"),
	    "segments[0].visual.image", "outside" },
	{ "visual prompt number", VIS("{'prompt':5}"),
	    "segments[0].visual.prompt", "string" }
};

static const char *dir;		/* the fixture directory (realpath) */
/* Validate <json> and compare with the expectation. */
static void
check(const char *name, const char *json, size_t len, const char *sdir,
    const char *field, const char *detail)
{
	char err[1024] = "", why[1400];
	cJSON *root;
	size_t n;

	root = spec_parse(json, len, sdir, err, sizeof(err));
	cJSON_Delete(root);
	if (field == NULL) {
		snprintf(why, sizeof(why), "refused: %s", err);
		CHECK(name, root != NULL, "%s", why);
		return;
	}
	n = strlen(field);
	snprintf(why, sizeof(why), "want \"%s: ...%s...\", got %s", field,
	    detail != NULL ? detail : "", root != NULL ? "success" : err);
	CHECK(name, root == NULL && strncmp(err, field, n) == 0 && err[n] == ':'
	    && (detail == NULL || strstr(err, detail) != NULL), "%s", why);
}

static char *
dequote(const char *s)
{
	char *d = strdup(s), *p;

	if (d == NULL) {
		perror("strdup");
		exit(1);
	}
	for (p = d; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static void
run_table(void)
{
	size_t i;
	char *json;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json = dequote(cases[i].json);
		check(cases[i].name, json, strlen(json), dir, cases[i].field,
		    cases[i].detail);
		free(json);
	}
}

/* A base spec as cJSON, for the generated cases. */
static cJSON *
base(void)
{
	char *j = dequote(HEAD ONESEG "}");
	cJSON *r = cJSON_Parse(j);

	free(j);
	return r;
}

static void
check_tree(const char *name, cJSON *root, const char *field,
    const char *detail)
{
	char *text = cJSON_PrintUnformatted(root);

	cJSON_Delete(root);
	if (text == NULL) {
		CHECK(name, false, "cJSON_Print failed");
		return;
	}
	check(name, text, strlen(text), dir, field, detail);
	free(text);
}

static char *
repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit), i;
	char *s = malloc(u * n + 1);

	if (s == NULL) {
		perror("malloc");
		exit(1);
	}
	for (i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static cJSON *
segment(int i)
{
	char id[16];
	cJSON *s = cJSON_CreateObject();

	snprintf(id, sizeof(id), "s%d", i);
	cJSON_AddStringToObject(s, "segment_id", id);
	cJSON_AddStringToObject(s, "kind", "product");
	cJSON_AddStringToObject(s, "text", "x");
	cJSON_AddNumberToObject(s, "approx_duration_sec", 2);
	return s;
}

static cJSON *
with_segments(int n)
{
	cJSON *r = base(), *arr = cJSON_CreateArray();
	int i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, segment(i));
	cJSON_ReplaceItemInObject(r, "segments", arr);
	return r;
}

static cJSON *
with_sources(int n)
{
	cJSON *r = base(), *arr = cJSON_AddArrayToObject(r, "sources"), *s;
	int i;

	for (i = 0; i < n; i++) {
		s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "url", "https://a.example/");
		cJSON_AddNumberToObject(s, "tier", 1 + i % 5);
		cJSON_AddItemToArray(arr, s);
	}
	return r;
}

/* Set segments[0].<key> (or product.name) to <value>. */
static cJSON *
with_text(const char *where, const char *value)
{
	cJSON *r = base(), *seg = cJSON_GetArrayItem(cJSON_GetObjectItem(r,
	    "segments"), 0), *vis;

	if (strcmp(where, "name") == 0)
		cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "product"),
		    "name", cJSON_CreateString(value));
	else if (strcmp(where, "prompt") == 0) {
		vis = cJSON_AddObjectToObject(seg, "visual");
		cJSON_AddStringToObject(vis, "prompt", value);
	} else
		cJSON_ReplaceItemInObject(seg, where,
		    cJSON_CreateString(value));
	return r;
}

static void
run_generated(void)
{
	char *s;

	check_tree("100 segments", with_segments(100), NULL, NULL);
	check_tree("101 segments", with_segments(101), "segments",
	    "101 entries, must be 1 to 100");
	check_tree("32 sources", with_sources(32), NULL, NULL);
	check_tree("33 sources", with_sources(33), "sources",
	    "33 entries, at most 32");
	s = repeat("a", 10000);
	check_tree("text 10000", with_text("text", s), "segments[0].text",
	    "10000 characters, must be 1 to 4000");
	free(s);
	s = repeat("\xc3\xa9", 4000);	/* 4000 characters, 8000 bytes */
	check_tree("text 4000 two-byte", with_text("text", s), NULL, NULL);
	free(s);
	s = repeat("a", 201);
	check_tree("name 201", with_text("name", s), "product.name", "201");
	free(s);
	s = repeat("p", 2001);
	check_tree("prompt 2001", with_text("prompt", s),
	    "segments[0].visual.prompt", "2001");
	free(s);
	check("empty input", "", 0, dir, "spec", "empty");
}

static void
run_raw(void)
{
	static const char nul[] = "{\"video_id\":\"R\"}\0{}";
	char all[1024], esc[8], *j;
	int i;
	cJSON *r;

	check("nul byte", nul, sizeof(nul) - 1, dir, "spec", "NUL");
	/* every control character taken: the field cannot be told */
	strlcpy(all, HEAD "'segments':[{'segment_id':'a','kind':'intro',"
	    "'text':'", sizeof(all));
	for (i = 1; i < 0x20; i++) {
		snprintf(esc, sizeof(esc), "\\u%04x", i);
		strlcat(all, esc, sizeof(all));
	}
	strlcat(all, "\\u0000','approx_duration_sec':6}]}", sizeof(all));
	j = dequote(all);
	check("nul, every control character used", j, strlen(j), dir, "spec",
	    "a string holds \\u0000");
	free(j);
	j = dequote(HEAD "'segments':[{'segment_id':'a','kind':'intro',"
	    "'text':'\xff\xfe','approx_duration_sec':6}]}");
	check("text not utf-8", j, strlen(j), dir, "segments[0].text",
	    "UTF-8");
	free(j);
	j = dequote(HEAD "'segments':[{'segment_id':'a','kind':'intro',"
	    "'text':'\xc0\xaf','approx_duration_sec':6}]}");
	check("text overlong utf-8", j, strlen(j), dir, "segments[0].text",
	    "UTF-8");
	free(j);
	j = dequote(SRC("{'path':'pages/a.html','tier':4}"));
	check("no spec dir", j, strlen(j), NULL, "sources[0].path",
	    "directory");
	free(j);
	r = base();
	cJSON_ReplaceItemInObject(r, "video_id", cJSON_CreateString(
	    "A234567890123456789012345678901234567890123456789012345678901234"
	    "5"));
	check_tree("video id 65", r, "video_id", "65 characters");
}

static void
write_file(const char *rel, const void *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (fs_write_atomic(path, buf, len) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void
make_fixtures(const char *top)
{
	static const unsigned char png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13
	};
	static const unsigned char jpg[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 16 };
	static const char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
	char path[PATH_MAX], out[PATH_MAX];

	snprintf(path, sizeof(path), "%s/outside.txt", top);
	if (fs_write_atomic(path, "secret", 6) == -1 ||
	    fs_mkdirs(dir, 0700) == -1)
		exit(1);
	snprintf(path, sizeof(path), "%s/assets", dir);
	snprintf(out, sizeof(out), "%s/pages/sub", dir);
	if (fs_mkdirs(path, 0700) == -1 || fs_mkdirs(out, 0700) == -1)
		exit(1);
	write_file("assets/x.png", png, sizeof(png));
	write_file("assets/photo.jpg", jpg, sizeof(jpg));
	write_file("assets/pic.webp", webp, sizeof(webp) - 1);
	write_file("assets/fake.png", "hello, not an image", 19);
	write_file("pages/a.html", "<html></html>", 13);
	write_file("pages/a..b.html", "<html></html>", 13);
	snprintf(path, sizeof(path), "%s/link-in", dir);
	snprintf(out, sizeof(out), "%s/link-out", dir);
	if (symlink("pages/a.html", path) == -1 ||
	    symlink("../outside.txt", out) == -1) {
		perror("symlink");
		exit(1);
	}
}

/* spec_load_file and spec_resolve_path on real files. */
static void
run_files(const char *top)
{
	char path[PATH_MAX], out[PATH_MAX], err[512], want[PATH_MAX];
	char *j, *big;
	cJSON *r;

	j = dequote("{'video_id':'RAY-7','product':{'name':'D','image':"
	    "'assets/x.png'}," ONESEG "}");
	write_file("spec.json", j, strlen(j));
	free(j);
	snprintf(path, sizeof(path), "%s/spec.json", dir);
	r = spec_load_file(path, err, sizeof(err));
	CHECK("load file", r != NULL, "%s", err);
	cJSON_Delete(r);
	snprintf(path, sizeof(path), "%s/none.json", dir);
	r = spec_load_file(path, err, sizeof(err));
	CHECK("load missing file", r == NULL && strstr(err, "none.json") !=
	    NULL, "%s", err);
	r = spec_load_file(dir, err, sizeof(err));
	CHECK("load directory", r == NULL && strstr(err, "regular") != NULL,
	    "%s", err);
	big = repeat(" ", SPEC_FILE_MAX + 1);
	write_file("big.json", big, SPEC_FILE_MAX + 1);
	free(big);
	snprintf(path, sizeof(path), "%s/big.json", dir);
	r = spec_load_file(path, err, sizeof(err));
	CHECK("load big file", r == NULL && strstr(err, "1 MiB") != NULL, "%s",
	    err);
	snprintf(want, sizeof(want), "%s/pages/a.html", dir);
	CHECK("resolve", spec_resolve_path(dir, "./pages/a.html", out,
	    sizeof(out), err, sizeof(err)) == 0 && strcmp(out, want) == 0, "%s",
	    err);
	CHECK("resolve symlink out", spec_resolve_path(dir, "link-out", out,
	    sizeof(out), err, sizeof(err)) == -1, "accepted");
	CHECK("resolve top", spec_resolve_path(top, "spec/../outside.txt", out,
	    sizeof(out), err, sizeof(err)) == -1, "accepted");
	CHECK("resolve small out", spec_resolve_path(dir, "pages/a.html", out,
	    8, err, sizeof(err)) == -1, "accepted");
}

static void
cleanup(const char *top)
{
	static const char *const files[] = {
		"assets/x.png", "assets/photo.jpg", "assets/pic.webp",
		"assets/fake.png", "pages/a.html", "pages/a..b.html",
		"link-in", "link-out", "spec.json", "big.json"
	};
	static const char *const dirs[] = { "assets", "pages/sub", "pages" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, dirs[i]);
		(void)rmdir(path);
	}
	(void)rmdir(dir);
	snprintf(path, sizeof(path), "%s/outside.txt", top);
	(void)unlink(path);
	if (rmdir(top) == -1)
		fprintf(stderr, "warning: %s left behind\n", top);
}

int
main(void)
{
	char tmpl[] = "/tmp/rv-spec-test.XXXXXX", real[PATH_MAX], top[256];
	char spec_dir[300];

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, real) == NULL ||
	    strlcpy(top, real, sizeof(top)) >= sizeof(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(spec_dir, sizeof(spec_dir), "%s/spec", top);
	dir = spec_dir;
	make_fixtures(top);
	run_table();
	run_generated();
	run_raw();
	run_files(top);
	cleanup(top);
	return test_exit();
}
