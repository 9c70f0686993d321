/* route.h -- maps a request path and method to a Kubernetes verb, resource, namespace, name and
 * subresource */
#ifndef KF_ROUTE_H
#define KF_ROUTE_H

#include <stddef.h>

struct kinds_info;

enum route_type {
    ROUTE_NONE,          /**< no such path: 404 */
    ROUTE_VERSION,       /**< /version */
    ROUTE_HEALTH,        /**< /healthz, /readyz, /livez (and their /... checks) */
    ROUTE_API,           /**< /api */
    ROUTE_APIS,          /**< /apis */
    ROUTE_GROUP,         /**< /apis/<group> */
    ROUTE_RESOURCES,     /**< /api/v1, /apis/<group>/<version> */
    ROUTE_OPENAPI_V3,    /**< /openapi/v3 */
    ROUTE_OPENAPI_V3_GV, /**< /openapi/v3/api/v1, /openapi/v3/apis/<g>/<v> */
    ROUTE_OPENAPI_V2,    /**< /openapi/v2 (protobuf for kubectl 1.27/1.28, or JSON) */
    ROUTE_OBJECT,        /**< a resource path: see verb */
};

/** Kubernetes verbs as RBAC and the audit log name them. */
enum route_verb {
    VERB_NONE,
    VERB_GET,
    VERB_LIST,
    VERB_WATCH,
    VERB_CREATE,
    VERB_UPDATE,
    VERB_PATCH,
    VERB_DELETE,
    VERB_DELETECOLLECTION,
};

#define ROUTE_MAX_SEGMENT 254 /**< longest path segment kept (Kubernetes names are <= 253) */

struct route {
    enum route_type type;
    enum route_verb verb;
    const struct kinds_info *kind; /**< ROUTE_OBJECT: the resource kind */
    char group[64];                /**< ROUTE_GROUP, ROUTE_RESOURCES, ROUTE_OPENAPI_V3_GV */
    char version[16];
    char namespace[ROUTE_MAX_SEGMENT + 1]; /**< "" when cluster-wide or cluster-scoped */
    char name[ROUTE_MAX_SEGMENT + 1];      /**< "" for collections */
    char subresource[32];                  /**< "" or "status", "log", "exec", "attach", ... */
    char unknown_resource[ROUTE_MAX_SEGMENT + 1]; /**< for 404 texts when no kind matched */
};

/** Parse path (already percent-decoded, no query) and method; watch is 1 when the query asked for
 *  watch=true|1. Returns 0 and fills r (type ROUTE_NONE when nothing matches), or -1 with a
 *  message in err for a path that names a known resource the wrong way (400). */
int route_parse(const char *method, const char *path, int watch, struct route *r, char *err,
                size_t errlen);

/** The verb's name ("get", "list", ...). */
const char *route_verb_name(enum route_verb v);

#endif
