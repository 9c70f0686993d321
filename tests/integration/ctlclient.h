/* ctlclient.h -- integration-test client of the control API (harness/control.c): requests with
 * its bearer token, JSON answers, expected answers and errors; any other answer fails the test.
 *
 * Use these on the test thread only (they fail the test through cmocka). */
#ifndef KF_TEST_CTLCLIENT_H
#define KF_TEST_CTLCLIENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "harness/control.h"
#include "itest.h"

/** Where a control API answers and the token it wants. */
struct ctlc {
    char url[128]; /**< "http://127.0.0.1:PORT", no trailing slash */
    char token[CONTROL_TOKEN_MAX + 1];
};

/** Copy the URL and token of ctl (borrowed) into c. */
void ctlc_init(struct ctlc *c, const struct control *ctl);

/** method path [body of body_len bytes, 0: strlen(body), as application/json] on the control
 *  port, with "Authorization: Bearer <token>"; token NULL: c's own, "": no Authorization header.
 *  Fails the test when the transfer fails. Release out with itest_resp_release(). */
void ctlc_request(const struct ctlc *c, const char *method, const char *path, const char *body,
                  size_t body_len, const char *token, struct itest_resp *out);

/** method path [body] with c's token -> the parsed JSON answer (fails the test when it is not
 *  JSON), the HTTP status in *code. Caller frees with cJSON_Delete(). */
cJSON *ctlc_json(const struct ctlc *c, const char *method, const char *path, const char *body,
                 long *code);

/** ctlc_json, failing the test unless the status is want. Caller frees with cJSON_Delete(). */
cJSON *ctlc_ok(const struct ctlc *c, const char *method, const char *path, const char *body,
               long want);

/** Fail the test unless the answer is want_code with an "error" whose text contains want (NULL:
 *  any text). */
void ctlc_err(const struct ctlc *c, const char *method, const char *path, const char *body,
              long want_code, const char *want);

/** Fail the test unless the answer is want_code with an "error" of exactly want. */
void ctlc_err_is(const struct ctlc *c, const char *method, const char *path, const char *body,
                 long want_code, const char *want);

#endif
