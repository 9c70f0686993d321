/* fuzz_json.c -- libFuzzer target: the JSON bodies a client POSTs, PUTs and PATCHes, through the
 * real server (body decoding, defaulting and validation of each kind, merge / JSON / strategic
 * merge patch, the store, then the object read back as JSON and as a kubectl Table).
 *
 * Input: byte 0 picks the kind, byte 1 the verb, byte 2 flags (dryRun, fieldValidation, the
 * subresource "status"); the rest is the body. The target writes the HTTP framing, so every
 * mutation lands in the body: it first creates a valid object of the kind named "fz" (PUT and
 * PATCH need one), then sends the body, then GETs the object and lists the kind as a Table. A
 * fresh server per input (fuzzsrv.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzsrv.h"
#include "mockapi/http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The kinds a client writes, each with a valid object named "fz" to start from. */
static const struct fz_kind {
    const char *collection; /* the URL of the collection (in namespace "default" if namespaced) */
    const char *seed;       /* a valid object */
} kinds[] = {
    {"/api/v1/namespaces/default/pods",
     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"fz\",\"labels\":{\"a\":"
     "\"b\"}},"
     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"sh\"],"
     "\"env\":[{\"name\":\"X\",\"value\":\"1\"}],\"ports\":[{\"containerPort\":80}]}],"
     "\"initContainers\":[{\"name\":\"i\",\"image\":\"busybox\"}],"
     "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}}"},
    {"/api/v1/namespaces/default/secrets",
     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"fz\"},"
     "\"data\":{\"k\":\"dg==\"},\"stringData\":{\"s\":\"t\"}}"},
    {"/api/v1/namespaces/default/configmaps",
     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"fz\"},"
     "\"data\":{\"k\":\"v\"}}"},
    {"/api/v1/namespaces/default/services",
     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"fz\"},"
     "\"spec\":{\"selector\":{\"a\":\"b\"},\"ports\":[{\"port\":80,\"targetPort\":8080}]}}"},
    {"/api/v1/namespaces/default/serviceaccounts",
     "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"fz\"}}"},
    {"/api/v1/namespaces/default/events",
     "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"fz\"},"
     "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\",\"namespace\":\"default\"},"
     "\"reason\":\"R\",\"message\":\"m\",\"type\":\"Normal\",\"count\":1}"},
    {"/api/v1/namespaces",
     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"fz\"}}"},
    {"/api/v1/nodes", "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"fz\"},"
                      "\"spec\":{\"unschedulable\":true}}"},
    {"/apis/policy/v1/namespaces/default/poddisruptionbudgets",
     "{\"apiVersion\":\"policy/"
     "v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"name\":\"fz\"},"
     "\"spec\":{\"minAvailable\":1,\"selector\":{\"matchLabels\":{\"a\":\"b\"}}}}"},
    {"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
     "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectAccessReview\","
     "\"spec\":{\"resourceAttributes\":{\"verb\":\"create\",\"resource\":\"pods\"}}}"},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* What is done with the body. */
static const struct fz_verb {
    const char *method;
    const char *content_type;
    int on_object; /* the URL names the object "fz" rather than the collection */
} verbs[] = {
    {"POST", HTTP_CT_JSON, 0},
    {"PUT", HTTP_CT_JSON, 1},
    {"PATCH", HTTP_CT_MERGE_PATCH, 1},
    {"PATCH", HTTP_CT_JSON_PATCH, 1},
    {"PATCH", HTTP_CT_STRATEGIC_PATCH, 1},
    {"PATCH", HTTP_CT_APPLY_PATCH, 1},
    {"DELETE", HTTP_CT_JSON, 1}, /* DeleteOptions */
    {"POST", HTTP_CT_YAML, 0},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

#define FLAG_DRY_RUN 0x01
#define FLAG_STRICT 0x02
#define FLAG_STATUS 0x04
#define FLAG_COLLECTION_DELETE 0x08

#define FZ_JSON_MAX_BODY (1024 * 1024) /**< bodies past this are cut (the -max_len is far less) */

struct req_buf {
    char *p;
    size_t len, cap;
};

static void put(struct req_buf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        char *n = realloc(b->p, cap);
        if (!n)
            abort();
        b->p = n;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

static void request(struct req_buf *b, const char *method, const char *url, const char *ctype,
                    const void *body, size_t len)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: fz\r\nUser-Agent: kubectl/v1.32.0\r\n"
                     "Accept: application/json\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                     method, url, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                     ctype ? "\r\n" : "", len);
    put(b, head, (size_t)n);
    put(b, body, len);
}

/* The whole conversation for one input, as bytes a client would send. */
static void build(struct req_buf *b, const uint8_t *data, size_t size)
{
    const struct fz_kind *k = &kinds[data[0] % NKINDS];
    const struct fz_verb *v = &verbs[data[1] % NVERBS];
    unsigned flags = data[2];
    const uint8_t *body = data + 3;
    size_t len = size - 3 > FZ_JSON_MAX_BODY ? FZ_JSON_MAX_BODY : size - 3;
    char url[512], list[512];
    int is_ns = strcmp(k->collection, "/api/v1/namespaces") == 0;

    request(b, "POST", k->collection, HTTP_CT_JSON, k->seed, strlen(k->seed));
    if (v->on_object && !(flags & FLAG_COLLECTION_DELETE && strcmp(v->method, "DELETE") == 0))
        snprintf(url, sizeof url, "%s/fz%s", k->collection,
                 flags & FLAG_STATUS && !is_ns ? "/status" : "");
    else
        snprintf(url, sizeof url, "%s", k->collection);
    size_t n = strlen(url);
    const char *sep = "?";
    if (flags & FLAG_DRY_RUN) {
        n += (size_t)snprintf(url + n, sizeof url - n, "%sdryRun=All", sep);
        sep = "&";
    }
    if (flags & FLAG_STRICT)
        snprintf(url + n, sizeof url - n, "%sfieldValidation=Strict&fieldManager=fz", sep);
    request(b, v->method, url, v->content_type, body, len);

    snprintf(url, sizeof url, "%s/fz", k->collection);
    request(b, "GET", url, NULL, "", 0);
    snprintf(list, sizeof list,
             "GET %s?limit=500 HTTP/1.1\r\nHost: fz\r\n"
             "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json\r\n\r\n",
             k->collection);
    put(b, list, strlen(list));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct req_buf b = {0};
    if (size < 3)
        return 0;
    fz_quiet();
    build(&b, data, size);
    fz_kube_converse("fuzz_json", (const uint8_t *)b.p, b.len, 0);
    free(b.p);
    return 0;
}
