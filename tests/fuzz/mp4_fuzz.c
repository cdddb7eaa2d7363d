/* SPDX-License-Identifier: ISC */
/*
 * mp4_fuzz.c: libFuzzer target for the MP4 reader (common/media/mp4.c,
 * mp4_entry.c), which reads rendered videos and voice files without
 * ffprobe.  The input is the file, given to mp4_fd() through an
 * anonymous memory file so that the reader's own pread() path is used.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/media/ffprobe.h"
#include "common/media/mp4.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_info pi;
	char err[512];

	if (fd == -1 && (fd = memfd_create("mp4_fuzz", 0)) == -1) {
		perror("memfd_create");
		abort();
	}
	if (ftruncate(fd, 0) == -1 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("mp4_fuzz: write");
		abort();
	}
	(void)mp4_fd(fd, &pi, err, sizeof(err));
	return 0;
}
