/* SPDX-License-Identifier: ISC */
/*
 * ctl_opts.c: the options of the operator commands, from a table.
 *
 * Each command lists its options as struct ctl_opt rows (a flag, a
 * string or a bounded integer) and calls ctl_opts_parse(), which takes
 * "--name value" and "--name=value", refuses anything else with one line
 * naming the option and what is wrong, and leaves the destinations it did
 * not see untouched (so the caller's defaults stay).  --help, --json and
 * --state-dir never reach it: rvctl.c handles them for every command.
 * Positional arguments are refused; no command here takes one.
 *
 * Public: ctl_opts_parse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

static const struct ctl_opt *
opt_find(const struct ctl_opt *opts, const char *arg, const char **value)
{
	size_t n;

	*value = NULL;
	for (; opts->name != NULL; opts++) {
		n = strlen(opts->name);
		if (strncmp(arg, opts->name, n) != 0)
			continue;
		if (arg[n] == '\0')
			return opts;
		if (arg[n] == '=' && opts->type != CTL_OPT_FLAG) {
			*value = arg + n + 1;
			return opts;
		}
	}
	return NULL;
}

static int
opt_int(const char *cmd, const struct ctl_opt *o, const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < o->min ||
	    n > o->max) {
		fprintf(stderr, "rvctl %s: %s wants a whole number from %ld to "
		    "%ld, not \"%s\"\n", cmd, o->name, o->min, o->max, v);
		return -1;
	}
	*(long *)o->dst = n;
	return 0;
}

/*
 * Parse argv[1..argc-1] of command <cmd> against <opts> (ended by a row
 * with a NULL name).  Returns 0, or -1 after printing what is wrong; the
 * caller then prints its usage and exits 64.
 */
int
ctl_opts_parse(const char *cmd, const struct ctl_opt *opts, int argc,
    char **argv)
{
	const struct ctl_opt *o;
	const char *v;
	int i;

	for (i = 1; i < argc; i++) {
		if ((o = opt_find(opts, argv[i], &v)) == NULL) {
			fprintf(stderr, "rvctl %s: unknown %s \"%s\"\n", cmd,
			    argv[i][0] == '-' ? "option" : "argument",
			    argv[i]);
			return -1;
		}
		if (o->type == CTL_OPT_FLAG) {
			*(bool *)o->dst = true;
			continue;
		}
		if (v == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "rvctl %s: %s needs a value\n",
				    cmd, o->name);
				return -1;
			}
			v = argv[++i];
		}
		if (o->type == CTL_OPT_STR)
			*(const char **)o->dst = v;
		else if (opt_int(cmd, o, v) == -1)
			return -1;
	}
	return 0;
}
