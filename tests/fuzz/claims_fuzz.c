/* SPDX-License-Identifier: ISC */
/*
 * claims_fuzz.c: libFuzzer target for the claim extraction of the evidence
 * child (workers/evidence/claims.c), which reads pages fetched from the
 * web.  The input is the page; every claim found is normalised as the
 * evidence rules do.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cJSON.h>

#include "workers/evidence/claims.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum claim_kind kinds[] = {
	CLAIM_PRICE, CLAIM_VOLTAGE, CLAIM_COMPAT, CLAIM_MODEL, CLAIM_EAN
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *warnings = cJSON_CreateArray(), *claims;
	const char *raw, *cur;
	char out[512];
	size_t i;

	claims = claims_extract_html((const char *)data, size, warnings);
	if (claims != NULL) {
		cur = cJSON_GetStringValue(cJSON_GetObjectItem(claims,
		    "currency"));
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			raw = cJSON_GetStringValue(cJSON_GetObjectItem(claims,
			    claims_kind_name(kinds[i])));
			if (raw != NULL)
				(void)claims_normalize(kinds[i], raw, cur, out,
				    sizeof(out));
		}
	}
	cJSON_Delete(claims);
	cJSON_Delete(warnings);
	return 0;
}
