/* tune.h -- `kubefault tune`: runs the reference job client many times against a scenario whose
 * pod schedules after a delay drawn from a seeded distribution, once per poll_timeout value, and
 * tabulates how many jobs failed with "timed out waiting for pod to start" and the time they lost.
 * The trials run time-scaled and in parallel child processes; the delays are quantised to the
 * middle of a poll interval (all a polling client can observe), so the same seed gives the same
 * table on every run. harness/TUNE.md says how and why. */
#ifndef KF_TUNE_H
#define KF_TUNE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TUNE_VALUES_MAX 32    /**< poll_timeout values in one run */
#define TUNE_TRIALS_MAX 10000 /**< trials per value */
#define TUNE_JOBS_MAX 32      /**< trials run at once */
#define TUNE_JOBS_PER_CPU 8   /**< by default: a trial is mostly asleep */
#define TUNE_JOBS_DEFAULT_MAX 16
#define TUNE_POLL_REAL_MS 200      /**< the default time scale makes one poll_interval this long */
#define TUNE_TARGET_DEFAULT 0.01   /**< failure share the recommendation must meet */
#define TUNE_DETAIL_MAX 240        /**< characters kept of a trial's unexpected last line */
#define TUNE_TRIAL_SLACK_MS 120000 /**< a trial's timeout beyond its scaled poll_timeout */

struct tune_opts {
    const char *file;                /**< the scenario */
    int timeouts_s[TUNE_VALUES_MAX]; /**< poll_timeout values, seconds, as given */
    size_t ntimeouts;
    int trials;          /**< per value */
    int poll_interval_s; /**< 0: the scenario's jobClient.kubernetes.poll_interval, else 3 */
    int time_scale;      /**< 0: poll_interval lasts TUNE_POLL_REAL_MS of wall time */
    double target;       /**< failure share to meet, 0..1 */
    int jobs;            /**< trials at once; 0: 2 per CPU, at most 8 */
    int seed_given;      /**< seed below replaces the scenario's */
    uint64_t seed;
    const char *self_exe; /**< this kubefault binary (NULL: /proc/self/exe) */
    const char *work_dir; /**< an existing private directory for the trials' files */
    const char *keep_dir; /**< NULL, or where the output of trials that ended otherwise goes */
    FILE *progress;       /**< a terminal for a progress line, or NULL */
    FILE *verbose;        /**< one line per trial as it ends, or NULL */
};

/** How a trial's job ended. */
enum tune_outcome {
    TUNE_STARTED,   /**< the pod ran: the job went on (whatever the job did then) */
    TUNE_TIMED_OUT, /**< "timed out waiting for pod to start" */
    TUNE_OTHER      /**< anything else: the run or the job broke; detail says how */
};

struct tune_trial {
    int64_t delay_ms;          /**< drawn (model time) */
    int polls_expected;        /**< "Waiting for pod" lines the poll schedule predicts */
    enum tune_outcome outcome; /**< observed */
    int polls;                 /**< observed "Waiting for pod" lines */
    int64_t wall_ms;           /**< how long the client ran */
    char detail[TUNE_DETAIL_MAX];
};

struct tune_row {
    int poll_timeout_s;
    int started, timed_out, other;
    int64_t lost_ms;           /**< model time the timed-out jobs waited, summed */
    int64_t waited_ms;         /**< model time the started jobs waited, summed */
    int64_t wait_p95_ms;       /**< 95th percentile of the started jobs' waits */
    int slipped;               /**< trials whose polls or outcome differ from the schedule's */
    struct tune_trial *trials; /**< opts.trials of them */
};

struct tune_result {
    char scenario[256];     /**< its name */
    char distribution[512]; /**< the delay distribution, compactly */
    uint64_t seed;
    int trials, poll_interval_s, time_scale, jobs;
    double target;
    int64_t *delays_ms; /**< the draws, trial order (the same for every value) */
    struct tune_row rows[TUNE_VALUES_MAX];
    size_t nrows;
    int interrupted;
    int64_t wall_ms;
};

/** Run every trial. 0 (result filled, even when trials ended otherwise), or -1 with a message in
 *  err (the scenario is unusable for tuning, or the trials could not be run). Release r with
 *  tune_result_release() either way. */
int tune_run(const struct tune_opts *o, struct tune_result *r, char *err, size_t errlen);

/** The table, and the recommendation, as plain text: the same seed prints the same bytes. */
void tune_print(FILE *out, const struct tune_result *r);

/** The result as JSON text (caller frees), or NULL when out of memory. */
char *tune_json(const struct tune_result *r);

/** The smallest poll_timeout whose failure share is at most the target, or -1. */
int tune_recommend(const struct tune_result *r);

void tune_result_release(struct tune_result *r);

/** The expectation for one trial: the first poll (0 = right after the create) that finds a pod
 *  Running after delay_ms, given polls every interval_ms: max(1, ceil(delay / interval)). */
int tune_first_poll(int64_t delay_ms, int64_t interval_ms);

#endif
