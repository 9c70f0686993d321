/* ctlclient.c -- integration-test client of the control API: requests, JSON answers, errors */
#include "ctlclient.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

void ctlc_init(struct ctlc *c, const struct control *ctl)
{
    snprintf(c->url, sizeof c->url, "%s", control_url(ctl));
    snprintf(c->token, sizeof c->token, "%s", control_token(ctl));
}

void ctlc_request(const struct ctlc *c, const char *method, const char *path, const char *body,
                  size_t body_len, const char *token, struct itest_resp *out)
{
    char url[1200], auth[CONTROL_TOKEN_MAX + 32];
    const char *hdrs[2] = {NULL, NULL};
    snprintf(url, sizeof url, "%s%s", c->url, path);
    if (!token || *token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : c->token);
        hdrs[0] = auth;
    }
    struct itest_http_req r = {
        .method = method, .url = url, .body = body, .body_len = body_len, .headers = hdrs};
    itest_http(&r, out);
    if (out->curl != CURLE_OK) {
        CURLcode rc = out->curl;
        itest_resp_release(out);
        fail_msg("control %s %s: %s", method, path, curl_easy_strerror(rc));
    }
}

cJSON *ctlc_json(const struct ctlc *c, const char *method, const char *path, const char *body,
                 long *code)
{
    struct itest_resp r;
    ctlc_request(c, method, path, body, 0, NULL, &r);
    *code = r.code;
    cJSON *j = cJSON_Parse(r.body);
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "%.200s", r.body);
        itest_resp_release(&r);
        fail_msg("control %s %s: not JSON: %s", method, path, msg);
    }
    itest_resp_release(&r);
    return j;
}

cJSON *ctlc_ok(const struct ctlc *c, const char *method, const char *path, const char *body,
               long want)
{
    long code;
    cJSON *j = ctlc_json(c, method, path, body, &code);
    if (code != want)
        itest_fail_json(j, "control %s %s: %ld, want %ld", method, path, code, want);
    return j;
}

void ctlc_err(const struct ctlc *c, const char *method, const char *path, const char *body,
              long want_code, const char *want)
{
    long code;
    cJSON *j = ctlc_json(c, method, path, body, &code);
    const char *msg = itest_jstr(j, "error");
    if (code != want_code || !msg || (want && !strstr(msg, want)))
        itest_fail_json(j, "control %s %s: want %ld with \"%s\"", method, path, want_code,
                        want ? want : "");
    cJSON_Delete(j);
}

void ctlc_err_is(const struct ctlc *c, const char *method, const char *path, const char *body,
                 long want_code, const char *want)
{
    long code;
    cJSON *j = ctlc_json(c, method, path, body, &code);
    const char *msg = itest_jstr(j, "error");
    if (code != want_code || !msg || strcmp(msg, want) != 0)
        itest_fail_json(j, "control %s %s: want %ld with \"%s\"", method, path, want_code, want);
    cJSON_Delete(j);
}
