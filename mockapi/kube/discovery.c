/* discovery.c -- /version, legacy and aggregated discovery documents, built from the kinds table */
#include "mockapi/kube/discovery.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mockapi/base/json.h"
#include "mockapi/http/accept.h"
#include "mockapi/kube/kinds.h"

/* Longest word in a comma-separated kinds.def column (verbs, short names, subresources). */
#define WORD_MAX 64

/* What discovery says about each subresource kinds.def may list. kind NULL means the parent's
 * kind; the kinds and verbs are what kube-apiserver reports for pods/log|exec|attach|status. */
struct subresource_info {
    const char *name;
    const char *kind;
    const char *verbs;
};

static const struct subresource_info subresource_table[] = {
    {"status", NULL, "get,patch,update"},
    {"log", NULL, "get"},
    {"exec", "PodExecOptions", "create,get"},
    {"attach", "PodAttachOptions", "create,get"},
};

/* Core resources in the "all" category (kubectl get all); kinds.def has no column for it. */
static const char *const all_category[] = {"pods", "services"};

/* Copies the next word of the comma-separated list at *p into word and moves *p past it.
 * Returns 1 for a word, 0 at the end of the list, -1 when a word does not fit in cap. */
static int csv_next(const char **p, char *word, size_t cap)
{
    const char *s = *p;
    const char *end;
    size_t n;

    if (*s == '\0')
        return 0;
    end = strchr(s, ',');
    n = end != NULL ? (size_t)(end - s) : strlen(s);
    if (n >= cap)
        return -1;
    memcpy(word, s, n);
    word[n] = '\0';
    *p = end != NULL ? end + 1 : s + n;
    return 1;
}

/* A JSON array of the words in csv ("" gives []). NULL when out of memory. */
static cJSON *csv_array(const char *csv)
{
    cJSON *arr = cJSON_CreateArray();
    char word[WORD_MAX];
    int r;

    if (arr == NULL)
        goto fail;
    while ((r = csv_next(&csv, word, sizeof(word))) > 0)
        if (json_push(arr, cJSON_CreateString(word)) == NULL)
            goto fail;
    if (r < 0)
        goto fail;
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

/* Moves *p past the next name of a kind's comma-separated subresources and points *sub at its
 * subresource_table row. 1 for a subresource, 0 at the end, -1 for a name too long or not in
 * subresource_table (a kinds.def change that needs a row here). */
static int next_subresource(const char **p, const struct subresource_info **sub)
{
    char word[WORD_MAX];
    int r = csv_next(p, word, sizeof(word));

    if (r <= 0)
        return r;
    for (size_t i = 0; i < sizeof(subresource_table) / sizeof(subresource_table[0]); i++) {
        if (strcmp(subresource_table[i].name, word) == 0) {
            *sub = &subresource_table[i];
            return 1;
        }
    }
    return -1;
}

static int in_all_category(const struct kinds_info *k)
{
    if (k->group[0] != '\0')
        return 0;
    for (size_t i = 0; i < sizeof(all_category) / sizeof(all_category[0]); i++)
        if (strcmp(all_category[i], k->resource) == 0)
            return 1;
    return 0;
}

/* Adds shortNames and categories to a resource object when the kind has any. 0 or -1. */
static int add_names_and_categories(cJSON *res, const struct kinds_info *k)
{
    if (k->shortnames[0] != '\0' && json_add(res, "shortNames", csv_array(k->shortnames)) == NULL)
        return -1;
    if (in_all_category(k) && json_add(res, "categories", csv_array("all")) == NULL)
        return -1;
    return 0;
}

/* 1 when row i is the first row of its group (and, with same_version, of its group version). */
static int first_of(size_t i, int same_version)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(kinds_table[j].group, kinds_table[i].group) == 0 &&
            (!same_version || strcmp(kinds_table[j].version, kinds_table[i].version) == 0))
            return 0;
    return 1;
}

/* 1 when kind k is served at group version group/version. */
static int in_group_version(const struct kinds_info *k, const char *group, const char *version)
{
    return strcmp(k->group, group) == 0 && strcmp(k->version, version) == 0;
}

/* Adds "versions" to obj: make(k) for the first row k of each version of group, in kinds.def
 * order. The legacy and the aggregated documents both list them through here, so they cannot
 * disagree on a group's versions. 0 or -1. */
static int add_versions(cJSON *obj, const char *group, cJSON *(*make)(const struct kinds_info *k))
{
    cJSON *versions = json_add(obj, "versions", cJSON_CreateArray());

    if (versions == NULL)
        return -1;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        if (strcmp(kinds_table[i].group, group) != 0 || !first_of(i, 1))
            continue;
        if (json_push(versions, make(&kinds_table[i])) == NULL)
            return -1;
    }
    return 0;
}

/* Adds "resources" to obj: push_kind appends the entries of each kind of group/version, in
 * kinds.def order (shared by the legacy and the aggregated documents, as add_versions). 0 or -1. */
static int add_resources(cJSON *obj, const char *group, const char *version,
                         int (*push_kind)(cJSON *arr, const struct kinds_info *k))
{
    cJSON *resources = json_add(obj, "resources", cJSON_CreateArray());

    if (resources == NULL)
        return -1;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        if (!in_group_version(&kinds_table[i], group, version))
            continue;
        if (push_kind(resources, &kinds_table[i]) < 0)
            return -1;
    }
    return 0;
}

/* {"groupVersion":"policy/v1","version":"v1"} */
static cJSON *group_version_for_discovery(const struct kinds_info *k)
{
    cJSON *gv = cJSON_CreateObject();
    char buf[WORD_MAX * 2];

    if (gv == NULL)
        goto fail;
    if (cJSON_AddStringToObject(gv, "groupVersion", kinds_api_version(k, buf, sizeof(buf))) ==
            NULL ||
        cJSON_AddStringToObject(gv, "version", k->version) == NULL)
        goto fail;
    return gv;
fail:
    cJSON_Delete(gv);
    return NULL;
}

cJSON *discovery_version(const char *minor)
{
    cJSON *doc = NULL;
    char git_version[16];
    size_t n = minor != NULL ? strlen(minor) : 0;

    if (n == 0 || n > DISCOVERY_MINOR_MAX || strspn(minor, "0123456789") != n)
        goto fail;
    snprintf(git_version, sizeof(git_version), "v1.%s.0", minor);
    doc = cJSON_CreateObject();
    if (doc == NULL)
        goto fail;
    if (cJSON_AddStringToObject(doc, "major", "1") == NULL ||
        cJSON_AddStringToObject(doc, "minor", minor) == NULL ||
        cJSON_AddStringToObject(doc, "gitVersion", git_version) == NULL ||
        cJSON_AddStringToObject(doc, "gitCommit", "0123456789abcdef0123456789abcdef01234567") ==
            NULL ||
        cJSON_AddStringToObject(doc, "gitTreeState", "clean") == NULL ||
        cJSON_AddStringToObject(doc, "buildDate", "2024-01-01T00:00:00Z") == NULL ||
        cJSON_AddStringToObject(doc, "goVersion", "go1.23.0") == NULL ||
        cJSON_AddStringToObject(doc, "compiler", "gc") == NULL ||
        cJSON_AddStringToObject(doc, "platform", "linux/amd64") == NULL)
        goto fail;
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

cJSON *discovery_api_versions(const char *server_address)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *cidrs;
    cJSON *entry;

    if (doc == NULL)
        goto fail;
    if (cJSON_AddStringToObject(doc, "kind", "APIVersions") == NULL ||
        json_add(doc, "versions", csv_array("v1")) == NULL)
        goto fail;
    cidrs = json_add(doc, "serverAddressByClientCIDRs", cJSON_CreateArray());
    if (cidrs == NULL)
        goto fail;
    if (server_address != NULL) {
        entry = json_push(cidrs, cJSON_CreateObject());
        if (entry == NULL || cJSON_AddStringToObject(entry, "clientCIDR", "0.0.0.0/0") == NULL ||
            cJSON_AddStringToObject(entry, "serverAddress", server_address) == NULL)
            goto fail;
    }
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

/* The APIGroup of row first's group: name, versions, preferredVersion; with_type adds kind and
 * apiVersion, as the stand-alone /apis/<group> document has them. */
static cJSON *legacy_group(size_t first, int with_type)
{
    const struct kinds_info *k = &kinds_table[first];
    cJSON *group = cJSON_CreateObject();

    if (group == NULL ||
        (with_type && (cJSON_AddStringToObject(group, "kind", "APIGroup") == NULL ||
                       cJSON_AddStringToObject(group, "apiVersion", "v1") == NULL)) ||
        cJSON_AddStringToObject(group, "name", k->group) == NULL ||
        add_versions(group, k->group, group_version_for_discovery) < 0 ||
        json_add(group, "preferredVersion", group_version_for_discovery(k)) == NULL)
        goto fail;
    return group;
fail:
    cJSON_Delete(group);
    return NULL;
}

cJSON *discovery_api_groups(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *groups;

    if (doc == NULL || cJSON_AddStringToObject(doc, "kind", "APIGroupList") == NULL ||
        cJSON_AddStringToObject(doc, "apiVersion", "v1") == NULL)
        goto fail;
    groups = json_add(doc, "groups", cJSON_CreateArray());
    if (groups == NULL)
        goto fail;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        if (kinds_table[i].group[0] == '\0' || !first_of(i, 0))
            continue;
        if (json_push(groups, legacy_group(i, 0)) == NULL)
            goto fail;
    }
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

cJSON *discovery_api_group(const char *name)
{
    if (name[0] == '\0')
        return NULL;
    for (size_t i = 0; i < KIND__COUNT; i++)
        if (strcmp(kinds_table[i].group, name) == 0)
            return legacy_group(i, 1);
    return NULL;
}

/* The APIResource for a kind itself. */
static cJSON *legacy_resource(const struct kinds_info *k)
{
    cJSON *res = cJSON_CreateObject();

    if (res == NULL || cJSON_AddStringToObject(res, "name", k->resource) == NULL ||
        cJSON_AddStringToObject(res, "singularName", k->singular) == NULL ||
        cJSON_AddBoolToObject(res, "namespaced", k->namespaced) == NULL ||
        cJSON_AddStringToObject(res, "kind", k->kind) == NULL ||
        json_add(res, "verbs", csv_array(k->verbs)) == NULL || add_names_and_categories(res, k) < 0)
        goto fail;
    return res;
fail:
    cJSON_Delete(res);
    return NULL;
}

/* The APIResource "pods/log" etc. for one subresource. */
static cJSON *legacy_subresource(const struct kinds_info *k, const struct subresource_info *sub)
{
    cJSON *res = cJSON_CreateObject();
    char name[WORD_MAX * 2];

    snprintf(name, sizeof(name), "%s/%s", k->resource, sub->name);
    if (res == NULL || cJSON_AddStringToObject(res, "name", name) == NULL ||
        cJSON_AddStringToObject(res, "singularName", "") == NULL ||
        cJSON_AddBoolToObject(res, "namespaced", k->namespaced) == NULL ||
        cJSON_AddStringToObject(res, "kind", sub->kind != NULL ? sub->kind : k->kind) == NULL ||
        json_add(res, "verbs", csv_array(sub->verbs)) == NULL)
        goto fail;
    return res;
fail:
    cJSON_Delete(res);
    return NULL;
}

/* Appends the kind and then each of its subresources to arr. 0 or -1 (also for a subresource
 * that subresource_table does not know: a kinds.def change that needs a row here). */
static int push_legacy_resources(cJSON *arr, const struct kinds_info *k)
{
    const char *p = k->subresources;
    const struct subresource_info *sub = NULL;
    int r;

    if (json_push(arr, legacy_resource(k)) == NULL)
        return -1;
    while ((r = next_subresource(&p, &sub)) > 0)
        if (json_push(arr, legacy_subresource(k, sub)) == NULL)
            return -1;
    return r;
}

cJSON *discovery_resource_list(const char *group, const char *version)
{
    cJSON *doc = NULL;
    char gv[WORD_MAX * 2];
    int found = 0;

    for (size_t i = 0; i < KIND__COUNT; i++)
        if (in_group_version(&kinds_table[i], group, version))
            found = 1;
    if (!found)
        goto fail;
    if (group[0] != '\0')
        snprintf(gv, sizeof(gv), "%s/%s", group, version);
    else
        snprintf(gv, sizeof(gv), "%s", version);
    doc = cJSON_CreateObject();
    if (doc == NULL || cJSON_AddStringToObject(doc, "kind", "APIResourceList") == NULL ||
        cJSON_AddStringToObject(doc, "apiVersion", "v1") == NULL ||
        cJSON_AddStringToObject(doc, "groupVersion", gv) == NULL ||
        add_resources(doc, group, version, push_legacy_resources) < 0)
        goto fail;
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

/* responseKind. kube-apiserver copies the legacy APIResource's group and version, which are
 * empty when they equal the parent group version (apiserver endpoints/installer.go,
 * ConvertGroupVersionIntoToDiscovery), so we send empty strings too. */
static cJSON *response_kind(const char *kind)
{
    cJSON *rk = cJSON_CreateObject();

    if (rk == NULL || cJSON_AddStringToObject(rk, "group", "") == NULL ||
        cJSON_AddStringToObject(rk, "version", "") == NULL ||
        cJSON_AddStringToObject(rk, "kind", kind) == NULL)
        goto fail;
    return rk;
fail:
    cJSON_Delete(rk);
    return NULL;
}

/* The subresources array of an aggregated resource, or NULL (also on error: check *err). */
static cJSON *aggregated_subresources(const struct kinds_info *k, int *err)
{
    cJSON *arr = NULL;
    cJSON *entry;
    const struct subresource_info *sub = NULL;
    const char *p = k->subresources;
    int r;

    *err = 0;
    if (*p == '\0')
        return NULL;
    arr = cJSON_CreateArray();
    if (arr == NULL)
        goto fail;
    while ((r = next_subresource(&p, &sub)) > 0) {
        entry = json_push(arr, cJSON_CreateObject());
        if (entry == NULL || cJSON_AddStringToObject(entry, "subresource", sub->name) == NULL ||
            json_add(entry, "responseKind",
                     response_kind(sub->kind != NULL ? sub->kind : k->kind)) == NULL ||
            json_add(entry, "verbs", csv_array(sub->verbs)) == NULL)
            goto fail;
    }
    if (r < 0)
        goto fail;
    return arr;
fail:
    cJSON_Delete(arr);
    *err = 1;
    return NULL;
}

/* Appends one APIResourceDiscovery for k to arr, in kube-apiserver's field order. 0 or -1; on
 * failure a partial entry may stay in arr, which the caller then deletes with its document. */
static int push_aggregated_resource(cJSON *arr, const struct kinds_info *k)
{
    cJSON *res = json_push(arr, cJSON_CreateObject());
    cJSON *subs;
    int err;

    if (res == NULL || cJSON_AddStringToObject(res, "resource", k->resource) == NULL ||
        json_add(res, "responseKind", response_kind(k->kind)) == NULL ||
        cJSON_AddStringToObject(res, "scope", k->namespaced ? "Namespaced" : "Cluster") == NULL ||
        cJSON_AddStringToObject(res, "singularResource", k->singular) == NULL ||
        json_add(res, "verbs", csv_array(k->verbs)) == NULL || add_names_and_categories(res, k) < 0)
        return -1;
    subs = aggregated_subresources(k, &err);
    if (err || (subs != NULL && json_add(res, "subresources", subs) == NULL))
        return -1;
    return 0;
}

/* One APIVersionDiscovery: the kinds of k's group version. */
static cJSON *aggregated_version(const struct kinds_info *k)
{
    cJSON *ver = cJSON_CreateObject();

    if (ver == NULL || cJSON_AddStringToObject(ver, "version", k->version) == NULL ||
        add_resources(ver, k->group, k->version, push_aggregated_resource) < 0 ||
        cJSON_AddStringToObject(ver, "freshness", "Current") == NULL)
        goto fail;
    return ver;
fail:
    cJSON_Delete(ver);
    return NULL;
}

/* One APIGroupDiscovery: the group of row first, with each of its versions. The core group
 * has no name, as in kube-apiserver's /api answer. */
static cJSON *aggregated_group(size_t first)
{
    const struct kinds_info *k = &kinds_table[first];
    cJSON *group = cJSON_CreateObject();
    cJSON *meta;

    if (group == NULL)
        goto fail;
    meta = json_add(group, "metadata", cJSON_CreateObject());
    if (meta == NULL ||
        (k->group[0] != '\0' && cJSON_AddStringToObject(meta, "name", k->group) == NULL) ||
        cJSON_AddNullToObject(meta, "creationTimestamp") == NULL ||
        add_versions(group, k->group, aggregated_version) < 0)
        goto fail;
    return group;
fail:
    cJSON_Delete(group);
    return NULL;
}

cJSON *discovery_aggregated(int core)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *items;

    if (doc == NULL || cJSON_AddStringToObject(doc, "kind", "APIGroupDiscoveryList") == NULL ||
        cJSON_AddStringToObject(doc, "apiVersion", "apidiscovery.k8s.io/v2") == NULL ||
        json_add(doc, "metadata", cJSON_CreateObject()) == NULL)
        goto fail;
    items = json_add(doc, "items", cJSON_CreateArray());
    if (items == NULL)
        goto fail;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        if ((kinds_table[i].group[0] == '\0') != (core != 0) || !first_of(i, 0))
            continue;
        if (json_push(items, aggregated_group(i)) == NULL)
            goto fail;
    }
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

int discovery_wants_aggregated(const char *accept)
{
    static const char *const want[][2] = {
        {"g", "apidiscovery.k8s.io"}, {"v", "v2"}, {"as", "APIGroupDiscoveryList"}};

    return accept_has_json_with(accept, want, sizeof(want) / sizeof(want[0]));
}
