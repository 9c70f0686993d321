/* param.h -- fault parameters: the getters every fault type's parse uses, over harness/jsonc.h
 * (strict keys with a did-you-mean, typed values, durations), plus "required" and string caps,
 * reporting in git's shape ("rules[2].fault.code: expected an integer from 400 to 599, got 700") */
#ifndef KF_PARAM_H
#define KF_PARAM_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct diag;

/** Longest duration param_duration() takes. */
#define PARAM_MAX_DURATION_MS (24LL * 60 * 60 * 1000)
#define PARAM_MAX_STRING 8192 /**< longest string parameter, in bytes */
#define PARAM_PATH_MAX 256    /**< longest JSON path kept for messages */

/** path + "." + key into buf (for messages). Returns buf. */
const char *param_path(char *buf, size_t len, const char *path, const char *key);

/** spec must be an object whose keys are "type" or in keys (NULL-ended; NULL: none); each other
 *  key is reported at path as `unknown key "x" (accepted: type, a, b)` with a did-you-mean.
 *  0, or -1 with errors in d. */
int param_check_keys(const cJSON *spec, const char *path, const char *const *keys, struct diag *d);

/** The keys of a fault type that takes no parameters (only "type"). */
extern const char *const param_no_keys[];

/** The parse hook of such a type: any key besides "type" is an error; *ctx = NULL. */
int param_parse_none(const cJSON *spec, const char *path, struct diag *d, void **ctx);

/** The keys of a type whose one parameter is "after" (a duration, default 0s). */
extern const char *const param_after_keys[];

/** The parse hook of such a type: *ctx is a malloc'd int64_t of milliseconds (free(3)). */
int param_parse_after(const cJSON *spec, const char *path, struct diag *d, void **ctx);

/* The getters below return 1 when the key is present and valid (the value is stored), 0 when it is
 * absent and not required (nothing stored), -1 when it is wrong, or missing though required
 * (`missing key "code"`); errors go to d. path names the fault object. */

/** An integer in [min, max]. */
int param_int(const cJSON *spec, const char *path, const char *key, int required, long min,
              long max, long *out, struct diag *d);

/** A finite number in [min, max]. */
int param_double(const cJSON *spec, const char *path, const char *key, int required, double min,
                 double max, double *out, struct diag *d);

/** A duration string ("250ms", "2s", "1m30s"; jsonc_parse_duration()) of at most
 *  PARAM_MAX_DURATION_MS, in milliseconds. */
int param_duration(const cJSON *spec, const char *path, const char *key, int required,
                   int64_t *out_ms, struct diag *d);

/** The same with another limit: `"2h" is longer than the limit of 10m`. */
int param_duration_max(const cJSON *spec, const char *path, const char *key, int required,
                       int64_t max_ms, int64_t *out_ms, struct diag *d);

/** A string of at most PARAM_MAX_STRING bytes; *out borrows from spec. allow_empty 0 refuses "". */
int param_string(const cJSON *spec, const char *path, const char *key, int required,
                 int allow_empty, const char **out, struct diag *d);

/** An object; *out borrows from spec. */
int param_object(const cJSON *spec, const char *path, const char *key, int required,
                 const cJSON **out, struct diag *d);

/** A duration for messages and the journal: "250ms", "2s", "1.5s", "1m30s", "1h". Returns buf. */
const char *param_format_duration(int64_t ms, char *buf, size_t len);

#endif
