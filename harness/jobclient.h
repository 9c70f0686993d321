/* jobclient.h -- the reference job client: a model of GitLab Runner 19.x's Kubernetes executor
 * running one job against a kube-apiserver, for demos, self-tests and poll_timeout tuning. It sends
 * the executor's API sequence (runner-k8s-executor.md §2: access reviews, credentials secret, pod,
 * ownerReferences, the §3.1 wait, per-stage save-script exec, attach and read-logs, or legacy exec
 * mode; §2.4 cleanup), applies the runner's retry rules (§6) and prints the job log in the runner's
 * wording (§7). It is a model, not the runner: what it leaves out is listed in
 * harness/JOBCLIENT.md. */
#ifndef KF_JOBCLIENT_H
#define KF_JOBCLIENT_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "harness/jobconfig.h"

#define JOBCLIENT_ERR_MAX 4096               /**< bytes of the job's error text kept */
#define JOBCLIENT_PREPARE_RETRIES 3          /**< common.PreparationRetries */
#define JOBCLIENT_PREPARE_RETRY_MS 3000      /**< common.PreparationRetryInterval */
#define JOBCLIENT_READ_LOGS_BACKOFF_MIN 1000 /**< ms: the read-logs reconnect backoff (§4.2) */
#define JOBCLIENT_READ_LOGS_BACKOFF_MAX 30000
#define JOBCLIENT_SPDY_PING_MS 5000 /**< client-go's SPDY PingPeriod */

struct jobclient_opts {
    const struct jobconfig *cfg;         /**< borrowed: the settings and the job */
    const char *kubeconfig;              /**< used when cfg->host is empty; NULL: $KUBECONFIG, then
                                              ~/.kube/config (§1: the default kubeconfig) */
    FILE *log;                           /**< where the job log goes (stdout) */
    int color;                           /**< keep the runner's ANSI colours and section markers */
    uint64_t seed;                       /**< the random name suffixes (same seed, same names) */
    const volatile sig_atomic_t *cancel; /**< may be NULL; set: the job is canceled */
    int prepare_retry_ms;                /**< 0: JOBCLIENT_PREPARE_RETRY_MS (tests shorten it) */
    int time_scale; /**< 0 or 1: real time. N > 1: every poll_interval wait lasts poll_interval/N
                         and the pod-wait polls keep an absolute schedule (request time is not
                         counted), so a run models N times its wall time (`kubefault tune`) */
    /** Called with every byte of the job log as the runner writes it into its trace (colours and
     *  section markers kept, whatever color says), in order, on the calling thread; NULL: none.
     *  GitLab mode (harness/glclient.h) sends these bytes as the job's trace. */
    void (*on_trace)(void *arg, const char *data, size_t len);
    void *trace_arg; /**< passed to on_trace */
};

/** How a run ended. */
struct jobclient_result {
    int success;
    char failure_reason[40];       /**< "" on success, else GitLab's failure_reason:
                                        script_failure, runner_system_failure,
                                        job_execution_timeout, runner_configuration_error,
                                        image_pull_failure, unknown_failure, job_canceled */
    int exit_code;                 /**< the script's exit code for script failures, else 0 */
    int system_failure;            /**< the error was not a BuildError: "(system failure)" */
    char error[JOBCLIENT_ERR_MAX]; /**< the job's error as the final line shows it, "" on
                                        success */
    char final_line[JOBCLIENT_ERR_MAX + 64]; /**< "Job succeeded" or "ERROR: Job failed..." */
    char namespace_[128];                    /**< where the pod went ("" before Prepare) */
    char pod[256];                           /**< the build pod's name ("" when none) */
    int requests;                            /**< API calls made (not counting retries inside
                                                  client-go), exec/attach sessions included */
};

/** Run the job: print its log to o->log and fill *res. Returns 0 when the job succeeded, 1 when
 *  it failed (res says why). Blocking; every wait is bounded by the job timeout, the cleanup
 *  timeout or the §3.1 poll settings. */
int jobclient_run(const struct jobclient_opts *o, struct jobclient_result *res);

/** Go's time.Duration.String() for whole seconds: "1h0m0s", "2m30s", "45s", "0s". Into buf.
 *  Returns buf. */
char *jobclient_go_duration(char *buf, size_t len, int64_t seconds);

/** The §7.8 check, purely client-side: the effective pull policies of a container whose image
 *  asks for ci (docker names, may be empty) under the runner's pull_policy and
 *  allowed_pull_policies (docker names). 0 with the Kubernetes names ("[Always IfNotPresent]",
 *  "[]") in out, or -1 with the error text ("pull_policy ([Always]) defined in GitLab pipeline
 *  config is not one of the allowed_pull_policies ([IfNotPresent])") in out. */
int jobclient_pull_policies(char *const *ci, size_t nci, char *const *runner, size_t nrunner,
                            char *const *allowed, size_t nallowed, char *out, size_t len);

/** The securityContext the runner sends for a container of kind k (GetContainerSecurityContext
 *  in common/config.go, as the executor calls it for build, helper, services and
 *  init-permissions): capabilities from cap_add/cap_drop over NET_RAW dropped (nothing dropped
 *  for a kubernetes.io/os=windows node selector), each list replaced by the table's
 *  capabilities.add/drop when given; privileged and allowPrivilegeEscalation from the table, else
 *  the top-level settings; runAsUser, runAsGroup, runAsNonRoot, readOnlyRootFilesystem,
 *  seLinuxOptions.type and procMount (Default or Unmasked only) from the table alone. Never NULL
 *  but for out of memory: {} when nothing applies. Caller frees with cJSON_Delete(). */
cJSON *jobclient_security_context(const struct jobconfig *c, enum jobconfig_container k);

/** 1 when the runner's retry (§6) takes err as retryable: a retry_limits key of cfg, or one of
 *  the network error substrings. *limit gets the attempts allowed in total. */
int jobclient_retryable(const struct jobconfig *cfg, const char *err, int *limit);

/** The backoff before retry number n (1 = after the first failure), in ms: 500 ms doubling,
 *  capped at retry_backoff_max_ms (jpillora/backoff, no jitter). */
int64_t jobclient_backoff_ms(int n, int retry_backoff_max_ms);

#endif
