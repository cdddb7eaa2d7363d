#!/bin/sh
# SPDX-License-Identifier: ISC
#
# dash_decide_pg.sh: dash_decide.sh on the supabase store backend,
# through the PostgREST fixture on a private PostgreSQL
# (tests/lib/with_postgrest): the same decisions, the same answers, the
# change seen on /events within the longer poll of a remote store.
exec tests/lib/with_postgrest sh tests/integration/dash_decide.sh "$@"
