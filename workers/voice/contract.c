/* SPDX-License-Identifier: ISC */
/*
 * contract.c: the voice stage's contract, apart from the worker around
 * it (SPEC section 3, "Voice").
 *
 * voice_finalize_segment() synthesizes one segment's text with a speech
 * engine (workers/voice/tts.c) into a private temporary directory under
 * <state_dir>/tmp (workers/skeleton/scratch.c: named after this process, so the
 * successor of a killed voice child removes it), measures it with
 * probe_file() and decides (voice_decide()): within the kind's tolerance it
 * is kept; too short, silence is padded (ffmpeg apad=whole_dur); too long
 * by up to 5 %, ffmpeg atempo brings it to the target; longer still, the
 * text is re-synthesized faster (speed times measured/target, at most
 * VOICE_SPEED_MAX, at most VOICE_REPAIRS times) and the rules are applied
 * again.  Audio that still misses its target is VOICE_DRIFT, the caller's
 * panic_voice_contract_drift, and nothing is stored.  Kept audio is
 * normalised to WAV pcm_s16le mono 48000 Hz with ffmpeg's bitexact flags
 * (equal audio, equal bytes), measured again (from its WAV header, the
 * same answer as ffprobe's: media_measure()), named by the first 8 hex
 * digits of its SHA-256 and renamed into <state_dir>/audio/ (the same file
 * system, so the rename is atomic; the file is fsynced before and the
 * directory after).
 *
 * voice_find_existing() is the idempotency check: a stored
 * A_<run>_<seg>_<sha8>.wav whose bytes still hash to its sha8, in the
 * finalized format, whose probed duration meets the target, is returned,
 * so a re-run skips synthesis.
 *
 * Every subprocess ticks the caller's progress and stops when it answers
 * -1 (VOICE_STOPPED).  It does not talk to the supervisor or the store and
 * never logs; errors go to the caller's buffer.
 *
 * Public: voice_tolerance, voice_decide, voice_finalize_segment,
 * voice_find_existing.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/media/ffprobe.h"
#include "common/core/subproc.h"
#include "workers/skeleton/media_tool.h"
#include "workers/skeleton/scratch.h"
#include "workers/voice/contract.h"

#define REPAIR_MARGIN	1.02	/* aim a little short, then pad */

/* Tolerance in seconds for a segment kind; -1 for an unknown kind. */
double
voice_tolerance(const char *kind)
{
	if (kind == NULL)
		return -1;
	if (strcmp(kind, "intro") == 0 || strcmp(kind, "outro") == 0)
		return 0.080;
	if (strcmp(kind, "product") == 0)
		return 0.120;
	if (strcmp(kind, "transition") == 0)
		return 0.150;
	return -1;
}

/* Which rule applies to audio of <measured> s for <target> +- <tol>. */
enum voice_step
voice_decide(double measured, double target, double tol)
{
	if (fabs(measured - target) <= tol)
		return VOICE_STEP_OK;
	if (measured < target)
		return VOICE_STEP_PAD;
	if (measured <= target * VOICE_ATEMPO_MAX)
		return VOICE_STEP_ATEMPO;
	return VOICE_STEP_REPAIR;
}

static const char *
step_name(enum voice_step s)
{
	switch (s) {
	case VOICE_STEP_OK:
		return "ok";
	case VOICE_STEP_PAD:
		return "pad";
	case VOICE_STEP_ATEMPO:
		return "atempo";
	case VOICE_STEP_REPAIR:
		return "repair";
	}
	return "?";
}

/* Per-call state of one finalize. */
struct vjob {
	const struct voice_req		*req;
	const struct tts_engine		*engine;
	struct progress			*prog;
	double				 tol;
	char				 tmp[PATH_MAX];
	char				 raw[PATH_MAX];
	char				 fin[PATH_MAX];
};

static int
check_ids(const char *state_dir, const char *run_id, const char *seg,
    char *err, size_t errlen)
{
	if (state_dir == NULL || state_dir[0] == '\0') {
		snprintf(err, errlen, "voice: no state directory");
		return -1;
	}
	if (run_id == NULL || (!id_video_valid(run_id) &&
	    !id_uuid_valid(run_id))) {
		snprintf(err, errlen, "voice: invalid run_id");
		return -1;
	}
	if (seg == NULL || !id_segment_valid(seg)) {
		snprintf(err, errlen, "voice: invalid segment_id");
		return -1;
	}
	return 0;
}

static int
check_target(const char *seg, const char *kind, double target, double *tol,
    char *err, size_t errlen)
{
	if ((*tol = voice_tolerance(kind)) < 0) {
		snprintf(err, errlen, "segment %s: unknown kind \"%.32s\"", seg,
		    kind != NULL ? kind : "");
		return -1;
	}
	if (!isfinite(target) || target <= 0 || target > VOICE_TARGET_MAX) {
		snprintf(err, errlen, "segment %s: target duration %g out of "
		    "range (0, %g]", seg, target, VOICE_TARGET_MAX);
		return -1;
	}
	return 0;
}

static int
check_req(const struct voice_req *req, double *tol, char *err,
    size_t errlen)
{
	const char *p;
	size_t n;

	if (check_ids(req->state_dir, req->run_id, req->segment_id, err,
	    errlen) == -1 || check_target(req->segment_id, req->kind,
	    req->target, tol, err, errlen) == -1)
		return -1;
	n = req->text != NULL ? strnlen(req->text, VOICE_TEXT_MAX + 1) : 0;
	if (n > VOICE_TEXT_MAX) {
		snprintf(err, errlen, "segment %s: text over %d bytes",
		    req->segment_id, VOICE_TEXT_MAX);
		return -1;
	}
	for (p = req->text; p != NULL && *p != '\0'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	snprintf(err, errlen, "segment %s: no text to speak", req->segment_id);
	return -1;
}

/* Make the job's scratch directory and the path of final.wav in it. */
static int
tmp_make(struct vjob *j, char *err, size_t errlen)
{
	const struct voice_req *req = j->req;

	/* state/tmp/voice.<pid>.<run>-<segment>.XXXXXX: swept if we die */
	if (scratch_make_job(req->state_dir, "voice", req->run_id,
	    req->segment_id, j->tmp, sizeof(j->tmp), err, errlen) == -1)
		return -1;
	if (fs_path(j->fin, sizeof(j->fin), "%s/final.wav", j->tmp) == -1) {
		snprintf(err, errlen, "voice: temporary path: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
synth_measure(struct vjob *j, double speed, int attempt, double *dur,
    char *err, size_t errlen)
{
	struct probe_info pi;
	int r;

	if (fs_path(j->raw, sizeof(j->raw), "%s/raw%d.wav", j->tmp,
	    attempt) == -1) {
		snprintf(err, errlen, "voice: path too long");
		return VOICE_ERR;
	}
	r = j->engine->synth(j->engine, j->req->text, speed, j->raw, j->prog,
	    err, errlen);
	if (r != 0)
		return r == VOICE_STOPPED ? VOICE_STOPPED : VOICE_ERR;
	if ((r = media_probe(j->raw, j->prog, &pi, err, errlen)) != 0)
		return r;
	if (pi.audio_codec[0] == '\0') {
		snprintf(err, errlen, "%s: synthesized file has no audio",
		    j->engine->name);
		return VOICE_ERR;
	}
	*dur = pi.duration;
	return 0;
}

static void
drift_msg(const struct vjob *j, double measured, int attempts, double speed,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "segment %s: voice contract drift: target "
	    "%.3f s, measured %.3f s (delta %+.3f s, tolerance %.3f s) after "
	    "%d synthesis attempt(s), speed x%.2f", j->req->segment_id,
	    j->req->target, measured, measured - j->req->target, j->tol,
	    attempts, speed);
}

/*
 * Synthesize, re-synthesizing faster while the audio is more than 5 %
 * too long.  On 0, j->raw holds the audio kept, *measured its duration
 * and *step the rule to apply to it.
 */
static int
synth_loop(struct vjob *j, struct voice_result *res, enum voice_step *step,
    double *measured, char *err, size_t errlen)
{
	double d, speed = 1.0, next;
	int r;

	for (res->attempts = 1;; res->attempts++) {
		if ((r = synth_measure(j, speed, res->attempts, &d, err,
		    errlen)) != 0)
			return r;
		if (res->attempts == 1)
			res->raw_duration = d;
		res->speed_factor = speed;
		*measured = d;
		if ((*step = voice_decide(d, j->req->target, j->tol)) !=
		    VOICE_STEP_REPAIR)
			return 0;
		next = speed * (d / j->req->target) * REPAIR_MARGIN;
		if (next > VOICE_SPEED_MAX)
			next = VOICE_SPEED_MAX;
		/* No attempt left, or none that could be faster. */
		if (res->attempts > VOICE_REPAIRS || next <= speed) {
			drift_msg(j, d, res->attempts, speed, err, errlen);
			return VOICE_DRIFT;
		}
		speed = next;
		if (progress_step(j->prog) == -1) {
			snprintf(err, errlen, "voice: stopped");
			return VOICE_STOPPED;
		}
	}
}

/* Apply <step> while normalising j->raw into j->fin. */
static int
normalize(struct vjob *j, enum voice_step step, double measured, char *err,
    size_t errlen)
{
	static const char *const tail[] = { "-ac", "1", "-ar", "48000",
	    "-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags",
	    "+bitexact", "-flags:a", "+bitexact", "-f", "wav", NULL };
	char in[PATH_MAX + 8], out[PATH_MAX + 8], af[128], tdur[32];
	char *argv[40] = { "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
	    "-y", "-progress", "pipe:1", "-nostats", "-i", in, "-af", af };
	double t = j->req->target;
	int i, n = 13;

	if (media_file_arg(in, sizeof(in), j->raw) == -1 ||
	    media_file_arg(out, sizeof(out), j->fin) == -1) {
		snprintf(err, errlen, "voice: path too long");
		return VOICE_ERR;
	}
	if (step == VOICE_STEP_ATEMPO)
		snprintf(af, sizeof(af), "atempo=%.6f,aresample=%d,"
		    "apad=whole_dur=%.6f", measured / t, VOICE_RATE, t);
	else if (step == VOICE_STEP_PAD)
		snprintf(af, sizeof(af), "aresample=%d,apad=whole_dur=%.6f",
		    VOICE_RATE, t);
	else
		snprintf(af, sizeof(af), "aresample=%d", VOICE_RATE);
	if (step == VOICE_STEP_ATEMPO || step == VOICE_STEP_PAD) {
		/* Exactly the target: padding fills, -t trims rounding. */
		snprintf(tdur, sizeof(tdur), "%.6f", t);
		argv[n++] = "-t";
		argv[n++] = tdur;
	}
	for (i = 0; tail[i] != NULL; i++)
		argv[n++] = (char *)tail[i];
	argv[n++] = out;
	argv[n] = NULL;
	return media_run(argv, MEDIA_TIMEOUT_MS, true, j->prog, err, errlen);
}

/* Is <pi> our finalized format? */
static bool
format_ok(const struct probe_info *pi)
{
	return strcmp(pi->audio_codec, "pcm_s16le") == 0 &&
	    pi->audio_rate == VOICE_RATE && pi->audio_channels == 1 &&
	    pi->video_codec[0] == '\0';
}

static int
fsync_file(const char *path)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Name j->fin by its sha8 and move it into <state_dir>/audio. */
static int
commit(struct vjob *j, struct voice_result *res, char *err, size_t errlen)
{
	const struct voice_req *req = j->req;
	char dir[PATH_MAX], dest[PATH_MAX];

	if (chmod(j->fin, 0600) == -1 || fsync_file(j->fin) == -1 ||
	    id_sha8_file(j->fin, res->sha8) == -1) {
		snprintf(err, errlen, "voice: %s: %s", j->fin, strerror(errno));
		return VOICE_ERR;
	}
	if (fs_path(res->path, sizeof(res->path), "audio/A_%s_%s_%s.wav",
	    req->run_id, req->segment_id, res->sha8) == -1 ||
	    fs_path(dir, sizeof(dir), "%s/audio", req->state_dir) == -1 ||
	    fs_path(dest, sizeof(dest), "%s/%s", req->state_dir,
	    res->path) == -1) {
		snprintf(err, errlen, "voice: path too long");
		return VOICE_ERR;
	}
	if (fs_mkdirs(dir, 0700) == -1 || rename(j->fin, dest) == -1 ||
	    fs_fsync_dir(dir) == -1) {
		snprintf(err, errlen, "voice: cannot store %s: %s", dest,
		    strerror(errno));
		return VOICE_ERR;
	}
	return 0;
}

static int
finish(struct vjob *j, enum voice_step step, double measured,
    struct voice_result *res, char *err, size_t errlen)
{
	struct probe_info pi;
	int r;

	if ((r = normalize(j, step, measured, err, errlen)) != 0 ||
	    (r = media_measure(j->fin, j->prog, &pi, err, errlen)) != 0)
		return r;
	if (!format_ok(&pi)) {
		snprintf(err, errlen, "voice: normalised audio is %s %d Hz "
		    "%d ch, not pcm_s16le %d Hz mono", pi.audio_codec,
		    pi.audio_rate, pi.audio_channels, VOICE_RATE);
		return VOICE_ERR;
	}
	res->duration = pi.duration;
	if (voice_decide(pi.duration, j->req->target, j->tol) !=
	    VOICE_STEP_OK) {
		drift_msg(j, pi.duration, res->attempts, res->speed_factor,
		    err, errlen);
		return VOICE_DRIFT;
	}
	strlcpy(res->branch, res->attempts > 1 ? "repair" : step_name(step),
	    sizeof(res->branch));
	return commit(j, res, err, errlen);
}

/*
 * Finalize one segment (see the top of this file).  <req>, <engine> and
 * <prog> (may be NULL) are borrowed.  Returns 0 with <res> filled,
 * VOICE_DRIFT (the audio cannot meet its target: <err> names target and
 * measured), VOICE_STOPPED, or VOICE_ERR; <err> is filled on failure.
 * Nothing is added to <state_dir>/audio on failure, and the temporary
 * directory is removed on every path.
 */
int
voice_finalize_segment(const struct voice_req *req,
    const struct tts_engine *engine, struct progress *prog,
    struct voice_result *res, char *err, size_t errlen)
{
	struct vjob j;
	enum voice_step step;
	double measured;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&j, 0, sizeof(j));
	j.req = req;
	j.engine = engine;
	j.prog = prog;
	if (engine == NULL || engine->synth == NULL) {
		snprintf(err, errlen, "voice: no TTS engine");
		return VOICE_ERR;
	}
	if (check_req(req, &j.tol, err, errlen) == -1)
		return VOICE_ERR;
	res->target = req->target;
	res->tolerance = j.tol;
	if ((r = tmp_make(&j, err, errlen)) == 0 &&
	    (r = synth_loop(&j, res, &step, &measured, err, errlen)) == 0)
		r = finish(&j, step, measured, res, err, errlen);
	fs_remove_dir_files(j.tmp);
	if (r != 0) {
		res->path[0] = '\0';
		res->sha8[0] = '\0';
		res->branch[0] = '\0';
	}
	return r;
}

/* Is <path> a stored audio that still meets its name and target? */
static int
existing_ok(const char *path, const char *sha8, double target, double tol,
    struct progress *prog, double *dur)
{
	struct probe_info pi;
	char got[ID_SHA8_LEN + 1], perr[256];
	struct stat sb;
	int r;

	if (lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
		return 0;
	if (id_sha8_file(path, got) == -1 || strcmp(got, sha8) != 0)
		return 0;
	if ((r = media_measure(path, prog, &pi, perr, sizeof(perr))) !=
	    MEDIA_OK)
		return r == MEDIA_STOPPED ? VOICE_STOPPED : 0;
	if (!format_ok(&pi) || voice_decide(pi.duration, target, tol) !=
	    VOICE_STEP_OK)
		return 0;
	*dur = pi.duration;
	return 1;
}

static bool
name_matches(const char *name, const char *run_id, const char *seg,
    char sha8[ID_SHA8_LEN + 1])
{
	char run[ID_VIDEO_MAX + 1], sg[ID_SEGMENT_MAX + 1];
	size_t n = strlen(name);

	if (n < 4 || strcmp(name + n - 4, ".wav") != 0)
		return false;
	if (id_parse_media_name(name, 'A', run, sizeof(run), sg, sizeof(sg),
	    sha8) == -1)
		return false;
	return strcmp(run, run_id) == 0 && strcmp(sg, seg) == 0;
}

/*
 * Look in <state_dir>/audio for A_<run_id>_<segment_id>_<sha8>.wav whose
 * bytes hash to its sha8, in the finalized format, with a probed duration
 * within <kind>'s tolerance of <target>.  Returns 1 with <res> filled
 * (branch "existing", attempts 0), 0 when there is none (files that fail
 * a check are skipped, never touched), VOICE_STOPPED, or VOICE_ERR with
 * <err> for bad arguments or an unreadable directory.
 */
int
voice_find_existing(const char *state_dir, const char *run_id,
    const char *segment_id, double target, const char *kind,
    struct progress *prog, struct voice_result *res, char *err,
    size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX], sha8[ID_SHA8_LEN + 1];
	char found[NAME_MAX + 1] = "";
	struct dirent *de;
	double tol, dur = 0;
	DIR *d;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (check_ids(state_dir, run_id, segment_id, err, errlen) == -1 ||
	    check_target(segment_id, kind, target, &tol, err, errlen) == -1)
		return VOICE_ERR;
	if (fs_path(dir, sizeof(dir), "%s/audio", state_dir) == -1) {
		snprintf(err, errlen, "voice: path too long");
		return VOICE_ERR;
	}
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "voice: %s: %s", dir, strerror(errno));
		return VOICE_ERR;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (!name_matches(de->d_name, run_id, segment_id, sha8) ||
		    fs_path(path, sizeof(path), "%s/%s", dir, de->d_name) == -1)
			continue;
		r = existing_ok(path, sha8, target, tol, prog, &dur);
		if (r == 1)
			strlcpy(found, de->d_name, sizeof(found));
		else if (r == 0 && progress_step(prog) == -1)
			r = VOICE_STOPPED;
	}
	closedir(d);
	if (r == VOICE_STOPPED)
		snprintf(err, errlen, "voice: stopped");
	if (r != 1)
		return r;
	if (fs_path(res->path, sizeof(res->path), "audio/%s", found) == -1) {
		snprintf(err, errlen, "voice: path too long");
		return VOICE_ERR;
	}
	strlcpy(res->sha8, sha8, sizeof(res->sha8));
	res->duration = res->raw_duration = dur;
	res->target = target;
	res->tolerance = tol;
	res->speed_factor = 1.0;
	strlcpy(res->branch, "existing", sizeof(res->branch));
	return 1;
}
