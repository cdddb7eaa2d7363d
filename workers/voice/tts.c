/* SPDX-License-Identifier: ISC */
/*
 * tts.c: the speech engines behind the voice stage.
 *
 * espeak-ng (local, the default) reads the text from a file next to the
 * output (-f), so no text is ever taken for an option, and speaks at
 * TTS_ESPEAK_WPM words per minute times the speed factor (-s, clamped to
 * espeak-ng's 80..450).  ElevenLabs (used only when an API key is given)
 * POSTs {"text", "model_id"} to <base>/v1/text-to-speech/<voice_id> with
 * the xi-api-key header through one curl easy handle kept for the
 * engine's life, driven by a multi handle so the progress ticks every
 * 100 ms; the MP3 answer (capped at 32 MiB) is converted to WAV by
 * ffmpeg, re-timed with atempo by the speed factor.  The MP3 is fetched
 * once per output directory (a finalize's private temporary directory), so
 * a repair does not pay for the same text twice.  No redirect is followed;
 * plain http is allowed only to this host, for tests.  The key is never
 * put in an error message and is wiped by tts_engine_clear().
 *
 * Deciding what to do with the audio is contract.c's job, not this
 * file's.  Nothing here logs.
 *
 * Public: tts_engine_init, tts_engine_clear.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/curl_dl.h"
#include "common/core/fsutil.h"
#include "common/core/netaddr.h"
#include "common/core/subproc.h"
#include "workers/skeleton/media_tool.h"
#include "workers/voice/tts.h"

#define EL_TIMEOUT_MS		120000L
#define EL_CONNECT_MS		15000L
#define EL_BODY_MAX		(32L * 1024 * 1024)
#define EL_TICK_MS		100
#define ESPEAK_WPM_MIN		80
#define ESPEAK_WPM_MAX		450

struct el_priv {
	CURL	*easy;
	CURLM	*multi;
};

static bool
name_ok(const char *s, size_t max, bool plus)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return false;
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (plus && i > 0 && (s[i] == '-' || s[i] == '_' ||
		    s[i] == '+' || s[i] == '/'))
			continue;
		return false;
	}
	return true;
}

static int
espeak_synth(const struct tts_engine *e, const char *text, double speed,
    const char *out_wav, struct progress *prog, char *err, size_t errlen)
{
	char txt[PATH_MAX], wpm[16];
	char *argv[12];
	long w;
	int n = 0;

	if (out_wav[0] == '-') {
		snprintf(err, errlen, "espeak-ng: output path starts with '-'");
		return MEDIA_ERR;
	}
	if (fs_path(txt, sizeof(txt), "%s.txt", out_wav) == -1 ||
	    fs_write_atomic(txt, text, strlen(text)) == -1) {
		snprintf(err, errlen, "espeak-ng: cannot write text file: %s",
		    strerror(errno));
		return MEDIA_ERR;
	}
	w = lround(TTS_ESPEAK_WPM * speed);
	if (w < ESPEAK_WPM_MIN)
		w = ESPEAK_WPM_MIN;
	if (w > ESPEAK_WPM_MAX)
		w = ESPEAK_WPM_MAX;
	snprintf(wpm, sizeof(wpm), "%ld", w);
	argv[n++] = "espeak-ng";
	argv[n++] = "-w";
	argv[n++] = (char *)out_wav;
	argv[n++] = "-s";
	argv[n++] = wpm;
	if (e->voice[0] != '\0') {
		argv[n++] = "-v";
		argv[n++] = (char *)e->voice;
	}
	argv[n++] = "-f";
	argv[n++] = txt;
	argv[n] = NULL;
	return media_run(argv, MEDIA_TIMEOUT_MS, false, prog, err, errlen);
}

struct el_sink {
	FILE	*fp;
	long	 len;
	bool	 over;
};

static size_t
el_write(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct el_sink *s = arg;
	size_t len = sz * nmemb;

	if (s->len + (long)len > EL_BODY_MAX) {
		s->over = true;
		return 0;
	}
	if (fwrite(p, 1, len, s->fp) != len)
		return 0;
	s->len += (long)len;
	return len;
}

static struct curl_slist *
el_headers(const struct tts_engine *e)
{
	struct curl_slist *h = NULL, *t;
	char key[sizeof(e->api_key) + 16];

	snprintf(key, sizeof(key), "xi-api-key: %s", e->api_key);
	if ((t = curl_slist_append(h, key)) == NULL)
		goto fail;
	h = t;
	if ((t = curl_slist_append(h, "Content-Type: application/json")) ==
	    NULL)
		goto fail;
	h = t;
	if ((t = curl_slist_append(h, "Accept: audio/mpeg")) == NULL)
		goto fail;
	explicit_bzero(key, sizeof(key));
	return t;
fail:
	explicit_bzero(key, sizeof(key));
	curl_slist_free_all(h);
	return NULL;
}

/* Drive the transfer, ticking every 100 ms.  CURLcode, or -1: stopped. */
static int
el_perform(struct el_priv *pv, struct el_sink *sink, struct progress *prog)
{
	long long base = prog != NULL ? prog->value : 0;
	CURLcode cc = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;

	if (curl_multi_add_handle(pv->multi, pv->easy) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (running > 0) {
		if (curl_multi_perform(pv->multi, &running) != CURLM_OK) {
			cc = CURLE_RECV_ERROR;
			break;
		}
		if (running > 0 && curl_multi_poll(pv->multi, NULL, 0,
		    EL_TICK_MS, NULL) != CURLM_OK) {
			cc = CURLE_RECV_ERROR;
			break;
		}
		if (progress_tick(prog, base + sink->len) == -1) {
			(void)curl_multi_remove_handle(pv->multi, pv->easy);
			return -1;
		}
	}
	while ((msg = curl_multi_info_read(pv->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == pv->easy)
			cc = msg->data.result;
	(void)curl_multi_remove_handle(pv->multi, pv->easy);
	return (int)cc;
}

static int
el_setup(const struct tts_engine *e, const char *body,
    struct curl_slist *hdr, struct el_sink *sink, char *cerr)
{
	struct el_priv *pv = e->priv;
	char url[sizeof(e->base_url) + sizeof(e->voice) + 32];
	CURL *c = pv->easy;

	snprintf(url, sizeof(url), "%s/v1/text-to-speech/%s",
	    e->base_url[0] != '\0' ? e->base_url : TTS_ELEVENLABS_URL,
	    e->voice);
	curl_easy_reset(c);
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, EL_TIMEOUT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, EL_CONNECT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, el_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink) != CURLE_OK)
		return -1;
	return 0;
}

/* The first bytes of an error answer, printable, for the message. */
static void
el_snippet(const char *path, char *buf, size_t size)
{
	FILE *fp;
	size_t n, i;

	buf[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL)
		return;
	n = fread(buf, 1, size - 1, fp);
	fclose(fp);
	for (i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] >= 0x7f)
			buf[i] = ' ';
	buf[n] = '\0';
}

static char *
el_body(const char *text)
{
	cJSON *o;
	char *s = NULL;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "text", text) != NULL &&
	    cJSON_AddStringToObject(o, "model_id", TTS_ELEVENLABS_MODEL) !=
	    NULL)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static int
el_check(int cc, long code, const struct el_sink *sink, const char *cerr,
    const char *mp3, char *err, size_t errlen)
{
	char snip[160];

	if (cc == -1) {
		snprintf(err, errlen, "elevenlabs: stopped");
		return MEDIA_STOPPED;
	}
	if (sink->over) {
		snprintf(err, errlen, "elevenlabs: answer over %ld bytes",
		    EL_BODY_MAX);
		return MEDIA_ERR;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "elevenlabs: %s", cerr[0] != '\0' ?
		    cerr : curl_easy_strerror((CURLcode)cc));
		return MEDIA_ERR;
	}
	if (code != 200 || sink->len == 0) {
		el_snippet(mp3, snip, sizeof(snip));
		snprintf(err, errlen, "elevenlabs: HTTP %ld%s%s", code,
		    snip[0] != '\0' ? ": " : "", snip);
		return MEDIA_ERR;
	}
	return 0;
}

static int
el_fetch(const struct tts_engine *e, const char *text, const char *mp3,
    struct progress *prog, char *err, size_t errlen)
{
	struct el_priv *pv = e->priv;
	struct curl_slist *hdr = NULL;
	struct el_sink sink = { NULL, 0, false };
	char cerr[CURL_ERROR_SIZE] = "", *body = NULL;
	long code = 0;
	int cc, r = MEDIA_ERR;

	if ((body = el_body(text)) == NULL || (hdr = el_headers(e)) == NULL) {
		snprintf(err, errlen, "elevenlabs: out of memory");
		goto done;
	}
	if ((sink.fp = fopen(mp3, "we")) == NULL) {
		snprintf(err, errlen, "elevenlabs: %s: %s", mp3,
		    strerror(errno));
		goto done;
	}
	if (el_setup(e, body, hdr, &sink, cerr) == -1) {
		snprintf(err, errlen, "elevenlabs: curl setup failed");
		goto done;
	}
	cc = el_perform(pv, &sink, prog);
	(void)curl_easy_getinfo(pv->easy, CURLINFO_RESPONSE_CODE, &code);
	if (fclose(sink.fp) != 0 && cc == CURLE_OK)
		cc = CURLE_WRITE_ERROR;
	sink.fp = NULL;
	r = el_check(cc, code, &sink, cerr, mp3, err, errlen);
done:
	if (sink.fp != NULL)
		fclose(sink.fp);
	if (r != 0)
		(void)unlink(mp3);
	/* Drop every pointer into this frame; connections stay cached. */
	curl_easy_reset(pv->easy);
	curl_slist_free_all(hdr);
	free(body);
	return r;
}

/*
 * Fetch the MP3 once per directory of <out_wav> (a finalize's private
 * temporary directory), then convert it, re-timed by <speed>, to WAV.
 */
static int
el_synth(const struct tts_engine *e, const char *text, double speed,
    const char *out_wav, struct progress *prog, char *err, size_t errlen)
{
	char dir[PATH_MAX], mp3[PATH_MAX], in[PATH_MAX + 8], out[PATH_MAX + 8];
	char af[64], *slash;
	char *argv[] = { "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
	    "-y", "-progress", "pipe:1", "-nostats", "-i", in, "-af", af,
	    "-f", "wav", out, NULL };
	struct stat sb;
	int r;

	strlcpy(dir, out_wav, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		strlcpy(dir, ".", sizeof(dir));
	if (fs_path(mp3, sizeof(mp3), "%s/elevenlabs.mp3", dir) == -1 ||
	    media_file_arg(in, sizeof(in), mp3) == -1 ||
	    media_file_arg(out, sizeof(out), out_wav) == -1) {
		snprintf(err, errlen, "elevenlabs: path too long");
		return MEDIA_ERR;
	}
	if (stat(mp3, &sb) == -1 || sb.st_size == 0) {
		if ((r = el_fetch(e, text, mp3, prog, err, errlen)) != 0)
			return r;
	}
	if (speed < 0.5)
		speed = 0.5;
	if (speed > 2.0)
		speed = 2.0;
	snprintf(af, sizeof(af), "atempo=%.6f", speed);
	return media_run(argv, MEDIA_TIMEOUT_MS, true, prog, err, errlen);
}

static int
el_init(struct tts_engine *e, const char *voice, const char *key,
    const char *url, char *err, size_t errlen)
{
	struct el_priv *pv;
	const char *p;

	if (key == NULL || key[0] == '\0') {
		snprintf(err, errlen, "elevenlabs needs an API key");
		return -1;
	}
	for (p = key; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			snprintf(err, errlen, "elevenlabs API key has an "
			    "invalid character");
			return -1;
		}
	if (strlcpy(e->api_key, key, sizeof(e->api_key)) >=
	    sizeof(e->api_key)) {
		snprintf(err, errlen, "elevenlabs API key too long");
		return -1;
	}
	if (voice == NULL || voice[0] == '\0' ||
	    !name_ok(voice, 64, false)) {
		snprintf(err, errlen, "elevenlabs voice id missing or not "
		    "alphanumeric");
		return -1;
	}
	strlcpy(e->voice, voice, sizeof(e->voice));
	/* The key travels with every call: http:// only to this machine. */
	if (url != NULL && url[0] != '\0' && netaddr_url_check("elevenlabs "
	    "base URL", url, err, errlen) == -1)
		return -1;
	if (url != NULL && strlcpy(e->base_url, url, sizeof(e->base_url)) >=
	    sizeof(e->base_url)) {
		snprintf(err, errlen, "elevenlabs base URL longer than %zu "
		    "characters", sizeof(e->base_url) - 1);
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "elevenlabs: cannot initialise libcurl%s%s",
		    *curl_dl_error() != '\0' ? ": " : "", curl_dl_error());
		return -1;
	}
	if ((pv = calloc(1, sizeof(*pv))) == NULL) {
		curl_global_cleanup();
		snprintf(err, errlen, "elevenlabs: out of memory");
		return -1;
	}
	e->priv = pv;
	if ((pv->easy = curl_easy_init()) == NULL ||
	    (pv->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "elevenlabs: cannot initialise curl");
		return -1;
	}
	e->name = "elevenlabs";
	e->synth = el_synth;
	return 0;
}

/*
 * Fill <e> for engine <name>: "espeak" (or "espeak-ng"), or "elevenlabs",
 * which needs <api_key> and a <voice> id; <base_url> (NULL: the real API)
 * is for tests.  Strings are copied.  Returns 0, or -1 with <err> (which
 * never contains the key); call tts_engine_clear() in both cases.
 */
int
tts_engine_init(struct tts_engine *e, const char *name, const char *voice,
    const char *api_key, const char *base_url, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (name == NULL || strcmp(name, "espeak") == 0 ||
	    strcmp(name, "espeak-ng") == 0) {
		if (voice != NULL && voice[0] != '\0' &&
		    !name_ok(voice, sizeof(e->voice) - 1, true)) {
			snprintf(err, errlen, "espeak-ng voice \"%.40s\" is "
			    "not a plain voice name", voice);
			return -1;
		}
		if (voice != NULL)
			strlcpy(e->voice, voice, sizeof(e->voice));
		e->name = "espeak-ng";
		e->synth = espeak_synth;
		return 0;
	}
	if (strcmp(name, "elevenlabs") == 0)
		return el_init(e, voice, api_key, base_url, err, errlen);
	snprintf(err, errlen, "unknown TTS engine \"%s\" (espeak, "
	    "elevenlabs)", name);
	return -1;
}

/* Release what tts_engine_init() took and wipe the key. */
void
tts_engine_clear(struct tts_engine *e)
{
	struct el_priv *pv;

	if (e == NULL)
		return;
	if ((pv = e->priv) != NULL) {
		if (pv->multi != NULL)
			curl_multi_cleanup(pv->multi);
		if (pv->easy != NULL)
			curl_easy_cleanup(pv->easy);
		free(pv);
		curl_global_cleanup();
	}
	explicit_bzero(e->api_key, sizeof(e->api_key));
	e->priv = NULL;
}
