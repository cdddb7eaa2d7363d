/* SPDX-License-Identifier: ISC */
/*
 * version.c: the version every program prints for --version.
 *
 * "0.2.0 (git 1a2b3c4)": the VERSION file and the commit the build was
 * made from, baked in at build time through a header the Makefile
 * generates (scripts/version-header, $(BUILD)/gen/rv_version.h, given to
 * the compiler of this file alone with -include, so a new commit rebuilds
 * this object and the links, nothing else).  A build from a tree without
 * git history (a release tarball) has no commit and says "0.2.0".
 * Nothing here reads a file or the environment at run time.
 *
 * Public: version_string, version_print.
 */
#include <stdio.h>

#include "common/core/version.h"

#if !defined(RV_VERSION) || !defined(RV_GIT)
#error "RV_VERSION and RV_GIT come from the Makefile (scripts/version-header)"
#endif

const char *
version_string(void)
{
	return RV_GIT[0] != '\0' ? RV_VERSION " (git " RV_GIT ")" : RV_VERSION;
}

/* "<prog> <version>" on stdout: what --version prints. */
void
version_print(const char *prog)
{
	printf("%s %s\n", prog, version_string());
}
