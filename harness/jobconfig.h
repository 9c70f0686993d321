/* jobconfig.h -- the reference job client's configuration: the runner's [runners.kubernetes]
 * settings under their config.toml names with the runner's defaults (runner-k8s-executor.md §5),
 * feature flags, and the one job to run; read from JSON with comments (harness/JOBCLIENT.md) and
 * overridden by --set key=value */
#ifndef KF_JOBCONFIG_H
#define KF_JOBCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct diag;

#define JOBCONFIG_MAX_FILE (4u << 20) /**< bytes of a configuration file */
#define JOBCONFIG_MAX_LIST 1024       /**< entries of any list or map */

/* §5 defaults */
#define JOBCONFIG_POLL_INTERVAL 3        /**< s; <= 0 means this */
#define JOBCONFIG_POLL_TIMEOUT 180       /**< s; <= 0 means this */
#define JOBCONFIG_RETRY_LIMIT 5          /**< total attempts; <= 0 means this */
#define JOBCONFIG_RETRY_BACKOFF_MAX 2000 /**< ms */
#define JOBCONFIG_RETRY_BACKOFF_MIN 500  /**< ms: the floor, and the clamp of retry_backoff_max */
#define JOBCONFIG_CLEANUP_TIMEOUT_MS 300000 /**< cleanup_resources_timeout: 5m */
#define JOBCONFIG_JOB_TIMEOUT 3600          /**< s: a job without a timeout */
#define JOBCONFIG_DEFAULT_TIMEOUT 7200 /**< s: runner_info.timeout <= 0 (common.DefaultTimeout) */
#define JOBCONFIG_HELPER_IMAGE                                                                     \
    "registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v19.4.0"

/** A key and a value (node_selector, labels, annotations, variables). */
struct jobconfig_kv {
    char *key;
    char *value;
};

/** A retry_limits entry: an error substring and the total attempts it allows. */
struct jobconfig_retry_limit {
    char *substring;
    int limit;
};

/** A service container (config or job): image name, aliases, command and entrypoint. */
struct jobconfig_service {
    char *name;     /**< image */
    char *alias;    /**< "db" or "db,pg" (comma or space separated), NULL */
    char **command; /**< the container's args */
    size_t ncommand;
    char **entrypoint; /**< the container's command */
    size_t nentrypoint;
    char **variables; /**< "KEY=value"; HEALTHCHECK_TCP_PORT is refused (not modelled) */
    size_t nvariables;
};

/** Registry credentials of the job (payload credentials[] of type registry). */
struct jobconfig_credential {
    char *url;
    char *username;
    char *password;
};

/** The containers that take a [runners.kubernetes.*_container_security_context] table. */
enum jobconfig_container {
    JC_CTR_BUILD = 0,        /**< build_container_security_context (also the uid/gid collector) */
    JC_CTR_HELPER,           /**< helper_container_security_context */
    JC_CTR_SERVICE,          /**< service_container_security_context: every service container */
    JC_CTR_INIT_PERMISSIONS, /**< init_permissions_container_security_context */
    JC_CTR_COUNT
};

/** One *_container_security_context table (the runner's KubernetesContainerSecurityContext).
 *  Every field may be absent: booleans are -1 then, the has_ flags 0, the strings NULL. */
struct jobconfig_secctx {
    int has_cap_add, has_cap_drop; /**< capabilities.add / .drop given (even as []) */
    char **cap_add, **cap_drop;    /**< capability names as written ("NET_ADMIN") */
    size_t ncap_add, ncap_drop;
    int privileged; /**< -1, 0 or 1 */
    int has_run_as_user, has_run_as_group;
    int64_t run_as_user, run_as_group;
    int run_as_non_root;            /**< -1, 0 or 1 */
    int read_only_root_filesystem;  /**< -1, 0 or 1 */
    int allow_privilege_escalation; /**< -1, 0 or 1 */
    char *selinux_type;             /**< seLinuxOptions.type; NULL or "" means none */
    char *proc_mount;               /**< as written ("unmasked"); NULL: none */
};

/** The section's config.toml name ("build_container_security_context"). */
const char *jobconfig_container_section(enum jobconfig_container k);

/** The feature flags the model knows (§5 table); value 0/1. */
enum jobconfig_ff {
    JC_FF_LEGACY_EXECUTION = 0, /**< FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY */
    JC_FF_POD_ACTIVE_DEADLINE,  /**< FF_USE_POD_ACTIVE_DEADLINE_SECONDS (default on) */
    JC_FF_DUMB_INIT,            /**< FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR */
    JC_FF_DISABLE_UMASK,        /**< FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR */
    JC_FF_WAIT_REACHABLE,       /**< FF_WAIT_FOR_POD_TO_BE_REACHABLE */
    JC_FF_COUNT
};

/** The flag's name ("FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY"). */
const char *jobconfig_ff_name(enum jobconfig_ff f);

/** Everything a run needs, validated, defaults applied. Owned strings; release with
 *  jobconfig_release(). */
struct jobconfig {
    /* [[runners]] */
    char *runner_name;     /**< "kubefault-jobclient" */
    char *runner_token;    /**< its first 8 characters name pods */
    char *runner_hostname; /**< "Running on ... via <hostname>..." */
    char *runner_url;      /**< GitLab's URL (GitLab mode, harness/glclient.h); NULL: none */
    char *runner_ca_file;  /**< tls-ca-file: the CA file for GitLab's certificate; NULL: none */
    int check_interval;    /**< s between jobs/request polls (config.toml's global
                                check_interval); <= 0: 3 */
    int64_t wait_job_ms;   /**< kubefault's own "wait_job": how long GitLab mode polls for a job
                                before giving up (the runner polls forever); 0: the default */

    /* [runners.kubernetes] (§1, §5) */
    char *host, *bearer_token, *ca_file, *context;
    char *namespace; /**< "" when not set (the runner warns and uses default) */
    int namespace_per_job;
    char *image, *helper_image;
    int poll_interval, poll_timeout;
    int retry_limit;
    int retry_backoff_max_ms;
    struct jobconfig_retry_limit *retry_limits;
    size_t nretry_limits;
    int64_t cleanup_grace_period_seconds;         /**< -1: unset */
    int64_t pod_termination_grace_period_seconds; /**< -1: unset */
    int64_t cleanup_resources_timeout_ms;
    int print_pod_warning_events;
    char **pull_policy; /**< docker-style names: "always", "if-not-present", "never" */
    size_t npull_policy;
    char **allowed_pull_policies;
    size_t nallowed_pull_policies;
    struct jobconfig_kv *node_selector, *pod_labels, *pod_annotations;
    size_t nnode_selector, npod_labels, npod_annotations;
    struct jobconfig_service *services;
    size_t nservices;
    /* the containers' security contexts: the top-level defaults, then one table per container */
    int privileged;                 /**< -1 unset, 0 or 1 (every container's fallback) */
    int allow_privilege_escalation; /**< -1 unset, 0 or 1 (every container's fallback) */
    char **cap_add, **cap_drop;     /**< capabilities added / dropped on top of NET_RAW dropped */
    size_t ncap_add, ncap_drop;
    struct jobconfig_secctx secctx[JC_CTR_COUNT];

    /* [runners.feature_flags]; a job variable of the same name wins */
    int ff[JC_FF_COUNT];

    /* the job (the payload of POST /api/v4/jobs/request, §9.4) */
    int64_t job_id, project_id;
    char *job_name, *job_stage, *job_ref, *job_sha, *job_before_sha, *project_path, *job_url;
    char *job_image; /**< NULL: kubernetes.image */
    char **job_pull_policy;
    size_t njob_pull_policy;
    struct jobconfig_service *job_services;
    size_t njob_services;
    struct jobconfig_kv *variables;
    size_t nvariables;
    char **before_script, **script, **after_script;
    size_t nbefore_script, nscript, nafter_script;
    int64_t job_timeout; /**< s, <= 0 already turned into JOBCONFIG_DEFAULT_TIMEOUT */
    int cache, artifacts, dependencies;
    struct jobconfig_credential *credentials;
    size_t ncredentials;
};

/** Read a configuration file (JSON with comments; "-" is standard input) into a document for
 *  jobconfig_set() and jobconfig_from_json(). NULL with "file:line:col: message" in d. Caller
 *  frees with cJSON_Delete(). */
cJSON *jobconfig_read(const char *path, struct diag *d);

/**
 * Apply one --set assignment "key=value" to doc (an object, modified). key is "job.K",
 * "runner.K", "kubernetes.K", "feature_flags.K", "FF_..." (a feature flag) or a bare
 * [runners.kubernetes] name ("poll_timeout"); for the maps (kubernetes.node_selector, pod_labels,
 * pod_annotations, retry_limits, job.variables) "MAP.KEY=value" sets one entry (KEY is everything
 * after the map's name and a dot); for the *_container_security_context tables each dot goes one
 * level down (build_container_security_context.capabilities.drop=["ALL"]). value is JSON when it
 * parses as JSON (2, true, ["a","b"], {"k":"v"}, "quoted"), else the text itself as a string. 0,
 * or -1 with the reason in d.
 */
int jobconfig_set(cJSON *doc, const char *assignment, struct diag *d);

/** Validate doc (borrowed) and fill *out with defaults applied (§5). Unknown keys, wrong types,
 *  unknown feature flags and settings the model does not implement are errors, each reported in
 *  d with its JSON path. 0, or -1 (out then released). */
int jobconfig_from_json(const cJSON *doc, struct jobconfig *out, struct diag *d);

/** Free everything; c is left zeroed. NULL is a no-op. */
void jobconfig_release(struct jobconfig *c);

/**
 * The job section ("job": {...} above) for a job payload as POST /api/v4/jobs/request answers it
 * (common/spec JobResponse, runner-k8s-executor.md §9.4): id, job_info (name, stage,
 * project_id), git_info (ref, sha, before_sha; repo_url's path gives project_path unless the
 * variable CI_PROJECT_PATH does), image (name, pull_policy), services (name, alias, command,
 * entrypoint, variables), variables (a later key wins), steps ("script" -> script, which GitLab
 * sends with before_script already prepended; "after_script" -> after_script; others refused),
 * runner_info.timeout, credentials (type registry), and cache / artifacts / dependencies when
 * their arrays are not empty; CI_JOB_URL gives url. Fields it does not name are ignored, as the
 * runner ignores what it does not use. NULL with "payload.path: message" in err for a payload the
 * model cannot run (not an object, a field of the wrong type, a step it does not know). The
 * result is validated by jobconfig_from_json like any job section. Caller frees with
 * cJSON_Delete().
 */
cJSON *jobconfig_job_from_payload(const cJSON *payload, char *err, size_t errlen);

/** The value of job variable key, or NULL. Borrowed. */
const char *jobconfig_variable(const struct jobconfig *c, const char *key);

#endif
