/* jsonc.h -- JSON with comments for scenario files: comments blanked so positions stay true, strict
 * syntax errors as file:line:col, typed getters that name the JSON path, strict keys with a
 * did-you-mean, and durations ("250ms", "1m30s") */
#ifndef KF_JSONC_H
#define KF_JSONC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct diag;

#define JSONC_MAX_DEPTH 64 /**< nesting of objects and arrays; deeper is a syntax error */
#define JSONC_PATH_MAX                                                                             \
    256 /**< characters in a JSON path ("rules[2].fault.type"); longer is cut                      \
         */
#define JSONC_MAX_KEYS_LISTED 32 /**< accepted keys an "unknown key" message lists */
/** The longest duration accepted: 720h (30 days), far beyond any run, far below int64 overflow. */
#define JSONC_DURATION_MAX_MS (720LL * 3600 * 1000)

/* ---- parsing ---- */

/** Blank comments in text[0..len) in place: `//` to the end of the line and `/ * ... * /` become
 *  spaces (newlines inside a block comment are kept), outside strings only, so every byte keeps its
 *  line and column. A UTF-8 byte-order mark at the start is blanked too. Returns 0, or -1 when a
 *  block comment is not closed, with its offset in *err_off. */
int jsonc_blank_comments(char *text, size_t len, size_t *err_off);

/** Parse JSON with comments (text borrowed, len bytes, need not be NUL-terminated). The syntax is
 *  strict JSON (RFC 8259) plus comments: no trailing commas, no single quotes, no leading zeros,
 *  no control characters in strings, no key twice in one object, at most JSONC_MAX_DEPTH levels.
 * Returns the document (caller frees with cJSON_Delete()), or NULL with one syntax error in d as
 * "file:line:col: message" (line and column 1-based, columns counted in characters), e.g. `expected
 * ',' or '}' after object member, got '"'`. */
cJSON *jsonc_parse(const char *text, size_t len, struct diag *d);

/** Line and column (1-based; columns count UTF-8 characters, a tab is one) of byte off in text. */
void jsonc_position(const char *text, size_t len, size_t off, int *line, int *col);

/* ---- paths for messages ---- */

/** parent + "." + key into buf ("rules[0]" + "fault" -> "rules[0].fault"; "" + "name" -> "name").
 *  A key that is not made of letters, digits, '_' and '-' is quoted: containers["svc-*"].
 *  Cut to len. Returns buf. */
char *jsonc_path_key(char *buf, size_t len, const char *parent, const char *key);

/** parent + "[i]" into buf. Returns buf. */
char *jsonc_path_index(char *buf, size_t len, const char *parent, size_t i);

/** Characters of a user's string quoted back in a message (jsonc_show()). */
#define JSONC_SHOW_MAX 80
/** A buffer that holds any jsonc_show() result. */
#define JSONC_SHOW_BUF (JSONC_SHOW_MAX * 2 + 8)

/** s as it may appear between double quotes in a one-line message: at most JSONC_SHOW_MAX
 *  characters ("..." when cut), '"' and '\\' escaped, control characters as '.'. Into buf (len
 *  bytes; JSONC_SHOW_BUF is always enough). Returns buf. */
const char *jsonc_show(char *buf, size_t len, const char *s);

/* ---- types ---- */

/** "string", "number", "boolean", "null", "object" or "array": the type as messages name it. */
const char *jsonc_type_name(const cJSON *v);

/** Report `path: expected <want>, got <type of v>` ("expected a string, got number"). */
void jsonc_type_error(struct diag *d, const char *path, const char *want, const cJSON *v);

/* ---- typed access to one value (v borrowed; path names it in messages) ----
 * Each returns 0 with *out set, or -1 with an error in d (out untouched). */

int jsonc_as_string(const cJSON *v, const char *path, struct diag *d, const char **out);
int jsonc_as_bool(const cJSON *v, const char *path, struct diag *d, int *out);
/** An integer in [min, max]: "expected an integer from 0 to 255, got 3.5" / "got 300". */
int jsonc_as_int(const cJSON *v, const char *path, struct diag *d, int64_t min, int64_t max,
                 int64_t *out);
/** A finite number in [min, max]. */
int jsonc_as_number(const cJSON *v, const char *path, struct diag *d, double min, double max,
                    double *out);
int jsonc_as_object(const cJSON *v, const char *path, struct diag *d);
int jsonc_as_array(const cJSON *v, const char *path, struct diag *d);
/** A duration string, in milliseconds; a bare number is refused (see jsonc_parse_duration()). */
int jsonc_as_duration(const cJSON *v, const char *path, struct diag *d, int64_t *ms);

/* ---- typed access to a member: obj[key], named path.key in messages ----
 * Each returns 1 with *out set when the key is there and right, 0 when it is absent (out
 * untouched), -1 when it is there but wrong (reported in d). obj NULL counts as absent. */

int jsonc_string(const cJSON *obj, const char *key, const char *path, struct diag *d,
                 const char **out);
int jsonc_bool(const cJSON *obj, const char *key, const char *path, struct diag *d, int *out);
int jsonc_int(const cJSON *obj, const char *key, const char *path, struct diag *d, int64_t min,
              int64_t max, int64_t *out);
int jsonc_number(const cJSON *obj, const char *key, const char *path, struct diag *d, double min,
                 double max, double *out);
int jsonc_object(const cJSON *obj, const char *key, const char *path, struct diag *d,
                 const cJSON **out);
int jsonc_array(const cJSON *obj, const char *key, const char *path, struct diag *d,
                const cJSON **out);
int jsonc_duration(const cJSON *obj, const char *key, const char *path, struct diag *d,
                   int64_t *ms);

/* ---- strict keys ---- */

/** Check that every key of obj (an object, borrowed) is in accepted (NULL-ended). Reports, at
 *  path, each `unknown key "fualt" (accepted: name, match, fault); did you mean "fault"?` (the
 *  suggestion when an accepted key is within edit distance 2). 0, or -1 when something was
 *  reported. (Duplicate keys are syntax errors: jsonc_parse() reports them with line:col.) */
int jsonc_check_keys(const cJSON *obj, const char *path, const char *const *accepted,
                     struct diag *d);

/** The candidate (NULL-ended list) closest to word within edit distance 2 (transpositions count
 *  1), or NULL when none is close enough to be worth suggesting. */
const char *jsonc_suggest(const char *word, const char *const *candidates);

/** Edit distance between a and b (optimal string alignment: insert, delete, substitute, swap two
 *  neighbours). Words longer than 64 bytes compare as far apart (a large number). */
size_t jsonc_edit_distance(const char *a, const char *b);

/* ---- durations ---- */

/** Parse a duration written as Go writes them, in milliseconds: one or more <number><unit> with
 *  unit ms, s, m or h and a decimal number ("250ms", "2s", "1m30s", "1h", "1.5s"). Refused, with
 *  a message in err: a bare number (`a duration needs a unit, e.g. "250ms" or "2s"`), an unknown
 *  unit, a sign, a value finer than a millisecond, a value above JSONC_DURATION_MAX_MS.
 *  0, or -1. */
int jsonc_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen);

#endif
