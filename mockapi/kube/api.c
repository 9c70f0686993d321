/* api.c -- the Kubernetes REST semantics: discovery, get/list/watch, create, update, patch, delete,
 * pods/log, access reviews; every error a Status worded as kube-apiserver words it
 * (facts: shared/docs/reference/kube-wire.md and runner-k8s-executor.md) */
#include "mockapi/kube/api.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/base/rng.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/discovery.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/openapi.h"
#include "mockapi/kube/openapi_v2.h"
#include "mockapi/kube/patch.h"
#include "mockapi/kube/proto.h"
#include "mockapi/kube/route.h"
#include "mockapi/kube/selector.h"
#include "mockapi/kube/status.h"
#include "mockapi/kube/store.h"
#include "mockapi/kube/table.h"
#include "mockapi/kube/watch.h"
#include "mockapi/kube/containers.h"
#include "mockapi/stream/remotecmd.h"
#include "mockapi/stream/session.h"

#define API_MAX_LIST_LIMIT 100000  /**< a larger limit is treated as this */
#define API_DEFAULT_POD_GRACE_S 30 /**< spec.terminationGracePeriodSeconds default */
#define API_GENERATE_SUFFIX_LEN 5  /**< generateName's random suffix */

/* An OpenAPI document as answered: they depend on kinds.def alone, so each is built once per server
 * (building /openapi/v3 means building and hashing every group's document: about 1.5 ms, which
 * kubectl create -f and apply -f paid on every call). */
struct openapi_doc {
    char key[128]; /* "v2", "v2pb", "v3", "v3:api/v1", ... */
    char *body;
    size_t len;
};

#define API_OPENAPI_DOCS 32 /* more than kinds.def's group versions + 3 */

struct api {
    struct store *store;
    struct cluster *cluster;
    struct watch_hub *watches;
    struct ctr_runtime *containers;
    struct rng *rng;
    char minor[8];
    char server_address[64];
    unsigned next_cluster_ip;
    struct openapi_doc openapi[API_OPENAPI_DOCS];
    size_t nopenapi;
};

struct api *api_new(struct store *store, struct cluster *cluster, struct watch_hub *watches,
                    struct rng *rng, const struct api_opts *opts)
{
    struct api *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->store = store;
    a->cluster = cluster;
    a->watches = watches;
    a->rng = rng;
    a->containers = opts->containers;
    snprintf(a->minor, sizeof a->minor, "%s", opts->kube_minor ? opts->kube_minor : "32");
    snprintf(a->server_address, sizeof a->server_address, "%s",
             opts->server_address ? opts->server_address : "127.0.0.1:6443");
    return a;
}

void api_free(struct api *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nopenapi; i++)
        free(a->openapi[i].body);
    free(a);
}

/* ---- answers ---- */

static void send_json(struct conn *c, int code, const cJSON *body, const char *content_type)
{
    char *text = cJSON_PrintUnformatted(body);
    if (!text) {
        static const char oom[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                  "\"status\":\"Failure\",\"message\":\"out of memory\","
                                  "\"reason\":\"InternalError\",\"code\":500}\n";
        conn_respond(c, 500, HTTP_CT_JSON, NULL, oom, sizeof oom - 1);
        return;
    }
    size_t len = strlen(text);
    text[len] = '\n';
    conn_respond(c, code, content_type ? content_type : HTTP_CT_JSON, NULL, text, len + 1);
    free(text);
}

void api_send_status(struct conn *c, void *stv)
{
    cJSON *st = stv;
    if (!st) {
        conn_respond(c, 500, HTTP_CT_TEXT, NULL, "out of memory\n", 14);
        return;
    }
    send_json(c, status_code(st), st, HTTP_CT_JSON);
    cJSON_Delete(st);
}

static void fail(struct conn *c, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct conn *c, int code, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_send_status(c, status_new(code, reason, msg));
}

static void send_owned(struct conn *c, int code, cJSON *body, const char *content_type)
{
    send_json(c, code, body, content_type);
    cJSON_Delete(body);
}

/* ---- small helpers ---- */

/* Media type without parameters, lower-cased, into buf. */
static const char *media_type(const char *ct, char *buf, size_t len)
{
    size_t n = 0;
    if (!ct)
        ct = "";
    while (*ct == ' ')
        ct++;
    for (; ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < len; n++)
        buf[n] = (char)tolower((unsigned char)ct[n]);
    buf[n] = '\0';
    return buf;
}

static int param_true(const struct http_request *req, const char *key)
{
    const char *v = http_request_param(req, key);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* Parse a non-negative integer parameter; -1 when absent, -2 when malformed. */
static long long param_int(const struct http_request *req, const char *key)
{
    const char *v = http_request_param(req, key);
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < 0)
        return -2;
    return n;
}

/* Decode the request body into a JSON object: JSON, YAML-as-JSON, or Kubernetes protobuf.
 * Returns NULL after answering with a Status. */
static cJSON *decode_body(struct conn *c, const struct http_request *req, int allow_empty)
{
    char mt[128], err[256];
    media_type(http_request_header(req, "Content-Type"), mt, sizeof mt);
    if (req->body_len == 0) {
        if (allow_empty)
            return cJSON_CreateObject();
        fail(c, 400, STATUS_REASON_BADREQUEST, "the body of the request was empty");
        return NULL;
    }
    cJSON *obj = NULL;
    if (strcmp(mt, HTTP_CT_PROTOBUF) == 0) {
        obj = kproto_decode(req->body, req->body_len, err, sizeof err);
        if (!obj) {
            fail(c, 400, STATUS_REASON_BADREQUEST, "failed to decode protobuf body: %s", err);
            return NULL;
        }
        return obj;
    }
    if (mt[0] && strcmp(mt, HTTP_CT_JSON) != 0 && strcmp(mt, HTTP_CT_MERGE_PATCH) != 0 &&
        strcmp(mt, HTTP_CT_JSON_PATCH) != 0 && strcmp(mt, HTTP_CT_STRATEGIC_PATCH) != 0 &&
        strcmp(mt, HTTP_CT_APPLY_PATCH) != 0 && strcmp(mt, HTTP_CT_YAML) != 0) {
        fail(c, 415, STATUS_REASON_UNSUPPORTEDMEDIA,
             "the body of the request was in an unknown format - accepted media types include: "
             "application/json, application/yaml, application/vnd.kubernetes.protobuf");
        return NULL;
    }
    const char *end = NULL;
    obj = cJSON_ParseWithLengthOpts((const char *)req->body, req->body_len, &end, 0);
    if (!obj) {
        size_t at = end ? (size_t)(end - (const char *)req->body) : 0;
        if (strcmp(mt, HTTP_CT_YAML) == 0 || strcmp(mt, HTTP_CT_APPLY_PATCH) == 0)
            fail(c, 415, STATUS_REASON_UNSUPPORTEDMEDIA,
                 "only the JSON form of YAML bodies is supported by kubefault (error at byte %zu)",
                 at);
        else
            fail(c, 400, STATUS_REASON_BADREQUEST,
                 "couldn't get version/kind; json parse error: invalid JSON at byte %zu", at);
        return NULL;
    }
    return obj;
}

/* ---- names ---- */

/* RFC 1123 subdomain, as metadata.name of most kinds must be. */
static int valid_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(islower(ch) || isdigit(ch) || ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

/* ---- discovery ---- */

/* The OpenAPI document r names, from the cache or built (and kept) now; 404 for a group version
 * kinds.def does not have. */
static void send_openapi(struct api *a, struct conn *c, const char *accept, const struct route *r)
{
    char key[sizeof a->openapi[0].key];
    int proto = r->type == ROUTE_OPENAPI_V2 && openapi_v2_wants_proto(accept);
    const char *ct = proto ? OPENAPI_V2_PROTO_CONTENT_TYPE : HTTP_CT_JSON;
    if (r->type == ROUTE_OPENAPI_V3_GV && r->group[0])
        snprintf(key, sizeof key, "v3:apis/%s/%s", r->group, r->version);
    else if (r->type == ROUTE_OPENAPI_V3_GV)
        snprintf(key, sizeof key, "v3:api/%s", r->version);
    else
        snprintf(key, sizeof key, "%s", r->type == ROUTE_OPENAPI_V3 ? "v3" : proto ? "v2pb" : "v2");
    for (size_t i = 0; i < a->nopenapi; i++) {
        if (strcmp(a->openapi[i].key, key) == 0) {
            conn_respond(c, 200, ct, NULL, a->openapi[i].body, a->openapi[i].len);
            return;
        }
    }
    char *body = NULL;
    size_t len = 0;
    if (proto) {
        unsigned char *pb = NULL;
        if (openapi_v2_document(&pb, &len) < 0) {
            fail(c, 500, STATUS_REASON_INTERNAL, "cannot build the OpenAPI v2 document");
            return;
        }
        body = (char *)pb;
    } else {
        cJSON *doc = r->type == ROUTE_OPENAPI_V2   ? openapi_v2_json()
                     : r->type == ROUTE_OPENAPI_V3 ? openapi_v3_root()
                                                   : openapi_v3_group(key + 3);
        if (!doc) {
            fail(c, 404, STATUS_REASON_NOTFOUND,
                 "the server could not find the requested resource");
            return;
        }
        body = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        if (!body) {
            fail(c, 500, STATUS_REASON_INTERNAL, "out of memory");
            return;
        }
        len = strlen(body);
        body[len++] = '\n'; /* as send_json: the NUL's place */
    }
    conn_respond(c, 200, ct, NULL, body, len);
    if (a->nopenapi < API_OPENAPI_DOCS) {
        struct openapi_doc *d = &a->openapi[a->nopenapi++];
        snprintf(d->key, sizeof d->key, "%s", key);
        d->body = body;
        d->len = len;
    } else {
        free(body);
    }
}

static void handle_discovery(struct api *a, struct conn *c, struct http_request *req,
                             const struct route *r)
{
    const char *accept = http_request_header(req, "Accept");
    cJSON *doc = NULL;
    const char *ct = HTTP_CT_JSON;
    switch (r->type) {
    case ROUTE_VERSION:
        doc = discovery_version(a->minor);
        break;
    case ROUTE_API:
    case ROUTE_APIS:
        if (accept && discovery_wants_aggregated(accept)) {
            doc = discovery_aggregated(r->type == ROUTE_API);
            ct = DISCOVERY_AGGREGATED_CONTENT_TYPE;
        } else {
            doc = r->type == ROUTE_API ? discovery_api_versions(a->server_address)
                                       : discovery_api_groups();
        }
        break;
    case ROUTE_GROUP:
        doc = discovery_api_group(r->group);
        break;
    case ROUTE_RESOURCES:
        doc = discovery_resource_list(r->group, r->version);
        break;
    case ROUTE_OPENAPI_V2:
    case ROUTE_OPENAPI_V3:
    case ROUTE_OPENAPI_V3_GV:
        send_openapi(a, c, accept, r);
        return;
    default:
        break;
    }
    if (!doc) {
        fail(c, 404, STATUS_REASON_NOTFOUND, "the server could not find the requested resource");
        return;
    }
    send_owned(c, 200, doc, ct);
}

/* ---- defaults on create ---- */

static void default_pod(cJSON *pod)
{
    cJSON *spec = json_obj(pod, "spec");
    json_default_str(spec, "restartPolicy", "Always");
    json_default_str(spec, "dnsPolicy", "ClusterFirst");
    json_default_str(spec, "schedulerName", "default-scheduler");
    json_default_str(spec, "serviceAccountName", "default");
    if (!cJSON_GetObjectItemCaseSensitive(spec, "serviceAccount"))
        cJSON_AddStringToObject(spec, "serviceAccount", json_str(spec, "serviceAccountName"));
    if (!cJSON_GetObjectItemCaseSensitive(spec, "terminationGracePeriodSeconds"))
        cJSON_AddNumberToObject(spec, "terminationGracePeriodSeconds", API_DEFAULT_POD_GRACE_S);
    if (!cJSON_GetObjectItemCaseSensitive(spec, "securityContext"))
        cJSON_AddObjectToObject(spec, "securityContext");
    if (!cJSON_GetObjectItemCaseSensitive(spec, "enableServiceLinks"))
        cJSON_AddBoolToObject(spec, "enableServiceLinks", 1);
    const char *lists[] = {"initContainers", "containers"};
    for (size_t i = 0; i < 2; i++) {
        cJSON *ctr;
        cJSON_ArrayForEach(ctr, cJSON_GetObjectItemCaseSensitive(spec, lists[i]))
        {
            const char *image = json_str(ctr, "image");
            if (!cJSON_GetObjectItemCaseSensitive(ctr, "imagePullPolicy")) {
                const char *slash = image ? strrchr(image, '/') : NULL;
                const char *tag = image ? strchr(slash ? slash : image, ':') : NULL;
                int latest =
                    !image || (strchr(image, '@') == NULL && (!tag || strcmp(tag, ":latest") == 0));
                cJSON_AddStringToObject(ctr, "imagePullPolicy", latest ? "Always" : "IfNotPresent");
            }
            json_default_str(ctr, "terminationMessagePath", "/dev/termination-log");
            json_default_str(ctr, "terminationMessagePolicy", "File");
            if (!cJSON_GetObjectItemCaseSensitive(ctr, "resources"))
                cJSON_AddObjectToObject(ctr, "resources");
        }
    }
    cJSON *status = cJSON_CreateObject();
    cJSON_AddStringToObject(status, "phase", "Pending");
    cJSON_AddStringToObject(status, "qosClass", "BestEffort");
    json_set(pod, "status", status);
}

/* Validation the clients rely on: containers with names and images. Returns a Status or NULL. */
static cJSON *validate_pod(const struct kinds_info *k, const char *name, const cJSON *pod)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *ctrs = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    if (!cJSON_IsArray(ctrs) || cJSON_GetArraySize(ctrs) == 0)
        return status_invalid(k, name, "spec.containers", "FieldValueRequired", "Required value");
    const char *lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        int i = 0;
        const cJSON *ctr;
        cJSON_ArrayForEach(ctr, cJSON_GetObjectItemCaseSensitive(spec, lists[l]))
        {
            char field[96];
            const char *cname = json_str(ctr, "name"), *image = json_str(ctr, "image");
            if (!cname || !*cname) {
                snprintf(field, sizeof field, "spec.%s[%d].name", lists[l], i);
                return status_invalid(k, name, field, "FieldValueRequired", "Required value");
            }
            if (!image || !*image) {
                snprintf(field, sizeof field, "spec.%s[%d].image", lists[l], i);
                return status_invalid(k, name, field, "FieldValueRequired", "Required value");
            }
            i++;
        }
    }
    return NULL;
}

static void default_secret(cJSON *s)
{
    json_default_str(s, "type", "Opaque");
    cJSON *sd = cJSON_GetObjectItemCaseSensitive(s, "stringData");
    if (cJSON_IsObject(sd)) {
        cJSON *data = json_obj(s, "data");
        cJSON *it;
        cJSON_ArrayForEach(it, sd)
        {
            if (!cJSON_IsString(it))
                continue;
            size_t n = strlen(it->valuestring);
            unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);
            if (!b64)
                continue;
            EVP_EncodeBlock(b64, (const unsigned char *)it->valuestring, (int)n);
            json_set(data, it->string, cJSON_CreateString((char *)b64));
            free(b64);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(s, "stringData");
    }
}

static void default_service(struct api *a, cJSON *svc)
{
    cJSON *spec = json_obj(svc, "spec");
    json_default_str(spec, "type", "ClusterIP");
    json_default_str(spec, "sessionAffinity", "None");
    if (!cJSON_GetObjectItemCaseSensitive(spec, "clusterIP")) {
        char ip[32];
        unsigned n = ++a->next_cluster_ip;
        snprintf(ip, sizeof ip, "10.96.%u.%u", (n / 250) % 250, 10 + n % 240);
        cJSON_AddStringToObject(spec, "clusterIP", ip);
        cJSON *ips = cJSON_AddArrayToObject(spec, "clusterIPs");
        cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
    }
    cJSON *port;
    cJSON_ArrayForEach(port, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
    {
        json_default_str(port, "protocol", "TCP");
        if (!cJSON_GetObjectItemCaseSensitive(port, "targetPort")) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(port, "port");
            if (cJSON_IsNumber(p))
                cJSON_AddNumberToObject(port, "targetPort", p->valuedouble);
        }
    }
    if (!cJSON_GetObjectItemCaseSensitive(svc, "status"))
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(svc, "status"), "loadBalancer");
}

static void default_namespace(cJSON *ns, const char *name)
{
    cJSON *labels = json_obj(json_obj(ns, "metadata"), "labels");
    json_set(labels, "kubernetes.io/metadata.name", cJSON_CreateString(name));
    cJSON *spec = json_obj(ns, "spec");
    if (!cJSON_GetObjectItemCaseSensitive(spec, "finalizers")) {
        cJSON *f = cJSON_AddArrayToObject(spec, "finalizers");
        cJSON_AddItemToArray(f, cJSON_CreateString("kubernetes"));
    }
    json_set(json_obj(ns, "status"), "phase", cJSON_CreateString("Active"));
}

/* ---- verbs ---- */

static int namespace_exists(struct api *a, const char *ns)
{
    return store_get(a->store, &kinds_table[KIND_namespaces], "", ns) != NULL;
}

static void handle_access_review(struct conn *c, cJSON *body)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "kind", "SelfSubjectAccessReview");
    cJSON_AddStringToObject(out, "apiVersion", "authorization.k8s.io/v1");
    cJSON *m = cJSON_AddObjectToObject(out, "metadata");
    cJSON_AddItemToObject(m, "creationTimestamp", cJSON_CreateNull());
    cJSON *spec = cJSON_DetachItemFromObjectCaseSensitive(body, "spec");
    cJSON_AddItemToObject(out, "spec", spec ? spec : cJSON_CreateObject());
    cJSON *st = cJSON_AddObjectToObject(out, "status");
    cJSON_AddBoolToObject(st, "allowed", 1);
    cJSON_AddStringToObject(st, "reason", "kubefault allows every request");
    send_owned(c, 201, out, HTTP_CT_JSON);
}

static void handle_create(struct api *a, struct conn *c, struct http_request *req,
                          const struct route *r)
{
    const struct kinds_info *k = r->kind;
    cJSON *obj = decode_body(c, req, 0);
    if (!obj)
        return;
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        fail(c, 400, STATUS_REASON_BADREQUEST, "the body of the request must be a JSON object");
        return;
    }
    if (k->id == KIND_selfsubjectaccessreviews) {
        handle_access_review(c, obj);
        cJSON_Delete(obj);
        return;
    }
    const char *kind = json_str(obj, "kind");
    if (kind && *kind && strcmp(kind, k->kind) != 0) {
        /* the decoder's words (apimachinery runtime.NewNotRegisteredGVKErrForTarget) */
        const char *av = json_str_or(obj, "apiVersion", "");
        fail(c, 400, STATUS_REASON_BADREQUEST,
             "%s in version \"%s\" cannot be handled as a %s: no kind \"%s\" is registered for "
             "version \"%s\" in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
             kind, av, k->kind, kind, av);
        cJSON_Delete(obj);
        return;
    }
    cJSON *meta = json_obj(obj, "metadata");
    const char *bns = json_str(meta, "namespace");
    if (k->namespaced && bns && *bns && strcmp(bns, r->namespace) != 0) {
        cJSON_Delete(obj);
        fail(c, 400, STATUS_REASON_BADREQUEST,
             "the namespace of the provided object does not match the namespace sent on the "
             "request");
        return;
    }
    if (k->namespaced && !namespace_exists(a, r->namespace)) {
        cJSON_Delete(obj);
        api_send_status(c, status_not_found(&kinds_table[KIND_namespaces], r->namespace));
        return;
    }
    const char *name = json_str(meta, "name");
    const char *gen = json_str(meta, "generateName");
    char generated[300];
    if ((!name || !*name) && gen && *gen) {
        char suffix[API_GENERATE_SUFFIX_LEN + 1];
        snprintf(generated, sizeof generated, "%.*s%s", 58, gen,
                 rng_name_suffix(a->rng, suffix, API_GENERATE_SUFFIX_LEN));
        json_set(meta, "name", cJSON_CreateString(generated));
        name = json_str(meta, "name");
    }
    if (!name || !*name) {
        cJSON_Delete(obj);
        api_send_status(c, status_invalid(k, "", "metadata.name", "FieldValueRequired",
                                          "Required value: name or generateName is required"));
        return;
    }
    if (!valid_subdomain(name)) {
        char detail[600];
        snprintf(detail, sizeof detail,
                 "Invalid value: \"%s\": a lowercase RFC 1123 subdomain must consist of lower case "
                 "alphanumeric characters, '-' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                 name);
        cJSON *st = status_invalid(k, name, "metadata.name", "FieldValueInvalid", detail);
        cJSON_Delete(obj);
        api_send_status(c, st);
        return;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "uid");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "creationTimestamp");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionTimestamp");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionGracePeriodSeconds");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "selfLink");
    switch (k->id) {
    case KIND_pods: {
        cJSON *st = validate_pod(k, name, obj);
        if (st) {
            cJSON_Delete(obj);
            api_send_status(c, st);
            return;
        }
        default_pod(obj);
        break;
    }
    case KIND_secrets:
        default_secret(obj);
        break;
    case KIND_services:
        default_service(a, obj);
        break;
    case KIND_namespaces:
        default_namespace(obj, name);
        break;
    default:
        break;
    }
    char name_copy[300];
    snprintf(name_copy, sizeof name_copy, "%s", name);
    if (store_get(a->store, k, r->namespace, name_copy)) {
        cJSON_Delete(obj);
        api_send_status(c, status_already_exists(k, name_copy));
        return;
    }
    if (http_request_param(req, "dryRun")) {
        send_owned(c, 201, obj, HTTP_CT_JSON);
        return;
    }
    const cJSON *stored = NULL;
    if (store_create(a->store, k, r->namespace, obj, &stored) < 0) {
        api_send_status(c, status_already_exists(k, name_copy));
        return;
    }
    if (k->id == KIND_namespaces) {
        cJSON *sa = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(sa, "metadata"), "name", "default");
        store_create(a->store, &kinds_table[KIND_serviceaccounts], name_copy, sa, NULL);
        stored = store_get(a->store, k, "", name_copy);
    }
    send_json(c, 201, stored, HTTP_CT_JSON);
}

static void handle_get(struct api *a, struct conn *c, struct http_request *req,
                       const struct route *r)
{
    const cJSON *obj = store_get(a->store, r->kind, r->namespace, r->name);
    if (!obj) {
        api_send_status(c, status_not_found(r->kind, r->name));
        return;
    }
    const char *accept = http_request_header(req, "Accept");
    if (accept && table_wanted(accept)) {
        char rv[32];
        snprintf(rv, sizeof rv, "%lld", (long long)store_obj_rv(obj));
        cJSON *t = table_from_object(r->kind, obj, rv, clock_wall_ns() / 1000000000, 1);
        if (t) {
            send_owned(c, 200, t, TABLE_CONTENT_TYPE);
            return;
        }
    }
    /* polled objects (a runner waiting for its pod) are printed once per change, not per GET */
    size_t len;
    const char *text = store_obj_text(a->store, r->kind, obj, &len);
    if (text)
        conn_respond(c, 200, HTTP_CT_JSON, NULL, text, len);
    else
        send_json(c, 200, obj, HTTP_CT_JSON);
}

/* Selectors from the query; NULL selectors mean "everything". Returns -1 after answering 400. */
static int parse_selectors(struct conn *c, const struct http_request *req,
                           const struct kinds_info *k, struct ksel **labels, struct ksel **fields)
{
    char err[512];
    const char *ls = http_request_param(req, "labelSelector");
    const char *fs = http_request_param(req, "fieldSelector");
    *labels = *fields = NULL;
    if (ls && *ls && !(*labels = ksel_parse_labels(ls, err, sizeof err))) {
        fail(c, 400, STATUS_REASON_BADREQUEST, "%s", err);
        return -1;
    }
    if (fs && *fs && !(*fields = ksel_parse_fields(fs, k->kind, err, sizeof err))) {
        ksel_free(*labels);
        *labels = NULL;
        fail(c, 400, STATUS_REASON_BADREQUEST, "%s", err);
        return -1;
    }
    return 0;
}

/* Continue tokens: base64 of "<rv>/<namespace>/<name>" of the last item sent. */
static int decode_continue(const char *tok, char *key, size_t keylen)
{
    size_t n = strlen(tok);
    if (n == 0 || n > 2048 || n % 4)
        return -1;
    unsigned char buf[2048];
    int out = EVP_DecodeBlock(buf, (const unsigned char *)tok, (int)n);
    if (out < 0)
        return -1;
    while (out > 0 && n > 0 && tok[--n] == '=')
        out--;
    buf[out] = '\0';
    const char *slash = strchr((char *)buf, '/');
    if (!slash || strlen(slash + 1) >= keylen)
        return -1;
    snprintf(key, keylen, "%s", slash + 1);
    return 0;
}

/* One page of a list being built: the items the selectors pick, up to limit. */
struct list_page {
    struct ksel *labels, *fields;
    long long limit, sent;
    cJSON *items;
    const cJSON *last; /* the last item added */
    int more;          /* an item beyond the limit matched */
};

static int on_list_item(void *arg, const cJSON *obj)
{
    struct list_page *p = arg;
    if (!ksel_match(p->labels, obj) || !ksel_match(p->fields, obj))
        return 0;
    if (p->sent == p->limit) {
        p->more = 1;
        return 1;
    }
    cJSON_AddItemToArray(p->items, cJSON_CreateObjectReference(obj->child));
    p->last = obj;
    p->sent++;
    return 0;
}

static void handle_list(struct api *a, struct conn *c, struct http_request *req,
                        const struct route *r)
{
    const struct kinds_info *k = r->kind;
    struct ksel *labels, *fields;
    if (parse_selectors(c, req, k, &labels, &fields) < 0)
        return;
    long long limit = param_int(req, "limit");
    if (limit == -2) {
        ksel_free(labels);
        ksel_free(fields);
        fail(c, 400, STATUS_REASON_BADREQUEST, "invalid limit: %s",
             http_request_param(req, "limit"));
        return;
    }
    if (limit <= 0 || limit > API_MAX_LIST_LIMIT)
        limit = API_MAX_LIST_LIMIT;
    char start[600] = "";
    const char *cont = http_request_param(req, "continue");
    if (cont && *cont && decode_continue(cont, start, sizeof start) < 0) {
        ksel_free(labels);
        ksel_free(fields);
        fail(c, 400, STATUS_REASON_BADREQUEST,
             "continue key is not valid: incorrect encoded start resourceVersion (version "
             "meta.k8s.io/v1)");
        return;
    }
    char rv[32], av[64], listkind[96];
    snprintf(rv, sizeof rv, "%lld", (long long)store_resource_version(a->store));
    cJSON *list = cJSON_CreateObject();
    snprintf(listkind, sizeof listkind, "%sList", k->kind);
    cJSON_AddStringToObject(list, "kind", listkind);
    cJSON_AddStringToObject(list, "apiVersion", kinds_api_version(k, av, sizeof av));
    cJSON *meta = cJSON_AddObjectToObject(list, "metadata");
    cJSON_AddStringToObject(meta, "resourceVersion", rv);
    cJSON *arr = cJSON_AddArrayToObject(list, "items");
    struct list_page page = {labels, fields, limit, 0, arr, NULL, 0};
    store_walk(a->store, k, r->namespace, start[0] ? start : NULL, on_list_item, &page);
    const cJSON *last = page.last;
    int more = page.more;
    if (more && last) {
        char raw[600];
        unsigned char b64[820];
        int len = snprintf(raw, sizeof raw, "%s/%s/%s", rv, store_obj_namespace(last),
                           store_obj_name(last));
        EVP_EncodeBlock(b64, (const unsigned char *)raw, len < (int)sizeof raw ? len : 0);
        cJSON_AddStringToObject(meta, "continue", (char *)b64);
    }
    const char *accept = http_request_header(req, "Accept");
    if (accept && table_wanted(accept)) {
        cJSON *t = table_from_list(k, arr, rv, clock_wall_ns() / 1000000000, 1);
        if (t) {
            if (more)
                cJSON_AddStringToObject(json_obj(t, "metadata"), "continue",
                                        json_str(meta, "continue"));
            send_owned(c, 200, t, TABLE_CONTENT_TYPE);
            cJSON_Delete(list);
            ksel_free(labels);
            ksel_free(fields);
            return;
        }
    }
    send_owned(c, 200, list, HTTP_CT_JSON);
    ksel_free(labels);
    ksel_free(fields);
}

static void handle_watch(struct api *a, struct conn *c, struct http_request *req,
                         const struct route *r)
{
    struct watch_opts o;
    memset(&o, 0, sizeof o);
    o.kind = r->kind;
    o.namespace = r->namespace;
    if (parse_selectors(c, req, r->kind, &o.labels, &o.fields) < 0)
        return;
    if (r->name[0]) {
        /* GET .../pods/NAME?watch=true (deprecated form): a watch on that one name */
        char fs[300], err[256];
        snprintf(fs, sizeof fs, "metadata.name=%s", r->name);
        ksel_free(o.fields);
        o.fields = ksel_parse_fields(fs, r->kind->kind, err, sizeof err);
    }
    const char *rvs = http_request_param(req, "resourceVersion");
    const char *match = http_request_param(req, "resourceVersionMatch");
    long long timeout = param_int(req, "timeoutSeconds");
    o.bookmarks = param_true(req, "allowWatchBookmarks");
    if (param_true(req, "sendInitialEvents")) {
        if (!match || strcmp(match, "NotOlderThan") != 0) {
            ksel_free(o.labels);
            ksel_free(o.fields);
            api_send_status(c, status_invalid_kind("ListOptions", "meta.k8s.io", "",
                                                   "resourceVersionMatch", "FieldValueForbidden",
                                                   "Forbidden: sendInitialEvents requires setting "
                                                   "resourceVersionMatch to NotOlderThan"));
            return;
        }
        if (!o.bookmarks) {
            ksel_free(o.labels);
            ksel_free(o.fields);
            api_send_status(c, status_invalid_kind("ListOptions", "meta.k8s.io", "",
                                                   "allowWatchBookmarks", "FieldValueRequired",
                                                   "Required value: allowWatchBookmarks must be "
                                                   "set to true when sendInitialEvents is true"));
            return;
        }
        o.initial = 1;
        o.initial_end_bookmark = 1;
    } else if (!rvs || !*rvs || strcmp(rvs, "0") == 0) {
        o.initial = 1;
    } else {
        char *end;
        errno = 0;
        o.since_rv = strtoll(rvs, &end, 10);
        if (errno || *end || o.since_rv < 0) {
            ksel_free(o.labels);
            ksel_free(o.fields);
            fail(c, 400, STATUS_REASON_BADREQUEST, "invalid resource version: %s", rvs);
            return;
        }
    }
    o.timeout_ms = timeout > 0 ? timeout * 1000 : 0;
    const char *accept = http_request_header(req, "Accept");
    o.table = accept && table_wanted(accept);
    watch_start(a->watches, c, &o);
}

/* Keep what a client may not change through PUT or PATCH of the main resource. */
static void keep_system_fields(cJSON *updated, const cJSON *old, const struct route *r)
{
    cJSON *m = json_obj(updated, "metadata");
    const cJSON *om = cJSON_GetObjectItemCaseSensitive(old, "metadata");
    static const char *const keep[] = {"name",
                                       "namespace",
                                       "uid",
                                       "creationTimestamp",
                                       "deletionTimestamp",
                                       "deletionGracePeriodSeconds"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(om, keep[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(m, keep[i]);
        if (v)
            cJSON_AddItemToObject(m, keep[i], cJSON_Duplicate(v, 1));
    }
    const cJSON *ost = cJSON_GetObjectItemCaseSensitive(old, "status");
    if (strcmp(r->subresource, "status") == 0) {
        /* status subresource: everything but status stays */
        cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(updated, "status");
        cJSON *spec = cJSON_GetObjectItemCaseSensitive(old, "spec");
        cJSON_DeleteItemFromObjectCaseSensitive(updated, "spec");
        if (spec)
            cJSON_AddItemToObject(updated, "spec", cJSON_Duplicate(spec, 1));
        if (st)
            cJSON_AddItemToObject(updated, "status", st);
    } else if (r->kind->id == KIND_pods || r->kind->id == KIND_namespaces ||
               r->kind->id == KIND_services || r->kind->id == KIND_nodes ||
               r->kind->id == KIND_poddisruptionbudgets) {
        cJSON_DeleteItemFromObjectCaseSensitive(updated, "status");
        if (ost)
            cJSON_AddItemToObject(updated, "status", cJSON_Duplicate(ost, 1));
    }
}

static void handle_update(struct api *a, struct conn *c, struct http_request *req,
                          const struct route *r)
{
    cJSON *obj = decode_body(c, req, 0);
    if (!obj)
        return;
    const cJSON *old = store_get(a->store, r->kind, r->namespace, r->name);
    const char *bname = json_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        fail(c, 400, STATUS_REASON_BADREQUEST, "the body of the request must be a JSON object");
        return;
    }
    if (bname && strcmp(bname, r->name) != 0) {
        fail(c, 400, STATUS_REASON_BADREQUEST,
             "the name of the object (%s) does not match the name on the URL (%s)", bname, r->name);
        cJSON_Delete(obj);
        return;
    }
    if (!old) {
        cJSON_Delete(obj);
        api_send_status(c, status_not_found(r->kind, r->name));
        return;
    }
    const char *brv =
        json_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
    if (brv && *brv && strtoll(brv, NULL, 10) != store_obj_rv(old)) {
        cJSON_Delete(obj);
        api_send_status(c, status_conflict(r->kind, r->name));
        return;
    }
    keep_system_fields(obj, old, r);
    if (r->kind->id == KIND_secrets)
        default_secret(obj);
    if (http_request_param(req, "dryRun")) {
        send_owned(c, 200, obj, HTTP_CT_JSON);
        return;
    }
    const cJSON *stored = NULL;
    if (store_replace(a->store, r->kind, obj, &stored) < 0) {
        api_send_status(c, status_not_found(r->kind, r->name));
        return;
    }
    send_json(c, 200, stored, HTTP_CT_JSON);
}

/* A failed patch answered as kube-apiserver answers it (see enum kpatch_status). */
static void send_patch_error(struct conn *c, int rc, const char *err)
{
    switch (rc) {
    case KPATCH_EINVALID: {
        cJSON *st = status_new(422, STATUS_REASON_INVALID, KPATCH_INVALID_MESSAGE);
        cJSON *causes = cJSON_AddArrayToObject(json_obj(st, "details"), "causes");
        cJSON *cause = cJSON_CreateObject();
        cJSON_AddStringToObject(cause, "reason", "UnexpectedServerResponse");
        cJSON_AddStringToObject(cause, "message", err);
        cJSON_AddItemToArray(causes, cause);
        api_send_status(c, st);
        return;
    }
    case KPATCH_ETOOLARGE:
        fail(c, 413, STATUS_REASON_TOOLARGE, "Request entity too large: %s", err);
        return;
    case KPATCH_EINTERNAL:
        api_send_status(c, status_new(500, NULL, err));
        return;
    default:
        fail(c, 400, STATUS_REASON_BADREQUEST, "%s", err);
        return;
    }
}

static void handle_patch(struct api *a, struct conn *c, struct http_request *req,
                         const struct route *r)
{
    char mt[128], err[512];
    media_type(http_request_header(req, "Content-Type"), mt, sizeof mt);
    int apply = strcmp(mt, HTTP_CT_APPLY_PATCH) == 0;
    if (strcmp(mt, HTTP_CT_MERGE_PATCH) != 0 && strcmp(mt, HTTP_CT_JSON_PATCH) != 0 &&
        strcmp(mt, HTTP_CT_STRATEGIC_PATCH) != 0 && !apply) {
        fail(c, 415, STATUS_REASON_UNSUPPORTEDMEDIA,
             "the body of the request was in an unknown format - accepted media types include: "
             "application/json-patch+json, application/merge-patch+json, "
             "application/apply-patch+yaml, application/strategic-merge-patch+json");
        return;
    }
    cJSON *patch = decode_body(c, req, 0);
    if (!patch)
        return;
    const cJSON *old = store_get(a->store, r->kind, r->namespace, r->name);
    if (!old && apply) {
        /* server-side apply creates what does not exist */
        struct route cr = *r;
        cr.name[0] = '\0';
        cJSON_Delete(patch);
        handle_create(a, c, req, &cr);
        return;
    }
    if (!old) {
        cJSON_Delete(patch);
        api_send_status(c, status_not_found(r->kind, r->name));
        return;
    }
    cJSON *obj = cJSON_Duplicate(old, 1);
    int rc;
    if (strcmp(mt, HTTP_CT_JSON_PATCH) == 0)
        rc = kpatch_json(obj, patch, err, sizeof err);
    else if (strcmp(mt, HTTP_CT_STRATEGIC_PATCH) == 0)
        rc = kpatch_strategic(obj, patch, r->kind->kind, err, sizeof err);
    else
        rc = kpatch_merge(obj, patch, err, sizeof err);
    cJSON_Delete(patch);
    if (rc < 0) {
        cJSON_Delete(obj);
        send_patch_error(c, rc, err);
        return;
    }
    const char *brv =
        json_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
    if (brv && *brv && strtoll(brv, NULL, 10) != store_obj_rv(old)) {
        cJSON_Delete(obj);
        api_send_status(c, status_conflict(r->kind, r->name));
        return;
    }
    keep_system_fields(obj, old, r);
    cJSON_DeleteItemFromObjectCaseSensitive(json_obj(obj, "metadata"), "resourceVersion");
    cJSON *m = json_obj(obj, "metadata");
    cJSON_AddStringToObject(
        m, "resourceVersion",
        json_str(cJSON_GetObjectItemCaseSensitive(old, "metadata"), "resourceVersion"));
    if (cJSON_Compare(obj, old, 1) || http_request_param(req, "dryRun")) {
        /* no change: the apiserver answers with the object and writes nothing */
        send_owned(c, 200, obj, HTTP_CT_JSON);
        return;
    }
    const cJSON *stored = NULL;
    if (store_replace(a->store, r->kind, obj, &stored) < 0) {
        api_send_status(c, status_not_found(r->kind, r->name));
        return;
    }
    send_json(c, 200, stored, HTTP_CT_JSON);
}

struct delete_opts {
    long long grace; /* -1: not given */
    char uid[64];
    char rv[32];
    int dry_run;
};

static int parse_delete_opts(struct conn *c, const struct http_request *req, struct delete_opts *o)
{
    memset(o, 0, sizeof *o);
    o->grace = param_int(req, "gracePeriodSeconds");
    o->dry_run = http_request_param(req, "dryRun") != NULL;
    if (o->grace == -2) {
        fail(c, 400, STATUS_REASON_BADREQUEST, "invalid gracePeriodSeconds: %s",
             http_request_param(req, "gracePeriodSeconds"));
        return -1;
    }
    if (req->body_len == 0)
        return 0;
    cJSON *body = decode_body(c, req, 1);
    if (!body)
        return -1;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(body, "gracePeriodSeconds");
    int64_t grace;
    int got = json_int(g, -JSON_INT_MAX, JSON_INT_MAX, &grace);
    if (got < 0) { /* an int64 in kube: a fraction or a huge number does not decode */
        fail(c, 400, STATUS_REASON_BADREQUEST, "invalid gracePeriodSeconds: %g", g->valuedouble);
        cJSON_Delete(body);
        return -1;
    }
    if (got > 0)
        o->grace = grace < 0 ? 0 : (long long)grace;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(body, "preconditions");
    if (json_str(pre, "uid"))
        snprintf(o->uid, sizeof o->uid, "%s", json_str(pre, "uid"));
    if (json_str(pre, "resourceVersion"))
        snprintf(o->rv, sizeof o->rv, "%s", json_str(pre, "resourceVersion"));
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "dryRun")) > 0)
        o->dry_run = 1;
    cJSON_Delete(body);
    return 0;
}

/* Delete one object per the options; answers unless quiet. Returns 0 when deleted or marked. */
static int delete_one(struct api *a, struct conn *c, const struct route *r, const char *ns,
                      const char *name, const struct delete_opts *o, cJSON *collect)
{
    const struct kinds_info *k = r->kind;
    const cJSON *old = store_get(a->store, k, ns, name);
    if (!old) {
        if (c)
            api_send_status(c, status_not_found(k, name));
        return -1;
    }
    const cJSON *om = cJSON_GetObjectItemCaseSensitive(old, "metadata");
    char detail[512] = "";
    if (o->uid[0] && strcmp(o->uid, json_str_or(om, "uid", "")) != 0)
        snprintf(detail, sizeof detail,
                 "Precondition failed: UID in precondition: %s, UID in object meta: %s", o->uid,
                 json_str_or(om, "uid", ""));
    else if (o->rv[0] && strcmp(o->rv, json_str_or(om, "resourceVersion", "")) != 0)
        snprintf(detail, sizeof detail,
                 "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in "
                 "object meta: %s",
                 o->rv, json_str_or(om, "resourceVersion", ""));
    if (detail[0]) {
        /* the storage layer's words, wrapped in a Conflict as the apiserver wraps them */
        char q[128], key[600];
        status_qualified(k, q, sizeof q);
        if (k->namespaced)
            snprintf(key, sizeof key, "/registry/%s/%s/%s", k->resource, ns, name);
        else
            snprintf(key, sizeof key, "/registry/%s/%s", k->resource, name);
        if (c) {
            cJSON *st = NULL;
            char msg[1400];
            snprintf(msg, sizeof msg,
                     "Operation cannot be fulfilled on %s \"%s\": StorageError: invalid object, "
                     "Code: 4, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: %s",
                     q, name, key, detail);
            st = status_new(409, STATUS_REASON_CONFLICT, msg);
            if (st)
                status_set_details(st, name, k);
            api_send_status(c, st);
        }
        return -1;
    }
    if (o->dry_run) {
        if (c)
            send_json(c, 200, old, HTTP_CT_JSON);
        return 0;
    }
    long long grace = 0;
    int graceful = 0;
    if (k->id == KIND_pods) {
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(old, "spec");
        const cJSON *tg = cJSON_GetObjectItemCaseSensitive(spec, "terminationGracePeriodSeconds");
        grace = o->grace >= 0        ? o->grace
                : cJSON_IsNumber(tg) ? (long long)json_int_clamp(tg, 0, CLUSTER_MAX_GRACE_S, 0)
                                     : API_DEFAULT_POD_GRACE_S;
        const char *node = json_str(spec, "nodeName");
        graceful = grace > 0 && node && *node; /* unscheduled pods go at once, as in kube */
    } else if (k->id == KIND_namespaces) {
        graceful = 1;
    }
    if (graceful) {
        if (cJSON_GetObjectItemCaseSensitive(om, "deletionTimestamp")) {
            if (c)
                send_json(c, 200, old, HTTP_CT_JSON);
            if (collect)
                cJSON_AddItemToArray(collect, cJSON_Duplicate(old, 1));
            return 0;
        }
        char ts[32];
        cJSON *obj = cJSON_Duplicate(old, 1);
        cJSON *m = json_obj(obj, "metadata");
        json_set(
            m, "deletionTimestamp",
            cJSON_CreateString(clock_rfc3339(clock_wall_ns() / 1000000000 + grace, ts, sizeof ts)));
        if (k->id == KIND_pods)
            json_set(m, "deletionGracePeriodSeconds", cJSON_CreateNumber((double)grace));
        else
            json_set(json_obj(obj, "status"), "phase", cJSON_CreateString("Terminating"));
        const cJSON *stored = NULL;
        if (store_replace(a->store, k, obj, &stored) < 0)
            return -1;
        if (c)
            send_json(c, 200, stored, HTTP_CT_JSON);
        if (collect)
            cJSON_AddItemToArray(collect, cJSON_Duplicate(stored, 1));
        if (k->id == KIND_pods)
            cluster_pod_deleting(a->cluster, ns, name, grace);
        else
            cluster_namespace_deleting(a->cluster, name);
        return 0;
    }
    cJSON *last = cJSON_Duplicate(old, 1);
    store_remove(a->store, k, ns, name);
    if (c)
        send_json(c, 200, last, HTTP_CT_JSON);
    if (collect)
        cJSON_AddItemToArray(collect, last);
    else
        cJSON_Delete(last);
    return 0;
}

static void handle_delete(struct api *a, struct conn *c, struct http_request *req,
                          const struct route *r)
{
    struct delete_opts o;
    if (parse_delete_opts(c, req, &o) < 0)
        return;
    delete_one(a, c, r, r->namespace, r->name, &o, NULL);
}

static void handle_delete_collection(struct api *a, struct conn *c, struct http_request *req,
                                     const struct route *r)
{
    struct delete_opts o;
    struct ksel *labels, *fields;
    if (parse_delete_opts(c, req, &o) < 0)
        return;
    if (parse_selectors(c, req, r->kind, &labels, &fields) < 0)
        return;
    size_t n;
    const cJSON **items = store_list(a->store, r->kind, r->namespace, &n);
    char(*names)[2][256] = n ? calloc(n, sizeof *names) : NULL;
    size_t m = 0;
    for (size_t i = 0; i < n && names; i++)
        if (ksel_match(labels, items[i]) && ksel_match(fields, items[i])) {
            snprintf(names[m][0], 256, "%s", store_obj_namespace(items[i]));
            snprintf(names[m][1], 256, "%s", store_obj_name(items[i]));
            m++;
        }
    free(items);
    ksel_free(labels);
    ksel_free(fields);
    char av[64], listkind[96], rv[32];
    cJSON *list = cJSON_CreateObject();
    snprintf(listkind, sizeof listkind, "%sList", r->kind->kind);
    cJSON_AddStringToObject(list, "kind", listkind);
    cJSON_AddStringToObject(list, "apiVersion", kinds_api_version(r->kind, av, sizeof av));
    cJSON *meta = cJSON_AddObjectToObject(list, "metadata");
    cJSON *arr = cJSON_AddArrayToObject(list, "items");
    for (size_t i = 0; i < m; i++)
        delete_one(a, NULL, r, names[i][0], names[i][1], &o, arr);
    free(names);
    snprintf(rv, sizeof rv, "%lld", (long long)store_resource_version(a->store));
    cJSON_AddStringToObject(meta, "resourceVersion", rv);
    send_owned(c, 200, list, HTTP_CT_JSON);
}

/* ---- pods/log ---- */

struct log_stream {
    struct api *api;
    struct conn *conn;
    uint64_t follow;
    int timestamps;
};

/* One log line as a chunk, with the RFC 3339 nano stamp when asked. -1 when the connection is
 * gone (see conn.h). */
static int write_log_line(struct conn *c, int timestamps, const char *data, size_t len,
                          int64_t stamp_ns)
{
    char prefix[48];
    size_t plen = 0;
    if (timestamps) {
        time_t t = (time_t)(stamp_ns / 1000000000);
        struct tm tm;
        char base[32];
        gmtime_r(&t, &tm);
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        plen = (size_t)snprintf(prefix, sizeof prefix, "%s.%09lldZ ", base,
                                (long long)(stamp_ns % 1000000000));
    }
    char *buf = malloc(plen + len);
    if (!buf)
        return 0;
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, data, len);
    int r = conn_stream_write(c, buf, plen + len);
    free(buf);
    return r;
}

static void on_log_follow(void *arg, const char *data, size_t len, int64_t stamp_ns)
{
    struct log_stream *ls = arg;
    if (!data) { /* the pod is gone: end the stream */
        struct conn *c = ls->conn;
        conn_set_close_cb(c, NULL, NULL);
        free(ls);
        conn_stream_end(c);
        return;
    }
    if (write_log_line(ls->conn, ls->timestamps, data, len, stamp_ns) < 0)
        return; /* the connection went: on_log_conn_close freed ls */
    size_t pending = conn_pending_bytes(ls->conn);
    if (pending > API_MAX_LOG_PENDING_BYTES) {
        struct conn *c = ls->conn;
        log_warn("log -f from %s: client too slow (%zu bytes unsent, the limit is %d): closing its "
                 "connection",
                 conn_peer(c), pending, API_MAX_LOG_PENDING_BYTES);
        conn_set_close_cb(c, NULL, NULL);
        cluster_log_unfollow(ls->api->cluster, ls->follow); /* ours: cluster steps past it */
        free(ls);
        conn_abort(c);
    }
}

static void on_log_conn_close(void *arg, struct conn *c)
{
    (void)c;
    struct log_stream *ls = arg;
    cluster_log_unfollow(ls->api->cluster, ls->follow);
    free(ls);
}

struct log_collect {
    struct evbuf_lines {
        char **data;
        size_t *len;
        int64_t *stamp;
        size_t n, cap;
    } lines;
};

static void on_log_line(void *arg, const char *data, size_t len, int64_t stamp_ns)
{
    struct log_collect *lc = arg;
    struct evbuf_lines *l = &lc->lines;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **d = realloc(l->data, cap * sizeof *d);
        if (d)
            l->data = d;
        size_t *ln = realloc(l->len, cap * sizeof *ln);
        if (ln)
            l->len = ln;
        int64_t *st = realloc(l->stamp, cap * sizeof *st);
        if (st)
            l->stamp = st;
        if (!d || !ln || !st)
            return;
        l->cap = cap;
    }
    l->data[l->n] = (char *)data;
    l->len[l->n] = len;
    l->stamp[l->n] = stamp_ns;
    l->n++;
}

static void handle_log(struct api *a, struct conn *c, struct http_request *req,
                       const struct route *r)
{
    const cJSON *pod = store_get(a->store, r->kind, r->namespace, r->name);
    if (!pod) {
        api_send_status(c, status_not_found(r->kind, r->name));
        return;
    }
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *ctrs = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    const char *container = http_request_param(req, "container");
    if (!container || !*container) {
        if (cJSON_GetArraySize(ctrs) != 1) {
            char names[512] = "";
            size_t n = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, ctrs)
            {
                int w = snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "",
                                 json_str(it, "name") ? json_str(it, "name") : "");
                if (w > 0 && (size_t)w < sizeof names - n)
                    n += (size_t)w;
            }
            fail(c, 400, STATUS_REASON_BADREQUEST,
                 "a container name must be specified for pod %s, choose one of: [%s]", r->name,
                 names);
            return;
        }
        container = json_str(cJSON_GetArrayItem(ctrs, 0), "name");
    }
    /* an unscheduled pod has no kubelet to ask: the apiserver answers 204 No Content */
    const char *node = json_str(spec, "nodeName");
    if (!node || !*node) {
        int known = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, ctrs) known |= strcmp(json_str_or(it, "name", ""), container) == 0;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "initContainers")) known |=
            strcmp(json_str_or(it, "name", ""), container) == 0;
        if (known)
            conn_respond(c, 204, NULL, NULL, "", 0);
        else
            fail(c, 400, STATUS_REASON_BADREQUEST, "container %s is not valid for pod %s",
                 container, r->name);
        return;
    }
    /* a container that has not started answers as the kubelet does */
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
    const char *lists[] = {"containerStatuses", "initContainerStatuses"};
    int found = 0;
    for (size_t l = 0; l < 2 && !found; l++) {
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, lists[l]))
        {
            if (!json_str(cs, "name") || strcmp(json_str(cs, "name"), container) != 0)
                continue;
            found = 1;
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cs, "state"), "waiting");
            if (w) {
                /* the kubelet's words (validateContainerLogStatus) for the common reasons */
                const char *reason = json_str_or(w, "reason", "ContainerCreating");
                const char *why = strcmp(reason, "ErrImagePull") == 0 ? "image can't be pulled"
                                  : strcmp(reason, "ImagePullBackOff") == 0
                                      ? "trying and failing to pull image"
                                      : reason;
                fail(c, 400, STATUS_REASON_BADREQUEST,
                     "container \"%s\" in pod \"%s\" is waiting to start: %s", container, r->name,
                     why);
                return;
            }
        }
    }
    struct log_collect lc;
    memset(&lc, 0, sizeof lc);
    if (!found ||
        cluster_log_read(a->cluster, r->namespace, r->name, container, on_log_line, &lc) < 0) {
        fail(c, 400, STATUS_REASON_BADREQUEST, "container %s is not valid for pod %s", container,
             r->name);
        free(lc.lines.data);
        free(lc.lines.len);
        free(lc.lines.stamp);
        return;
    }
    long long tail = param_int(req, "tailLines");
    size_t first = 0;
    if (tail >= 0 && (size_t)tail < lc.lines.n)
        first = lc.lines.n - (size_t)tail;
    int timestamps = param_true(req, "timestamps");
    int gone = conn_stream_begin(c, 200, HTTP_CT_TEXT, NULL) < 0;
    for (size_t i = first; i < lc.lines.n && !gone; i++)
        gone =
            write_log_line(c, timestamps, lc.lines.data[i], lc.lines.len[i], lc.lines.stamp[i]) < 0;
    free(lc.lines.data);
    free(lc.lines.len);
    free(lc.lines.stamp);
    if (gone)
        return;
    if (!param_true(req, "follow")) {
        conn_stream_end(c);
        return;
    }
    struct log_stream *ls = calloc(1, sizeof *ls);
    if (!ls) {
        conn_stream_end(c);
        return;
    }
    ls->api = a;
    ls->conn = c;
    ls->timestamps = timestamps;
    ls->follow =
        cluster_log_follow(a->cluster, r->namespace, r->name, container, on_log_follow, ls);
    if (!ls->follow) {
        free(ls);
        conn_stream_end(c);
        return;
    }
    conn_set_close_cb(c, on_log_conn_close, ls);
}

/* ---- exec and attach ---- */

/* 1 when the pod spec has a container (or init or ephemeral container) of that name. */
static int pod_has_container(const cJSON *spec, const char *name)
{
    static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, lists[l]))
        {
            if (strcmp(json_str_or(it, "name", ""), name) == 0)
                return 1;
        }
    }
    return 0;
}

/* 1 when the container's status says running. */
static int container_running(const cJSON *pod, const char *name)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
    static const char *const lists[] = {"containerStatuses", "initContainerStatuses",
                                        "ephemeralContainerStatuses"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, lists[l]))
        {
            if (strcmp(json_str_or(cs, "name", ""), name) != 0)
                continue;
            return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cs, "state"),
                                                    "running") != NULL;
        }
    }
    return 0;
}

/* pods/exec and pods/attach: the apiserver's checks (registry/core/pod streamLocation), the
 * kubelet's (a container that is not running), then the upgrade to WebSocket or SPDY. */
static void handle_remotecmd(struct api *a, struct conn *c, struct http_request *req,
                             const struct route *r, int attach)
{
    const cJSON *pod = store_get(a->store, r->kind, r->namespace, r->name);
    if (!pod) {
        api_send_status(c, status_not_found(r->kind, r->name));
        return;
    }
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *ctrs = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    const char *container = http_request_param(req, "container");
    if (!container || !*container) {
        if (cJSON_GetArraySize(ctrs) != 1) {
            char names[512] = "";
            size_t n = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, ctrs)
            {
                int w = snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "",
                                 json_str_or(it, "name", ""));
                if (w > 0 && (size_t)w < sizeof names - n)
                    n += (size_t)w;
            }
            fail(c, 400, STATUS_REASON_BADREQUEST,
                 "a container name must be specified for pod %s, choose one of: [%s]", r->name,
                 names);
            return;
        }
        container = json_str_or(cJSON_GetArrayItem(ctrs, 0), "name", "");
    }
    if (!pod_has_container(spec, container)) {
        fail(c, 400, STATUS_REASON_BADREQUEST, "container %s is not valid for pod %s", container,
             r->name);
        return;
    }
    const char *node = json_str(spec, "nodeName");
    if (!node || !*node) {
        fail(c, 400, STATUS_REASON_BADREQUEST, "pod %s does not have a host assigned", r->name);
        return;
    }
    struct rcs_opts o;
    memset(&o, 0, sizeof o);
    const char *argv[RCS_MAX_ARGS];
    o.attach = attach;
    o.argv = argv;
    if (!attach) {
        o.argc = http_request_params(req, "command", argv, RCS_MAX_ARGS);
        if (o.argc == 0) {
            fail(c, 400, STATUS_REASON_BADREQUEST, "you must specify at least 1 command");
            return;
        }
    }
    o.want[RCS_STDIN] = param_true(req, "stdin");
    o.want[RCS_STDOUT] = param_true(req, "stdout");
    o.want[RCS_STDERR] = param_true(req, "stderr");
    o.want[RCS_ERROR] = 1;
    o.tty = param_true(req, "tty");
    o.base = cluster_event_base(a->cluster);
    o.want[RCS_RESIZE] = o.tty;
    if (!o.want[RCS_STDIN] && !o.want[RCS_STDOUT] && !o.want[RCS_STDERR]) {
        fail(c, 400, STATUS_REASON_BADREQUEST,
             "you must specify at least 1 of stdin, stdout, stderr");
        return;
    }
    if (o.tty) /* the kubelet: "exec with tty and stderr is not supported, bypassing stderr";
                  client-go opens no stderr stream then */
        o.want[RCS_STDERR] = 0;

    if (!container_running(pod, container)) {
        /* the kubelet's answer, passed through by the apiserver's upgrade proxy as it is */
        char body[300];
        int n = snprintf(body, sizeof body, "container not found (\"%s\")", container);
        conn_respond(c, 404, HTTP_CT_TEXT, NULL, body,
                     n < 0                     ? 0
                     : (size_t)n < sizeof body ? (size_t)n
                                               : sizeof body - 1);
        return;
    }
    if (remotecmd_is_websocket(req) || remotecmd_is_spdy(req))
        ctr_remotecmd(a->containers, c, req, r, pod, container, &o, remotecmd_is_websocket(req));
    else
        fail(c, 400, STATUS_REASON_BADREQUEST, "Upgrade request required");
}

/* ---- dispatch ---- */

static void handle_object(struct api *a, struct conn *c, struct http_request *req,
                          const struct route *r)
{
    const struct kinds_info *k = r->kind;
    const char *sub = r->subresource;
    if (k->namespaced && !r->namespace[0] && r->name[0]) {
        fail(c, 404, STATUS_REASON_NOTFOUND, "the server could not find the requested resource");
        return;
    }
    if (sub[0]) {
        if (k->id == KIND_pods && strcmp(sub, "log") == 0 && r->verb == VERB_GET) {
            handle_log(a, c, req, r);
            return;
        }
        if (k->id == KIND_pods && (strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0)) {
            handle_remotecmd(a, c, req, r, strcmp(sub, "attach") == 0);
            return;
        }
        if (strcmp(sub, "status") != 0 || !strstr(k->subresources, "status")) {
            fail(c, 404, STATUS_REASON_NOTFOUND,
                 "the server could not find the requested resource");
            return;
        }
    }
    switch (r->verb) {
    case VERB_GET:
        handle_get(a, c, req, r);
        return;
    case VERB_LIST:
        handle_list(a, c, req, r);
        return;
    case VERB_WATCH:
        handle_watch(a, c, req, r);
        return;
    case VERB_CREATE:
        if (r->name[0] && !sub[0]) {
            fail(c, 405, STATUS_REASON_METHODNOTALLOWED,
                 "the server does not allow this method on the requested resource");
            return;
        }
        handle_create(a, c, req, r);
        return;
    case VERB_UPDATE:
        handle_update(a, c, req, r);
        return;
    case VERB_PATCH:
        handle_patch(a, c, req, r);
        return;
    case VERB_DELETE:
        handle_delete(a, c, req, r);
        return;
    case VERB_DELETECOLLECTION:
        handle_delete_collection(a, c, req, r);
        return;
    case VERB_NONE:
        break;
    }
    fail(c, 405, STATUS_REASON_METHODNOTALLOWED,
         "the server does not allow this method on the requested resource");
}

void api_handle(struct api *a, struct conn *c, struct http_request *req, const struct route *r)
{
    switch (r->type) {
    case ROUTE_HEALTH:
        conn_respond(c, 200, HTTP_CT_TEXT, NULL, "ok", 2);
        return;
    case ROUTE_OBJECT:
        handle_object(a, c, req, r);
        return;
    case ROUTE_NONE:
        fail(c, 404, STATUS_REASON_NOTFOUND, "the server could not find the requested resource");
        return;
    default:
        handle_discovery(a, c, req, r);
        return;
    }
}
