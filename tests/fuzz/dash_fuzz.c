/* SPDX-License-Identifier: ISC */
/*
 * dash_fuzz.c: libFuzzer target for the dashboard's evidence diff
 * (ctl/dash_diff.c, with the escaping of ctl/dash_html.c), which draws
 * values taken from web pages.  The input is JSON: an array [gate
 * evidence, evidence file], or the gate evidence alone.  Whatever it
 * holds, the table may only contain the elements the code writes itself:
 * any other element (an <img>, a <script> from a value) aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ctl/dash.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const tags[] = { "div", "table", "thead", "tbody", "tr",
	"th", "td", "span", "br", "p", NULL };

/* Every "<" starts one of our own tags, open or closed. */
static void
check(const char *html)
{
	const char *p = html;
	size_t i, n;

	while ((p = strchr(p, '<')) != NULL) {
		p++;
		if (*p == '/')
			p++;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		for (i = 0; tags[i] != NULL; i++)
			if (strlen(tags[i]) == n && strncmp(p, tags[i], n) == 0 &&
			    (p[n] == '>' || p[n] == ' '))
				break;
		if (tags[i] == NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dash_buf b;
	cJSON *j;
	const cJSON *ev, *file = NULL;

	if ((j = cJSON_ParseWithLength((const char *)data, size)) == NULL)
		return 0;
	ev = j;
	if (cJSON_IsArray(j)) {
		ev = cJSON_GetArrayItem(j, 0);
		file = cJSON_GetArrayItem(j, 1);
	}
	memset(&b, 0, sizeof(b));
	dash_diff_table(&b, ev, file);
	if (b.p != NULL && !b.oom)
		check(b.p);
	db_free(&b);
	cJSON_Delete(j);
	return 0;
}
