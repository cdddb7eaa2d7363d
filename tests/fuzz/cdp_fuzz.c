/* SPDX-License-Identifier: ISC */
/*
 * cdp_fuzz.c: libFuzzer target for the DevTools frame reader
 * (workers/render/cdp.c), which splits what the browser writes on its
 * pipe into NUL-framed JSON messages.  The input is fed in pieces whose
 * sizes come from its first byte, so that messages split across reads
 * are exercised; the reader expects the answer to call id 1 and events
 * are taken by method and session as the Dzine driver takes them.
 */
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "workers/render/cdp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdp c;
	size_t step, part;
	cJSON *ev;

	if (size == 0)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	cdp_init(&c, -1, -1, 0, NULL);
	c.want_id = 1;
	while (size > 0) {
		part = size < step ? size : step;
		cdp_feed(&c, (const char *)data, part);
		data += part;
		size -= part;
		step = step * 2 + 1;
	}
	while ((ev = cdp_take_event(&c, NULL, "Target.attachedToTarget")) !=
	    NULL)
		cJSON_Delete(ev);
	while ((ev = cdp_take_event(&c, "S1", "Page.loadEventFired")) != NULL)
		cJSON_Delete(ev);
	cdp_clear(&c);
	return 0;
}
