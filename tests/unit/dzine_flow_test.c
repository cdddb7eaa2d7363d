/* SPDX-License-Identifier: ISC */
/*
 * dzine_flow_test.c: unit tests for workers/render/dzine_flow.c: the shipped
 * flow file parses, defaults apply, every kind of bad flow is refused
 * with a message naming the step and the problem, and the helpers
 * ({placeholders}, credit balances and numbers as pages show them,
 * JavaScript string literals) behave.  The browser's command line keeps
 * Chromium's sandbox unless it runs as root (workers/render/dzine.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "workers/render/dzine.h"
#include "workers/render/dzine_flow.h"
#include "tests/unit/test.h"

#define PRE	"\"preflight\": [{\"step\": \"read_credits\", "		\
		"\"selector\": \".c\"}], "
#define GEN	"{\"step\": \"click\", \"selector\": \"#g\", "		\
		"\"generate\": true}"
#define DL	"{\"step\": \"wait_download\", \"selector\": \"#e\"}"
#define HEAD	"{\"flow_version\": 1, \"base_url\": \"https://x.test/\", "

struct bad_case {
	const char	*name;
	const char	*json;
	const char	*want;		/* substring of the error */
};

static const struct bad_case bad_cases[] = {
	{ "no version", "{\"base_url\": \"https://x/\"}", "flow_version" },
	{ "not an object", "[1, 2]", "flow_version" },
	{ "ftp base", "{\"flow_version\": 1, \"base_url\": \"ftp://x/\", "
	    PRE "\"render\": [" GEN ", " DL "]}", "base_url" },
	{ "unknown step", HEAD PRE "\"render\": [{\"step\": \"hover\", "
	    "\"selector\": \"a\"}, " GEN ", " DL "]}",
	    "render[0]: unknown step \"hover\"" },
	{ "unknown key", HEAD PRE "\"render\": [{\"step\": \"click\", "
	    "\"selecter\": \"a\"}, " GEN ", " DL "]}",
	    "unknown key \"selecter\"" },
	{ "missing selector", HEAD PRE "\"render\": [{\"step\": "
	    "\"wait_selector\"}, " GEN ", " DL "]}",
	    "render[0]: \"selector\" must be a non-empty string" },
	{ "bad timeout", HEAD PRE "\"render\": [{\"step\": \"wait_selector\", "
	    "\"selector\": \"a\", \"timeout_ms\": 0}, " GEN ", " DL "]}",
	    "timeout_ms" },
	{ "timeout not a number", HEAD PRE "\"render\": [{\"step\": "
	    "\"navigate\", \"url\": \"{base}\", \"timeout_ms\": \"5\"}, " GEN
	    ", " DL "]}", "timeout_ms" },
	{ "unknown placeholder", HEAD PRE "\"render\": [{\"step\": "
	    "\"navigate\", \"url\": \"{home}/x\"}, " GEN ", " DL "]}",
	    "unknown {placeholder}" },
	{ "navigate without url", HEAD PRE "\"render\": [{\"step\": "
	    "\"navigate\"}, " GEN ", " DL "]}", "\"url\"" },
	{ "two generate clicks", HEAD PRE "\"render\": [" GEN ", " GEN ", "
	    DL "]}", "exactly one click" },
	{ "no generate click", HEAD PRE "\"render\": [" DL "]}",
	    "exactly one click" },
	{ "download before generate", HEAD PRE "\"render\": [" DL ", " GEN
	    "]}", "wait_download step after" },
	{ "preflight reads nothing", HEAD "\"preflight\": [{\"step\": "
	    "\"navigate\", \"url\": \"{base}\"}], \"render\": [" GEN ", " DL
	    "]}", "\"preflight\" needs a read_credits" },
	{ "generate in preflight", HEAD "\"preflight\": [" GEN ", "
	    "{\"step\": \"read_credits\", \"selector\": \".c\"}], "
	    "\"render\": [" GEN ", " DL "]}", "may not generate" },
	{ "no preflight", HEAD "\"render\": [" GEN ", " DL "]}",
	    "\"preflight\" must be an array" },
	{ "too many files", HEAD PRE "\"render\": [{\"step\": \"set_files\", "
	    "\"selector\": \"i\", \"files\": [\"a\", \"b\", \"c\", \"d\", "
	    "\"e\"]}, " GEN ", " DL "]}", "\"files\" must be an array" },
	{ "bad slot", HEAD "\"preflight\": [{\"step\": \"read_credits\", "
	    "\"selector\": \".c\", \"as\": \"during\"}], \"render\": [" GEN
	    ", " DL "]}", "\"as\" must be" },
	{ "control character", HEAD PRE "\"render\": [{\"step\": \"click\", "
	    "\"selector\": \"a\\nb\"}, " GEN ", " DL "]}",
	    "control characters" },
	{ "progress without done", HEAD PRE "\"render\": [" GEN ", {\"step\": "
	    "\"wait_progress\", \"selector\": \"p\"}, " DL "]}",
	    "\"done_selector\"" },
};

static struct dz_flow *
parse(const char *json, char *err, size_t errlen)
{
	cJSON *root = cJSON_Parse(json);
	struct dz_flow *f;

	if (root == NULL) {
		snprintf(err, errlen, "test JSON does not parse");
		return NULL;
	}
	f = dz_flow_parse(root, err, errlen);
	cJSON_Delete(root);
	return f;
}

static void
test_bad(void)
{
	struct dz_flow *f;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		f = parse(bad_cases[i].json, err, sizeof(err));
		CHECK(bad_cases[i].name, f == NULL && strstr(err,
		    bad_cases[i].want) != NULL, "want \"%s\", got \"%s\"",
		    bad_cases[i].want, err);
		dz_flow_free(f);
	}
}

static void
test_too_many_steps(void)
{
	char *json = malloc(16384), err[512];
	struct dz_flow *f;
	size_t o;
	int i;

	o = (size_t)snprintf(json, 16384, HEAD PRE "\"render\": [" GEN ", "
	    DL);
	for (i = 0; i < DZ_STEPS_MAX; i++)
		o += (size_t)snprintf(json + o, 16384 - o, ", {\"step\": "
		    "\"read_error\", \"selector\": \".e\"}");
	snprintf(json + o, 16384 - o, "]}");
	f = parse(json, err, sizeof(err));
	CHECK("too many steps", f == NULL && strstr(err, "1 to 32") != NULL,
	    "%s", err);
	dz_flow_free(f);
	free(json);
}

static void
test_good(void)
{
	const char *json = HEAD PRE "\"render\": [{\"step\": \"navigate\", "
	    "\"url\": \"{base}?x=1\"}, {\"step\": \"set_files\", \"selector\": "
	    "\"i\", \"files\": [\"{image}\"], \"optional\": true}, "
	    "{\"step\": \"read_credits\", \"selector\": \".c\", \"as\": "
	    "\"before\", \"comment\": \"on the page\"}, " GEN ", {\"step\": "
	    "\"wait_progress\", \"selector\": \"p\", \"done_selector\": \"d\", "
	    "\"attribute\": \"value\", \"error_selector\": \".err\"}, " DL "]}";
	struct dz_flow *f;
	char err[512] = "";

	f = parse(json, err, sizeof(err));
	CHECK("good flow", f != NULL && f->nrender == 6 &&
	    f->npreflight == 1, "%s", err);
	if (f == NULL)
		return;
	CHECK("base url", strcmp(f->base_url, "https://x.test/") == 0, "%s",
	    f->base_url);
	CHECK("navigate default timeout", f->render[0].kind == DZ_NAVIGATE &&
	    f->render[0].timeout_ms == 30000, "%d", f->render[0].timeout_ms);
	CHECK("optional files", f->render[1].optional &&
	    f->render[1].nfiles == 1 && strcmp(f->render[1].files[0],
	    "{image}") == 0, "files");
	CHECK("credits slot", f->render[2].slot == DZ_SLOT_BEFORE &&
	    f->preflight[0].slot == DZ_SLOT_BALANCE, "slots");
	CHECK("generate click", f->render[3].generate &&
	    f->render[3].kind == DZ_CLICK, "generate");
	CHECK("progress fields", f->render[4].timeout_ms == 1800000 &&
	    strcmp(f->render[4].attribute, "value") == 0 &&
	    strcmp(f->render[4].error_selector, ".err") == 0, "progress");
	CHECK("kind names", strcmp(dz_kind_name(DZ_WAIT_DOWNLOAD),
	    "wait_download") == 0, "%s", dz_kind_name(DZ_WAIT_DOWNLOAD));
	dz_flow_free(f);
}

static void
test_files(void)
{
	struct dz_flow *f;
	char err[512] = "";
	FILE *fp;

	if (access("config/dzine_flow.json", R_OK) == 0) {
		f = dz_flow_load("config/dzine_flow.json", err, sizeof(err));
		CHECK("shipped flow file loads", f != NULL, "%s", err);
		dz_flow_free(f);
	}
	f = dz_flow_load("/nonexistent/flow.json", err, sizeof(err));
	CHECK("missing file named", f == NULL && strstr(err,
	    "/nonexistent/flow.json") != NULL, "%s", err);
	if ((fp = fopen("dzine_flow_test.tmp", "w")) == NULL)
		return;
	fputs("{\"flow_version\": 1,", fp);
	fclose(fp);
	f = dz_flow_load("dzine_flow_test.tmp", err, sizeof(err));
	CHECK("broken JSON", f == NULL && strstr(err, "not valid JSON") !=
	    NULL, "%s", err);
	if ((fp = fopen("dzine_flow_test.tmp", "w")) != NULL) {
		for (int i = 0; i < DZ_FLOW_BYTES / 8 + 1; i++)
			fputs("        ", fp);
		fclose(fp);
	}
	f = dz_flow_load("dzine_flow_test.tmp", err, sizeof(err));
	CHECK("oversized file", f == NULL && strstr(err, "too large") != NULL,
	    "%s", err);
	(void)unlink("dzine_flow_test.tmp");
}

static void
test_expand(void)
{
	struct dz_vars v = { "https://d.test/p", "/s/img.png", "/s/a.wav",
	    "a \"quoted\" prompt" };
	char out[64];

	CHECK("expand", dz_expand("{base}?i={image}&a={audio}", &v, out,
	    sizeof(out)) == 0 && strcmp(out,
	    "https://d.test/p?i=/s/img.png&a=/s/a.wav") == 0, "%s", out);
	CHECK("expand prompt", dz_expand("{prompt}", &v, out, sizeof(out)) ==
	    0 && strcmp(out, v.prompt) == 0, "%s", out);
	CHECK("lone brace kept", dz_expand("a{b", &v, out, sizeof(out)) == 0 &&
	    strcmp(out, "a{b") == 0, "%s", out);
	errno = 0;
	CHECK("unknown placeholder", dz_expand("{nope}", &v, out,
	    sizeof(out)) == -1 && errno == EINVAL, "errno %d", errno);
	errno = 0;
	CHECK("overflow", dz_expand("{base}{base}{base}{base}", &v, out,
	    sizeof(out)) == -1 && errno == ENAMETOOLONG, "errno %d", errno);
}

static void
test_numbers(void)
{
	static const struct { const char *in; long want; } credits[] = {
		{ "1,250", 1250 }, { "Credits: 980", 980 },
		{ "1.000 credits", 1000 }, { "12 345", 12345 },
		{ "5 credits, 3 free", 5 }, { "\xe2\x80\xa6", -1 }, { "", -1 },
		{ "0", 0 }, { "9999999999999", -1 },
	};
	char js[64];
	double d;
	size_t i;

	for (i = 0; i < sizeof(credits) / sizeof(credits[0]); i++)
		CHECK("credits", dz_parse_credits(credits[i].in) ==
		    credits[i].want, "\"%s\" -> %ld", credits[i].in,
		    dz_parse_credits(credits[i].in));
	CHECK("number percent", dz_parse_number("37%", &d) == 0 && d == 37,
	    "%g", d);
	CHECK("number fraction", dz_parse_number("0.5", &d) == 0 && d == 0.5,
	    "%g", d);
	CHECK("no number", dz_parse_number("done", &d) == -1, "parsed");
	CHECK("js string", dz_js_string("a\"b\\c</script>", js, sizeof(js)) ==
	    0 && strcmp(js, "\"a\\\"b\\\\c</script>\"") == 0, "%s", js);
	CHECK("js string too long", dz_js_string("0123456789", js, 8) == -1,
	    "fit");
}

/* Chromium keeps its sandbox unless it runs as root. */
static void
test_browser_argv(void)
{
	char *argv[DZINE_ARGV_MAX];
	uid_t uids[] = { 1000, 501, 0 };
	size_t n, i, u;
	int nosb, head, pipe, udd;

	for (u = 0; u < 3; u++) {
		n = dzine_browser_argv(argv, "/x/chromium",
		    "--user-data-dir=/p", uids[u]);
		nosb = head = pipe = udd = 0;
		for (i = 0; i < n; i++) {
			nosb += strcmp(argv[i], "--no-sandbox") == 0;
			head += strcmp(argv[i], "--headless") == 0;
			pipe += strcmp(argv[i], "--remote-debugging-pipe") == 0;
			udd += strcmp(argv[i], "--user-data-dir=/p") == 0;
		}
		CHECK("browser_argv_sandbox", nosb == (uids[u] == 0),
		    "uid %ld: --no-sandbox %d", (long)uids[u], nosb);
		CHECK("browser_argv_flags", n < DZINE_ARGV_MAX &&
		    argv[n] == NULL && strcmp(argv[0], "/x/chromium") == 0 &&
		    head == 1 && pipe == 1 && udd == 1 &&
		    strcmp(argv[n - 1], "about:blank") == 0,
		    "uid %ld: %zu arguments", (long)uids[u], n);
	}
	CHECK("no_sandbox_root_only", dzine_no_sandbox(0) &&
	    !dzine_no_sandbox(1000), "dzine_no_sandbox");
}

int
main(void)
{
	test_bad();
	test_too_many_steps();
	test_good();
	test_files();
	test_expand();
	test_numbers();
	test_browser_argv();
	return test_exit();
}
