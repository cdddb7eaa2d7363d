/* SPDX-License-Identifier: ISC */
/*
 * spec_fuzz.c: libFuzzer target for the run spec parser
 * (common/core/spec.c), which reads the operator's spec files and the
 * specs stored with each run.  The input is the spec text; local paths
 * resolve against the seed directory's parent so that both the refusal
 * of escaping paths and the acceptance of real files are reached.
 */
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "common/core/spec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	cJSON *spec;

	/* Without a directory: a spec naming local files is refused. */
	spec = spec_parse((const char *)data, size, NULL, err, sizeof(err));
	cJSON_Delete(spec);
	/* With one: paths are resolved (and confined) on the real disk. */
	spec = spec_parse((const char *)data, size, "tests/fuzz/corpus", err,
	    sizeof(err));
	cJSON_Delete(spec);
	return 0;
}
