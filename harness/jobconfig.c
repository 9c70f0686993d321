/* jobconfig.c -- the reference job client's configuration: JSON with comments, --set overrides,
 * validation with JSON paths, the runner's defaults (jobconfig.h, runner-k8s-executor.md §5) */
#include "harness/jobconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/jsonc.h"
#include "mockapi/base/json.h"

static const char *const ff_names[JC_FF_COUNT + 1] = {
    "FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY",
    "FF_USE_POD_ACTIVE_DEADLINE_SECONDS",
    "FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR",
    "FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR",
    "FF_WAIT_FOR_POD_TO_BE_REACHABLE",
    NULL,
};
static const int ff_defaults[JC_FF_COUNT] = {0, 1, 0, 0, 0};

/* Flags the runner has (§5) whose behaviour the model does not implement: refused by name. */
static const char *const ff_unmodelled[] = {"FF_KUBERNETES_HONOR_ENTRYPOINT", "FF_PRINT_POD_EVENTS",
                                            "FF_USE_ADVANCED_POD_SPEC_CONFIGURATION", NULL};

static const char *const top_keys[] = {"runner", "kubernetes", "feature_flags", "job", NULL};
static const char *const runner_keys[] = {"name",        "token",          "hostname", "url",
                                          "tls-ca-file", "check_interval", "wait_job", NULL};
static const char *const k8s_keys[] = {"host",
                                       "bearer_token",
                                       "ca_file",
                                       "context",
                                       "namespace",
                                       "namespace_per_job",
                                       "image",
                                       "helper_image",
                                       "poll_interval",
                                       "poll_timeout",
                                       "retry_limit",
                                       "retry_backoff_max",
                                       "retry_limits",
                                       "cleanup_grace_period_seconds",
                                       "pod_termination_grace_period_seconds",
                                       "cleanup_resources_timeout",
                                       "print_pod_warning_events",
                                       "pull_policy",
                                       "allowed_pull_policies",
                                       "node_selector",
                                       "pod_labels",
                                       "pod_annotations",
                                       "services",
                                       "privileged",
                                       "allow_privilege_escalation",
                                       "cap_add",
                                       "cap_drop",
                                       "build_container_security_context",
                                       "helper_container_security_context",
                                       "service_container_security_context",
                                       "init_permissions_container_security_context",
                                       NULL};
/* KubernetesContainerSecurityContext's TOML names, and KubernetesContainerCapabilities'. */
static const char *const secctx_keys[] = {"capabilities",
                                          "privileged",
                                          "run_as_user",
                                          "run_as_group",
                                          "run_as_non_root",
                                          "read_only_root_filesystem",
                                          "allow_privilege_escalation",
                                          "selinux_type",
                                          "proc_mount",
                                          NULL};
static const char *const capabilities_keys[] = {"add", "drop", NULL};
static const char *const secctx_sections[JC_CTR_COUNT + 1] = {
    "build_container_security_context", "helper_container_security_context",
    "service_container_security_context", "init_permissions_container_security_context", NULL};
/* [runners.kubernetes] settings the runner has that change the API traffic, but the model does
 * not implement: refused with a clear message rather than silently ignored. */
static const char *const k8s_unmodelled[] = {"cert_file",
                                             "key_file",
                                             "resource_availability_check_max_attempts",
                                             "pod_disruption_budget",
                                             "pod_spec",
                                             "image_pull_secrets",
                                             "service_account",
                                             "logs_base_dir",
                                             "scripts_base_dir",
                                             "pod_security_context",
                                             NULL};
static const char *const job_keys[] = {"id",
                                       "project_id",
                                       "name",
                                       "stage",
                                       "ref",
                                       "sha",
                                       "before_sha",
                                       "project_path",
                                       "url",
                                       "image",
                                       "image_pull_policy",
                                       "services",
                                       "variables",
                                       "before_script",
                                       "script",
                                       "after_script",
                                       "timeout",
                                       "cache",
                                       "artifacts",
                                       "dependencies",
                                       "credentials",
                                       NULL};
static const char *const service_keys[] = {"name",       "alias",     "command",
                                           "entrypoint", "variables", NULL};
static const char *const credential_keys[] = {"url", "username", "password", NULL};
static const char *const pull_policies[] = {"always", "if-not-present", "never", NULL};

const char *jobconfig_ff_name(enum jobconfig_ff f)
{
    return f < JC_FF_COUNT ? ff_names[f] : "";
}

const char *jobconfig_container_section(enum jobconfig_container k)
{
    return k < JC_CTR_COUNT ? secctx_sections[k] : "";
}

static int is_secctx_section(const char *name)
{
    for (size_t i = 0; secctx_sections[i]; i++)
        if (strcmp(name, secctx_sections[i]) == 0)
            return 1;
    return 0;
}

/* ---- reading ---- */

cJSON *jobconfig_read(const char *path, struct diag *d)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        diag_path(d, "", "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(JOBCONFIG_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, JOBCONFIG_MAX_FILE + 1, f) : 0;
    int bad = buf ? ferror(f) : 1;
    if (f != stdin)
        fclose(f);
    cJSON *doc = NULL;
    if (bad)
        diag_path(d, "", "cannot read%s", buf ? "" : ": out of memory");
    else if (n > JOBCONFIG_MAX_FILE)
        diag_path(d, "", "larger than %u bytes", JOBCONFIG_MAX_FILE);
    else
        doc = jsonc_parse(buf, n, d);
    free(buf);
    if (doc && !cJSON_IsObject(doc)) {
        jsonc_type_error(d, "", "an object", doc);
        cJSON_Delete(doc);
        doc = NULL;
    }
    return doc;
}

/* ---- --set ---- */

static int is_map_key(const char *section, const char *key)
{
    if (strcmp(section, "job") == 0)
        return strcmp(key, "variables") == 0;
    if (strcmp(section, "kubernetes") == 0)
        return strcmp(key, "node_selector") == 0 || strcmp(key, "pod_labels") == 0 ||
               strcmp(key, "pod_annotations") == 0 || strcmp(key, "retry_limits") == 0;
    return 0;
}

static cJSON *section_of(cJSON *doc, const char *name)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, name);
    if (!s) {
        s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToObject(doc, name, s)) {
            cJSON_Delete(s);
            return NULL;
        }
    }
    return s;
}

static int replace_or_add(cJSON *obj, const char *key, cJSON *v)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v) ? 0 : -1;
    return cJSON_AddItemToObject(obj, key, v) ? 0 : -1;
}

/* path is "TABLE.KEY" or "TABLE.capabilities.drop": every dot but the last goes one object
 * down (created when missing), the last names the member set to v. Takes ownership of v only on
 * success; 0, or -1 with the reason in d. */
static int set_nested(cJSON *obj, const char *path, cJSON *v, const char *key, struct diag *d)
{
    const char *p = path;
    for (const char *dot; (dot = strchr(p, '.'));) {
        if (dot == p) {
            diag_path(d, "", "\"%s\": an empty name between dots", key);
            return -1;
        }
        char *name = strndup(p, (size_t)(dot - p));
        if (!name)
            goto oom;
        cJSON *next = cJSON_GetObjectItemCaseSensitive(obj, name);
        if (!next) {
            next = cJSON_CreateObject();
            if (!next || !cJSON_AddItemToObject(obj, name, next)) {
                cJSON_Delete(next);
                free(name);
                goto oom;
            }
        }
        free(name);
        if (!cJSON_IsObject(next)) {
            diag_path(d, "", "\"%s\": %.*s is not a table", key, (int)(dot - path), path);
            return -1;
        }
        obj = next;
        p = dot + 1;
    }
    if (!*p) {
        diag_path(d, "", "\"%s\": no setting name", key);
        return -1;
    }
    if (replace_or_add(obj, p, v) < 0)
        goto oom;
    return 0;
oom:
    diag_path(d, "", "out of memory");
    return -1;
}

int jobconfig_set(cJSON *doc, const char *assignment, struct diag *d)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        diag_path(d, "", "\"%s\" is not key=value", assignment);
        return -1;
    }
    size_t kl = (size_t)(eq - assignment);
    char *key = strndup(assignment, kl);
    const char *value = eq + 1;
    cJSON *v = NULL;
    int rc = -1;
    if (!key)
        goto out;
    const char *section = "kubernetes", *rest = key;
    static const char *const sections[] = {"job", "runner", "kubernetes", "feature_flags"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        size_t sl = strlen(sections[i]);
        if (strncmp(key, sections[i], sl) == 0 && key[sl] == '.') {
            section = sections[i];
            rest = key + sl + 1;
        }
    }
    if (rest == key && strncmp(key, "FF_", 3) == 0)
        section = "feature_flags";
    if (!*rest) {
        diag_path(d, "", "\"%s\": no setting name", key);
        goto out;
    }
    const char *jend = NULL;
    v = cJSON_ParseWithOpts(value, &jend, 1);
    if (!v)
        v = cJSON_CreateString(value);
    cJSON *sec = section_of(doc, section);
    if (!v || !sec)
        goto oom;
    /* MAP.KEY for the maps: everything after the map name and its dot is the entry's key */
    const char *dot = strchr(rest, '.');
    if (dot) {
        char *mname = strndup(rest, (size_t)(dot - rest));
        if (!mname)
            goto oom;
        if (strcmp(section, "kubernetes") == 0 && is_secctx_section(mname)) {
            free(mname);
            if (set_nested(sec, rest, v, key, d) < 0)
                goto out;
            v = NULL;
            rc = 0;
            goto out;
        }
        int ismap = is_map_key(section, mname);
        if (!ismap) {
            diag_path(d, "",
                      "\"%s\": %s.%s is not a map (only node_selector, pod_labels, "
                      "pod_annotations, retry_limits and job.variables take MAP.KEY, and the "
                      "*_container_security_context tables TABLE.KEY)",
                      key, section, mname);
            free(mname);
            goto out;
        }
        cJSON *map = cJSON_GetObjectItemCaseSensitive(sec, mname);
        if (!map) {
            map = cJSON_CreateObject();
            if (!map || !cJSON_AddItemToObject(sec, mname, map)) {
                cJSON_Delete(map);
                free(mname);
                goto oom;
            }
        }
        free(mname);
        if (!cJSON_IsObject(map)) {
            diag_path(d, "", "\"%s\": the map is not an object", key);
            goto out;
        }
        if (replace_or_add(map, dot + 1, v) < 0)
            goto oom;
        v = NULL;
        rc = 0;
        goto out;
    }
    if (replace_or_add(sec, rest, v) < 0)
        goto oom;
    v = NULL;
    rc = 0;
    goto out;
oom:
    diag_path(d, "", "out of memory");
out:
    cJSON_Delete(v);
    free(key);
    return rc;
}

/* ---- validation ---- */

/* A string member into *out (owned); absent leaves it alone. */
static int get_str(const cJSON *obj, const char *key, const char *path, struct diag *d, char **out)
{
    const char *s;
    int r = jsonc_string(obj, key, path, d, &s);
    if (r == 1) {
        free(*out);
        *out = strdup(s);
        if (!*out)
            return -1;
    }
    return r < 0 ? -1 : 0;
}

static int get_int(const cJSON *obj, const char *key, const char *path, struct diag *d, int64_t min,
                   int64_t max, int64_t *out)
{
    return jsonc_int(obj, key, path, d, min, max, out) < 0 ? -1 : 0;
}

static int get_bool(const cJSON *obj, const char *key, const char *path, struct diag *d, int *out)
{
    return jsonc_bool(obj, key, path, d, out) < 0 ? -1 : 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A list of strings (an array, or one string as a one-entry list). */
static int get_list(const cJSON *obj, const char *key, const char *path, struct diag *d,
                    char ***out, size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    char p[JSONC_PATH_MAX];
    jsonc_path_key(p, sizeof p, path, key);
    if (!cJSON_IsString(v) && !cJSON_IsArray(v)) {
        jsonc_type_error(d, p, "a string or an array of strings", v);
        return -1;
    }
    size_t cnt = cJSON_IsString(v) ? 1 : (size_t)cJSON_GetArraySize(v);
    if (cnt > JOBCONFIG_MAX_LIST) {
        diag_path(d, p, "more than %d entries", JOBCONFIG_MAX_LIST);
        return -1;
    }
    char **l = calloc(cnt ? cnt : 1, sizeof *l);
    if (!l)
        return -1;
    if (cJSON_IsString(v)) {
        l[0] = strdup(v->valuestring);
    } else {
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            char ip[JSONC_PATH_MAX];
            if (!cJSON_IsString(it)) {
                jsonc_type_error(d, jsonc_path_index(ip, sizeof ip, p, i), "a string", it);
                free_list(l, cnt);
                return -1;
            }
            l[i++] = strdup(it->valuestring);
        }
    }
    for (size_t i = 0; i < cnt; i++)
        if (!l[i]) {
            free_list(l, cnt);
            return -1;
        }
    free_list(*out, *n);
    *out = l;
    *n = cnt;
    return 0;
}

/* A list of strings that must be an array (TOML []string, not a string-or-array): 1 when given,
 * 0 when absent, -1 when wrong. */
static int get_array(const cJSON *obj, const char *key, const char *path, struct diag *d,
                     char ***out, size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsArray(v)) {
        char p[JSONC_PATH_MAX];
        jsonc_type_error(d, jsonc_path_key(p, sizeof p, path, key), "an array of strings", v);
        return -1;
    }
    return get_list(obj, key, path, d, out, n) < 0 ? -1 : 1;
}

static void secctx_release(struct jobconfig_secctx *s)
{
    free_list(s->cap_add, s->ncap_add);
    free_list(s->cap_drop, s->ncap_drop);
    free(s->selinux_type);
    free(s->proc_mount);
    memset(s, 0, sizeof *s);
}

/* One *_container_security_context table (KubernetesContainerSecurityContext) at path. */
static int get_secctx(const cJSON *obj, const char *key, const char *parent, struct diag *d,
                      struct jobconfig_secctx *s)
{
    const cJSON *t;
    char p[JSONC_PATH_MAX];
    jsonc_path_key(p, sizeof p, parent, key);
    int r = jsonc_object(obj, key, parent, d, &t);
    if (r <= 0)
        return r;
    if (jsonc_check_keys(t, p, secctx_keys, d) < 0)
        return -1;
    int bad = 0;
    const cJSON *caps;
    r = jsonc_object(t, "capabilities", p, d, &caps);
    if (r < 0) {
        bad = 1;
    } else if (r == 1) {
        char cp[JSONC_PATH_MAX];
        jsonc_path_key(cp, sizeof cp, p, "capabilities");
        if (jsonc_check_keys(caps, cp, capabilities_keys, d) < 0) {
            bad = 1;
        } else {
            r = get_array(caps, "add", cp, d, &s->cap_add, &s->ncap_add);
            bad |= r < 0;
            s->has_cap_add = r == 1;
            r = get_array(caps, "drop", cp, d, &s->cap_drop, &s->ncap_drop);
            bad |= r < 0;
            s->has_cap_drop = r == 1;
        }
    }
    bad |= get_bool(t, "privileged", p, d, &s->privileged) < 0;
    r = jsonc_int(t, "run_as_user", p, d, 0, INT64_MAX, &s->run_as_user);
    bad |= r < 0;
    s->has_run_as_user = r == 1;
    r = jsonc_int(t, "run_as_group", p, d, 0, INT64_MAX, &s->run_as_group);
    bad |= r < 0;
    s->has_run_as_group = r == 1;
    bad |= get_bool(t, "run_as_non_root", p, d, &s->run_as_non_root) < 0;
    bad |= get_bool(t, "read_only_root_filesystem", p, d, &s->read_only_root_filesystem) < 0;
    bad |= get_bool(t, "allow_privilege_escalation", p, d, &s->allow_privilege_escalation) < 0;
    bad |= get_str(t, "selinux_type", p, d, &s->selinux_type) < 0;
    bad |= get_str(t, "proc_mount", p, d, &s->proc_mount) < 0;
    return bad ? -1 : 1;
}

static void free_kv(struct jobconfig_kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

/* A map of strings (numbers and booleans are taken as their text, as TOML tables of strings would
 * be written by hand). */
static int get_map(const cJSON *obj, const char *key, const char *path, struct diag *d,
                   struct jobconfig_kv **out, size_t *n)
{
    const cJSON *m;
    char p[JSONC_PATH_MAX];
    jsonc_path_key(p, sizeof p, path, key);
    int r = jsonc_object(obj, key, path, d, &m);
    if (r <= 0)
        return r;
    size_t cnt = (size_t)cJSON_GetArraySize(m);
    if (cnt > JOBCONFIG_MAX_LIST) {
        diag_path(d, p, "more than %d entries", JOBCONFIG_MAX_LIST);
        return -1;
    }
    struct jobconfig_kv *kv = calloc(cnt ? cnt : 1, sizeof *kv);
    if (!kv)
        return -1;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, m)
    {
        char ip[JSONC_PATH_MAX], num[64];
        const char *val = NULL;
        int64_t inum;
        if (cJSON_IsString(it)) {
            val = it->valuestring;
        } else if (cJSON_IsBool(it)) {
            val = cJSON_IsTrue(it) ? "true" : "false";
        } else if (json_int(it, -JSON_INT_MAX, JSON_INT_MAX, &inum) == 1) {
            snprintf(num, sizeof num, "%lld", (long long)inum);
            val = num;
        } else {
            jsonc_type_error(d, jsonc_path_key(ip, sizeof ip, p, it->string), "a string", it);
            free_kv(kv, i);
            return -1;
        }
        kv[i].key = strdup(it->string);
        kv[i].value = strdup(val);
        i++;
        if (!kv[i - 1].key || !kv[i - 1].value) {
            free_kv(kv, i);
            return -1;
        }
    }
    *out = kv;
    *n = cnt;
    return 0;
}

static void free_services(struct jobconfig_service *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].name);
        free(s[i].alias);
        free_list(s[i].command, s[i].ncommand);
        free_list(s[i].entrypoint, s[i].nentrypoint);
        free_list(s[i].variables, s[i].nvariables);
    }
    free(s);
}

static int get_services(const cJSON *obj, const char *key, const char *path, struct diag *d,
                        struct jobconfig_service **out, size_t *n)
{
    const cJSON *a;
    char p[JSONC_PATH_MAX];
    jsonc_path_key(p, sizeof p, path, key);
    int r = jsonc_array(obj, key, path, d, &a);
    if (r <= 0)
        return r;
    size_t cnt = (size_t)cJSON_GetArraySize(a);
    if (cnt > JOBCONFIG_MAX_LIST) {
        diag_path(d, p, "more than %d entries", JOBCONFIG_MAX_LIST);
        return -1;
    }
    struct jobconfig_service *s = calloc(cnt ? cnt : 1, sizeof *s);
    if (!s)
        return -1;
    size_t i = 0;
    int bad = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        char ip[JSONC_PATH_MAX];
        jsonc_path_index(ip, sizeof ip, p, i);
        struct jobconfig_service *sv = &s[i++];
        if (cJSON_IsString(it)) {
            sv->name = strdup(it->valuestring);
            bad |= !sv->name;
            continue;
        }
        if (jsonc_as_object(it, ip, d) < 0 || jsonc_check_keys(it, ip, service_keys, d) < 0) {
            bad = 1;
            continue;
        }
        bad |= get_str(it, "name", ip, d, &sv->name) < 0;
        bad |= get_str(it, "alias", ip, d, &sv->alias) < 0;
        bad |= get_list(it, "command", ip, d, &sv->command, &sv->ncommand) < 0;
        bad |= get_list(it, "entrypoint", ip, d, &sv->entrypoint, &sv->nentrypoint) < 0;
        struct jobconfig_kv *vars = NULL;
        size_t nv = 0;
        if (get_map(it, "variables", ip, d, &vars, &nv) < 0) {
            bad = 1;
        } else {
            sv->variables = calloc(nv ? nv : 1, sizeof *sv->variables);
            for (size_t k = 0; sv->variables && k < nv; k++) {
                if (strcmp(vars[k].key, "HEALTHCHECK_TCP_PORT") == 0) {
                    char vp[JSONC_PATH_MAX];
                    diag_path(d, jsonc_path_key(vp, sizeof vp, ip, "variables"),
                              "HEALTHCHECK_TCP_PORT (the service health check of §2.1 step 3) is "
                              "not modelled by the reference job client");
                    bad = 1;
                }
                size_t l = strlen(vars[k].key) + strlen(vars[k].value) + 2;
                sv->variables[k] = malloc(l);
                if (sv->variables[k])
                    snprintf(sv->variables[k], l, "%s=%s", vars[k].key, vars[k].value);
                sv->nvariables = k + 1;
            }
            free_kv(vars, nv);
        }
        if (!bad && (!sv->name || !sv->name[0])) {
            diag_path(d, ip, "a service needs a \"name\" (its image)");
            bad = 1;
        }
    }
    if (bad) {
        free_services(s, i);
        return -1;
    }
    *out = s;
    *n = cnt;
    return 0;
}

static int check_pull_policies(char **v, size_t n, const char *path, struct diag *d)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        for (size_t k = 0; pull_policies[k]; k++)
            ok |= strcmp(v[i], pull_policies[k]) == 0;
        if (!ok) {
            char ip[JSONC_PATH_MAX], show[JSONC_SHOW_BUF];
            diag_path(d, jsonc_path_index(ip, sizeof ip, path, i),
                      "unknown pull policy \"%s\" (known: always, if-not-present, never)",
                      jsonc_show(show, sizeof show, v[i]));
            rc = -1;
        }
    }
    return rc;
}

static int check_unmodelled(const cJSON *obj, const char *path, const char *const *names,
                            struct diag *d)
{
    int rc = 0;
    for (size_t i = 0; names[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(obj, names[i])) {
            char p[JSONC_PATH_MAX];
            diag_path(d, jsonc_path_key(p, sizeof p, path, names[i]),
                      "a runner setting the reference job client does not model");
            rc = -1;
        }
    return rc;
}

/* jsonc_check_keys, leaving the unmodelled names to check_unmodelled's clearer message (the
 * "accepted" list names only what the model reads). */
static int keys_ok(const cJSON *obj, const char *path, const char *const *accepted,
                   const char *const *also, struct diag *d)
{
    cJSON *copy = cJSON_Duplicate(obj, 1);
    if (!copy) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    for (size_t i = 0; also && also[i]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(copy, also[i]);
    int rc = jsonc_check_keys(copy, path, accepted, d);
    cJSON_Delete(copy);
    return rc;
}

static int load_runner(const cJSON *r, struct jobconfig *c, struct diag *d)
{
    if (!r)
        return 0;
    if (jsonc_as_object(r, "runner", d) < 0 || jsonc_check_keys(r, "runner", runner_keys, d) < 0)
        return -1;
    int bad = get_str(r, "name", "runner", d, &c->runner_name) < 0;
    bad |= get_str(r, "token", "runner", d, &c->runner_token) < 0;
    bad |= get_str(r, "hostname", "runner", d, &c->runner_hostname) < 0;
    bad |= get_str(r, "url", "runner", d, &c->runner_url) < 0;
    bad |= get_str(r, "tls-ca-file", "runner", d, &c->runner_ca_file) < 0;
    int64_t ci = 0;
    bad |= get_int(r, "check_interval", "runner", d, INT32_MIN, 86400, &ci) < 0;
    c->check_interval = (int)ci;
    bad |= jsonc_duration(r, "wait_job", "runner", d, &c->wait_job_ms) < 0;
    if (!bad && c->runner_token && strlen(c->runner_token) < 8) {
        diag_path(d, "runner.token", "needs at least 8 characters (they name the pods)");
        bad = 1;
    }
    return bad ? -1 : 0;
}

static int load_kubernetes(const cJSON *k, struct jobconfig *c, struct diag *d)
{
    if (!k)
        return 0;
    const char *P = "kubernetes";
    if (jsonc_as_object(k, P, d) < 0)
        return -1;
    int bad = keys_ok(k, P, k8s_keys, k8s_unmodelled, d) < 0;
    bad |= check_unmodelled(k, P, k8s_unmodelled, d) < 0;
    bad |= get_str(k, "host", P, d, &c->host) < 0;
    bad |= get_str(k, "bearer_token", P, d, &c->bearer_token) < 0;
    bad |= get_str(k, "ca_file", P, d, &c->ca_file) < 0;
    bad |= get_str(k, "context", P, d, &c->context) < 0;
    bad |= get_str(k, "namespace", P, d, &c->namespace) < 0;
    bad |= get_bool(k, "namespace_per_job", P, d, &c->namespace_per_job) < 0;
    bad |= get_str(k, "image", P, d, &c->image) < 0;
    bad |= get_str(k, "helper_image", P, d, &c->helper_image) < 0;
    int64_t v;
    v = c->poll_interval;
    bad |= get_int(k, "poll_interval", P, d, INT32_MIN, 86400, &v) < 0;
    c->poll_interval = (int)v;
    v = c->poll_timeout;
    bad |= get_int(k, "poll_timeout", P, d, INT32_MIN, 86400 * 7, &v) < 0;
    c->poll_timeout = (int)v;
    v = c->retry_limit;
    bad |= get_int(k, "retry_limit", P, d, INT32_MIN, 1000, &v) < 0;
    c->retry_limit = (int)v;
    v = c->retry_backoff_max_ms;
    bad |= get_int(k, "retry_backoff_max", P, d, INT32_MIN, 3600000, &v) < 0;
    c->retry_backoff_max_ms = (int)v;
    bad |= get_int(k, "cleanup_grace_period_seconds", P, d, 0, INT32_MAX,
                   &c->cleanup_grace_period_seconds) < 0;
    bad |= get_int(k, "pod_termination_grace_period_seconds", P, d, 0, INT32_MAX,
                   &c->pod_termination_grace_period_seconds) < 0;
    bad |=
        jsonc_duration(k, "cleanup_resources_timeout", P, d, &c->cleanup_resources_timeout_ms) < 0;
    bad |= get_bool(k, "print_pod_warning_events", P, d, &c->print_pod_warning_events) < 0;
    if (get_list(k, "pull_policy", P, d, &c->pull_policy, &c->npull_policy) < 0 ||
        check_pull_policies(c->pull_policy, c->npull_policy, "kubernetes.pull_policy", d) < 0)
        bad = 1;
    if (get_list(k, "allowed_pull_policies", P, d, &c->allowed_pull_policies,
                 &c->nallowed_pull_policies) < 0 ||
        check_pull_policies(c->allowed_pull_policies, c->nallowed_pull_policies,
                            "kubernetes.allowed_pull_policies", d) < 0)
        bad = 1;
    bad |= get_map(k, "node_selector", P, d, &c->node_selector, &c->nnode_selector) < 0;
    bad |= get_map(k, "pod_labels", P, d, &c->pod_labels, &c->npod_labels) < 0;
    bad |= get_map(k, "pod_annotations", P, d, &c->pod_annotations, &c->npod_annotations) < 0;
    bad |= get_services(k, "services", P, d, &c->services, &c->nservices) < 0;
    bad |= get_bool(k, "privileged", P, d, &c->privileged) < 0;
    bad |= get_bool(k, "allow_privilege_escalation", P, d, &c->allow_privilege_escalation) < 0;
    bad |= get_array(k, "cap_add", P, d, &c->cap_add, &c->ncap_add) < 0;
    bad |= get_array(k, "cap_drop", P, d, &c->cap_drop, &c->ncap_drop) < 0;
    for (int i = 0; i < JC_CTR_COUNT; i++)
        bad |= get_secctx(k, secctx_sections[i], P, d, &c->secctx[i]) < 0;
    const cJSON *rl;
    int r = jsonc_object(k, "retry_limits", P, d, &rl);
    if (r < 0) {
        bad = 1;
    } else if (r == 1) {
        size_t n = (size_t)cJSON_GetArraySize(rl), i = 0;
        c->retry_limits = calloc(n ? n : 1, sizeof *c->retry_limits);
        const cJSON *it;
        cJSON_ArrayForEach(it, rl)
        {
            char ip[JSONC_PATH_MAX];
            int64_t lim;
            if (!c->retry_limits ||
                jsonc_as_int(it,
                             jsonc_path_key(ip, sizeof ip, "kubernetes.retry_limits", it->string),
                             d, 1, 1000, &lim) < 0) {
                bad = 1;
                continue;
            }
            c->retry_limits[i].substring = strdup(it->string);
            c->retry_limits[i].limit = (int)lim;
            c->nretry_limits = ++i;
        }
    }
    return bad ? -1 : 0;
}

static int load_ffs(const cJSON *f, struct jobconfig *c, struct diag *d)
{
    if (!f)
        return 0;
    if (jsonc_as_object(f, "feature_flags", d) < 0)
        return -1;
    int bad = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, f)
    {
        char p[JSONC_PATH_MAX];
        jsonc_path_key(p, sizeof p, "feature_flags", it->string);
        int known = -1;
        for (int i = 0; i < JC_FF_COUNT; i++)
            if (strcmp(it->string, ff_names[i]) == 0)
                known = i;
        int unmodelled = 0;
        for (size_t i = 0; ff_unmodelled[i]; i++)
            unmodelled |= strcmp(it->string, ff_unmodelled[i]) == 0;
        int on;
        if (jsonc_as_bool(it, p, d, &on) < 0) {
            bad = 1;
            continue;
        }
        if (known >= 0) {
            c->ff[known] = on;
        } else if (unmodelled && on) {
            diag_path(d, p, "a feature flag the reference job client does not model");
            bad = 1;
        } else if (!unmodelled) {
            char show[JSONC_SHOW_BUF];
            const char *sug = jsonc_suggest(it->string, ff_names);
            diag_path(d, p,
                      "unknown feature flag \"%s\" (known: FF_USE_LEGACY_KUBERNETES_EXECUTION_"
                      "STRATEGY, FF_USE_POD_ACTIVE_DEADLINE_SECONDS, FF_USE_DUMB_INIT_WITH_"
                      "KUBERNETES_EXECUTOR, FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR, "
                      "FF_WAIT_FOR_POD_TO_BE_REACHABLE)%s%s%s",
                      jsonc_show(show, sizeof show, it->string), sug ? "; did you mean \"" : "",
                      sug ? sug : "", sug ? "\"?" : "");
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

static int load_job(const cJSON *j, struct jobconfig *c, struct diag *d)
{
    if (!j)
        return 0;
    const char *P = "job";
    if (jsonc_as_object(j, P, d) < 0 || jsonc_check_keys(j, P, job_keys, d) < 0)
        return -1;
    int bad = get_int(j, "id", P, d, 1, INT64_MAX / 2, &c->job_id) < 0;
    bad |= get_int(j, "project_id", P, d, 0, INT64_MAX / 2, &c->project_id) < 0;
    bad |= get_str(j, "name", P, d, &c->job_name) < 0;
    bad |= get_str(j, "stage", P, d, &c->job_stage) < 0;
    bad |= get_str(j, "ref", P, d, &c->job_ref) < 0;
    bad |= get_str(j, "sha", P, d, &c->job_sha) < 0;
    bad |= get_str(j, "before_sha", P, d, &c->job_before_sha) < 0;
    bad |= get_str(j, "project_path", P, d, &c->project_path) < 0;
    bad |= get_str(j, "url", P, d, &c->job_url) < 0;
    bad |= get_str(j, "image", P, d, &c->job_image) < 0;
    if (get_list(j, "image_pull_policy", P, d, &c->job_pull_policy, &c->njob_pull_policy) < 0 ||
        check_pull_policies(c->job_pull_policy, c->njob_pull_policy, "job.image_pull_policy", d) <
            0)
        bad = 1;
    bad |= get_services(j, "services", P, d, &c->job_services, &c->njob_services) < 0;
    bad |= get_map(j, "variables", P, d, &c->variables, &c->nvariables) < 0;
    bad |= get_list(j, "before_script", P, d, &c->before_script, &c->nbefore_script) < 0;
    bad |= get_list(j, "script", P, d, &c->script, &c->nscript) < 0;
    bad |= get_list(j, "after_script", P, d, &c->after_script, &c->nafter_script) < 0;
    bad |= get_int(j, "timeout", P, d, INT32_MIN, 86400 * 30, &c->job_timeout) < 0;
    bad |= get_bool(j, "cache", P, d, &c->cache) < 0;
    bad |= get_bool(j, "artifacts", P, d, &c->artifacts) < 0;
    bad |= get_bool(j, "dependencies", P, d, &c->dependencies) < 0;
    const cJSON *cr;
    int r = jsonc_array(j, "credentials", P, d, &cr);
    if (r < 0) {
        bad = 1;
    } else if (r == 1) {
        size_t n = (size_t)cJSON_GetArraySize(cr), i = 0;
        c->credentials = calloc(n ? n : 1, sizeof *c->credentials);
        const cJSON *it;
        cJSON_ArrayForEach(it, cr)
        {
            char ip[JSONC_PATH_MAX];
            jsonc_path_index(ip, sizeof ip, "job.credentials", i);
            if (!c->credentials || jsonc_as_object(it, ip, d) < 0 ||
                jsonc_check_keys(it, ip, credential_keys, d) < 0) {
                bad = 1;
                continue;
            }
            struct jobconfig_credential *k = &c->credentials[i];
            c->ncredentials = ++i;
            bad |= get_str(it, "url", ip, d, &k->url) < 0;
            bad |= get_str(it, "username", ip, d, &k->username) < 0;
            bad |= get_str(it, "password", ip, d, &k->password) < 0;
            if (!bad && (!k->url || !k->username || !k->password)) {
                diag_path(d, ip, "a credential needs \"url\", \"username\" and \"password\"");
                bad = 1;
            }
        }
    }
    return bad ? -1 : 0;
}

static int set_default(char **s, const char *v)
{
    if (*s)
        return 0;
    *s = strdup(v);
    return *s ? 0 : -1;
}

int jobconfig_from_json(const cJSON *doc, struct jobconfig *c, struct diag *d)
{
    memset(c, 0, sizeof *c);
    c->cleanup_grace_period_seconds = -1;
    c->pod_termination_grace_period_seconds = -1;
    c->print_pod_warning_events = 1;
    c->job_id = 1;
    c->project_id = 1;
    c->job_timeout = JOBCONFIG_JOB_TIMEOUT;
    c->retry_backoff_max_ms = JOBCONFIG_RETRY_BACKOFF_MAX;
    c->privileged = -1;
    c->allow_privilege_escalation = -1;
    for (int i = 0; i < JC_CTR_COUNT; i++) {
        struct jobconfig_secctx *s = &c->secctx[i];
        s->privileged = s->run_as_non_root = s->read_only_root_filesystem = -1;
        s->allow_privilege_escalation = -1;
    }
    for (int i = 0; i < JC_FF_COUNT; i++)
        c->ff[i] = ff_defaults[i];
    int bad = 0;
    if (!cJSON_IsObject(doc)) {
        jsonc_type_error(d, "", "an object", doc);
        bad = 1;
        goto out;
    }
    bad |= jsonc_check_keys(doc, "", top_keys, d) < 0;
    bad |= load_runner(cJSON_GetObjectItemCaseSensitive(doc, "runner"), c, d) < 0;
    bad |= load_kubernetes(cJSON_GetObjectItemCaseSensitive(doc, "kubernetes"), c, d) < 0;
    bad |= load_ffs(cJSON_GetObjectItemCaseSensitive(doc, "feature_flags"), c, d) < 0;
    bad |= load_job(cJSON_GetObjectItemCaseSensitive(doc, "job"), c, d) < 0;
    if (bad)
        goto out;
    /* job variables named like a feature flag win over [runners.feature_flags] */
    for (size_t i = 0; i < c->nvariables; i++) {
        const char *k = c->variables[i].key, *v = c->variables[i].value;
        int on = strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "TRUE") == 0 ||
                 strcmp(v, "True") == 0 || strcmp(v, "t") == 0 || strcmp(v, "T") == 0;
        for (int f = 0; f < JC_FF_COUNT; f++)
            if (strcmp(k, ff_names[f]) == 0)
                c->ff[f] = on;
        for (size_t u = 0; ff_unmodelled[u]; u++)
            if (strcmp(k, ff_unmodelled[u]) == 0 && on) {
                char p[JSONC_PATH_MAX];
                diag_path(d, jsonc_path_key(p, sizeof p, "job.variables", k),
                          "a feature flag the reference job client does not model");
                bad = 1;
            }
    }
    /* §5 defaults: "<= 0 means ..." */
    if (c->poll_interval <= 0)
        c->poll_interval = JOBCONFIG_POLL_INTERVAL;
    if (c->poll_timeout <= 0)
        c->poll_timeout = JOBCONFIG_POLL_TIMEOUT;
    if (c->retry_limit <= 0)
        c->retry_limit = JOBCONFIG_RETRY_LIMIT;
    if (c->retry_backoff_max_ms <= JOBCONFIG_RETRY_BACKOFF_MIN)
        c->retry_backoff_max_ms = JOBCONFIG_RETRY_BACKOFF_MIN;
    if (c->cleanup_resources_timeout_ms <= 0)
        c->cleanup_resources_timeout_ms = JOBCONFIG_CLEANUP_TIMEOUT_MS;
    if (c->job_timeout <= 0)
        c->job_timeout = JOBCONFIG_DEFAULT_TIMEOUT;
    if (!c->script) {
        c->script = calloc(1, sizeof *c->script);
        if (c->script) {
            c->script[0] = strdup("echo \"Hello from the kubefault reference job client\"");
            c->nscript = 1;
        }
    }
    char sha[41];
    memset(sha, '0', 40);
    sha[40] = '\0';
    if (set_default(&c->runner_name, "kubefault-jobclient") < 0 ||
        set_default(&c->runner_token, "kfjobcl1ent0token") < 0 ||
        set_default(&c->runner_hostname, "kubefault-jobclient") < 0 ||
        set_default(&c->namespace, "") < 0 ||
        set_default(&c->helper_image, JOBCONFIG_HELPER_IMAGE) < 0 ||
        set_default(&c->job_name, "job") < 0 || set_default(&c->job_stage, "test") < 0 ||
        set_default(&c->job_ref, "main") < 0 || set_default(&c->job_sha, sha) < 0 ||
        set_default(&c->job_before_sha, sha) < 0 ||
        set_default(&c->project_path, "group/project") < 0 || !c->script || !c->script[0]) {
        diag_path(d, "", "out of memory");
        bad = 1;
    }
    if (!bad && !c->job_url) {
        size_t n = strlen(c->project_path) + 64;
        c->job_url = malloc(n);
        if (c->job_url)
            snprintf(c->job_url, n, "https://gitlab.example.com/%s/-/jobs/%lld", c->project_path,
                     (long long)c->job_id);
    }
out:
    if (bad) {
        jobconfig_release(c);
        return -1;
    }
    return 0;
}

void jobconfig_release(struct jobconfig *c)
{
    if (!c)
        return;
    free(c->runner_name);
    free(c->runner_token);
    free(c->runner_hostname);
    free(c->runner_url);
    free(c->runner_ca_file);
    free(c->host);
    free(c->bearer_token);
    free(c->ca_file);
    free(c->context);
    free(c->namespace);
    free(c->image);
    free(c->helper_image);
    for (size_t i = 0; i < c->nretry_limits; i++)
        free(c->retry_limits[i].substring);
    free(c->retry_limits);
    free_list(c->pull_policy, c->npull_policy);
    free_list(c->allowed_pull_policies, c->nallowed_pull_policies);
    free_kv(c->node_selector, c->nnode_selector);
    free_kv(c->pod_labels, c->npod_labels);
    free_kv(c->pod_annotations, c->npod_annotations);
    free_services(c->services, c->nservices);
    free_list(c->cap_add, c->ncap_add);
    free_list(c->cap_drop, c->ncap_drop);
    for (int i = 0; i < JC_CTR_COUNT; i++)
        secctx_release(&c->secctx[i]);
    free(c->job_name);
    free(c->job_stage);
    free(c->job_ref);
    free(c->job_sha);
    free(c->job_before_sha);
    free(c->project_path);
    free(c->job_url);
    free(c->job_image);
    free_list(c->job_pull_policy, c->njob_pull_policy);
    free_services(c->job_services, c->njob_services);
    free_kv(c->variables, c->nvariables);
    free_list(c->before_script, c->nbefore_script);
    free_list(c->script, c->nscript);
    free_list(c->after_script, c->nafter_script);
    for (size_t i = 0; i < c->ncredentials; i++) {
        free(c->credentials[i].url);
        free(c->credentials[i].username);
        free(c->credentials[i].password);
    }
    free(c->credentials);
    memset(c, 0, sizeof *c);
}

const char *jobconfig_variable(const struct jobconfig *c, const char *key)
{
    for (size_t i = 0; i < c->nvariables; i++)
        if (strcmp(c->variables[i].key, key) == 0)
            return c->variables[i].value;
    return NULL;
}

/* ---- a job payload from GitLab as a job section (GitLab mode) ---- */

/* A string member, NULL when absent; -1 (with the message) when present but not a string. */
static int payload_str(const cJSON *o, const char *key, const char *path, const char **out,
                       char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "payload.%s%s%s: expected a string", path, path[0] ? "." : "", key);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* Copy a member that must be an array of strings (or absent) into dst under key. */
static int payload_strings(const cJSON *o, const char *key, const char *path, cJSON *dst,
                           const char *dkey, char *err, size_t errlen)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    if (!a || cJSON_IsNull(a))
        return 0;
    int ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) <= JOBCONFIG_MAX_LIST;
    cJSON_ArrayForEach(it, a) ok = ok && cJSON_IsString(it);
    if (!ok) {
        snprintf(err, errlen, "payload.%s.%s: expected an array of strings", path, key);
        return -1;
    }
    cJSON *copy = cJSON_Duplicate(a, 1);
    if (!copy || !cJSON_AddItemToObject(dst, dkey, copy)) {
        cJSON_Delete(copy);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* A [{key, value, ...}] array (job or service variables) into the object dst; a later key wins. */
static int payload_variables(const cJSON *a, const char *path, cJSON *dst, char *err, size_t errlen)
{
    const cJSON *it;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > JOBCONFIG_MAX_LIST) {
        snprintf(err, errlen, "payload.%s: expected an array of {key, value}", path);
        return -1;
    }
    cJSON_ArrayForEach(it, a)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
        if (!cJSON_IsString(k) || !k->valuestring[0] || (v && !cJSON_IsString(v))) {
            snprintf(err, errlen, "payload.%s: expected an array of {key, value} strings", path);
            return -1;
        }
        cJSON *s = cJSON_CreateString(v ? v->valuestring : "");
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (cJSON_GetObjectItemCaseSensitive(dst, k->valuestring))
            cJSON_ReplaceItemInObjectCaseSensitive(dst, k->valuestring, s);
        else if (!cJSON_AddItemToObject(dst, k->valuestring, s)) {
            cJSON_Delete(s);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int payload_nonempty(const cJSON *o, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsArray(a) && cJSON_GetArraySize(a) > 0;
}

static int payload_services(const cJSON *p, cJSON *job, char *err, size_t errlen)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, "services"), *it;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > JOBCONFIG_MAX_LIST) {
        snprintf(err, errlen, "payload.services: expected an array of objects");
        return -1;
    }
    cJSON *out = cJSON_AddArrayToObject(job, "services");
    if (!out)
        goto oom;
    int i = 0;
    cJSON_ArrayForEach(it, a)
    {
        char path[64];
        snprintf(path, sizeof path, "services[%d]", i++);
        const char *name, *alias;
        if (!cJSON_IsObject(it)) {
            snprintf(err, errlen, "payload.%s: expected an object", path);
            return -1;
        }
        if (payload_str(it, "name", path, &name, err, errlen) < 0 ||
            payload_str(it, "alias", path, &alias, err, errlen) < 0)
            return -1;
        cJSON *sv = cJSON_CreateObject();
        if (!sv || !cJSON_AddItemToArray(out, sv)) {
            cJSON_Delete(sv);
            goto oom;
        }
        if ((name && !cJSON_AddStringToObject(sv, "name", name)) ||
            (alias && alias[0] && !cJSON_AddStringToObject(sv, "alias", alias)))
            goto oom;
        if (payload_strings(it, "command", path, sv, "command", err, errlen) < 0 ||
            payload_strings(it, "entrypoint", path, sv, "entrypoint", err, errlen) < 0)
            return -1;
        const cJSON *vars = cJSON_GetObjectItemCaseSensitive(it, "variables");
        if (cJSON_IsArray(vars) && cJSON_GetArraySize(vars) > 0) {
            cJSON *vo = cJSON_AddObjectToObject(sv, "variables");
            char vp[96];
            snprintf(vp, sizeof vp, "%s.variables", path);
            if (!vo)
                goto oom;
            if (payload_variables(vars, vp, vo, err, errlen) < 0)
                return -1;
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int payload_steps(const cJSON *p, cJSON *job, char *err, size_t errlen)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, "steps"), *it;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a)) {
        snprintf(err, errlen, "payload.steps: expected an array of objects");
        return -1;
    }
    int i = 0;
    cJSON_ArrayForEach(it, a)
    {
        char path[64];
        snprintf(path, sizeof path, "steps[%d]", i++);
        const char *name;
        if (!cJSON_IsObject(it)) {
            snprintf(err, errlen, "payload.%s: expected an object", path);
            return -1;
        }
        if (payload_str(it, "name", path, &name, err, errlen) < 0)
            return -1;
        const char *key = name && strcmp(name, "script") == 0         ? "script"
                          : name && strcmp(name, "after_script") == 0 ? "after_script"
                                                                      : NULL;
        if (!key) {
            snprintf(err, errlen,
                     "payload.%s.name: step \"%s\" is not modelled by the reference job client "
                     "(known: script, after_script)",
                     path, name ? name : "");
            return -1;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(job, key);
        if (payload_strings(it, "script", path, job, key, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* The path of repo_url ("http://host/g/p.git" -> "g/p"), into buf; "" when there is none. */
static void repo_path(const char *url, char *buf, size_t len)
{
    buf[0] = '\0';
    const char *s = url ? strstr(url, "://") : NULL;
    if (!s)
        return;
    s = strchr(s + 3, '/');
    if (!s)
        return;
    while (*s == '/')
        s++;
    size_t n = strcspn(s, "?#");
    while (n && s[n - 1] == '/')
        n--;
    if (n >= 4 && memcmp(s + n - 4, ".git", 4) == 0)
        n -= 4;
    snprintf(buf, len, "%.*s", (int)n, s);
}

cJSON *jobconfig_job_from_payload(const cJSON *p, char *err, size_t errlen)
{
    cJSON *job = cJSON_CreateObject(), *vars = NULL;
    const char *s;
    if (!job)
        goto oom;
    if (!cJSON_IsObject(p)) {
        snprintf(err, errlen, "payload: expected an object");
        goto fail;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9007199254740991.0) {
        snprintf(err, errlen, "payload.id: expected an integer from 1");
        goto fail;
    }
    if (!cJSON_AddNumberToObject(job, "id", id->valuedouble))
        goto oom;
    const cJSON *ji = cJSON_GetObjectItemCaseSensitive(p, "job_info");
    if (ji && cJSON_IsObject(ji)) {
        static const char *const keys[] = {"name", "stage", NULL};
        for (size_t i = 0; keys[i]; i++) {
            if (payload_str(ji, keys[i], "job_info", &s, err, errlen) < 0)
                goto fail;
            if (s && !cJSON_AddStringToObject(job, keys[i], s))
                goto oom;
        }
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(ji, "project_id");
        if (cJSON_IsNumber(pid) && pid->valuedouble >= 0 &&
            !cJSON_AddNumberToObject(job, "project_id", pid->valuedouble))
            goto oom;
    }
    const cJSON *gi = cJSON_GetObjectItemCaseSensitive(p, "git_info");
    const char *repo = NULL;
    if (gi && cJSON_IsObject(gi)) {
        static const char *const keys[] = {"ref", "sha", "before_sha", NULL};
        for (size_t i = 0; keys[i]; i++) {
            if (payload_str(gi, keys[i], "git_info", &s, err, errlen) < 0)
                goto fail;
            if (s && s[0] && !cJSON_AddStringToObject(job, keys[i], s))
                goto oom;
        }
        if (payload_str(gi, "repo_url", "git_info", &repo, err, errlen) < 0)
            goto fail;
    }
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(p, "image");
    if (img && cJSON_IsObject(img)) {
        if (payload_str(img, "name", "image", &s, err, errlen) < 0)
            goto fail;
        if (s && s[0] && !cJSON_AddStringToObject(job, "image", s))
            goto oom;
        if (payload_strings(img, "pull_policy", "image", job, "image_pull_policy", err, errlen) < 0)
            goto fail;
    }
    if (payload_services(p, job, err, errlen) < 0)
        goto fail;
    vars = cJSON_CreateObject();
    if (!vars)
        goto oom;
    if (payload_variables(cJSON_GetObjectItemCaseSensitive(p, "variables"), "variables", vars, err,
                          errlen) < 0)
        goto fail;
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(vars, "CI_PROJECT_PATH");
    char path[512];
    if (cJSON_IsString(pp) && pp->valuestring[0])
        snprintf(path, sizeof path, "%s", pp->valuestring);
    else
        repo_path(repo, path, sizeof path);
    if (path[0] && !cJSON_AddStringToObject(job, "project_path", path))
        goto oom;
    const cJSON *ju = cJSON_GetObjectItemCaseSensitive(vars, "CI_JOB_URL");
    if (cJSON_IsString(ju) && ju->valuestring[0] &&
        !cJSON_AddStringToObject(job, "url", ju->valuestring))
        goto oom;
    if (!cJSON_AddItemToObject(job, "variables", vars))
        goto oom;
    vars = NULL;
    if (payload_steps(p, job, err, errlen) < 0)
        goto fail;
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(p, "runner_info");
    const cJSON *to = ri ? cJSON_GetObjectItemCaseSensitive(ri, "timeout") : NULL;
    if (cJSON_IsNumber(to)) {
        /* runner_info.timeout <= 0 falls back to 7200 s: jobconfig_from_json does that */
        double t = to->valuedouble > 86400 * 30 ? 86400 * 30 : to->valuedouble;
        if (!cJSON_AddNumberToObject(job, "timeout", t < -1 ? -1 : t))
            goto oom;
    }
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(p, "credentials"), *it;
    if (cJSON_IsArray(cr) && cJSON_GetArraySize(cr) > 0) {
        cJSON *out = cJSON_AddArrayToObject(job, "credentials");
        if (!out)
            goto oom;
        int i = 0;
        cJSON_ArrayForEach(it, cr)
        {
            char cp[64];
            snprintf(cp, sizeof cp, "credentials[%d]", i++);
            const char *type, *url, *user, *pass;
            if (!cJSON_IsObject(it)) {
                snprintf(err, errlen, "payload.%s: expected an object", cp);
                goto fail;
            }
            if (payload_str(it, "type", cp, &type, err, errlen) < 0 ||
                payload_str(it, "url", cp, &url, err, errlen) < 0 ||
                payload_str(it, "username", cp, &user, err, errlen) < 0 ||
                payload_str(it, "password", cp, &pass, err, errlen) < 0)
                goto fail;
            if (type && strcmp(type, "registry") != 0)
                continue; /* the runner uses only registry credentials for images */
            cJSON *k = cJSON_CreateObject();
            if (!k || !cJSON_AddItemToArray(out, k)) {
                cJSON_Delete(k);
                goto oom;
            }
            if (!cJSON_AddStringToObject(k, "url", url ? url : "") ||
                !cJSON_AddStringToObject(k, "username", user ? user : "") ||
                !cJSON_AddStringToObject(k, "password", pass ? pass : ""))
                goto oom;
        }
    }
    if ((payload_nonempty(p, "cache") && !cJSON_AddTrueToObject(job, "cache")) ||
        (payload_nonempty(p, "artifacts") && !cJSON_AddTrueToObject(job, "artifacts")) ||
        (payload_nonempty(p, "dependencies") && !cJSON_AddTrueToObject(job, "dependencies")))
        goto oom;
    return job;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    cJSON_Delete(vars);
    cJSON_Delete(job);
    return NULL;
}
