/* kinds.c -- the table of resource kinds, expanded from kinds.def */
#include "mockapi/kube/kinds.h"

#include <stdio.h>
#include <string.h>

const struct kinds_info kinds_table[KIND__COUNT] = {
#define KIND(id, res, kind, group, ver, nsd, shorts, singular, verbs, subs)                        \
    {KIND_##id, res, kind, group, ver, nsd, shorts, singular, verbs, subs},
#include "mockapi/kube/kinds.def"
#undef KIND
};

const struct kinds_info *kinds_by_resource(const char *group, const char *resource)
{
    for (size_t i = 0; i < KIND__COUNT; i++)
        if (strcmp(kinds_table[i].group, group) == 0 &&
            strcmp(kinds_table[i].resource, resource) == 0)
            return &kinds_table[i];
    return NULL;
}

const struct kinds_info *kinds_by_kind(const char *kind)
{
    for (size_t i = 0; i < KIND__COUNT; i++)
        if (strcmp(kinds_table[i].kind, kind) == 0)
            return &kinds_table[i];
    return NULL;
}

const char *kinds_api_version(const struct kinds_info *k, char *buf, size_t len)
{
    if (k->group[0])
        snprintf(buf, len, "%s/%s", k->group, k->version);
    else
        snprintf(buf, len, "%s", k->version);
    return buf;
}
