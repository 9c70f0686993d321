/* openapi_v2.c -- the OpenAPI v2 document: Swagger 2.0 from the v3 documents, gnostic protobuf out
 *
 * kubectl 1.27 and 1.28 load /openapi/v2 as protobuf before every create -f / apply -f. The
 * encoder is hand-written because no Debian library fits: libprotobuf is C++, and protobuf-c
 * (libprotobuf-c-dev) and nanopb encode only messages whose descriptors their code generators made
 * from a .proto at build time. For the ~30 gnostic messages written here, a varint and
 * length-delimited writer driven by one table per message is smaller than a generator step. */
#include "mockapi/kube/openapi_v2.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mockapi/base/log.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/openapi.h"

/* Caps. Schemas nest (properties, items, additionalProperties); MAX_DEPTH stops a self-nesting
 * input from recursing without bound. ERR_PATH_MAX bounds the JSON path kept for messages. */
#define MAX_DEPTH 32
#define ERR_PATH_MAX 256
#define GV_PATH_MAX 160 /* "apis/<group>/<version>" */

#define V3_REF "#/components/schemas/"
#define V2_REF "#/definitions/"

/* ---- a growable byte buffer with a sticky failure flag (curl's dynbuf) ---- */

struct pbuf {
    unsigned char *data;
    size_t len;
    size_t cap;
    int failed; /* set by the first failed append; later appends do nothing */
};

static void pb_release(struct pbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void pb_add(struct pbuf *b, const void *p, size_t n)
{
    size_t want;
    unsigned char *grown;

    if (b->failed || n == 0)
        return;
    if (n > OPENAPI_V2_MAX_BYTES - b->len) {
        b->failed = 1;
        return;
    }
    want = b->len + n;
    if (want > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < want)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void pb_text(struct pbuf *b, const char *s)
{
    pb_add(b, s, strlen(s));
}

/* ---- protobuf wire format: varints and length-delimited fields ---- */

enum { WT_VARINT = 0, WT_LEN = 2 };

static void pb_varint(struct pbuf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;

    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            tmp[n] |= 0x80;
        n++;
    } while (v != 0);
    pb_add(b, tmp, n);
}

static void pb_tag(struct pbuf *b, uint32_t num, int wire_type)
{
    pb_varint(b, ((uint64_t)num << 3) | (uint64_t)wire_type);
}

static void pb_bytes(struct pbuf *b, uint32_t num, const void *p, size_t n)
{
    pb_tag(b, num, WT_LEN);
    pb_varint(b, n);
    pb_add(b, p, n);
}

static void pb_string(struct pbuf *b, uint32_t num, const char *s)
{
    pb_bytes(b, num, s, strlen(s));
}

static void pb_bool(struct pbuf *b, uint32_t num, int v)
{
    pb_tag(b, num, WT_VARINT);
    pb_varint(b, v ? 1 : 0);
}

/* Writes sub as field num of b (an embedded message), then releases sub. */
static void pb_message(struct pbuf *b, uint32_t num, struct pbuf *sub)
{
    if (sub->failed)
        b->failed = 1;
    else
        pb_bytes(b, num, sub->data, sub->len);
    pb_release(sub);
}

/* ---- the encoder's context: where it is in the JSON, and the first error ---- */

struct enc {
    char path[ERR_PATH_MAX]; /* JSON path of the value being encoded, for messages */
    char *err;
    size_t errlen;
    int failed;
};

static void enc_fail(struct enc *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void enc_fail(struct enc *e, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (e->failed)
        return;
    e->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (e->err != NULL && e->errlen > 0)
        snprintf(e->err, e->errlen, "%s: %s", e->path[0] ? e->path : "(document)", msg);
}

/* Appends ".key" to the path; returns the old length for path_pop(). A path too long to keep is
 * cut, which only shortens messages. */
static size_t path_push(struct enc *e, const char *key)
{
    size_t n = strlen(e->path);

    snprintf(e->path + n, sizeof(e->path) - n, "%s%s", n ? "." : "", key);
    return n;
}

static void path_pop(struct enc *e, size_t n)
{
    e->path[n] = '\0';
}

/* ---- vendor extension values as block YAML (what gnostic writes into Any.yaml) ---- */

/* 1 when s can be written as a plain YAML scalar that reads back as the same string: a letter,
 * then letters and digits, and not one of YAML 1.1's boolean or null words. */
static int yaml_plain(const char *s)
{
    static const char *const special[] = {"y",     "n",  "yes", "no",   "true",
                                          "false", "on", "off", "null", NULL};

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
    for (size_t i = 0; special[i] != NULL; i++)
        if (strcasecmp(s, special[i]) == 0)
            return 0;
    return 1;
}

/* A string as a YAML scalar: plain when that is safe, else double-quoted with JSON's escapes,
 * which YAML's double-quoted style shares. */
static void yaml_string(struct pbuf *b, const char *s)
{
    char esc[8];

    if (yaml_plain(s)) {
        pb_text(b, s);
        return;
    }
    pb_text(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            pb_add(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            pb_text(b, esc);
        } else {
            pb_add(b, p, 1);
        }
    }
    pb_text(b, "\"");
}

/* A scalar (string, boolean, number, null) or an empty object or array, on one line. 0, or -1
 * for a non-empty object or array. */
static int yaml_inline(struct pbuf *b, const cJSON *v)
{
    char num[32];

    if (cJSON_IsString(v)) {
        yaml_string(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        pb_text(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        pb_text(b, "null");
    } else if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof(num), "%.17g", v->valuedouble);
        pb_text(b, num);
    } else if (cJSON_IsObject(v) && v->child == NULL) {
        pb_text(b, "{}");
    } else if (cJSON_IsArray(v) && v->child == NULL) {
        pb_text(b, "[]");
    } else {
        return -1;
    }
    return 0;
}

static void yaml_indent(struct pbuf *b, int n)
{
    for (int i = 0; i < n; i++)
        pb_add(b, " ", 1);
}

/* Block YAML for a non-empty object or array at indent (yaml.v2's layout: two spaces per level, a
 * list under a key at the key's indent). first_inline leaves out the first line's indent, for
 * the entry that follows "- ". Scalars and empty collections stay on their key's line. 0 or -1. */
static int yaml_block(struct pbuf *b, const cJSON *v, int indent, int first_inline, int depth)
{
    const cJSON *item;
    int first = 1;

    if (depth > MAX_DEPTH)
        return -1;
    cJSON_ArrayForEach(item, v)
    {
        int nested = (cJSON_IsObject(item) || cJSON_IsArray(item)) && item->child != NULL;

        if (!(first && first_inline))
            yaml_indent(b, indent);
        first = 0;
        if (cJSON_IsObject(v)) {
            yaml_string(b, item->string);
            pb_text(b, nested ? ":\n" : ": ");
        } else {
            pb_text(b, "- ");
        }
        if (!nested) {
            if (yaml_inline(b, item) < 0)
                return -1;
            pb_text(b, "\n");
        } else if (cJSON_IsObject(v) && cJSON_IsArray(item)) {
            if (yaml_block(b, item, indent, 0, depth + 1) < 0)
                return -1;
        } else if (cJSON_IsObject(v)) {
            if (yaml_block(b, item, indent + 2, 0, depth + 1) < 0)
                return -1;
        } else if (yaml_block(b, item, indent + 2, 1, depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Any value as a YAML document: `v1\n`, `true\n`, `group: ""\nkind: Pod\n...`. 0 or -1. */
static int yaml_document(struct pbuf *b, const cJSON *v)
{
    if (yaml_inline(b, v) == 0) {
        pb_text(b, "\n");
        return 0;
    }
    return yaml_block(b, v, 0, 0, 0);
}

/* ---- the gnostic messages: one table per message, JSON key -> field ---- */

enum pkind {
    PK_STRING,      /* JSON string -> string; "" is left out, as proto3 does */
    PK_BOOL,        /* JSON boolean -> bool; false is left out */
    PK_MESSAGE,     /* JSON object -> the message ->sub */
    PK_PARAMETER,   /* parameter object or {"$ref"} -> ParametersItem */
    PK_RESPONSE,    /* response object or {"$ref"} -> ResponseValue */
    PK_SCHEMA_ITEM, /* schema -> SchemaItem{schema} */
    PK_TYPE,        /* "object" or ["object"] -> TypeItem */
    PK_ITEMS,       /* schema or [schema, ...] -> ItemsItem */
    PK_ADDITIONAL,  /* schema or boolean -> AdditionalPropertiesItem */
};

#define PF_REPEATED 1u /* the JSON value is an array: one field per element */

struct pmsg;

struct pfield {
    const char *key;        /* JSON key */
    uint32_t num;           /* field number in OpenAPIv2.proto */
    uint8_t kind;           /* enum pkind */
    uint8_t flags;          /* PF_REPEATED */
    const struct pmsg *sub; /* PK_MESSAGE only */
};

struct pmsg {
    const char *name; /* gnostic message name, for errors */
    const struct pfield *fields;
    size_t nfields;
    uint32_t ext;               /* field number of repeated NamedAny vendor_extension; 0: none */
    const struct pfield *named; /* other keys are map entries Named<X>{1 name, 2 value}: num and
                                 * kind of the entries; NULL: other keys are errors */
};

#define ROW(k, n, kind, fl, sub)                                                                   \
    {                                                                                              \
        (k), (n), (kind), (fl), (sub)                                                              \
    }
#define S(k, n) ROW(k, n, PK_STRING, 0, NULL)
#define S_R(k, n) ROW(k, n, PK_STRING, PF_REPEATED, NULL)
#define B(k, n) ROW(k, n, PK_BOOL, 0, NULL)
#define M(k, n, m) ROW(k, n, PK_MESSAGE, 0, &m_##m)
#define K(k, n, kind) ROW(k, n, kind, 0, NULL)
#define K_R(k, n, kind) ROW(k, n, kind, PF_REPEATED, NULL)
#define PMSG(id, name, ext, named)                                                                 \
    static const struct pmsg m_##id = {name, f_##id, sizeof f_##id / sizeof f_##id[0], ext, named}

static const struct pmsg m_schema;

/* Schema: the JSON Schema subset Swagger 2.0 allows. Field numbers ascend. */
static const struct pfield named_schema = ROW(NULL, 1, PK_MESSAGE, 0, &m_schema);
static const struct pmsg m_properties = {"Properties", NULL, 0, 0, &named_schema};

static const struct pfield f_schema[] = {
    S("$ref", 1),
    S("format", 2),
    S("title", 3),
    S("description", 4),
    B("exclusiveMaximum", 8),
    B("exclusiveMinimum", 10),
    S("pattern", 13),
    B("uniqueItems", 16),
    S_R("required", 19),
    K("additionalProperties", 21, PK_ADDITIONAL),
    K("type", 22, PK_TYPE),
    K("items", 23, PK_ITEMS),
    M("properties", 25, properties),
    S("discriminator", 26),
    B("readOnly", 27),
};
static const struct pmsg m_schema = {"Schema", f_schema, sizeof f_schema / sizeof f_schema[0], 31,
                                     NULL};

static const struct pmsg m_definitions = {"Definitions", NULL, 0, 0, &named_schema};

/* Parameters. Which message a parameter object becomes depends on its "in" (put_parameter). */
static const struct pfield f_body_parameter[] = {
    S("description", 1), S("name", 2), S("in", 3), B("required", 4), M("schema", 5, schema),
};
PMSG(body_parameter, "BodyParameter", 6, NULL);

static const struct pfield f_query_parameter[] = {
    B("required", 1),
    S("in", 2),
    S("description", 3),
    S("name", 4),
    B("allowEmptyValue", 5),
    S("type", 6),
    S("format", 7),
    S("collectionFormat", 9),
    B("exclusiveMaximum", 12),
    B("exclusiveMinimum", 14),
    S("pattern", 17),
    B("uniqueItems", 20),
};
PMSG(query_parameter, "QueryParameterSubSchema", 23, NULL);

static const struct pfield f_path_parameter[] = {
    B("required", 1),
    S("in", 2),
    S("description", 3),
    S("name", 4),
    S("type", 5),
    S("format", 6),
    S("collectionFormat", 8),
    B("exclusiveMaximum", 11),
    B("exclusiveMinimum", 13),
    S("pattern", 16),
    B("uniqueItems", 19),
};
PMSG(path_parameter, "PathParameterSubSchema", 22, NULL);

static const struct pfield f_json_reference[] = {S("$ref", 1), S("description", 2)};
PMSG(json_reference, "JsonReference", 0, NULL);

/* Responses. */
static const struct pfield f_response[] = {
    S("description", 1),
    K("schema", 2, PK_SCHEMA_ITEM),
};
PMSG(response, "Response", 5, NULL);

static const struct pfield named_response = ROW(NULL, 1, PK_RESPONSE, 0, NULL);
static const struct pmsg m_responses = {"Responses", NULL, 0, 2, &named_response};

/* Operations and paths. */
static const struct pfield f_operation[] = {
    S_R("tags", 1),
    S("summary", 2),
    S("description", 3),
    S("operationId", 5),
    S_R("produces", 6),
    S_R("consumes", 7),
    K_R("parameters", 8, PK_PARAMETER),
    M("responses", 9, responses),
    S_R("schemes", 10),
    B("deprecated", 11),
};
PMSG(operation, "Operation", 13, NULL);

static const struct pfield f_path_item[] = {
    S("$ref", 1),
    M("get", 2, operation),
    M("put", 3, operation),
    M("post", 4, operation),
    M("delete", 5, operation),
    M("options", 6, operation),
    M("head", 7, operation),
    M("patch", 8, operation),
    K_R("parameters", 9, PK_PARAMETER),
};
PMSG(path_item, "PathItem", 10, NULL);

static const struct pfield named_path_item = ROW(NULL, 2, PK_MESSAGE, 0, &m_path_item);
static const struct pmsg m_paths = {"Paths", NULL, 0, 1, &named_path_item};

static const struct pfield f_info[] = {
    S("title", 1),
    S("version", 2),
    S("description", 3),
    S("termsOfService", 4),
};
PMSG(info, "Info", 7, NULL);

static const struct pfield f_document[] = {
    S("swagger", 1),    M("info", 2, info),   S("host", 3),
    S("basePath", 4),   S_R("schemes", 5),    S_R("consumes", 6),
    S_R("produces", 7), M("paths", 8, paths), M("definitions", 9, definitions),
};
PMSG(document, "Document", 16, NULL);

/* ---- the encoder ---- */

static void encode_message(struct enc *e, struct pbuf *out, const cJSON *obj, const struct pmsg *m,
                           int depth);
static void put_value(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v,
                      const struct pfield *f, int depth);

static const struct pfield *find_field(const struct pmsg *m, const char *key)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].key, key) == 0)
            return &m->fields[i];
    return NULL;
}

static int is_extension(const char *key)
{
    return strncmp(key, "x-", 2) == 0;
}

/* The named-map entry for key: Named<X>{1 name, 2 value}. */
static void put_named(struct enc *e, struct pbuf *out, const cJSON *item, const struct pfield *f,
                      int depth)
{
    struct pbuf entry = {0};
    size_t mark = path_push(e, item->string);

    pb_string(&entry, 1, item->string);
    put_value(e, &entry, 2, item, f, depth + 1);
    pb_message(out, f->num, &entry);
    path_pop(e, mark);
}

/* A vendor extension: NamedAny{1 name, 2 Any{2 yaml}}. */
static void put_extension(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *item)
{
    struct pbuf yaml = {0};
    struct pbuf any = {0};
    struct pbuf named = {0};
    size_t mark = path_push(e, item->string);

    if (yaml_document(&yaml, item) < 0)
        enc_fail(e, "value too deeply nested for YAML");
    pb_string(&named, 1, item->string);
    pb_bytes(&any, 2, yaml.data, yaml.len);
    if (yaml.failed)
        any.failed = 1;
    pb_release(&yaml);
    pb_message(&named, 2, &any);
    pb_message(out, num, &named);
    path_pop(e, mark);
}

/* Writes the keys of obj that are not fields of m: vendor extensions (ext) or map entries
 * (named), whichever num names. */
static void put_others(struct enc *e, struct pbuf *out, const cJSON *obj, const struct pmsg *m,
                       uint32_t num, int depth)
{
    const cJSON *item;

    cJSON_ArrayForEach(item, obj)
    {
        if (find_field(m, item->string) != NULL)
            continue;
        if (m->ext != 0 && is_extension(item->string)) {
            if (num == m->ext)
                put_extension(e, out, num, item);
        } else if (m->named != NULL && num == m->named->num) {
            put_named(e, out, item, m->named, depth);
        }
    }
}

static void encode_message(struct enc *e, struct pbuf *out, const cJSON *obj, const struct pmsg *m,
                           int depth)
{
    const cJSON *item;
    uint32_t last = 0;

    if (depth > MAX_DEPTH) {
        enc_fail(e, "nested more than %d levels", MAX_DEPTH);
        return;
    }
    if (!cJSON_IsObject(obj)) {
        enc_fail(e, "%s must be an object", m->name);
        return;
    }
    cJSON_ArrayForEach(item, obj)
    {
        if (find_field(m, item->string) == NULL && !(m->ext != 0 && is_extension(item->string)) &&
            m->named == NULL) {
            enc_fail(e, "unknown key \"%s\" in %s", item->string, m->name);
            return;
        }
    }
    /* Fields, extensions and map entries in field-number order, as Go's encoder writes them. */
    for (;;) {
        uint32_t next = UINT32_MAX;
        const struct pfield *f = NULL;

        for (size_t i = 0; i < m->nfields; i++)
            if (m->fields[i].num > last && m->fields[i].num < next) {
                next = m->fields[i].num;
                f = &m->fields[i];
            }
        if (m->ext > last && m->ext < next) {
            next = m->ext;
            f = NULL;
        }
        if (m->named != NULL && m->named->num > last && m->named->num < next) {
            next = m->named->num;
            f = NULL;
        }
        if (next == UINT32_MAX || e->failed)
            return;
        if (f != NULL) {
            item = cJSON_GetObjectItemCaseSensitive(obj, f->key);
            if (item != NULL) {
                size_t mark = path_push(e, f->key);

                put_value(e, out, f->num, item, f, depth + 1);
                path_pop(e, mark);
            }
        } else {
            put_others(e, out, obj, m, next, depth);
        }
        last = next;
    }
}

/* A parameter object: ParametersItem{1 Parameter{1 BodyParameter | 2 NonBodyParameter{3 query |
 * 4 path}}}, or ParametersItem{2 JsonReference} for {"$ref": ...}. */
static void put_parameter(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v, int depth)
{
    struct pbuf item = {0};
    struct pbuf param = {0};
    struct pbuf nonbody = {0};
    struct pbuf sub = {0};
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(v, "in");

    if (cJSON_GetObjectItemCaseSensitive(v, "$ref") != NULL) {
        encode_message(e, &sub, v, &m_json_reference, depth + 1);
        pb_message(&item, 2, &sub);
    } else if (!cJSON_IsString(in)) {
        enc_fail(e, "parameter without \"in\"");
    } else if (strcmp(in->valuestring, "body") == 0) {
        encode_message(e, &sub, v, &m_body_parameter, depth + 1);
        pb_message(&param, 1, &sub);
        pb_message(&item, 1, &param);
    } else if (strcmp(in->valuestring, "query") == 0 || strcmp(in->valuestring, "path") == 0) {
        int query = in->valuestring[0] == 'q';

        encode_message(e, &sub, v, query ? &m_query_parameter : &m_path_parameter, depth + 1);
        pb_message(&nonbody, query ? 3 : 4, &sub);
        pb_message(&param, 2, &nonbody);
        pb_message(&item, 1, &param);
    } else {
        enc_fail(e, "unsupported parameter location \"%s\" (known: body, query, path)",
                 in->valuestring);
    }
    pb_message(out, num, &item);
    pb_release(&param);
    pb_release(&nonbody);
}

/* A response: ResponseValue{1 Response | 2 JsonReference}. */
static void put_response(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v, int depth)
{
    struct pbuf value = {0};
    struct pbuf sub = {0};
    int ref = cJSON_GetObjectItemCaseSensitive(v, "$ref") != NULL;

    encode_message(e, &sub, v, ref ? &m_json_reference : &m_response, depth + 1);
    pb_message(&value, ref ? 2 : 1, &sub);
    pb_message(out, num, &value);
}

/* Wraps one schema, or each schema of an array, in a message as its field 1 (SchemaItem,
 * ItemsItem). */
static void put_schemas(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v, int many,
                        int depth)
{
    struct pbuf wrap = {0};
    struct pbuf sub = {0};
    const cJSON *s;

    if (many && cJSON_IsArray(v)) {
        cJSON_ArrayForEach(s, v)
        {
            encode_message(e, &sub, s, &m_schema, depth + 1);
            pb_message(&wrap, 1, &sub);
        }
    } else {
        encode_message(e, &sub, v, &m_schema, depth + 1);
        pb_message(&wrap, 1, &sub);
    }
    pb_message(out, num, &wrap);
}

/* "type": a string or an array of strings -> TypeItem{repeated string value = 1}. */
static void put_type(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v)
{
    struct pbuf type = {0};
    const cJSON *s;

    if (cJSON_IsString(v)) {
        pb_string(&type, 1, v->valuestring);
    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(s, v)
        {
            if (!cJSON_IsString(s))
                enc_fail(e, "type must be a string or an array of strings");
            else
                pb_string(&type, 1, s->valuestring);
        }
    } else {
        enc_fail(e, "type must be a string or an array of strings");
    }
    pb_message(out, num, &type);
}

/* "additionalProperties": a schema -> {1 Schema}, a boolean -> {2 bool}. A oneof member is
 * written even when false: its presence is the point. */
static void put_additional(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v, int depth)
{
    struct pbuf item = {0};
    struct pbuf sub = {0};

    if (cJSON_IsBool(v)) {
        pb_bool(&item, 2, cJSON_IsTrue(v));
    } else {
        encode_message(e, &sub, v, &m_schema, depth + 1);
        pb_message(&item, 1, &sub);
    }
    pb_message(out, num, &item);
}

static void put_one(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v,
                    const struct pfield *f, int depth)
{
    struct pbuf sub = {0};

    switch ((enum pkind)f->kind) {
    case PK_STRING:
        if (!cJSON_IsString(v))
            enc_fail(e, "must be a string");
        else if (v->valuestring[0] != '\0')
            pb_string(out, num, v->valuestring);
        break;
    case PK_BOOL:
        if (!cJSON_IsBool(v))
            enc_fail(e, "must be a boolean");
        else if (cJSON_IsTrue(v))
            pb_bool(out, num, 1);
        break;
    case PK_MESSAGE:
        encode_message(e, &sub, v, f->sub, depth);
        pb_message(out, num, &sub);
        break;
    case PK_PARAMETER:
        put_parameter(e, out, num, v, depth);
        break;
    case PK_RESPONSE:
        put_response(e, out, num, v, depth);
        break;
    case PK_SCHEMA_ITEM:
        put_schemas(e, out, num, v, 0, depth);
        break;
    case PK_TYPE:
        put_type(e, out, num, v);
        break;
    case PK_ITEMS:
        put_schemas(e, out, num, v, 1, depth);
        break;
    case PK_ADDITIONAL:
        put_additional(e, out, num, v, depth);
        break;
    }
}

static void put_value(struct enc *e, struct pbuf *out, uint32_t num, const cJSON *v,
                      const struct pfield *f, int depth)
{
    const cJSON *item;

    if (!(f->flags & PF_REPEATED)) {
        put_one(e, out, num, v, f, depth);
        return;
    }
    if (!cJSON_IsArray(v)) {
        enc_fail(e, "must be an array");
        return;
    }
    cJSON_ArrayForEach(item, v)
    {
        put_one(e, out, num, item, f, depth);
    }
}

int openapi_v2_encode(const cJSON *swagger, unsigned char **out, size_t *len, char *err,
                      size_t errlen)
{
    struct enc e = {.err = err, .errlen = errlen};
    struct pbuf doc = {0};

    *out = NULL;
    *len = 0;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    encode_message(&e, &doc, swagger, &m_document, 0);
    if (!e.failed && doc.failed)
        enc_fail(&e, "out of memory or over %u bytes", OPENAPI_V2_MAX_BYTES);
    if (e.failed) {
        pb_release(&doc);
        return -1;
    }
    if (doc.data == NULL) { /* an empty document: still hand back a buffer the caller can free */
        doc.data = malloc(1);
        if (doc.data == NULL)
            return -1;
    }
    *out = doc.data;
    *len = doc.len;
    return 0;
}

/* ---- Swagger 2.0 from the v3 documents ---- */

/* Adds item to obj under key; frees it when the add fails. Returns item or NULL. */
static cJSON *add(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL)
        return NULL;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

/* Appends item to arr; frees it when the append fails. Returns item or NULL. */
static cJSON *push(cJSON *arr, cJSON *item)
{
    if (item == NULL)
        return NULL;
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

/* Rewrites every "$ref":"#/components/schemas/X" under v (in place) to "#/definitions/X". 0 or
 * -1 (out of memory, or a $ref that points elsewhere). */
static int move_refs(cJSON *v, int depth)
{
    cJSON *item;
    char buf[512];

    if (depth > MAX_DEPTH)
        return -1;
    cJSON_ArrayForEach(item, v)
    {
        if (item->string != NULL && strcmp(item->string, "$ref") == 0) {
            if (!cJSON_IsString(item) || strncmp(item->valuestring, V3_REF, strlen(V3_REF)) != 0)
                return -1;
            if (snprintf(buf, sizeof(buf), V2_REF "%s", item->valuestring + strlen(V3_REF)) >=
                    (int)sizeof(buf) ||
                cJSON_SetValuestring(item, buf) == NULL)
                return -1;
        } else if ((cJSON_IsObject(item) || cJSON_IsArray(item)) &&
                   move_refs(item, depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

/* A copy of a v3 schema with its $refs moved. */
static cJSON *v2_schema(const cJSON *schema)
{
    cJSON *copy = cJSON_Duplicate(schema, 1);

    if (copy == NULL || move_refs(copy, 0) < 0) {
        cJSON_Delete(copy);
        return NULL;
    }
    return copy;
}

/* A v3 parameter {name, in, description, required, schema:{type, uniqueItems}} as v2: the
 * schema's keywords sit on the parameter itself. Only scalar keywords can move that way. */
static cJSON *v2_parameter(const cJSON *p)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *item;
    const cJSON *kw;

    if (out == NULL)
        goto fail;
    cJSON_ArrayForEach(item, p)
    {
        if (strcmp(item->string, "schema") != 0) {
            if (add(out, item->string, cJSON_Duplicate(item, 1)) == NULL)
                goto fail;
            continue;
        }
        cJSON_ArrayForEach(kw, item)
        {
            if (strcmp(kw->string, "$ref") == 0 ||
                !(cJSON_IsString(kw) || cJSON_IsBool(kw) || cJSON_IsNumber(kw)) ||
                add(out, kw->string, cJSON_Duplicate(kw, 1)) == NULL)
                goto fail;
        }
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* The schema of the first media type of a v3 "content" object, as v2, or NULL. */
static cJSON *content_schema(const cJSON *content)
{
    const cJSON *media = content != NULL ? content->child : NULL;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(media, "schema");

    return schema != NULL ? v2_schema(schema) : NULL;
}

/* Appends the media types of a v3 "content" object to a v2 consumes/produces list, once each. */
static int add_media_types(cJSON *list, const cJSON *content)
{
    const cJSON *media;
    const cJSON *have;

    cJSON_ArrayForEach(media, content)
    {
        int seen = 0;

        cJSON_ArrayForEach(have, list)
        {
            if (strcmp(have->valuestring, media->string) == 0)
                seen = 1;
        }
        if (!seen && push(list, cJSON_CreateString(media->string)) == NULL)
            return -1;
    }
    return 0;
}

/* A v3 requestBody {content, required, description} as the v2 parameter
 * {"name":"body","in":"body","required":..,"schema":..}. */
static cJSON *v2_body_parameter(const cJSON *body)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *item;

    if (out == NULL || cJSON_AddStringToObject(out, "name", "body") == NULL ||
        cJSON_AddStringToObject(out, "in", "body") == NULL)
        goto fail;
    cJSON_ArrayForEach(item, body)
    {
        if (strcmp(item->string, "content") == 0) {
            if (add(out, "schema", content_schema(item)) == NULL)
                goto fail;
        } else if (strcmp(item->string, "required") == 0 ||
                   strcmp(item->string, "description") == 0) {
            if (add(out, item->string, cJSON_Duplicate(item, 1)) == NULL)
                goto fail;
        } else {
            goto fail;
        }
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* A v3 response {description, content} as v2 {description, schema}; its media types go to
 * produces. */
static cJSON *v2_response(const cJSON *response, cJSON *produces)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *item;

    if (out == NULL)
        goto fail;
    cJSON_ArrayForEach(item, response)
    {
        if (strcmp(item->string, "content") == 0) {
            if (add_media_types(produces, item) < 0 ||
                add(out, "schema", content_schema(item)) == NULL)
                goto fail;
        } else if (strcmp(item->string, "description") == 0) {
            if (add(out, item->string, cJSON_Duplicate(item, 1)) == NULL)
                goto fail;
        } else {
            goto fail;
        }
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* A v3 operation as v2: requestBody -> consumes plus a body parameter (first, as kube-apiserver
 * lists it), each response's content -> its schema plus produces. Other keys (description,
 * operationId, tags, x-kubernetes-*) are copied. */
static cJSON *v2_operation(const cJSON *op)
{
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(op, "requestBody");
    const cJSON *item;
    const cJSON *p;
    cJSON *out = cJSON_CreateObject();
    cJSON *params = NULL;
    cJSON *produces;
    cJSON *responses;
    cJSON *consumes;

    if (out == NULL)
        goto fail;
    cJSON_ArrayForEach(item, op)
    {
        if (strcmp(item->string, "requestBody") == 0) {
            consumes = add(out, "consumes", cJSON_CreateArray());
            if (consumes == NULL ||
                add_media_types(consumes, cJSON_GetObjectItemCaseSensitive(item, "content")) < 0)
                goto fail;
        } else if (strcmp(item->string, "parameters") == 0) {
            params = add(out, "parameters", cJSON_CreateArray());
            if (params == NULL || (body != NULL && push(params, v2_body_parameter(body)) == NULL))
                goto fail;
            cJSON_ArrayForEach(p, item)
            {
                if (push(params, v2_parameter(p)) == NULL)
                    goto fail;
            }
        } else if (strcmp(item->string, "responses") == 0) {
            produces = add(out, "produces", cJSON_CreateArray());
            responses = add(out, "responses", cJSON_CreateObject());
            if (produces == NULL || responses == NULL)
                goto fail;
            cJSON_ArrayForEach(p, item)
            {
                if (add(responses, p->string, v2_response(p, produces)) == NULL)
                    goto fail;
            }
        } else if (add(out, item->string, cJSON_Duplicate(item, 1)) == NULL) {
            goto fail;
        }
    }
    if (body != NULL && params == NULL) {
        params = add(out, "parameters", cJSON_CreateArray());
        if (params == NULL || push(params, v2_body_parameter(body)) == NULL)
            goto fail;
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* A v3 path item as v2: the same methods, parameters moved out of their schemas. */
static cJSON *v2_path_item(const cJSON *path)
{
    static const char *const methods[] = {"get",     "put",  "post",  "delete",
                                          "options", "head", "patch", NULL};
    cJSON *out = cJSON_CreateObject();
    const cJSON *item;
    cJSON *params;
    const cJSON *p;

    if (out == NULL)
        goto fail;
    cJSON_ArrayForEach(item, path)
    {
        int method = 0;

        for (size_t i = 0; methods[i] != NULL; i++)
            if (strcmp(item->string, methods[i]) == 0)
                method = 1;
        if (method) {
            if (add(out, item->string, v2_operation(item)) == NULL)
                goto fail;
        } else if (strcmp(item->string, "parameters") == 0) {
            params = add(out, "parameters", cJSON_CreateArray());
            if (params == NULL)
                goto fail;
            cJSON_ArrayForEach(p, item)
            {
                if (push(params, v2_parameter(p)) == NULL)
                    goto fail;
            }
        } else if (add(out, item->string, cJSON_Duplicate(item, 1)) == NULL) {
            goto fail;
        }
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* Moves the paths and schemas of one v3 group document into the v2 paths and definitions. The
 * meta.v1 schemas come with every group: the first copy is kept. 0 or -1. */
static int merge_group(cJSON *paths, cJSON *definitions, const cJSON *v3)
{
    const cJSON *components = cJSON_GetObjectItemCaseSensitive(v3, "components");
    const cJSON *item;

    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(v3, "paths"))
    {
        if (add(paths, item->string, v2_path_item(item)) == NULL)
            return -1;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(components, "schemas"))
    {
        if (cJSON_GetObjectItemCaseSensitive(definitions, item->string) != NULL)
            continue;
        if (add(definitions, item->string, v2_schema(item)) == NULL)
            return -1;
    }
    return 0;
}

/* "api/v1" or "apis/<group>/<version>" for kind k: the path openapi_v3_group() takes. */
static int gv_path(const struct kinds_info *k, char *buf, size_t len)
{
    int n = k->group[0] != '\0' ? snprintf(buf, len, "apis/%s/%s", k->group, k->version)
                                : snprintf(buf, len, "api/%s", k->version);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

cJSON *openapi_v2_json(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *v3 = NULL;
    cJSON *info;
    cJSON *paths;
    cJSON *definitions;
    char gv[GV_PATH_MAX];

    if (doc == NULL || cJSON_AddStringToObject(doc, "swagger", "2.0") == NULL)
        goto fail;
    info = add(doc, "info", cJSON_CreateObject());
    paths = add(doc, "paths", cJSON_CreateObject());
    definitions = add(doc, "definitions", cJSON_CreateObject());
    if (info == NULL || paths == NULL || definitions == NULL)
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
        if (gv_path(k, gv, sizeof(gv)) < 0)
            goto fail;
        v3 = openapi_v3_group(gv);
        if (v3 == NULL || merge_group(paths, definitions, v3) < 0)
            goto fail;
        if (info->child == NULL) { /* the v3 documents share one info: take the first */
            const cJSON *item;

            cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(v3, "info"))
            {
                if (add(info, item->string, cJSON_Duplicate(item, 1)) == NULL)
                    goto fail;
            }
        }
        cJSON_Delete(v3);
        v3 = NULL;
    }
    return doc;
fail:
    cJSON_Delete(v3);
    cJSON_Delete(doc);
    return NULL;
}

int openapi_v2_document(unsigned char **out, size_t *len)
{
    cJSON *doc = openapi_v2_json();
    char err[512];
    int rc = -1;

    *out = NULL;
    *len = 0;
    if (doc == NULL) {
        log_error("openapi v2: cannot build the document (out of memory?)");
        goto out;
    }
    rc = openapi_v2_encode(doc, out, len, err, sizeof(err));
    if (rc < 0)
        log_error("openapi v2: %s", err);
out:
    cJSON_Delete(doc);
    return rc;
}

int openapi_v2_wants_proto(const char *accept)
{
    static const char *const proto[] = {OPENAPI_V2_PROTO_ACCEPT, OPENAPI_V2_PROTO_CONTENT_TYPE};

    if (accept == NULL || strstr(accept, "application/json") != NULL)
        return 0;
    for (size_t i = 0; i < sizeof(proto) / sizeof(proto[0]); i++)
        if (strstr(accept, proto[i]) != NULL)
            return 1;
    return 0;
}
