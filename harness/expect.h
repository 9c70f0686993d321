/* expect.h -- checks a scenario's "expect" section against what a run showed: the command's exit
 * status, its output, how long it ran, and the request journal; one result per expectation, with
 * what was expected, what was observed and a one-line message */
#ifndef KF_EXPECT_H
#define KF_EXPECT_H

#include <stddef.h>
#include <stdint.h>

struct journal;
struct scenario;
struct cJSON;

#define EXPECT_SHOW_REQUESTS 3 /**< matching requests a journal result names */

enum expect_verdict {
    EXPECT_PASS,
    EXPECT_FAIL,  /**< the run did not show what the scenario expects */
    EXPECT_ERROR, /**< the expectation cannot be checked (it asks what the journal does not keep) */
};

/** What a run showed; everything borrowed. */
struct expect_input {
    int exited;    /**< the command exited on its own: exit_code holds its status */
    int exit_code; /**< 0-255 */
    int signal;    /**< the signal that ended it, 0 when none */
    int timed_out; /**< it outran timeout_ms and was killed */
    int killed_by; /**< with timed_out: the last signal sent (SIGTERM, or SIGKILL after grace) */
    int64_t timeout_ms;
    const char *output; /**< stdout and stderr as read, output_len bytes (need not end in NUL) */
    size_t output_len;
    size_t output_dropped;         /**< bytes past the capture cap, not in output */
    int64_t duration_ms;           /**< from start to exit */
    const struct journal *journal; /**< may be NULL: an empty journal */
    /** Times each scenario rule fired (indexed as scenario->rules), or NULL: listener rules act on
     *  connections, which the journal does not list, so their expectations count these. */
    const uint64_t *rule_fired;
    /** The fake GitLab's jobs as glrun_jobs_json() gives them (with "trace"), or NULL when none
     *  ran: what "gitlab.jobs" expectations check. */
    const struct cJSON *gitlab_jobs;
};

struct expect_item {
    enum expect_verdict verdict;
    char kind[16];  /**< "exitCode", "outputContains", "outputLacks", "durationMin",
                         "durationMax", "journal", "before", "timeout", "gitlabJob" */
    char *subject;  /**< the expectation in the scenario's words: `outputContains "x"` */
    char *expected; /**< short: `1`, `"x"`, `count 2`, `<= 5m` */
    char *observed; /**< short: `0`, `not found`, `1 request`, `6m2s` */
    char *message;  /**< one line: subject, ':', what was seen (and why it fails) */
};

struct expect_report {
    struct expect_item *items;
    size_t n;
    size_t failed;               /**< items with EXPECT_FAIL */
    size_t errors;               /**< items with EXPECT_ERROR */
    enum expect_verdict verdict; /**< ERROR when any item is, else FAIL when any is, else PASS */
};

/** Check s's expectations (s->expect, validated by scenario.c) against in; s and in are borrowed.
 *  A scenario without "expect" expects exit status 0. A timed-out run always gets a failing
 *  "timeout" item first. Fills out (release with expect_report_release()); 0, or -1 when memory
 *  runs out (out is then empty). */
int expect_evaluate(const struct scenario *s, const struct expect_input *in,
                    struct expect_report *out);

/** The same for another section of s written as "expect" is (scenario.c validated it): ex, or
 *  NULL for none (exit status 0 expected), named section ("kubectl.expect") in messages; every
 *  item's subject and message but the timeout's start with "SECTION.". expect_evaluate() is this
 *  with s->expect and "expect" (no prefix). */
int expect_evaluate_section(const struct scenario *s, const struct cJSON *ex, const char *section,
                            const struct expect_input *in, struct expect_report *out);

/** Free what expect_evaluate() filled; out is zeroed. */
void expect_report_release(struct expect_report *out);

/** A duration as Go prints it, to the millisecond: "420ms", "2.35s", "1m30s", "1h2m3.5s". Into
 *  buf; returns buf. */
char *expect_format_duration(char *buf, size_t len, int64_t ms);

/** A signal's name ("SIGKILL"), or "signal N". Static or in buf. */
const char *expect_signal_name(char *buf, size_t len, int sig);

#endif
