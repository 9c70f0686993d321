/* route.c -- maps a request path and method to a Kubernetes verb, resource, namespace, name and
 * subresource */
#include "mockapi/kube/route.h"

#include <stdio.h>
#include <string.h>

#include "mockapi/kube/kinds.h"

#define MAX_SEGMENTS 10

static const char *const verb_names[] = {"",       "get",   "list",   "watch",           "create",
                                         "update", "patch", "delete", "deletecollection"};

const char *route_verb_name(enum route_verb v)
{
    return verb_names[v];
}

/* Split path into at most MAX_SEGMENTS segments; returns the count or -1 when too many/too long. */
static int split(const char *path, char seg[][ROUTE_MAX_SEGMENT + 1])
{
    int n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (n == MAX_SEGMENTS || len > ROUTE_MAX_SEGMENT)
            return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        p += len;
    }
    return n;
}

/* Copy src into dst; 0, or -1 (dst emptied) when it does not fit. */
static int setstr(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len) {
        dst[0] = '\0';
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* A segment longer than its field: no such path, never a shorter (different) one. */
static int too_long(struct route *r)
{
    memset(r, 0, sizeof *r);
    return 0;
}

static enum route_verb verb_for(const char *method, int has_name, int watch)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return watch ? VERB_WATCH : has_name ? VERB_GET : VERB_LIST;
    if (strcmp(method, "POST") == 0)
        return VERB_CREATE;
    if (strcmp(method, "PUT") == 0)
        return VERB_UPDATE;
    if (strcmp(method, "PATCH") == 0)
        return VERB_PATCH;
    if (strcmp(method, "DELETE") == 0)
        return has_name ? VERB_DELETE : VERB_DELETECOLLECTION;
    return VERB_NONE;
}

int route_parse(const char *method, const char *path, int watch, struct route *r, char *err,
                size_t errlen)
{
    char seg[MAX_SEGMENTS][ROUTE_MAX_SEGMENT + 1];
    memset(r, 0, sizeof *r);
    int n = split(path, seg);
    if (n < 0)
        return 0;
    if (n == 1 && strcmp(seg[0], "version") == 0) {
        r->type = ROUTE_VERSION;
        return 0;
    }
    if (n >= 1 && (strcmp(seg[0], "healthz") == 0 || strcmp(seg[0], "readyz") == 0 ||
                   strcmp(seg[0], "livez") == 0)) {
        r->type = ROUTE_HEALTH;
        return 0;
    }
    if (n >= 2 && strcmp(seg[0], "openapi") == 0) {
        if (strcmp(seg[1], "v2") == 0 && n == 2) {
            r->type = ROUTE_OPENAPI_V2;
        } else if (strcmp(seg[1], "v3") == 0 && n == 2) {
            r->type = ROUTE_OPENAPI_V3;
        } else if (strcmp(seg[1], "v3") == 0 && n == 4 && strcmp(seg[2], "api") == 0) {
            r->type = ROUTE_OPENAPI_V3_GV;
            if (setstr(r->version, sizeof r->version, seg[3]) < 0)
                return too_long(r);
        } else if (strcmp(seg[1], "v3") == 0 && n == 5 && strcmp(seg[2], "apis") == 0) {
            r->type = ROUTE_OPENAPI_V3_GV;
            if (setstr(r->group, sizeof r->group, seg[3]) < 0)
                return too_long(r);
            if (setstr(r->version, sizeof r->version, seg[4]) < 0)
                return too_long(r);
        }
        return 0;
    }

    int i; /* index of the first segment after the group version */
    if (n >= 1 && strcmp(seg[0], "api") == 0) {
        if (n == 1) {
            r->type = ROUTE_API;
            return 0;
        }
        if (strcmp(seg[1], "v1") != 0)
            return 0;
        snprintf(r->version, sizeof r->version, "v1");
        i = 2;
    } else if (n >= 1 && strcmp(seg[0], "apis") == 0) {
        if (n == 1) {
            r->type = ROUTE_APIS;
            return 0;
        }
        if (setstr(r->group, sizeof r->group, seg[1]) < 0)
            return too_long(r);
        if (n == 2) {
            r->type = ROUTE_GROUP;
            return 0;
        }
        if (setstr(r->version, sizeof r->version, seg[2]) < 0)
            return too_long(r);
        i = 3;
    } else {
        return 0;
    }
    if (n == i) {
        r->type = ROUTE_RESOURCES;
        return 0;
    }

    /* [namespaces/{ns}/]{resource}[/{name}[/{subresource}]] -- but namespaces/{name}[/status] is
     * the namespace object itself. */
    const char *resource;
    int rest;
    int ns_sub =
        n == i + 3 && (strcmp(seg[i + 2], "status") == 0 || strcmp(seg[i + 2], "finalize") == 0);
    if (strcmp(seg[i], "namespaces") == 0 && n >= i + 3 && !ns_sub) {
        if (setstr(r->namespace, sizeof r->namespace, seg[i + 1]) < 0)
            return too_long(r);
        resource = seg[i + 2];
        rest = i + 3;
    } else {
        resource = seg[i];
        rest = i + 1;
    }
    if (n > rest + 2)
        return 0;
    const struct kinds_info *k = kinds_by_resource(r->group, resource);
    if (!k || strcmp(k->version, r->version) != 0) {
        setstr(r->unknown_resource, sizeof r->unknown_resource, resource);
        return 0;
    }
    if (r->namespace[0] && !k->namespaced) {
        snprintf(err, errlen, "%s is not namespaced", k->resource);
        return -1;
    }
    if (n > rest)
        if (setstr(r->name, sizeof r->name, seg[rest]) < 0)
            return too_long(r);
    if (n > rest + 1)
        if (setstr(r->subresource, sizeof r->subresource, seg[rest + 1]) < 0)
            return too_long(r);
    r->kind = k;
    r->type = ROUTE_OBJECT;
    r->verb = verb_for(method, r->name[0] != '\0', watch);
    return 0;
}
