/* diag.h -- user-facing errors in git's shape: "file:line:col: message" for syntax, "file: path:
 * message" for meaning; collected so `kubefault check` reports them all */
#ifndef KF_DIAG_H
#define KF_DIAG_H

#include <stddef.h>

#define DIAG_MAX_ERRORS 50 /**< errors kept per file; more are counted, not kept */

struct diag {
    const char *file; /**< borrowed; the file being read ("-" for standard input) */
    char *msgs[DIAG_MAX_ERRORS];
    size_t n;       /**< errors kept */
    size_t dropped; /**< errors past DIAG_MAX_ERRORS */
};

/** Start collecting for file (borrowed). */
void diag_init(struct diag *d, const char *file);

/** Free the messages. */
void diag_release(struct diag *d);

/** A syntax error at line:col (1-based). */
void diag_at(struct diag *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** A meaning error at a JSON path ("rules[2].fault.type"); path may be "" for the whole file. */
void diag_path(struct diag *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Print every message, one a line, to f; returns the number of errors (kept + dropped). */
size_t diag_print(const struct diag *d, void *f);

#endif
