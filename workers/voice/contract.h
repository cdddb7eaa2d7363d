/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_VOICE_CONTRACT_H
#define RV_WORKERS_VOICE_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/core/ids.h"
#include "workers/skeleton/media_tool.h"
#include "workers/voice/tts.h"

struct progress;

/*
 * The voice contract (SPEC section 3, "Voice"): synthesize one segment,
 * measure it, pad / speed up / re-synthesize until it meets its target
 * duration within the kind's tolerance, and store it as
 * <state_dir>/audio/A_<run_id>_<segment_id>_<sha8>.wav.
 *
 * Finalized audio is always WAV, PCM signed 16-bit little-endian, mono,
 * 48000 Hz (VOICE_RATE), written bit-exact so equal audio has equal sha8.
 */

/* Return codes besides 0 (and 1 from voice_find_existing). */
#define VOICE_ERR	MEDIA_ERR	/* failed; err says why */
#define VOICE_DRIFT	(-2)		/* panic_voice_contract_drift */
#define VOICE_STOPPED	MEDIA_STOPPED	/* the progress said stop */

#define VOICE_RATE		48000
#define VOICE_ATEMPO_MAX	1.05	/* up to 5 % too long: atempo */
#define VOICE_REPAIRS		2	/* re-syntheses before drift */
#define VOICE_SPEED_MAX		1.5	/* fastest speech we accept */
#define VOICE_TEXT_MAX		8192	/* bytes of text */
#define VOICE_TARGET_MAX	600.0	/* seconds */

/* Tolerance in seconds for a segment kind; -1 for an unknown kind. */
double	voice_tolerance(const char *kind);

enum voice_step {
	VOICE_STEP_OK = 0,	/* within tolerance: accept */
	VOICE_STEP_PAD,		/* too short: pad silence */
	VOICE_STEP_ATEMPO,	/* too long by up to 5 %: speed up */
	VOICE_STEP_REPAIR	/* longer: re-synthesize faster */
};

enum voice_step voice_decide(double measured, double target, double tol);

struct voice_req {
	const char	*state_dir;	/* existing directory */
	const char	*run_id;
	const char	*segment_id;
	const char	*kind;		/* intro, product, ... */
	const char	*text;
	double		 target;	/* approx_duration_sec */
};

/*
 * A finalized segment.  branch says what made it fit: "ok" (as
 * synthesized), "pad", "atempo", "repair" (re-synthesized faster, then
 * maybe padded or sped up), or "existing" (found by voice_find_existing).
 */
struct voice_result {
	char	path[192];		/* relative to the state dir */
	char	sha8[ID_SHA8_LEN + 1];
	double	duration;		/* measured, finalized */
	double	raw_duration;		/* first synthesis */
	double	target;
	double	tolerance;
	double	speed_factor;		/* of the synthesis kept */
	int	attempts;		/* syntheses; 0 when existing */
	char	branch[12];		/* ok pad atempo repair */
};

int	voice_finalize_segment(const struct voice_req *req,
	    const struct tts_engine *engine, struct progress *prog,
	    struct voice_result *res, char *err, size_t errlen);
int	voice_find_existing(const char *state_dir, const char *run_id,
	    const char *segment_id, double target, const char *kind,
	    struct progress *prog, struct voice_result *res, char *err,
	    size_t errlen);

#endif
