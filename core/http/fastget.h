/* fastget.h: `GET /api/v1/releases/{id|number}` with a Bearer token answered
 * in C when it is a plain read; anything else is left to the Lua path. */
#ifndef RELM_HTTP_FASTGET_H
#define RELM_HTTP_FASTGET_H

#include "base/store.h"
#include "http/server.h"

/* Answer req from s when it is exactly a GET of one release with a live
 * API token and the release's document needs nothing the Lua path adds
 * beyond its snapshot and SLA clock (see fastget.c): then res holds the
 * same 200 response, ETag included, and 1 is returned. 0 otherwise, with
 * res untouched: the caller answers through relm.http.dispatch, which
 * also gives every error. */
int relm_http_fastget(relm_store *s, const relm_http_request *req,
                      relm_http_response *res);

#endif
