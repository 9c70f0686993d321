/* jsonc.c -- JSON with comments for scenario files: comments blanked so positions stay true, strict
 * syntax errors as file:line:col, typed getters that name the JSON path, strict keys with a
 * did-you-mean, and durations ("250ms", "1m30s") */
#include "harness/jsonc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"

#define SNIPPET_MAX 40 /* bytes of a key or word quoted in a message */
#define DUP_KEYS 64    /* keys per object checked for duplicates (later keys compare with these) */
#define INT_EXACT_MAX 9007199254740992.0 /* 2^53: above this a JSON number is no exact integer */

/* ---- comments ---- */

int jsonc_blank_comments(char *t, size_t len, size_t *err_off)
{
    size_t i = 0;

    if (len >= 3 && (unsigned char)t[0] == 0xEF && (unsigned char)t[1] == 0xBB &&
        (unsigned char)t[2] == 0xBF) {
        memset(t, ' ', 3);
        i = 3;
    }
    while (i < len) {
        char c = t[i];
        if (c == '"') {
            /* a string: skip it whole; a raw newline ends it (it is an error the parser reports),
             * so one bad string does not hide the comments of every later line */
            for (i++; i < len && t[i] != '"' && t[i] != '\n'; i++)
                if (t[i] == '\\' && i + 1 < len && t[i + 1] != '\n')
                    i++;
            if (i < len && t[i] == '"')
                i++;
        } else if (c == '/' && i + 1 < len && t[i + 1] == '/') {
            while (i < len && t[i] != '\n')
                t[i++] = ' ';
        } else if (c == '/' && i + 1 < len && t[i + 1] == '*') {
            size_t start = i;
            t[i++] = ' ';
            t[i++] = ' ';
            while (i < len && !(t[i] == '*' && i + 1 < len && t[i + 1] == '/')) {
                if (t[i] != '\n')
                    t[i] = ' ';
                i++;
            }
            if (i >= len) {
                if (err_off)
                    *err_off = start;
                return -1;
            }
            t[i++] = ' ';
            t[i++] = ' ';
        } else {
            i++;
        }
    }
    return 0;
}

/* ---- positions and snippets ---- */

void jsonc_position(const char *text, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;

    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) { /* count characters, not UTF-8 continuation bytes */
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Copy up to SNIPPET_MAX bytes of s (n bytes) into buf with non-printables as '.', "..." when cut.
 */
static char *snippet(char *buf, size_t len, const char *s, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n && i < SNIPPET_MAX && o + 4 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[o++] = (ch >= 0x20 && ch != 0x7F) ? (char)ch : '.';
    }
    if (n > SNIPPET_MAX && o + 4 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* How a message names the byte at p: 'x', or what it is when it cannot be shown. */
static const char *describe(char *buf, size_t len, unsigned char ch)
{
    if (ch >= 0x21 && ch < 0x7F)
        snprintf(buf, len, "'%c'", ch);
    else if (ch >= 0x80)
        snprintf(buf, len, "a non-ASCII character");
    else if (ch == 0)
        snprintf(buf, len, "a NUL byte");
    else
        snprintf(buf, len, "byte 0x%02x", ch);
    return buf;
}

/* ---- the syntax scanner ----
 * cJSON accepts more than JSON (leading zeros, "1.", raw newlines in strings) and says only where
 * it stopped. A strict scanner runs first and explains the first error where it is; cJSON then
 * builds the tree. */

struct scan {
    const char *t;
    size_t len, pos;
    int failed;
    size_t err_off;
    char err[512];
};

static int fail_at(struct scan *s, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct scan *s, size_t off, const char *fmt, ...)
{
    va_list ap;

    if (s->failed)
        return -1;
    s->failed = 1;
    s->err_off = off;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return -1;
}

static void skip_ws(struct scan *s)
{
    while (s->pos < s->len) {
        char c = s->t[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        s->pos++;
    }
}

static int at_end(const struct scan *s)
{
    return s->pos >= s->len;
}

static unsigned char cur(const struct scan *s)
{
    return (unsigned char)s->t[s->pos];
}

static int is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '+';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The four hex digits after the 'u' at offset at, as a number; -1 if they are not there. */
static long hex4(const struct scan *s, size_t at)
{
    long v = 0;

    for (size_t i = 1; i <= 4; i++) {
        if (at + i >= s->len)
            return -1;
        int h = hexval((unsigned char)s->t[at + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static int scan_string(struct scan *s)
{
    size_t open = s->pos;
    char d[32];

    s->pos++;
    for (;;) {
        if (at_end(s))
            return fail_at(s, open, "unterminated string");
        unsigned char c = cur(s);
        if (c == '"') {
            s->pos++;
            return 0;
        }
        if (c == '\n')
            return fail_at(s, open,
                           "unterminated string (a string cannot span lines; write a newline as "
                           "\\n)");
        if (c < 0x20)
            return fail_at(s, s->pos, "%s in a string: write it escaped (\\t, \\n, \\u00XX)",
                           describe(d, sizeof d, c));
        if (c != '\\') {
            s->pos++;
            continue;
        }
        size_t bs = s->pos;
        if (bs + 1 >= s->len)
            return fail_at(s, open, "unterminated string");
        unsigned char e = (unsigned char)s->t[bs + 1];
        if (e == 'u') {
            long cp = hex4(s, bs + 1);
            if (cp < 0)
                return fail_at(s, bs, "invalid \\u escape: expected 4 hex digits");
            s->pos = bs + 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail_at(s, bs, "invalid \\u escape: a low surrogate without a high one");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (s->pos + 1 < s->len && s->t[s->pos] == '\\' && s->t[s->pos + 1] == 'u')
                    lo = hex4(s, s->pos + 1);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail_at(s, bs,
                                   "invalid \\u escape: a high surrogate must be followed by a "
                                   "low one (\\uDC00-\\uDFFF)");
                s->pos += 6;
            }
            continue;
        }
        if (!strchr("\"\\/bfnrt", (int)e) || e == '\0')
            return fail_at(s, bs,
                           "invalid escape \"\\%c\" in string (valid: \\\" \\\\ \\/ \\b \\f \\n "
                           "\\r \\t \\uXXXX)",
                           (e >= 0x20 && e < 0x7F) ? e : '?');
        s->pos = bs + 2;
    }
}

static int scan_number(struct scan *s)
{
    size_t start = s->pos;
    char w[SNIPPET_MAX + 8];

    if (cur(s) == '-') {
        s->pos++;
        if (at_end(s) || cur(s) < '0' || cur(s) > '9')
            return fail_at(s, start, "invalid number: expected a digit after '-'");
    }
    if (cur(s) == '0') {
        s->pos++;
        if (!at_end(s) && cur(s) >= '0' && cur(s) <= '9')
            return fail_at(s, start, "invalid number: no leading zeros allowed");
    } else {
        while (!at_end(s) && cur(s) >= '0' && cur(s) <= '9')
            s->pos++;
    }
    if (!at_end(s) && cur(s) == '.') {
        s->pos++;
        if (at_end(s) || cur(s) < '0' || cur(s) > '9')
            return fail_at(s, start, "invalid number: expected a digit after '.'");
        while (!at_end(s) && cur(s) >= '0' && cur(s) <= '9')
            s->pos++;
    }
    if (!at_end(s) && (cur(s) == 'e' || cur(s) == 'E')) {
        s->pos++;
        if (!at_end(s) && (cur(s) == '+' || cur(s) == '-'))
            s->pos++;
        if (at_end(s) || cur(s) < '0' || cur(s) > '9')
            return fail_at(s, start, "invalid number: expected a digit in the exponent");
        while (!at_end(s) && cur(s) >= '0' && cur(s) <= '9')
            s->pos++;
    }
    if (!at_end(s) && is_word_char(cur(s))) {
        /* "at": 250ms -- the likeliest mistake is a duration written without quotes */
        size_t end = s->pos;
        while (end < s->len && is_word_char((unsigned char)s->t[end]))
            end++;
        snippet(w, sizeof w, s->t + start, end - start);
        return fail_at(
            s, start, "invalid value %s: a duration or other text is a string, write \"%s\"", w, w);
    }
    return 0;
}

static int scan_value(struct scan *s, int depth);

static void open_pos(const struct scan *s, size_t off, char *buf, size_t len)
{
    int line, col;

    jsonc_position(s->t, s->len, off, &line, &col);
    snprintf(buf, len, "%d:%d", line, col);
}

static int scan_object(struct scan *s, int depth)
{
    size_t open = s->pos;
    size_t keys[DUP_KEYS], klen[DUP_KEYS], nkeys = 0;
    char where[32], d[32], k[SNIPPET_MAX + 8];

    open_pos(s, open, where, sizeof where);
    s->pos++;
    skip_ws(s);
    if (!at_end(s) && cur(s) == '}') {
        s->pos++;
        return 0;
    }
    for (;;) {
        if (at_end(s))
            return fail_at(s, s->pos,
                           "unexpected end of file: expected a key in double quotes (the object "
                           "opened at %s is not closed)",
                           where);
        if (cur(s) != '"') {
            unsigned char c = cur(s);
            if (c == '\'')
                return fail_at(s, s->pos, "keys need double quotes, not single quotes");
            if (is_word_char(c)) {
                size_t end = s->pos;
                while (end < s->len && is_word_char((unsigned char)s->t[end]))
                    end++;
                return fail_at(s, s->pos, "keys need double quotes: write \"%s\"",
                               snippet(k, sizeof k, s->t + s->pos, end - s->pos));
            }
            return fail_at(s, s->pos, "expected a key in double quotes, got %s",
                           describe(d, sizeof d, c));
        }
        size_t kstart = s->pos;
        if (scan_string(s) < 0)
            return -1;
        size_t kl = s->pos - kstart;
        for (size_t i = 0; i < nkeys; i++)
            if (klen[i] == kl && memcmp(s->t + keys[i], s->t + kstart, kl) == 0) {
                char first[32];
                open_pos(s, keys[i], first, sizeof first);
                return fail_at(s, kstart, "duplicate key %s (first at %s)",
                               snippet(k, sizeof k, s->t + kstart, kl), first);
            }
        if (nkeys < DUP_KEYS) {
            keys[nkeys] = kstart;
            klen[nkeys++] = kl;
        }
        skip_ws(s);
        if (at_end(s))
            return fail_at(s, s->pos, "unexpected end of file: expected ':' after key %s",
                           snippet(k, sizeof k, s->t + kstart, kl));
        if (cur(s) != ':')
            return fail_at(s, s->pos, "expected ':' after key %s, got %s",
                           snippet(k, sizeof k, s->t + kstart, kl), describe(d, sizeof d, cur(s)));
        s->pos++;
        skip_ws(s);
        if (scan_value(s, depth) < 0)
            return -1;
        skip_ws(s);
        if (at_end(s))
            return fail_at(s, s->pos,
                           "unexpected end of file: expected ',' or '}' (the object opened at %s "
                           "is not closed)",
                           where);
        if (cur(s) == '}') {
            s->pos++;
            return 0;
        }
        if (cur(s) != ',')
            return fail_at(s, s->pos, "expected ',' or '}' after object member, got %s",
                           describe(d, sizeof d, cur(s)));
        size_t comma = s->pos;
        s->pos++;
        skip_ws(s);
        if (!at_end(s) && cur(s) == '}')
            return fail_at(s, comma, "trailing comma before '}': JSON allows none, remove it");
    }
}

static int scan_array(struct scan *s, int depth)
{
    size_t open = s->pos;
    char where[32], d[32];

    open_pos(s, open, where, sizeof where);
    s->pos++;
    skip_ws(s);
    if (!at_end(s) && cur(s) == ']') {
        s->pos++;
        return 0;
    }
    for (;;) {
        if (scan_value(s, depth) < 0)
            return -1;
        skip_ws(s);
        if (at_end(s))
            return fail_at(s, s->pos,
                           "unexpected end of file: expected ',' or ']' (the array opened at %s "
                           "is not closed)",
                           where);
        if (cur(s) == ']') {
            s->pos++;
            return 0;
        }
        if (cur(s) != ',')
            return fail_at(s, s->pos, "expected ',' or ']' after array element, got %s",
                           describe(d, sizeof d, cur(s)));
        size_t comma = s->pos;
        s->pos++;
        skip_ws(s);
        if (!at_end(s) && cur(s) == ']')
            return fail_at(s, comma, "trailing comma before ']': JSON allows none, remove it");
    }
}

static int scan_value(struct scan *s, int depth)
{
    char d[32], w[SNIPPET_MAX + 8];

    if (at_end(s))
        return fail_at(s, s->pos, "unexpected end of file: expected a value");
    unsigned char c = cur(s);
    switch (c) {
    case '{':
    case '[':
        if (depth >= JSONC_MAX_DEPTH)
            return fail_at(s, s->pos, "nested too deeply (at most %d levels)", JSONC_MAX_DEPTH);
        return c == '{' ? scan_object(s, depth + 1) : scan_array(s, depth + 1);
    case '"':
        return scan_string(s);
    case '\'':
        return fail_at(s, s->pos, "strings need double quotes, not single quotes");
    case '+':
        return fail_at(s, s->pos, "invalid number: no '+' sign allowed");
    case '.':
        return fail_at(s, s->pos, "invalid number: write a digit before '.' (0.5, not .5)");
    default:
        break;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return scan_number(s);
    if (is_word_char(c)) {
        size_t end = s->pos;
        while (end < s->len && is_word_char((unsigned char)s->t[end]))
            end++;
        size_t n = end - s->pos;
        if ((n == 4 && memcmp(s->t + s->pos, "true", 4) == 0) ||
            (n == 5 && memcmp(s->t + s->pos, "false", 5) == 0) ||
            (n == 4 && memcmp(s->t + s->pos, "null", 4) == 0)) {
            s->pos = end;
            return 0;
        }
        return fail_at(s, s->pos,
                       "invalid value \"%s\" (expected a string in double quotes, a number, an "
                       "object, an array, true, false or null)",
                       snippet(w, sizeof w, s->t + s->pos, n));
    }
    return fail_at(s, s->pos, "expected a value, got %s", describe(d, sizeof d, c));
}

cJSON *jsonc_parse(const char *text, size_t len, struct diag *d)
{
    char *buf = NULL;
    cJSON *root = NULL;
    struct scan s = {0};
    int line, col;
    size_t off = 0;

    if (!(buf = malloc(len + 1))) {
        diag_path(d, "", "out of memory");
        goto out;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (jsonc_blank_comments(buf, len, &off) < 0) {
        jsonc_position(buf, len, off, &line, &col);
        diag_at(d, line, col, "unterminated comment: \"/*\" without \"*/\"");
        goto out;
    }
    s.t = buf;
    s.len = len;
    skip_ws(&s);
    if (at_end(&s)) {
        jsonc_position(buf, len, s.pos, &line, &col);
        diag_at(d, line, col, "no JSON value in the file (expected an object)");
        goto out;
    }
    if (scan_value(&s, 0) == 0) {
        skip_ws(&s);
        if (!at_end(&s)) {
            char dd[32];
            fail_at(&s, s.pos, "unexpected %s after the end of the top-level value",
                    describe(dd, sizeof dd, cur(&s)));
        }
    }
    if (s.failed) {
        jsonc_position(buf, len, s.err_off, &line, &col);
        diag_at(d, line, col, "%s", s.err);
        goto out;
    }
    {
        const char *end = NULL;
        /* len + 1: cJSON then finds the NUL and knows nothing follows the value */
        root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
        if (!root) {
            /* the scanner found nothing: a cJSON limit (or out of memory) */
            jsonc_position(buf, len, end ? (size_t)(end - buf) : 0, &line, &col);
            diag_at(d, line, col, "cannot parse JSON here (out of memory?)");
        }
    }
out:
    free(buf);
    return root;
}

/* ---- paths ---- */

static int plain_key(const char *key)
{
    if (!*key)
        return 0;
    for (const char *p = key; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

char *jsonc_path_key(char *buf, size_t len, const char *parent, const char *key)
{
    char k[JSONC_SHOW_BUF];

    if (plain_key(key))
        snprintf(buf, len, "%s%s%s", parent, *parent ? "." : "", key);
    else
        snprintf(buf, len, "%s[\"%s\"]", parent, jsonc_show(k, sizeof k, key));
    return buf;
}

char *jsonc_path_index(char *buf, size_t len, const char *parent, size_t i)
{
    snprintf(buf, len, "%s[%zu]", parent, i);
    return buf;
}

const char *jsonc_show(char *buf, size_t len, const char *s)
{
    size_t o = 0, i = 0;

    for (; s[i] && i < JSONC_SHOW_MAX && o + 6 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            buf[o++] = '\\';
        buf[o++] = ch < 0x20 || ch == 0x7F ? '.' : (char)ch;
    }
    if (s[i] && o + 4 <= len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* ---- types ---- */

const char *jsonc_type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsArray(v))
        return "array";
    return "nothing";
}

void jsonc_type_error(struct diag *d, const char *path, const char *want, const cJSON *v)
{
    diag_path(d, path, "expected %s, got %s", want, jsonc_type_name(v));
}

int jsonc_as_string(const cJSON *v, const char *path, struct diag *d, const char **out)
{
    if (!cJSON_IsString(v) || !v->valuestring) {
        jsonc_type_error(d, path, "a string", v);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

int jsonc_as_bool(const cJSON *v, const char *path, struct diag *d, int *out)
{
    if (!cJSON_IsBool(v)) {
        jsonc_type_error(d, path, "true or false", v);
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

int jsonc_as_int(const cJSON *v, const char *path, struct diag *d, int64_t min, int64_t max,
                 int64_t *out)
{
    char range[96];

    if (max == INT64_MAX)
        snprintf(range, sizeof range, "an integer of at least %lld", (long long)min);
    else
        snprintf(range, sizeof range, "an integer from %lld to %lld", (long long)min,
                 (long long)max);
    if (!cJSON_IsNumber(v)) {
        jsonc_type_error(d, path, range, v);
        return -1;
    }
    double x = v->valuedouble;
    if (!isfinite(x) || x != floor(x) || x > INT_EXACT_MAX || x < -INT_EXACT_MAX ||
        x < (double)min || x > (double)max) {
        diag_path(d, path, "expected %s, got %.15g", range, x);
        return -1;
    }
    *out = (int64_t)x;
    return 0;
}

int jsonc_as_number(const cJSON *v, const char *path, struct diag *d, double min, double max,
                    double *out)
{
    if (!cJSON_IsNumber(v)) {
        jsonc_type_error(d, path, "a number", v);
        return -1;
    }
    if (!isfinite(v->valuedouble) || v->valuedouble < min || v->valuedouble > max) {
        diag_path(d, path, "expected a number from %g to %g, got %g", min, max, v->valuedouble);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

int jsonc_as_object(const cJSON *v, const char *path, struct diag *d)
{
    if (!cJSON_IsObject(v)) {
        jsonc_type_error(d, path, "an object", v);
        return -1;
    }
    return 0;
}

int jsonc_as_array(const cJSON *v, const char *path, struct diag *d)
{
    if (!cJSON_IsArray(v)) {
        jsonc_type_error(d, path, "an array", v);
        return -1;
    }
    return 0;
}

int jsonc_as_duration(const cJSON *v, const char *path, struct diag *d, int64_t *ms)
{
    char err[256];

    if (cJSON_IsNumber(v)) {
        diag_path(d, path, "a duration needs a unit, e.g. \"250ms\" or \"2s\"");
        return -1;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        jsonc_type_error(d, path, "a duration such as \"2s\"", v);
        return -1;
    }
    if (jsonc_parse_duration(v->valuestring, ms, err, sizeof err) < 0) {
        diag_path(d, path, "%s", err);
        return -1;
    }
    return 0;
}

/* Look obj[key] up, with its path; NULL when absent. */
static const cJSON *member(const cJSON *obj, const char *key, const char *path, char *buf,
                           size_t len)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    if (v)
        jsonc_path_key(buf, len, path, key);
    return v;
}

int jsonc_string(const cJSON *obj, const char *key, const char *path, struct diag *d,
                 const char **out)
{
    char p[JSONC_PATH_MAX];
    const cJSON *v = member(obj, key, path, p, sizeof p);

    if (!v)
        return 0;
    return jsonc_as_string(v, p, d, out) < 0 ? -1 : 1;
}

int jsonc_bool(const cJSON *obj, const char *key, const char *path, struct diag *d, int *out)
{
    char p[JSONC_PATH_MAX];
    const cJSON *v = member(obj, key, path, p, sizeof p);

    if (!v)
        return 0;
    return jsonc_as_bool(v, p, d, out) < 0 ? -1 : 1;
}

int jsonc_int(const cJSON *obj, const char *key, const char *path, struct diag *d, int64_t min,
              int64_t max, int64_t *out)
{
    char p[JSONC_PATH_MAX];
    const cJSON *v = member(obj, key, path, p, sizeof p);

    if (!v)
        return 0;
    return jsonc_as_int(v, p, d, min, max, out) < 0 ? -1 : 1;
}

int jsonc_number(const cJSON *obj, const char *key, const char *path, struct diag *d, double min,
                 double max, double *out)
{
    char p[JSONC_PATH_MAX];
    const cJSON *v = member(obj, key, path, p, sizeof p);

    if (!v)
        return 0;
    return jsonc_as_number(v, p, d, min, max, out) < 0 ? -1 : 1;
}

int jsonc_object(const cJSON *obj, const char *key, const char *path, struct diag *d,
                 const cJSON **out)
{
    char p[JSONC_PATH_MAX];
    const cJSON *v = member(obj, key, path, p, sizeof p);

    if (!v)
        return 0;
    if (jsonc_as_object(v, p, d) < 0)
        return -1;
    *out = v;
    return 1;
}

int jsonc_array(const cJSON *obj, const char *key, const char *path, struct diag *d,
                const cJSON **out)
{
    char p[JSONC_PATH_MAX];
    const cJSON *v = member(obj, key, path, p, sizeof p);

    if (!v)
        return 0;
    if (jsonc_as_array(v, p, d) < 0)
        return -1;
    *out = v;
    return 1;
}

int jsonc_duration(const cJSON *obj, const char *key, const char *path, struct diag *d, int64_t *ms)
{
    char p[JSONC_PATH_MAX];
    const cJSON *v = member(obj, key, path, p, sizeof p);

    if (!v)
        return 0;
    return jsonc_as_duration(v, p, d, ms) < 0 ? -1 : 1;
}

/* ---- strict keys ---- */

#define EDIT_MAX 64

size_t jsonc_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t m[EDIT_MAX + 1][EDIT_MAX + 1];

    if (la > EDIT_MAX || lb > EDIT_MAX)
        return (size_t)-1 / 2;
    for (size_t i = 0; i <= la; i++)
        m[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        m[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = m[i - 1][j] + 1;
            if (m[i][j - 1] + 1 < best)
                best = m[i][j - 1] + 1;
            if (m[i - 1][j - 1] + cost < best)
                best = m[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                m[i - 2][j - 2] + 1 < best)
                best = m[i - 2][j - 2] + 1;
            m[i][j] = best;
        }
    return m[la][lb];
}

const char *jsonc_suggest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_d = 3, wl = strlen(word);

    for (size_t i = 0; candidates && candidates[i]; i++) {
        size_t dist = jsonc_edit_distance(word, candidates[i]);
        /* a distance as large as the word itself ("x" -> "at") is no resemblance */
        if (dist < best_d && dist < wl && dist > 0) {
            best = candidates[i];
            best_d = dist;
        }
    }
    return best;
}

int jsonc_check_keys(const cJSON *obj, const char *path, const char *const *accepted,
                     struct diag *d)
{
    char list[1024], k[JSONC_SHOW_BUF];
    size_t n = 0;
    int rc = 0;

    list[0] = '\0';
    for (size_t i = 0; accepted && accepted[i] && n < sizeof list; i++) {
        if (i == JSONC_MAX_KEYS_LISTED) {
            snprintf(list + n, sizeof list - n, ", ...");
            break;
        }
        int w = snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", accepted[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    for (const cJSON *c = obj ? obj->child : NULL; c; c = c->next) {
        const char *key = c->string ? c->string : "";
        size_t i = 0;
        while (accepted && accepted[i] && strcmp(accepted[i], key) != 0)
            i++;
        if (accepted && accepted[i])
            continue;
        rc = -1;
        jsonc_show(k, sizeof k, key);
        const char *hint = jsonc_suggest(key, accepted);
        if (!list[0])
            diag_path(d, path, "unknown key \"%s\" (this object takes no keys)", k);
        else if (hint)
            diag_path(d, path, "unknown key \"%s\" (accepted: %s); did you mean \"%s\"?", k, list,
                      hint);
        else
            diag_path(d, path, "unknown key \"%s\" (accepted: %s)", k, list);
    }
    return rc;
}

/* ---- durations ---- */

static int64_t unit_ms(const char *u, size_t n)
{
    if (n == 2 && memcmp(u, "ms", 2) == 0)
        return 1;
    if (n == 1 && *u == 's')
        return 1000;
    if (n == 1 && *u == 'm')
        return 60 * 1000;
    if (n == 1 && *u == 'h')
        return 3600 * 1000;
    return 0;
}

int jsonc_parse_duration(const char *str, int64_t *ms, char *err, size_t errlen)
{
    char q[JSONC_SHOW_BUF], u[SNIPPET_MAX + 8];
    const char *p = str;
    int64_t total = 0;

    jsonc_show(q, sizeof q, str);
    if (!*p) {
        snprintf(err, errlen, "empty duration: write e.g. \"250ms\" or \"2s\"");
        return -1;
    }
    if (*p == '-' || *p == '+') {
        snprintf(err, errlen, "duration \"%s\": %s", q,
                 *p == '-' ? "a duration cannot be negative" : "write it without a sign");
        return -1;
    }
    for (int first = 1; *p; first = 0) {
        int64_t ip = 0, frac = 0, scale = 1;
        int digits = 0, fdigits = 0;
        while (*p >= '0' && *p <= '9') {
            if (ip > JSONC_DURATION_MAX_MS) {
                snprintf(err, errlen, "duration \"%s\" is too long (max 720h)", q);
                return -1;
            }
            ip = ip * 10 + (*p++ - '0');
            digits++;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                if (fdigits == 9) {
                    snprintf(err, errlen, "duration \"%s\": too many decimals", q);
                    return -1;
                }
                frac = frac * 10 + (*p++ - '0');
                scale *= 10;
                fdigits++;
            }
        }
        if (!digits && !fdigits) {
            snprintf(
                err, errlen,
                "invalid duration \"%s\" (expected e.g. \"250ms\", \"2s\", \"1m30s\" or \"1.5s\")",
                q);
            return -1;
        }
        const char *us = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (unsigned char)*p >= 0x80)
            p++;
        if (p == us) {
            if (!*p && first)
                snprintf(err, errlen, "a duration needs a unit, e.g. \"250ms\" or \"2s\"");
            else if (!*p)
                snprintf(err, errlen,
                         "duration \"%s\": the last number has no unit (ms, s, m or h)", q);
            else
                snprintf(err, errlen,
                         "invalid duration \"%s\" (expected e.g. \"250ms\", \"2s\", \"1m30s\" or "
                         "\"1.5s\")",
                         q);
            return -1;
        }
        int64_t um = unit_ms(us, (size_t)(p - us));
        if (!um) {
            snprintf(err, errlen, "unknown unit \"%s\" in duration \"%s\" (known: ms, s, m, h)",
                     snippet(u, sizeof u, us, (size_t)(p - us)), q);
            return -1;
        }
        if (frac * um % scale != 0) {
            snprintf(err, errlen, "duration \"%s\" is not a whole number of milliseconds", q);
            return -1;
        }
        if (ip > JSONC_DURATION_MAX_MS / um) {
            snprintf(err, errlen, "duration \"%s\" is too long (max 720h)", q);
            return -1;
        }
        total += ip * um + frac * um / scale;
        if (total > JSONC_DURATION_MAX_MS) {
            snprintf(err, errlen, "duration \"%s\" is too long (max 720h)", q);
            return -1;
        }
    }
    *ms = total;
    return 0;
}
