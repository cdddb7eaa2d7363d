/* SPDX-License-Identifier: ISC */
/*
 * notify.c: rvw-notify, the alert child.
 *
 * The supervisor sends it "alert" tasks.  Each alert is appended, one
 * line of plain text, to state/logs/alerts.log (so an operator without
 * Telegram still sees it) before any delivery is attempted.  Its crash or
 * hang is supervised like any other child and never touches the lease.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "workers/worker.h"

static enum wrk_outcome
notify_task(struct wrk_env *env, const char *type, const cJSON *args,
    cJSON **result, char *err, size_t errlen)
{
	const char *what = cJSON_GetStringValue(cJSON_GetObjectItem(args,
	    "alert"));
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(args,
	    "detail"));
	const char *video = cJSON_GetStringValue(cJSON_GetObjectItem(args,
	    "video_id"));
	char path[1100], line[4200], at[CLOCK_ISO_LEN];
	int fd, n;

	if (strcmp(type, "alert") != 0 || what == NULL) {
		snprintf(err, errlen, "notify: unknown task %s", type);
		return WRK_FAIL;
	}
	clock_utc_iso(at);
	n = snprintf(line, sizeof(line), "%s %.64s %.64s: %.3000s\n", at, what,
	    video ? video : "-", detail ? detail : "");
	if (fs_path(path, sizeof(path), "%s/logs/alerts.log",
	    worker_config(env)->state_dir) == -1 || (fd = open(path,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "alerts log: cannot open");
		return WRK_FAIL;
	}
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		snprintf(err, errlen, "alerts log: short write");
		return WRK_FAIL;
	}
	close(fd);
	*result = cJSON_CreateObject();
	cJSON_AddBoolToObject(*result, "logged", true);
	return WRK_OK;
}

int
main(int argc, char **argv)
{
	worker_main(argc, argv, "notify", notify_task);
}
