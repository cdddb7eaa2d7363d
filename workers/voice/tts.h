/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_VOICE_TTS_H
#define RV_WORKERS_VOICE_TTS_H

#include <stddef.h>

struct progress;

/*
 * Speech engines for the voice stage (workers/voice/tts.c).  synth() writes
 * <out_wav> (a WAV file probe_file() reads; the voice contract normalises
 * it later) for <text>, spoken <speed_factor> times faster than the
 * engine's normal rate, ticking <prog> (may be NULL) at least every
 * 100 ms.  It returns 0, MEDIA_ERR or MEDIA_STOPPED (workers/skeleton/media_tool.h),
 * with <err> filled on failure.  Files it needs beside the output are
 * created in <out_wav>'s directory.  Fill an engine with
 * tts_engine_init(); tests may build their own.
 */
struct tts_engine {
	const char	*name;
	int		(*synth)(const struct tts_engine *e,
			    const char *text, double speed_factor,
			    const char *out_wav, struct progress *prog,
			    char *err, size_t errlen);
	/* espeak-ng -v name, or ElevenLabs voice id; "": the default */
	char		 voice[128];
	char		 api_key[512];	/* ElevenLabs; secret */
	char		 base_url[256];	/* ElevenLabs; "": real */
	void		*priv;		/* engine state (curl) */
};

#define TTS_ESPEAK_WPM		175	/* espeak-ng's normal rate */
#define TTS_ELEVENLABS_URL	"https://api.elevenlabs.io"
#define TTS_ELEVENLABS_MODEL	"eleven_multilingual_v2"

int	tts_engine_init(struct tts_engine *e, const char *name,
	    const char *voice, const char *api_key, const char *base_url,
	    char *err, size_t errlen);
void	tts_engine_clear(struct tts_engine *e);

#endif
