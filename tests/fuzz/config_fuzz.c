/* SPDX-License-Identifier: ISC */
/*
 * config_fuzz.c: libFuzzer target for the settings file reader
 * (common/core/config.c).  The input is written as the .env file that
 * config_load() reads (a file of mode 0600, as an operator's .env
 * should be); the settings it accepts are printed (to
 * /dev/null) and a text is redacted with them, as rvctl config does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *null;

static void
cleanup(void)
{
	(void)unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_config cfg;
	char err[4096], buf[256];
	FILE *fp;
	int fd;

	if (path[0] == '\0') {
		/* memory-backed when possible: a disk file is 5 x slower */
		snprintf(path, sizeof(path), "%s/rv-config-fuzz.XXXXXX",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if ((fd = mkstemp(path)) == -1 ||
		    (null = fopen("/dev/null", "w")) == NULL) {
			perror("config_fuzz");
			abort();
		}
		close(fd);
		atexit(cleanup);
	}
	if ((fp = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
		perror(path);
		abort();
	}
	if (config_load(&cfg, NULL, path, err, sizeof(err)) == 0) {
		config_print(&cfg, null);
		(void)config_redact(&cfg, "key=secret token=abc", buf,
		    sizeof(buf));
	}
	return 0;
}
