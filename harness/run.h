/* run.h -- runs one scenario: the fake kube-apiserver in-process with the scenario's engine, a
 * command (or the reference job client) in a child process pointed at it, bounded by a timeout;
 * then the scenario's expectations checked and the evidence kept */
#ifndef KF_RUN_H
#define KF_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/report.h"

struct cJSON;
struct event_base;
struct scenario;

#define RUN_OUTPUT_MAX (16 * 1024 * 1024) /**< output bytes kept; the rest is counted, not kept */
#define RUN_KILL_GRACE_MS 5000            /**< SIGTERM, then SIGKILL this much later */
#define RUN_DRAIN_MS 1000   /**< after the command exits, how long its output pipe may stay open */
#define RUN_PROGRESS_MS 250 /**< how often the progress line is redrawn */
#define RUN_DEFAULT_TIMEOUT_MS (10 * 60 * 1000)
#define RUN_JOB_ARGS_MAX 8 /**< run_opts.job_args beyond this are an error */

struct run_opts {
    char *const *command;  /**< argv (NULL-ended) to run, searched in PATH; NULL: the reference
                                job client (`<self_exe> job --kubeconfig FILE [--config FILE]`) */
    const char *kubectl;   /**< instead of either: this kubectl (searched in PATH) with the
                                scenario's "kubectl.args", checked against "kubectl.expect", in a
                                fresh KUBECACHEDIR; a scenario without "kubectl" is skipped */
    const char *self_exe;  /**< this kubefault binary; NULL: /proc/self/exe */
    int plain_http;        /**< serve HTTP instead of TLS (no token, no CA) */
    int64_t timeout_ms;    /**< per scenario; 0: RUN_DEFAULT_TIMEOUT_MS */
    int64_t kill_grace_ms; /**< 0: RUN_KILL_GRACE_MS */
    FILE *echo;            /**< copy the command's output here as it comes (--verbose), or NULL */
    FILE *progress;    /**< a terminal to keep one progress line on (rewritten in place), or NULL */
    const char *label; /**< the scenario as the progress line names it ("[2/5] x") */
    const char *work_dir;  /**< an existing private directory for this scenario's kubeconfig, CA,
                                job config and server log; removed by the caller */
    const char *keep_dir;  /**< where evidence folders go (created when needed) */
    int keep_all;          /**< keep every scenario's evidence, not only failures' */
    char *const *job_args; /**< more arguments for the reference job client (NULL-ended, at most
                                RUN_JOB_ARGS_MAX), e.g. `kubefault tune`'s --time-scale; NULL:
                                none */
};

/** What running the command showed (run_scenario()). */
struct run_result {
    int started; /**< the command was started */
    int exited;  /**< it exited on its own (exit_code holds its status) */
    int exit_code;
    int signal;      /**< the signal that ended it, 0 when none */
    int timed_out;   /**< it outran the timeout and was killed */
    int killed_by;   /**< the last signal kubefault sent it (SIGTERM, SIGKILL), 0 when none */
    int interrupted; /**< kubefault itself got SIGINT or SIGTERM meanwhile */
    int64_t duration_ms;
    char *output; /**< stdout and stderr together, as read (not NUL-ended); caller frees */
    size_t output_len;
    size_t output_dropped; /**< bytes past RUN_OUTPUT_MAX */
    char error[1024];      /**< why the run could not be done ("" when it was) */
    char command[1024];    /**< what ran, as one line */
    struct engine *engine; /**< stopped, its server freed: the journal and the rules' counts stay
                                readable until run_result_release() */
    uint64_t *rule_fired;  /**< times each scenario rule fired, taken when the fake stopped */
    struct cJSON *gitlab_jobs; /**< the fake GitLab's jobs with their traces (glrun_jobs_json),
                                    taken when it stopped; NULL when none ran */
};

/** Start the fake with scenario s (borrowed; must outlive r), run the command against it on base
 *  until it exits or the timeout kills it, stop the fake. 0 when the command ran (whatever its
 *  outcome), -1 when the run could not be done (the fake did not start, the command could not be
 *  started, the reference job client is not built): r->error says why. Either way release r with
 *  run_result_release(). */
int run_scenario(struct event_base *base, struct scenario *s, const struct run_opts *o,
                 struct run_result *r);

/** Free what run_scenario() filled; r is zeroed. */
void run_result_release(struct run_result *r);

/** The whole of one scenario for `kubefault run`: load file, run it, check its expectations, keep
 *  the evidence (every scenario with o->keep_all, else failures), and describe it all in c (release
 *  with report_case_release()). With o->kubectl, a scenario without a "kubectl" section is not run
 *  (REPORT_SKIP, "no kubectl form"). Returns c->status. */
enum report_status run_case(struct event_base *base, const char *file, const struct run_opts *o,
                            struct report_case *c);

/** Every scenario file an argument names, appended to *files (n of them; caller frees each and
 *  the array): a directory's *.json files, sorted by name (not recursive; README* and hidden files
 *  skipped), or the argument itself when it is not a directory (a missing file is reported when
 *  it is run). 0, or -1 with a message in err. */
int run_collect(const char *arg, char ***files, size_t *n, char *err, size_t errlen);

/** mkdir -p, mode 0700. 0, or -1 with a message in err. */
int run_mkdirs(const char *path, char *err, size_t errlen);

/** rm -rf dir (symbolic links are removed, not followed). 0, or -1. */
int run_rmtree(const char *dir);

#endif
