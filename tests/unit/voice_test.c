/* SPDX-License-Identifier: ISC */
/*
 * voice_test.c: unit tests for workers/voice/contract.c and workers/voice/tts.c with
 * real espeak-ng and ffmpeg: the tolerance table, the decision rules,
 * request validation, each finalize branch (accept, pad, atempo, repair,
 * drift), sha8 naming, the idempotency check, stop, and the ElevenLabs
 * engine against a local fake server.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "workers/voice/contract.h"
#include "tests/unit/test.h"

#define TEXT	"This compact blender crushes ice in seconds and cleans " \
		"itself with one button press."
#define RUN	"RAY-99"

static char state[128];
static struct tts_engine espeak;
static int synth_calls;

/* An engine that counts its calls and speaks with espeak-ng. */
static int
counting_synth(const struct tts_engine *e, const char *text, double speed,
    const char *out, struct progress *prog, char *err, size_t errlen)
{
	(void)e;
	synth_calls++;
	return espeak.synth(&espeak, text, speed, out, prog, err, errlen);
}

static const struct tts_engine counting = { .name = "counting",
    .synth = counting_synth };

static int
sh(const char *script)
{
	struct subproc_result res;
	char *argv[] = { "sh", "-c", (char *)script, NULL };

	if (subproc_run(argv, 0, 60000, NULL, false, &res) == -1)
		return -1;
	return res.status == 0 ? 0 : -1;
}

static int
count_dir(const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", state, sub);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_tables(void)
{
	struct {
		const char *kind;
		double tol;
	} tt[] = { { "intro", 0.080 }, { "outro", 0.080 },
	    { "product", 0.120 }, { "transition", 0.150 }, { "bridge", -1 },
	    { "", -1 }, { "INTRO", -1 } };
	size_t i;

	for (i = 0; i < sizeof(tt) / sizeof(tt[0]); i++)
		CHECK("tolerance", voice_tolerance(tt[i].kind) == tt[i].tol,
		    "%s: %g, want %g", tt[i].kind, voice_tolerance(tt[i].kind),
		    tt[i].tol);
	CHECK("tolerance_null", voice_tolerance(NULL) == -1, "not -1");
	CHECK("decide_ok", voice_decide(6.05, 6.0, 0.08) == VOICE_STEP_OK &&
	    voice_decide(5.93, 6.0, 0.08) == VOICE_STEP_OK, "ok");
	CHECK("decide_pad", voice_decide(5.5, 6.0, 0.08) == VOICE_STEP_PAD,
	    "pad");
	CHECK("decide_atempo", voice_decide(6.29, 6.0, 0.08) ==
	    VOICE_STEP_ATEMPO && voice_decide(6.1, 6.0, 0.08) ==
	    VOICE_STEP_ATEMPO, "atempo");
	CHECK("decide_repair", voice_decide(6.31, 6.0, 0.08) ==
	    VOICE_STEP_REPAIR, "repair");
}

static void
test_validation(void)
{
	struct voice_result res;
	struct voice_req req = { state, RUN, "intro", "intro", TEXT, 5.0 };
	struct voice_req bad;
	char err[512];
	int r;

	bad = req;
	bad.run_id = "../etc";
	r = voice_finalize_segment(&bad, &espeak, NULL, &res, err, sizeof(err));
	CHECK("bad_run", r == VOICE_ERR && strstr(err, "run_id"), "%s", err);
	bad = req;
	bad.segment_id = "a_b";
	r = voice_finalize_segment(&bad, &espeak, NULL, &res, err, sizeof(err));
	CHECK("bad_segment", r == VOICE_ERR && strstr(err, "segment_id"), "%s",
	    err);
	bad = req;
	bad.kind = "bridge";
	r = voice_finalize_segment(&bad, &espeak, NULL, &res, err, sizeof(err));
	CHECK("bad_kind", r == VOICE_ERR && strstr(err, "unknown kind"), "%s",
	    err);
	bad = req;
	bad.target = NAN;
	r = voice_finalize_segment(&bad, &espeak, NULL, &res, err, sizeof(err));
	CHECK("bad_target", r == VOICE_ERR && strstr(err, "target"), "%s",
	    err);
	bad = req;
	bad.text = " \n\t ";
	r = voice_finalize_segment(&bad, &espeak, NULL, &res, err, sizeof(err));
	CHECK("empty_text", r == VOICE_ERR && strstr(err, "no text"), "%s",
	    err);
	CHECK("bad_nothing_left", count_dir("audio") == 0 &&
	    count_dir("tmp") == 0, "files left behind");
}

/* The natural duration of TEXT with espeak-ng, measured like finalize. */
static double
natural_duration(void)
{
	struct probe_info pi;
	char path[PATH_MAX], err[512];

	snprintf(path, sizeof(path), "%s/natural.wav", state);
	if (espeak.synth(&espeak, TEXT, 1.0, path, NULL, err,
	    sizeof(err)) != 0 || probe_file(path, NULL, &pi, err,
	    sizeof(err)) == -1) {
		printf("FAIL natural: %s\n", err);
		test_failed++;
		return -1;
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/natural.wav.txt", state);
	unlink(path);
	return pi.duration;
}

/* The stored file exists, is named by its own sha8, has the right format. */
static void
check_stored(const char *name, const struct voice_result *res)
{
	struct probe_info pi;
	char path[PATH_MAX], want[256], sha8[ID_SHA8_LEN + 1] = "", err[512];
	int r;

	snprintf(path, sizeof(path), "%s/%s", state, res->path);
	snprintf(want, sizeof(want), "audio/A_%s_%s_%s.wav", RUN, name,
	    res->sha8);
	r = id_sha8_file(path, sha8);
	CHECK("sha8_name", r == 0 && strcmp(res->path, want) == 0 &&
	    strcmp(sha8, res->sha8) == 0, "%s: path %s sha8 %s file %s",
	    name, res->path, res->sha8, sha8);
	r = probe_file(path, NULL, &pi, err, sizeof(err));
	CHECK("format", r == 0 && strcmp(pi.audio_codec, "pcm_s16le") == 0 &&
	    pi.audio_rate == 48000 && pi.audio_channels == 1 &&
	    fabs(pi.duration - res->duration) < 1e-6 &&
	    fabs(pi.duration - res->target) <= res->tolerance,
	    "%s: %s %s %d Hz %d ch %.3f s (target %.3f)", name, err,
	    pi.audio_codec, pi.audio_rate, pi.audio_channels, pi.duration,
	    res->target);
}

static void
finalize_case(const char *seg, const char *kind, double target,
    const char *want_branch, struct voice_result *res)
{
	struct voice_req req = { state, RUN, seg, kind, TEXT, target };
	char err[512] = "";
	int r;

	r = voice_finalize_segment(&req, &espeak, NULL, res, err, sizeof(err));
	CHECK(seg, r == 0 && strcmp(res->branch, want_branch) == 0 &&
	    fabs(res->duration - target) <= voice_tolerance(kind),
	    "r=%d branch=%s (want %s) raw=%.3f final=%.3f target=%.3f "
	    "attempts=%d err=%s", r, res->branch, want_branch,
	    res->raw_duration, res->duration, target, res->attempts, err);
	if (r == 0)
		check_stored(seg, res);
	CHECK("tmp_clean", count_dir("tmp") == 0, "%s left files in tmp",
	    seg);
}

static void
test_branches(double d)
{
	struct voice_result res;
	struct voice_req req = { state, RUN, "drift", "intro", TEXT, d * 0.5 };
	char err[512] = "";
	int before, r;

	finalize_case("accept", "product", d + 0.01, "ok", &res);
	CHECK("accept_attempts", res.attempts == 1, "%d", res.attempts);
	finalize_case("pad", "intro", d + 1.5, "pad", &res);
	finalize_case("atempo", "intro", d / 1.035, "atempo", &res);
	finalize_case("repair", "product", d * 0.8, "repair", &res);
	CHECK("repair_attempts", res.attempts >= 2 &&
	    res.attempts <= 1 + VOICE_REPAIRS && res.speed_factor > 1.1,
	    "attempts=%d speed=%.2f", res.attempts, res.speed_factor);

	before = count_dir("audio");
	r = voice_finalize_segment(&req, &espeak, NULL, &res, err,
	    sizeof(err));
	CHECK("drift", r == VOICE_DRIFT && strstr(err, "target") != NULL &&
	    strstr(err, "measured") != NULL && res.path[0] == '\0',
	    "r=%d err=%s", r, err);
	CHECK("drift_nothing_stored", count_dir("audio") == before &&
	    count_dir("tmp") == 0, "audio %d -> %d", before,
	    count_dir("audio"));
}

/* What the voice worker does per segment: reuse, else finalize. */
static int
run_segment(const struct voice_req *req, struct voice_result *res)
{
	char err[512];
	int r;

	r = voice_find_existing(req->state_dir, req->run_id, req->segment_id,
	    req->target, req->kind, NULL, res, err, sizeof(err));
	if (r != 0)
		return r;
	return voice_finalize_segment(req, &counting, NULL, res, err,
	    sizeof(err));
}

static void
test_existing(double d)
{
	struct voice_req req = { state, RUN, "again", "product", TEXT, d };
	struct voice_result first, second;
	char path[PATH_MAX], err[512];
	FILE *fp;
	int r;

	synth_calls = 0;
	r = run_segment(&req, &first);
	CHECK("existing_first", r == 0 && synth_calls == 1, "r=%d calls=%d",
	    r, synth_calls);
	r = run_segment(&req, &second);
	CHECK("existing_skip", r == 1 && synth_calls == 1 &&
	    strcmp(second.path, first.path) == 0 &&
	    strcmp(second.sha8, first.sha8) == 0 &&
	    strcmp(second.branch, "existing") == 0 &&
	    fabs(second.duration - first.duration) < 1e-6,
	    "r=%d calls=%d path=%s", r, synth_calls, second.path);

	/* Another target, outside the tolerance: not a match. */
	r = voice_find_existing(state, RUN, "again", d + 1.0, "product", NULL,
	    &second, err, sizeof(err));
	CHECK("existing_other_target", r == 0, "r=%d", r);
	r = voice_find_existing(state, RUN, "again", d, "bogus", NULL,
	    &second, err, sizeof(err));
	CHECK("existing_bad_kind", r == VOICE_ERR, "r=%d", r);

	/* Bytes that no longer match the name: skipped, left in place. */
	snprintf(path, sizeof(path), "%s/%s", state, first.path);
	if ((fp = fopen(path, "r+")) != NULL) {
		fseek(fp, -2, SEEK_END);
		fputc('X', fp);
		fclose(fp);
	}
	r = voice_find_existing(state, RUN, "again", d, "product", NULL,
	    &second, err, sizeof(err));
	CHECK("existing_corrupt", r == 0 && fs_exists(path), "r=%d", r);
	r = run_segment(&req, &second);
	CHECK("existing_resynth", r == 0 && synth_calls == 2 &&
	    strcmp(second.sha8, first.sha8) == 0, "r=%d calls=%d sha8 %s/%s",
	    r, synth_calls, second.sha8, first.sha8);
}

static int
stop_tick(void *arg, long long v)
{
	(void)v;
	return ++*(int *)arg > 1 ? -1 : 0;
}

static void
test_stop(double d)
{
	struct voice_req req = { state, RUN, "stopped", "intro", TEXT, d };
	struct voice_result res;
	struct progress p;
	char err[512];
	int calls = 0, before, r;

	p.tick = stop_tick;
	p.arg = &calls;
	p.value = 0;
	before = count_dir("audio");
	r = voice_finalize_segment(&req, &espeak, &p, &res, err, sizeof(err));
	CHECK("stop", r == VOICE_STOPPED && count_dir("audio") == before &&
	    count_dir("tmp") == 0, "r=%d err=%s", r, err);
}

/* ---- ElevenLabs against a local fake server ---------------------- */

#define EL_KEY		"sekrit-key-123"
#define EL_VOICE	"voice123"

static int
read_request(int c, char *buf, size_t size)
{
	size_t len = 0, need = 0;
	char *hdr_end, *cl;
	ssize_t n;

	for (;;) {
		if (len + 1 >= size)
			return -1;
		if ((n = read(c, buf + len, size - 1 - len)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if ((hdr_end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (need == 0) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(hdr_end + 4 - buf) +
			    (cl != NULL ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (len >= need)
			return 0;
	}
}

static void
serve_one(int c, const char *mp3, size_t mp3len, int *good)
{
	static char req[65536];
	char head[256];
	bool ok;

	if (read_request(c, req, sizeof(req)) == -1)
		return;
	ok = strncmp(req, "POST /v1/text-to-speech/" EL_VOICE " ", 33) == 0 &&
	    strcasestr(req, "\r\nxi-api-key: " EL_KEY "\r\n") != NULL &&
	    strstr(req, "\"model_id\":\"eleven_multilingual_v2\"") != NULL &&
	    strstr(req, "\"text\":\"Hello from the cloud.\"") != NULL;
	if (ok) {
		(*good)++;
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
		    "audio/mpeg\r\nContent-Length: %zu\r\nConnection: close\r\n"
		    "\r\n", mp3len);
		if (write(c, head, strlen(head)) < 0 ||
		    write(c, mp3, mp3len) < 0)
			return;
	} else {
		snprintf(head, sizeof(head), "HTTP/1.1 401 Unauthorized\r\n"
		    "Content-Length: 27\r\nConnection: close\r\n\r\n"
		    "{\"detail\":\"invalid apikey\"}");
		if (write(c, head, strlen(head)) < 0)
			return;
	}
}

/* Child: serve <n> requests, exit with the number of good ones. */
static void __attribute__((noreturn))
server_main(int ls, const char *mp3path, int n)
{
	char *mp3;
	size_t len;
	int c, good = 0;

	alarm(30);
	if (fs_read_file(mp3path, 1 << 20, &mp3, &len) == -1)
		_exit(100);
	while (n-- > 0) {
		if ((c = accept(ls, NULL, NULL)) == -1)
			_exit(101);
		serve_one(c, mp3, len, &good);
		close(c);
	}
	_exit(good);
}

static pid_t
server_start(const char *mp3, int n, int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pid_t pid;
	int ls;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* no SOCK_CLOEXEC: macOS has none */
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    fcntl(ls, F_SETFD, FD_CLOEXEC) == -1 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(ls, 4) == -1 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) == -1)
		return -1;
	*port = ntohs(sa.sin_port);
	if ((pid = fork()) == 0)
		server_main(ls, mp3, n);
	close(ls);
	return pid;
}

/* The key travels with every call: plain http only to this machine. */
static const char *const el_plain_bad[] = {
	"http://127.evil.com", "http://localhost.evil.com", "http://10.0.0.1",
	"http://127.1",
};

static void
test_elevenlabs_init(void)
{
	struct tts_engine e;
	char err[256];
	size_t i;
	int r;

	r = tts_engine_init(&e, "elevenlabs", EL_VOICE, "", NULL, err,
	    sizeof(err));
	CHECK("el_no_key", r == -1 && strstr(err, "API key"), "%s", err);
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "elevenlabs", EL_VOICE, "k\r\nX-Evil: 1",
	    NULL, err, sizeof(err));
	CHECK("el_key_crlf", r == -1, "accepted a key with CRLF");
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "elevenlabs", EL_VOICE, EL_KEY,
	    "http://example.com", err, sizeof(err));
	CHECK("el_plain_http", r == -1 && strstr(err, EL_KEY) == NULL, "%s",
	    err);
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "elevenlabs", EL_VOICE, EL_KEY,
	    "http://127.0.0.1.evil.example", err, sizeof(err));
	CHECK("el_fake_local", r == -1, "accepted a look-alike local host");
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "elevenlabs", EL_VOICE, EL_KEY,
	    "https://127.0.0.1@evil.example", err, sizeof(err));
	CHECK("el_userinfo", r == -1, "accepted a URL with userinfo");
	tts_engine_clear(&e);
	for (i = 0; i < sizeof(el_plain_bad) / sizeof(el_plain_bad[0]); i++) {
		r = tts_engine_init(&e, "elevenlabs", EL_VOICE, EL_KEY,
		    el_plain_bad[i], err, sizeof(err));
		CHECK(el_plain_bad[i], r == -1 && strstr(err,
		    "http:// is allowed only") != NULL, "accepted or %s", err);
		tts_engine_clear(&e);
	}
	r = tts_engine_init(&e, "elevenlabs", EL_VOICE, EL_KEY,
	    "http://127.8.9.10:1", err, sizeof(err));
	CHECK("el_loopback_8", r == 0, "%s", err);
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "elevenlabs", EL_VOICE, EL_KEY,
	    "http://[::1]:1", err, sizeof(err));
	CHECK("el_loopback_v6", r == 0, "%s", err);
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "elevenlabs", "../x", EL_KEY, NULL, err,
	    sizeof(err));
	CHECK("el_bad_voice", r == -1, "accepted voice ../x");
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "espeak", "-w/tmp/x", NULL, NULL, err,
	    sizeof(err));
	CHECK("espeak_bad_voice", r == -1, "accepted voice -w/tmp/x");
	tts_engine_clear(&e);
	r = tts_engine_init(&e, "festival", NULL, NULL, NULL, err,
	    sizeof(err));
	CHECK("unknown_engine", r == -1 && strstr(err, "festival"), "%s", err);
	tts_engine_clear(&e);
}

static void
el_finalize(const char *key, int port, const char *seg, int want,
    char *err, size_t errlen)
{
	struct voice_req req = { state, RUN, seg, "transition",
	    "Hello from the cloud.", 2.0 };
	struct voice_result res;
	struct tts_engine e;
	char url[64];
	int r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	if (tts_engine_init(&e, "elevenlabs", EL_VOICE, key, url, err,
	    errlen) == -1) {
		CHECK("el_init", 0, "%s", err);
		return;
	}
	r = voice_finalize_segment(&req, &e, NULL, &res, err, errlen);
	CHECK(seg, r == want && (r != 0 ||
	    fabs(res.duration - 2.0) <= 0.150), "r=%d (want %d) err=%s", r,
	    want, err);
	tts_engine_clear(&e);
}

static void
test_elevenlabs(void)
{
	char mp3[PATH_MAX], cmd[PATH_MAX * 2], err[512] = "";
	pid_t pid;
	int port, st;

	test_elevenlabs_init();
	snprintf(mp3, sizeof(mp3), "%s/cloud.mp3", state);
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -f lavfi -i "
	    "sine=f=300:r=44100 -t 1.9 -c:a libmp3lame '%s'", mp3);
	if (sh(cmd) == -1 || (pid = server_start(mp3, 2, &port)) == -1) {
		CHECK("el_setup", 0, "cannot make mp3 or server");
		return;
	}
	el_finalize(EL_KEY, port, "cloud", 0, err, sizeof(err));
	el_finalize("wrong-key-456", port, "cloudbad", VOICE_ERR, err,
	    sizeof(err));
	CHECK("el_401", strstr(err, "HTTP 401") != NULL &&
	    strstr(err, "wrong-key-456") == NULL, "err=%s", err);
	if (waitpid(pid, &st, 0) == -1)
		st = -1;
	CHECK("el_server", WIFEXITED(st) && WEXITSTATUS(st) == 1,
	    "server status %d (good requests, want 1)", st);
	unlink(mp3);
}

int
main(void)
{
	char cmd[PATH_MAX + 16], err[256];
	double d;

	snprintf(state, sizeof(state), "/tmp/rv-voice-test.XXXXXX");
	if (mkdtemp(state) == NULL || tts_engine_init(&espeak, "espeak", NULL,
	    NULL, NULL, err, sizeof(err)) == -1) {
		printf("FAIL setup: %s\n", strerror(errno));
		return 1;
	}
	test_tables();
	test_validation();
	if ((d = natural_duration()) > 3.0) {
		test_branches(d);
		test_existing(d);
		test_stop(d);
	} else
		CHECK("natural", 0, "speech of %.3f s is too short to test", d);
	test_elevenlabs();
	tts_engine_clear(&espeak);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	(void)sh(cmd);
	return test_exit();
}
