/* kinds.h -- the table of resource kinds (from kinds.def): lookup by resource, short name or kind
 */
#ifndef KF_KINDS_H
#define KF_KINDS_H

#include <stddef.h>

enum kinds_id {
#define KIND(id, res, kind, group, ver, nsd, shorts, singular, verbs, subs) KIND_##id,
#include "mockapi/kube/kinds.def"
#undef KIND
    KIND__COUNT
};

struct kinds_info {
    enum kinds_id id;
    const char *resource;     /**< plural, as in URLs: "pods" */
    const char *kind;         /**< "Pod" */
    const char *group;        /**< "" for the core group */
    const char *version;      /**< "v1" */
    int namespaced;           /**< 1 when objects live in a namespace */
    const char *shortnames;   /**< comma-separated, "" when none */
    const char *singular;     /**< "pod" */
    const char *verbs;        /**< comma-separated discovery verbs */
    const char *subresources; /**< comma-separated, "" when none */
};

/** The whole table, KIND__COUNT rows, in kinds.def order. */
extern const struct kinds_info kinds_table[KIND__COUNT];

/** Row for a group and plural resource name ("" for core), or NULL. */
const struct kinds_info *kinds_by_resource(const char *group, const char *resource);

/** Row for a kind name ("Pod"), or NULL. */
const struct kinds_info *kinds_by_kind(const char *kind);

/** "v1" for core, "policy/v1" otherwise, written into buf (borrowed back). */
const char *kinds_api_version(const struct kinds_info *k, char *buf, size_t len);

#endif
