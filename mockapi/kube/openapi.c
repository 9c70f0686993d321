/* openapi.c -- OpenAPI v3 documents: just enough for kubectl create -f and apply -f */
#include "mockapi/kube/openapi.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi/base/json.h"
#include "mockapi/kube/kinds.h"

#define GROUP_MAX 128 /* longest API group name kept from a path */
#define VERSION_MAX 32
#define NAME_MAX_LEN 512 /* longest URL, schema name or operation id built here */

#define META "io.k8s.apimachinery.pkg.apis.meta.v1."
#define REF_PREFIX "#/components/schemas/"

enum body { BODY_NONE, BODY_OBJECT, BODY_PATCH };
enum response { RESP_OBJECT, RESP_LIST, RESP_STATUS };

/* One operation per kinds.def verb, in the order kube-apiserver's documents list them. */
struct op_info {
    const char *verb;   /* the kinds.def verb that enables it */
    const char *method; /* OpenAPI operation key */
    int item;           /* 1 on .../{name}, 0 on the collection */
    const char *action; /* x-kubernetes-action */
    const char *id;     /* operationId prefix */
    const char *what;   /* description, before the kind */
    enum body body;
    enum response response;
    const char *const *params; /* query parameter names, NULL-terminated */
};

static const char *const list_params[] = {
    "continue",        "fieldSelector",  "labelSelector", "limit",
    "resourceVersion", "timeoutSeconds", "watch",         NULL};
static const char *const write_params[] = {"dryRun", "fieldManager", "fieldValidation", NULL};
static const char *const patch_params[] = {"dryRun", "fieldManager", "fieldValidation", "force",
                                           NULL};
static const char *const delete_params[] = {"dryRun", "gracePeriodSeconds", "propagationPolicy",
                                            NULL};
static const char *const read_params[] = {NULL};

static const struct op_info op_table[] = {
    {"list", "get", 0, "list", "list", "list or watch objects of kind", BODY_NONE, RESP_LIST,
     list_params},
    {"create", "post", 0, "post", "create", "create a", BODY_OBJECT, RESP_OBJECT, write_params},
    {"deletecollection", "delete", 0, "deletecollection", "deleteCollection",
     "delete collection of", BODY_NONE, RESP_STATUS, delete_params},
    {"get", "get", 1, "get", "read", "read the specified", BODY_NONE, RESP_OBJECT, read_params},
    {"update", "put", 1, "put", "replace", "replace the specified", BODY_OBJECT, RESP_OBJECT,
     write_params},
    {"patch", "patch", 1, "patch", "patch", "partially update the specified", BODY_PATCH,
     RESP_OBJECT, patch_params},
    {"delete", "delete", 1, "delete", "delete", "delete a", BODY_NONE, RESP_STATUS, delete_params},
};

struct param_info {
    const char *name;
    const char *type;
    const char *description;
};

static const struct param_info param_table[] = {
    {"continue", "string", "continue a list from the token of a previous chunk"},
    {"dryRun", "string", "All: process the request without persisting it"},
    {"fieldManager", "string", "name of the actor making the change"},
    {"fieldSelector", "string", "restrict the returned objects by their fields"},
    {"fieldValidation", "string",
     "how to handle unknown or duplicate fields in the body: Ignore, Warn or Strict"},
    {"force", "boolean", "apply requests: take over fields owned by other managers"},
    {"gracePeriodSeconds", "integer", "seconds before the object is deleted"},
    {"labelSelector", "string", "restrict the returned objects by their labels"},
    {"limit", "integer", "maximum number of objects in one list chunk"},
    {"propagationPolicy", "string", "Orphan, Background or Foreground garbage collection"},
    {"resourceVersion", "string", "list or watch from this resource version"},
    {"timeoutSeconds", "integer", "end the list or watch after this many seconds"},
    {"watch", "boolean", "stream changes instead of listing"},
};

/* The patch types the server accepts that kubectl may be told about. Strategic merge patch is
 * left out on purpose: see openapi.h. */
static const char *const patch_types[] = {
    "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"};

/* What every other request and response body is sent as. */
static const char *const json_types[] = {"application/json"};

/* snprintf that reports truncation: 0, or -1 when the text did not fit. */
static int format(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int format(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* 1 when verb is one of the comma-separated verbs. */
static int has_verb(const char *verbs, const char *verb)
{
    size_t n = strlen(verb);
    const char *p = verbs;

    while ((p = strstr(p, verb)) != NULL) {
        if ((p == verbs || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
        p += n;
    }
    return 0;
}

/* The Go package of a group as kube-openapi names it: "core" for "", else the first label
 * ("authorization.k8s.io" gives "authorization"). */
static void group_package(const char *group, char *buf, size_t len)
{
    size_t n = group[0] == '\0' ? 4 : strcspn(group, ".");

    if (group[0] == '\0')
        group = "core";
    if (n >= len)
        n = len - 1;
    memcpy(buf, group, n);
    buf[n] = '\0';
}

/* "/api/v1" or "/apis/<group>/<version>": where kind k's group version is served. 0 or -1. */
static int api_base(const struct kinds_info *k, char *buf, size_t len)
{
    if (k->group[0] != '\0')
        return format(buf, len, "/apis/%s/%s", k->group, k->version);
    return format(buf, len, "/api/%s", k->version);
}

/* "io.k8s.api.core.v1.Pod" for suffix "", "...PodList" for "List". 0 or -1. */
static int schema_name(const struct kinds_info *k, const char *suffix, char *buf, size_t len)
{
    char pkg[GROUP_MAX];

    group_package(k->group, pkg, sizeof(pkg));
    return format(buf, len, "io.k8s.api.%s.%s.%s%s", pkg, k->version, k->kind, suffix);
}

/* {"$ref":"#/components/schemas/<name>"} */
static cJSON *ref(const char *name)
{
    cJSON *obj = cJSON_CreateObject();
    char buf[NAME_MAX_LEN];

    if (obj == NULL || format(buf, sizeof(buf), REF_PREFIX "%s", name) < 0 ||
        cJSON_AddStringToObject(obj, "$ref", buf) == NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* {"group":..,"version":..,"kind":..} */
static cJSON *gvk(const char *group, const char *version, const char *kind)
{
    cJSON *obj = cJSON_CreateObject();

    if (obj == NULL || cJSON_AddStringToObject(obj, "group", group) == NULL ||
        cJSON_AddStringToObject(obj, "version", version) == NULL ||
        cJSON_AddStringToObject(obj, "kind", kind) == NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* {"type":type,"uniqueItems":true}: kube-apiserver's parameter schema. */
static cJSON *param_schema(const char *type)
{
    cJSON *obj = cJSON_CreateObject();

    if (obj == NULL || cJSON_AddStringToObject(obj, "type", type) == NULL ||
        cJSON_AddTrueToObject(obj, "uniqueItems") == NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *query_param(const char *name)
{
    const struct param_info *p = NULL;
    cJSON *obj = NULL;

    for (size_t i = 0; i < sizeof(param_table) / sizeof(param_table[0]); i++)
        if (strcmp(param_table[i].name, name) == 0)
            p = &param_table[i];
    if (p == NULL)
        goto fail;
    obj = cJSON_CreateObject();
    if (obj == NULL || cJSON_AddStringToObject(obj, "name", p->name) == NULL ||
        cJSON_AddStringToObject(obj, "in", "query") == NULL ||
        cJSON_AddStringToObject(obj, "description", p->description) == NULL ||
        json_add(obj, "schema", param_schema(p->type)) == NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *path_param(const char *name, const char *description)
{
    cJSON *obj = cJSON_CreateObject();

    if (obj == NULL || cJSON_AddStringToObject(obj, "name", name) == NULL ||
        cJSON_AddStringToObject(obj, "in", "path") == NULL ||
        cJSON_AddStringToObject(obj, "description", description) == NULL ||
        cJSON_AddTrueToObject(obj, "required") == NULL ||
        json_add(obj, "schema", param_schema("string")) == NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* {"<media type>":{"schema":{"$ref":...}}} for each media type. */
static cJSON *content(const char *const *types, size_t ntypes, const char *schema)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *media;

    if (obj == NULL)
        goto fail;
    for (size_t i = 0; i < ntypes; i++) {
        media = json_add(obj, types[i], cJSON_CreateObject());
        if (media == NULL || json_add(media, "schema", ref(schema)) == NULL)
            goto fail;
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *request_body(const struct op_info *op, const char *kind_schema)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *c;

    if (obj == NULL)
        goto fail;
    if (op->body == BODY_PATCH)
        c = content(patch_types, sizeof(patch_types) / sizeof(patch_types[0]), META "Patch");
    else
        c = content(json_types, 1, kind_schema);
    if (json_add(obj, "content", c) == NULL || cJSON_AddTrueToObject(obj, "required") == NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* Adds code: {"description":..,"content":{"application/json":{"schema":{"$ref":..}}}} to obj;
 * schema NULL leaves the content out. 0 or -1. */
static int add_response(cJSON *obj, const char *code, const char *description, const char *schema)
{
    cJSON *r = json_add(obj, code, cJSON_CreateObject());

    if (r == NULL || cJSON_AddStringToObject(r, "description", description) == NULL ||
        (schema != NULL && json_add(r, "content", content(json_types, 1, schema)) == NULL))
        return -1;
    return 0;
}

/* {"200":{"description":"OK","content":{"application/json":{"schema":...}}},"201":...,"401":...}
 * with 201 Created for writes that may create. */
static cJSON *responses(const struct op_info *op, const char *schema)
{
    cJSON *obj = cJSON_CreateObject();

    if (obj == NULL || add_response(obj, "200", "OK", schema) < 0 ||
        ((op->body == BODY_OBJECT || op->body == BODY_PATCH) &&
         add_response(obj, "201", "Created", schema) < 0) ||
        add_response(obj, "401", "Unauthorized", NULL) < 0)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* "patchCoreV1NamespacedPod", "createAuthorizationV1SelfSubjectAccessReview". 0 or -1. */
static int operation_id(const struct op_info *op, const struct kinds_info *k, char *buf, size_t len)
{
    char pkg[GROUP_MAX];
    char ver[VERSION_MAX];

    group_package(k->group, pkg, sizeof(pkg));
    if (format(ver, sizeof(ver), "%s", k->version) < 0)
        return -1;
    pkg[0] = (char)toupper((unsigned char)pkg[0]);
    ver[0] = (char)toupper((unsigned char)ver[0]);
    return format(buf, len, "%s%s%s%s%s", op->id, pkg, ver, k->namespaced ? "Namespaced" : "",
                  k->kind);
}

static cJSON *operation(const struct op_info *op, const struct kinds_info *k)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *params;
    cJSON *tags;
    char buf[NAME_MAX_LEN];
    char schema[NAME_MAX_LEN];
    char pkg[GROUP_MAX];

    if (obj == NULL || format(buf, sizeof(buf), "%s %s", op->what, k->kind) < 0 ||
        cJSON_AddStringToObject(obj, "description", buf) == NULL ||
        operation_id(op, k, buf, sizeof(buf)) < 0 ||
        cJSON_AddStringToObject(obj, "operationId", buf) == NULL)
        goto fail;
    group_package(k->group, pkg, sizeof(pkg));
    tags = json_add(obj, "tags", cJSON_CreateArray());
    if (tags == NULL || format(buf, sizeof(buf), "%s_%s", pkg, k->version) < 0 ||
        json_push(tags, cJSON_CreateString(buf)) == NULL)
        goto fail;
    params = json_add(obj, "parameters", cJSON_CreateArray());
    if (params == NULL)
        goto fail;
    for (const char *const *p = op->params; *p != NULL; p++)
        if (json_push(params, query_param(*p)) == NULL)
            goto fail;
    if (schema_name(k, "", schema, sizeof(schema)) < 0)
        goto fail;
    if (op->body != BODY_NONE && json_add(obj, "requestBody", request_body(op, schema)) == NULL)
        goto fail;
    if (op->response == RESP_LIST && schema_name(k, "List", schema, sizeof(schema)) < 0)
        goto fail;
    if (op->response == RESP_STATUS && format(schema, sizeof(schema), META "Status") < 0)
        goto fail;
    if (json_add(obj, "responses", responses(op, schema)) == NULL ||
        cJSON_AddStringToObject(obj, "x-kubernetes-action", op->action) == NULL ||
        json_add(obj, "x-kubernetes-group-version-kind", gvk(k->group, k->version, k->kind)) ==
            NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* Adds the collection (item == 0) or item path of kind k to paths, when kinds.def gives k at least
 * one verb that lives there. 0 or -1. */
static int add_path(cJSON *paths, const struct kinds_info *k, int item)
{
    cJSON *path = NULL;
    cJSON *params;
    char base[NAME_MAX_LEN];
    char url[NAME_MAX_LEN];
    char desc[NAME_MAX_LEN];
    int any = 0;

    for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
        if (op_table[i].item == item && has_verb(k->verbs, op_table[i].verb))
            any = 1;
    if (!any)
        return 0;
    if (api_base(k, base, sizeof(base)) < 0 ||
        format(url, sizeof(url), "%s%s/%s%s", base, k->namespaced ? "/namespaces/{namespace}" : "",
               k->resource, item ? "/{name}" : "") < 0)
        goto fail;
    path = cJSON_CreateObject();
    if (path == NULL)
        goto fail;
    for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++) {
        const struct op_info *op = &op_table[i];

        if (op->item != item || !has_verb(k->verbs, op->verb))
            continue;
        if (json_add(path, op->method, operation(op, k)) == NULL)
            goto fail;
    }
    params = json_add(path, "parameters", cJSON_CreateArray());
    if (params == NULL || format(desc, sizeof(desc), "name of the %s", k->kind) < 0 ||
        (item && json_push(params, path_param("name", desc)) == NULL) ||
        (k->namespaced &&
         json_push(params, path_param("namespace", "object name and auth scope")) == NULL))
        goto fail;
    if (!cJSON_AddItemToObject(paths, url, path))
        goto fail;
    return 0;
fail:
    cJSON_Delete(path);
    return -1;
}

/* {"description":..,"type":..} */
static cJSON *typed_schema(const char *type, const char *description)
{
    cJSON *obj = cJSON_CreateObject();

    if (obj == NULL || cJSON_AddStringToObject(obj, "description", description) == NULL ||
        cJSON_AddStringToObject(obj, "type", type) == NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* [{"group":..,"kind":..,"version":..}] as schema extensions carry it: an array. */
static cJSON *gvk_list(const char *group, const char *version, const char *kind)
{
    cJSON *arr = cJSON_CreateArray();

    if (arr == NULL || json_push(arr, gvk(group, version, kind)) == NULL)
        goto fail;
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

/* The apiVersion and kind properties every top-level schema has. 0 or -1. */
static int add_type_properties(cJSON *props)
{
    if (json_add(props, "apiVersion", typed_schema("string", "versioned schema of the object")) ==
            NULL ||
        json_add(props, "kind", typed_schema("string", "REST resource the object represents")) ==
            NULL)
        return -1;
    return 0;
}

/* The permissive schema of kind k: an object with apiVersion, kind and metadata described and
 * every other field let through. */
static cJSON *kind_schema(const struct kinds_info *k)
{
    char desc[NAME_MAX_LEN];
    cJSON *obj = NULL;
    cJSON *props;

    if (format(desc, sizeof(desc), "%s (kubefault serves no field schema)", k->kind) < 0)
        goto fail;
    obj = typed_schema("object", desc);
    if (obj == NULL)
        goto fail;
    props = json_add(obj, "properties", cJSON_CreateObject());
    if (props == NULL || add_type_properties(props) < 0 ||
        json_add(props, "metadata", ref(META "ObjectMeta")) == NULL ||
        cJSON_AddTrueToObject(obj, "x-kubernetes-preserve-unknown-fields") == NULL ||
        json_add(obj, "x-kubernetes-group-version-kind", gvk_list(k->group, k->version, k->kind)) ==
            NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* The schema of kind k's list: apiVersion, kind, metadata (ListMeta) and items. */
static cJSON *list_schema(const struct kinds_info *k)
{
    char desc[NAME_MAX_LEN];
    char name[NAME_MAX_LEN];
    cJSON *obj = NULL;
    cJSON *props;
    cJSON *items;

    if (format(desc, sizeof(desc), "a list of %s", k->kind) < 0 ||
        format(name, sizeof(name), "%sList", k->kind) < 0)
        goto fail;
    obj = typed_schema("object", desc);
    if (obj == NULL)
        goto fail;
    props = json_add(obj, "properties", cJSON_CreateObject());
    if (props == NULL || add_type_properties(props) < 0)
        goto fail;
    items = json_add(props, "items", typed_schema("array", "the objects"));
    if (items == NULL || schema_name(k, "", desc, sizeof(desc)) < 0 ||
        json_add(items, "items", ref(desc)) == NULL ||
        json_add(props, "metadata", ref(META "ListMeta")) == NULL ||
        json_add(obj, "x-kubernetes-group-version-kind", gvk_list(k->group, k->version, name)) ==
            NULL)
        goto fail;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* Adds the schemas of kind k (and of its list when it can be listed). 0 or -1. */
static int add_kind_schemas(cJSON *schemas, const struct kinds_info *k)
{
    char name[NAME_MAX_LEN];

    if (schema_name(k, "", name, sizeof(name)) < 0 ||
        json_add(schemas, name, kind_schema(k)) == NULL)
        return -1;
    if (!has_verb(k->verbs, "list"))
        return 0;
    if (schema_name(k, "List", name, sizeof(name)) < 0 ||
        json_add(schemas, name, list_schema(k)) == NULL)
        return -1;
    return 0;
}

/* The meta.v1 schemas the operations refer to. 0 or -1. */
static int add_meta_schemas(cJSON *schemas)
{
    cJSON *status;

    if (json_add(schemas, META "ListMeta", typed_schema("object", "metadata of a list")) == NULL ||
        json_add(schemas, META "ObjectMeta",
                 typed_schema("object", "metadata of a persisted object")) == NULL ||
        json_add(schemas, META "Patch", typed_schema("object", "the body of a PATCH request")) ==
            NULL)
        return -1;
    status = json_add(schemas, META "Status", typed_schema("object", "result of an operation"));
    if (status == NULL ||
        json_add(status, "x-kubernetes-group-version-kind", gvk_list("", "v1", "Status")) == NULL)
        return -1;
    return 0;
}

/* Splits "api/v1" or "apis/<group>/<version>" (one leading '/' allowed) into group and version.
 * 0 when some kind of kinds_table lives there, else -1. */
static int parse_path(const char *path, char *group, char *version)
{
    const char *slash;
    size_t n;

    if (path == NULL)
        return -1;
    if (path[0] == '/')
        path++;
    group[0] = '\0';
    if (strncmp(path, "api/", 4) == 0) {
        path += 4;
    } else if (strncmp(path, "apis/", 5) == 0) {
        path += 5;
        slash = strchr(path, '/');
        if (slash == NULL || slash == path || (size_t)(slash - path) >= GROUP_MAX)
            return -1;
        n = (size_t)(slash - path);
        memcpy(group, path, n);
        group[n] = '\0';
        path = slash + 1;
    } else {
        return -1;
    }
    n = strlen(path);
    if (n == 0 || n >= VERSION_MAX || strchr(path, '/') != NULL)
        return -1;
    memcpy(version, path, n + 1);
    for (size_t i = 0; i < KIND__COUNT; i++)
        if (strcmp(kinds_table[i].group, group) == 0 &&
            strcmp(kinds_table[i].version, version) == 0)
            return 0;
    return -1;
}

cJSON *openapi_v3_group(const char *path)
{
    char group[GROUP_MAX];
    char version[VERSION_MAX];
    cJSON *doc = NULL;
    cJSON *info;
    cJSON *paths;
    cJSON *components;
    cJSON *schemas;

    if (parse_path(path, group, version) < 0)
        goto fail;
    doc = cJSON_CreateObject();
    if (doc == NULL || cJSON_AddStringToObject(doc, "openapi", "3.0.0") == NULL)
        goto fail;
    info = json_add(doc, "info", cJSON_CreateObject());
    if (info == NULL || cJSON_AddStringToObject(info, "title", "Kubernetes") == NULL ||
        cJSON_AddStringToObject(info, "version", "kubefault") == NULL)
        goto fail;
    paths = json_add(doc, "paths", cJSON_CreateObject());
    components = json_add(doc, "components", cJSON_CreateObject());
    schemas = components != NULL ? json_add(components, "schemas", cJSON_CreateObject()) : NULL;
    if (paths == NULL || schemas == NULL)
        goto fail;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        const struct kinds_info *k = &kinds_table[i];

        if (strcmp(k->group, group) != 0 || strcmp(k->version, version) != 0)
            continue;
        if (add_path(paths, k, 0) < 0 || add_path(paths, k, 1) < 0 ||
            add_kind_schemas(schemas, k) < 0)
            goto fail;
    }
    if (add_meta_schemas(schemas) < 0)
        goto fail;
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

const char *openapi_hash(const char *path, char *buf, size_t len)
{
    cJSON *doc = NULL;
    char *text = NULL;
    const char *result = NULL;
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */

    if (len < OPENAPI_HASH_SIZE)
        goto out;
    doc = openapi_v3_group(path);
    text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    if (text == NULL)
        goto out;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL; /* FNV-1a 64 prime */
    }
    snprintf(buf, len, "%016llX", (unsigned long long)h);
    result = buf;
out:
    free(text);
    cJSON_Delete(doc);
    return result;
}

cJSON *openapi_v3_root(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *paths;
    cJSON *entry;
    char base[NAME_MAX_LEN];
    char url[NAME_MAX_LEN];
    char hash[OPENAPI_HASH_SIZE];
    const char *key = base + 1; /* the root's keys are the API paths without their '/' */

    if (doc == NULL)
        goto fail;
    paths = json_add(doc, "paths", cJSON_CreateObject());
    if (paths == NULL)
        goto fail;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        const struct kinds_info *k = &kinds_table[i];
        int seen = 0;

        for (size_t j = 0; j < i; j++)
            if (strcmp(kinds_table[j].group, k->group) == 0 &&
                strcmp(kinds_table[j].version, k->version) == 0)
                seen = 1;
        if (seen)
            continue;
        if (api_base(k, base, sizeof(base)) < 0 || openapi_hash(key, hash, sizeof(hash)) == NULL ||
            format(url, sizeof(url), "/openapi/v3/%s?hash=%s", key, hash) < 0)
            goto fail;
        entry = json_add(paths, key, cJSON_CreateObject());
        if (entry == NULL || cJSON_AddStringToObject(entry, "serverRelativeURL", url) == NULL)
            goto fail;
    }
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}
