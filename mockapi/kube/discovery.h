/* discovery.h -- /version, legacy and aggregated discovery documents, built from the kinds table */
#ifndef KF_DISCOVERY_H
#define KF_DISCOVERY_H

#include <cjson/cJSON.h>

/** Content-Type of an aggregated (apidiscovery.k8s.io/v2) answer; kubectl rejects the same body
 * sent as plain application/json (kube-wire.md section 2). */
#define DISCOVERY_AGGREGATED_CONTENT_TYPE                                                          \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

/** Longest minor version string discovery_version() accepts ("32"). */
#define DISCOVERY_MINOR_MAX 3

/**
 * The /version body for server version 1.<minor>.0: major, minor, gitVersion, gitCommit,
 * gitTreeState, buildDate, goVersion, compiler, platform. Everything but the version is fixed, so
 * the document is deterministic. minor is borrowed: 1 to DISCOVERY_MINOR_MAX digits, else NULL.
 * Caller frees with cJSON_Delete(); NULL also when out of memory.
 */
cJSON *discovery_version(const char *minor);

/**
 * Legacy GET /api: {"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[...]}.
 * server_address ("127.0.0.1:8080") is borrowed; NULL leaves the CIDR list empty.
 * Caller frees with cJSON_Delete(); NULL when out of memory.
 */
cJSON *discovery_api_versions(const char *server_address);

/**
 * Legacy GET /apis: an APIGroupList with every non-core group of kinds_table, each with its
 * versions and preferredVersion (the first version listed in kinds.def).
 * Caller frees with cJSON_Delete(); NULL when out of memory.
 */
cJSON *discovery_api_groups(void);

/**
 * Legacy GET /apis/<name>: {"kind":"APIGroup","apiVersion":"v1","name":...,"versions":[...],
 * "preferredVersion":{...}}. name is borrowed. NULL when no kind is in that group ("" included:
 * the core group is not under /apis) or out of memory. Caller frees with cJSON_Delete().
 */
cJSON *discovery_api_group(const char *name);

/**
 * GET /api/v1 (group "") or /apis/<group>/<version>: the APIResourceList of that group version.
 * Every resource has name, singularName, namespaced, kind, verbs, and shortNames/categories when
 * it has some; each subresource follows its parent as "pods/log" etc. group and version are
 * borrowed. NULL when the group version serves no kind (the caller answers 404) or out of memory.
 * Caller frees with cJSON_Delete().
 */
cJSON *discovery_resource_list(const char *group, const char *version);

/**
 * The aggregated APIGroupDiscoveryList (apidiscovery.k8s.io/v2) for GET /api (core != 0) or
 * GET /apis (core == 0). Serve it only when discovery_wants_aggregated() says so, with
 * DISCOVERY_AGGREGATED_CONTENT_TYPE. Caller frees with cJSON_Delete(); NULL when out of memory.
 */
cJSON *discovery_aggregated(int core);

/**
 * 1 when one media range of the Accept header (borrowed, may be NULL) is application/json with
 * g=apidiscovery.k8s.io, v=v2 and as=APIGroupDiscoveryList, else 0. kubectl 1.29 asks only for
 * v2beta1 and breaks on a v2 answer, so v2beta1 alone gives 0.
 */
int discovery_wants_aggregated(const char *accept);

#endif
