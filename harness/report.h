/* report.h -- what `kubefault run` reports: the human table (colours only on a terminal, never
 * with NO_COLOR), JUnit XML as GitLab CI's test report reads it, JSON, and the evidence files */
#ifndef KF_REPORT_H
#define KF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "harness/expect.h"

struct journal;

#define REPORT_JOURNAL_EXCERPT 50         /**< journal entries a failing JUnit case shows */
#define REPORT_XML_OUTPUT_MAX (64 * 1024) /**< output bytes a JUnit case shows (its end) */
#define REPORT_COLUMN_MAX 60              /**< widest table cell */

/** A scenario's outcome. SKIP: not run, by choice (kubefault run --kubectl and a scenario without a
 *  "kubectl" section); it is no failure. */
enum report_status { REPORT_PASS, REPORT_FAIL, REPORT_ERROR, REPORT_SKIP };

/** One scenario's outcome. Every pointer is owned by the case (report_case_release()); the
 *  strings may be NULL when unknown (a scenario that does not parse has no name). */
struct report_case {
    char *file;           /**< as given */
    char *id;             /**< the file's name without ".json": the table's scenario column */
    char *name;           /**< the scenario's "name" */
    char *anchor;         /**< "anchor" */
    char *class_;         /**< "class" */
    char *expect_summary; /**< the expectations in short ("exit 1, contains \"x\"") */
    enum report_status status;
    int invalid;       /**< the scenario file could not be read or is not valid (bad input) */
    int interrupted;   /**< kubefault run was interrupted while it ran */
    char *error;       /**< ERROR: why, one or more lines */
    char *skip_reason; /**< SKIP: why, one line ("no kubectl form") */
    struct expect_report expect;
    char *command; /**< what ran, one line */
    int64_t duration_ms;
    int started, exited, exit_code, signal, timed_out;
    char *output; /**< the command's stdout and stderr, output_len bytes */
    size_t output_len;
    size_t output_dropped;
    size_t requests;       /**< journal entries */
    char *journal_excerpt; /**< the last REPORT_JOURNAL_EXCERPT entries, one a line */
    char *evidence;        /**< the folder its evidence was kept in, or NULL */
};

/** Free everything in c; c is zeroed. */
void report_case_release(struct report_case *c);

/** "PASS", "FAIL", "ERROR", "SKIP". */
const char *report_status_name(enum report_status s);

/** Whether to colour output to f: f is a terminal and NO_COLOR is unset or empty. */
int report_use_color(FILE *f);

/** The human table (scenario, expected, observed, result), at most width columns (0: 120), then
 *  every failing expectation and error, where the evidence is, and a summary line (which counts
 *  skipped scenarios when there are some). */
void report_table(FILE *out, const struct report_case *cases, size_t n, int width, int color,
                  int64_t total_ms);

/** JUnit XML: one testsuite, a testcase per scenario (classname = its class, name = its anchor or
 *  name), failures and errors with their messages, and on those the command's output and the
 *  journal excerpt in system-out; a skipped one has <skipped message="why"/>. Text is escaped for
 *  XML 1.0: bytes it forbids appear as \xNN, ANSI colour sequences are dropped, invalid UTF-8
 *  becomes U+FFFD. 0, or -1 with errno. */
int report_junit(FILE *out, const struct report_case *cases, size_t n, int64_t total_ms,
                 const char *timestamp);

/** One case as a JSON object (caller frees): file, name, anchor, class, result, error, duration,
 *  exit, every expectation with its result, evidence. NULL when memory runs out. */
cJSON *report_case_json(const struct report_case *c);

/** The --json document: {"kubefault", "timestamp", "durationMs", "summary", "scenarios": [...]}.
 *  0, or -1. */
int report_json(FILE *out, const struct report_case *cases, size_t n, int64_t total_ms,
                const char *timestamp);

/** Write len bytes of s to f as XML character data (attr: for an attribute value), escaped as
 *  report_junit() says. */
void report_xml_text(FILE *f, const char *s, size_t len, int attr);

/** A copy of s[0..len) that is valid UTF-8 (bad bytes become U+FFFD), NUL-ended; caller frees. */
char *report_utf8_clean(const char *s, size_t len);

/** The journal's last `last` entries as text, one a line: "#12 +1.234s POST /api/v1/... -> 500
 *  [rule etcd-flap: error] note". Caller frees; NULL when memory runs out. */
char *report_journal_excerpt(const struct journal *j, size_t last);

/** Every journal entry as one JSON line (times included) to path. 0, or -1 with a message. */
int report_journal_jsonl(const struct journal *j, const char *path, char *err, size_t errlen);

#endif
