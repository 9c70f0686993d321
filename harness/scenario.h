/* scenario.h -- a scenario file in memory: metadata, seed, cluster settings, rules (match + trigger
 * + fault), timeline, pod-lifecycle scripts, admission policies, scripted commands, build stages
 * and expectations. The format's reference is scenarios/README.md; scenario.c parses and validates
 * it. */
#ifndef KF_SCENARIO_H
#define KF_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct diag;
struct fault_type;

#define SCENARIO_MAX_BYTES (1024 * 1024) /**< a scenario file larger than this is refused */
#define SCENARIO_MAX_RULES 256
#define SCENARIO_MAX_TIMELINE 1024 /**< timeline entries, added ones included */
#define SCENARIO_NAME_MAX 64       /**< rule names, state names, event names */

/* ---- matching a request ---- */

/** Verbs a rule can match: Kubernetes verbs plus the streaming subresources. One bit each. */
enum match_verb {
    MATCH_GET = 1u << 0,
    MATCH_LIST = 1u << 1,
    MATCH_WATCH = 1u << 2,
    MATCH_CREATE = 1u << 3,
    MATCH_UPDATE = 1u << 4,
    MATCH_PATCH = 1u << 5,
    MATCH_DELETE = 1u << 6,
    MATCH_DELETECOLLECTION = 1u << 7,
    MATCH_EXEC = 1u << 8,   /**< pods/exec, any method */
    MATCH_ATTACH = 1u << 9, /**< pods/attach */
    MATCH_LOG = 1u << 10,   /**< pods/log */
    MATCH_OTHER = 1u << 11, /**< discovery, /version, /healthz, openapi */
};

struct match_kv {
    char *key;  /**< query parameter or header name (headers: case-insensitive) */
    char *glob; /**< fnmatch(3) pattern the value must match; NULL: must be present */
};

enum match_body_op { MATCH_BODY_EXISTS, MATCH_BODY_ABSENT, MATCH_BODY_EQUALS };

struct match_body {
    char *path; /**< "spec.containers[*].securityContext.readOnlyRootFilesystem" */
    enum match_body_op op;
    cJSON *value; /**< MATCH_BODY_EQUALS: the JSON value to compare with */
};

/** Which fake a rule's requests reach. */
enum match_server {
    MATCH_SERVER_KUBE = 0, /**< the fake kube-apiserver (the default) */
    MATCH_SERVER_GITLAB,   /**< the fake GitLab job API ("server": "gitlab") */
};

/** What a rule matches; every field set must hold (AND). Empty fields match anything. */
struct match {
    int server;         /**< enum match_server; a rule acts on one server only */
    unsigned endpoints; /**< GitLab: OR of 1u << enum glproto_endpoint; 0: any */
    int64_t job;        /**< GitLab: the job id in the path (trace, update); 0: any */
    unsigned verbs;     /**< OR of enum match_verb; 0: any */
    char **resources;   /**< plural names ("pods", "secrets"); NULL/0: any */
    size_t nresources;
    char *subresource;    /**< "status", "log", ...; NULL: any; "" : none */
    char *namespace_glob; /**< NULL: any */
    char *name_glob;      /**< NULL: any */
    char *path_glob;      /**< raw URL path pattern, for non-resource paths; NULL: any */
    struct match_kv *query;
    size_t nquery;
    struct match_kv *headers;
    size_t nheaders;
    struct match_body *body; /**< evaluated on the decoded body (JSON or protobuf alike) */
    size_t nbody;
};

/* ---- when a matching request fires the fault ---- */

/** A named moment the engine records, for time windows ("from 2s after pod-running"). */
struct trigger_event {
    char name[SCENARIO_NAME_MAX]; /**< "start", "pod-created", "pod-scheduled", "pod-running",
                                       "pod-deleted", "rule-fired:<rule>", "stage-started" (any
                                       stage) or "stage-started:<stage pattern>" */
    char *name_glob;              /**< pod and stage events: which pod (NULL: any) */
};

#define SCENARIO_STAGE_STARTED "stage-started" /**< the event, and its prefix with ':' */

struct trigger {
    uint64_t nth;   /**< fire on the nth match only (1-based); 0: unset */
    uint64_t first; /**< fire on the first N matches; 0: unset */
    uint64_t after; /**< fire on every match after the first N; 0: unset */
    uint64_t every; /**< fire on every kth match; 0: unset */
    int has_probability;
    double probability; /**< seeded; checked after the counts */
    int has_window;
    int64_t from_ms, until_ms;  /**< window relative to since (until_ms < 0: open-ended) */
    struct trigger_event since; /**< "start" when not given */
};

/* ---- rules ---- */

struct rule {
    char name[SCENARIO_NAME_MAX]; /**< unique; "rules[i]" when the file gives none */
    struct match match;
    struct trigger trigger;
    char require_state[SCENARIO_NAME_MAX]; /**< "" : any state */
    char set_state[SCENARIO_NAME_MAX];     /**< "" : leave the state */
    int enabled;                           /**< at start; the timeline switches it */
    const struct fault_type *fault;        /**< from the registry */
    void *fault_ctx;                       /**< the type's parsed parameters (fault->free) */
    cJSON *fault_spec;                     /**< the fault object as written (for the journal) */
    const char *path;                      /**< "rules[3]" for messages */
    int removed;                           /**< taken out while running: skip this slot */
};

/* ---- timeline ---- */

enum timeline_action { TIMELINE_ENABLE, TIMELINE_DISABLE, TIMELINE_SET_STATE };

struct timeline_entry {
    int64_t at_ms;           /**< after `on` (or scenario start) */
    struct trigger_event on; /**< "start" when not given */
    enum timeline_action action;
    char target[SCENARIO_NAME_MAX]; /**< rule name, or state name for TIMELINE_SET_STATE */
    int removed;                    /**< taken out while running: skip this slot */
};

/* ---- pod lifecycle scripts and admission: parsed and kept as validated JSON for the engine's
 * cluster and admission layers (their shapes are in scenarios/README.md) ---- */

struct pod_script {
    char *name_glob; /**< which pods */
    cJSON *spec;     /**< the whole validated entry */
};

struct admission_policy {
    char name[SCENARIO_NAME_MAX];
    cJSON *spec; /**< the whole validated entry */
};

/* ---- scripted commands and build stages: kept as validated JSON for harness/stages.c ---- */

struct command_script {
    char name[SCENARIO_NAME_MAX]; /**< "commands[N]" when the file gives none */
    cJSON *spec;                  /**< the whole validated entry */
};

struct stage_script {
    cJSON *spec; /**< the whole validated entry */
};

struct scenario_cluster {
    char version[8];   /**< "1.32" */
    char **namespaces; /**< created at start, beside the defaults */
    size_t nnamespaces;
    int64_t schedule_delay_ms; /**< -1: kubefault's default */
    int64_t start_delay_ms;
    int64_t terminate_delay_ms;
};

/** The "gitlab" section: the fake GitLab job API run beside the kube-apiserver. */
struct scenario_gitlab {
    int present;           /**< the scenario has the section */
    cJSON *jobs;           /**< array of job specs in glproto_job_payload()'s words (converted
                                from the scenario's: timeout in seconds, snake_case keys) */
    int64_t long_poll_ms;  /**< jobs/request hold; 0: GitLab's default; -1: answer at once */
    int update_interval_s; /**< X-GitLab-Trace-Update-Interval; 0: the default */
    char *runner_token;    /**< NULL: a random "glrt-..." */
};

struct scenario {
    char *file;
    char *name;
    char *description;
    char *anchor; /**< the troubleshooting page's anchor id, or NULL */
    char *class_; /**< "wire", "cluster", "client-side", or NULL */
    char **tags;
    size_t ntags;
    uint64_t seed;
    struct scenario_cluster cluster;
    struct rule *rules;
    size_t nrules;
    struct timeline_entry *timeline;
    size_t ntimeline;
    struct pod_script *pods;
    size_t npods;
    struct admission_policy *admission;
    size_t nadmission;
    struct command_script *commands; /**< what execs run (harness/stages.c) */
    size_t ncommands;
    struct stage_script *stages; /**< what the runner's build stages do (harness/stages.c) */
    size_t nstages;
    struct scenario_gitlab gitlab;
    cJSON *expect;     /**< validated; read by `kubefault run` */
    cJSON *job_client; /**< "jobClient": the reference job client's configuration (validated by
                            harness/jobconfig.c), or NULL */
    cJSON *kubectl;    /**< "kubectl": {"args": [strings], "expect": {...}}, validated: what
                            `kubefault run --kubectl` runs and checks instead, or NULL */
};

/** Convert one job as scenarios and the control API write it (scenarios/README.md, "gitlab.jobs")
 *  into glproto_job_payload()'s spec, validating it: a new object (caller frees with
 *  cJSON_Delete()), or NULL with errors in d under path ("gitlab.jobs[0]"). */
cJSON *scenario_gitlab_job(const cJSON *spec, const char *path, struct diag *d);

/** Read and validate a scenario file. NULL with every error in d (file:line:col for syntax,
 *  file: json.path: message for meaning). Caller frees with scenario_free(). */
struct scenario *scenario_load(const char *file, struct diag *d);

/** The same from text already in memory (file names messages). */
struct scenario *scenario_parse(const char *file, const char *text, size_t len, struct diag *d);

/** Free. NULL is a no-op. */
void scenario_free(struct scenario *s);

/** Find a rule by name, or NULL. Removed rules are not found. */
struct rule *scenario_rule(struct scenario *s, const char *name);

/** Add a rule while the scenario runs (the control API): spec is one "rules" entry. Returns the
 *  rule (its slot never moves: the rules array has room for SCENARIO_MAX_RULES), or NULL with
 *  errors in d. The engine must be told (engine_rule_added). */
struct rule *scenario_add_rule(struct scenario *s, const cJSON *spec, struct diag *d);

/** Add a timeline entry while running: spec is one "timeline" entry (its rule must exist).
 *  Returns it (slots never move), or NULL with errors in d. Tell the engine
 *  (engine_timeline_added). */
struct timeline_entry *scenario_add_timeline(struct scenario *s, const cJSON *spec, struct diag *d);

/** Release a rule's parameters and mark its slot removed (call through engine_rule_remove). */
void scenario_remove_rule(struct scenario *s, struct rule *r);

#endif
