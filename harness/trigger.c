/* trigger.c -- when a matching request fires its rule: the "trigger" object parsed and checked
 * (counts, probability, window, events), and the decision for each match */
#include "harness/trigger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "mockapi/base/rng.h"

/* Counts are JSON numbers (doubles): above 2^53 they are no longer exact. */
#define COUNT_MAX 9007199254740991.0
/* The longest duration accepted (720h, 30 days): far beyond any run, far below int64 overflow. */
#define DURATION_MAX_MS (720LL * 3600 * 1000)
/* Decimals in one number of a duration: keeps fraction x unit in int64 (10^9 x 3.6e6). */
#define DURATION_MAX_DECIMALS 9
#define DURATION_SHOWN 40 /* characters of a duration quoted in a message */

#define PATH_MAX_CHARS 512 /* a JSON path in a message */
#define SHOW_MAX 80        /* characters of a user's value quoted back in a message */

#define KNOWN_KEYS "nth, first, after, every, probability, window"
#define KNOWN_WINDOW_KEYS "from, until, since"
#define KNOWN_EVENT_KEYS "event, name"
#define POD_EVENTS "pod-created, pod-scheduled, pod-running, pod-deleted"
#define RULE_FIRED "rule-fired:"
#define DURATION_EXAMPLES "e.g. \"250ms\", \"2s\", \"1m30s\" or \"1.5s\""

static const char *const POD_EVENT_NAMES[] = {"pod-created", "pod-scheduled", "pod-running",
                                              "pod-deleted"};

/* ---- messages ---- */

/* A user's string as it may appear between quotes in a message: bounded, control characters as
 * '.', quotes and backslashes escaped, "..." when cut. */
static const char *show(const char *s, char *buf, size_t len)
{
    size_t o = 0, i = 0;
    for (; s[i] && i < SHOW_MAX && o + 5 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else {
            buf[o++] = ch < 0x20 || ch == 0x7f ? '.' : (char)ch;
        }
    }
    if (s[i] && o + 4 <= len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* The type as messages name it ("expected a string, got number"), as harness/jsonc.c does. */
static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "nothing";
}

/* path.key into buf, or path["key"] when the key is not made of letters, digits, '_' and '-' (as
 * jsonc_path_key() writes paths); a path too long for buf ends in "..." (messages only). */
static void key_path(char *buf, size_t len, const char *path, const char *key)
{
    char shown[SHOW_MAX * 2 + 8];
    int plain = *key != '\0', n;
    for (const char *k = key; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '-'))
            plain = 0;
    if (plain)
        n = snprintf(buf, len, "%s%s%s", path, *path ? "." : "", key);
    else
        n = snprintf(buf, len, "%s[\"%s\"]", path, show(key, shown, sizeof shown));
    if (n < 0 || (size_t)n >= len)
        memcpy(buf + len - 4, "...", 4);
}

/* 1 when a member of obj before c has the same key (cJSON keeps both). */
static int duplicate_key(const cJSON *obj, const cJSON *c)
{
    for (const cJSON *p = obj->child; p && p != c; p = p->next)
        if (strcmp(p->string, c->string) == 0)
            return 1;
    return 0;
}

/* ---- durations ---- */

/* A duration quoted in a message: at most DURATION_SHOWN characters, control characters as '.'. */
static const char *dur_snippet(char *buf, size_t len, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < DURATION_SHOWN && o + 4 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[o++] = (ch >= 0x20 && ch != 0x7f) ? (char)ch : '.';
    }
    if (n > DURATION_SHOWN && o + 4 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

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

/* "250ms", "2s", "1m30s", "1.5s", "1h": one or more <number><unit> with units ms, s, m, h in any
 * order, as Go's time.ParseDuration writes them, without a sign or sub-millisecond units. The
 * value must be a whole number of milliseconds, at most DURATION_MAX_MS. A bare number is refused:
 * "250" could mean seconds or milliseconds. 0 and *ms, or -1 with the message in err.
 *
 * This is jsonc_parse_duration() (harness/jsonc.c) to the letter, messages included, kept private
 * until trigger.c moves to it; test_trigger.c pins the behaviour both must keep. */
static int parse_duration(const char *str, int64_t *ms, char *err, size_t errlen)
{
    char q[DURATION_SHOWN + 8], u[DURATION_SHOWN + 8];
    const char *p = str;
    int64_t total = 0;

    dur_snippet(q, sizeof q, str, strlen(str));
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
            if (ip > DURATION_MAX_MS)
                goto too_long;
            ip = ip * 10 + (*p++ - '0');
            digits++;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                if (fdigits == DURATION_MAX_DECIMALS) {
                    snprintf(err, errlen, "duration \"%s\": too many decimals", q);
                    return -1;
                }
                frac = frac * 10 + (*p++ - '0');
                scale *= 10;
                fdigits++;
            }
        }
        if (!digits && !fdigits)
            goto invalid;
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
                goto invalid;
            return -1;
        }
        int64_t um = unit_ms(us, (size_t)(p - us));
        if (!um) {
            snprintf(err, errlen, "unknown unit \"%s\" in duration \"%s\" (known: ms, s, m, h)",
                     dur_snippet(u, sizeof u, us, (size_t)(p - us)), q);
            return -1;
        }
        if (frac * um % scale != 0) {
            snprintf(err, errlen, "duration \"%s\" is not a whole number of milliseconds", q);
            return -1;
        }
        if (ip > DURATION_MAX_MS / um)
            goto too_long;
        total += ip * um + frac * um / scale;
        if (total > DURATION_MAX_MS)
            goto too_long;
    }
    *ms = total;
    return 0;
invalid:
    snprintf(err, errlen, "invalid duration \"%s\" (expected %s)", q, DURATION_EXAMPLES);
    return -1;
too_long:
    snprintf(err, errlen, "duration \"%s\" is too long (max 720h)", q);
    return -1;
}

static int parse_duration_value(const cJSON *v, const char *path, struct diag *d, int64_t *ms)
{
    char err[256];
    if (cJSON_IsNumber(v)) {
        diag_path(d, path, "a duration needs a unit, e.g. \"250ms\" or \"2s\"");
        return -1;
    }
    if (!cJSON_IsString(v)) {
        diag_path(d, path, "expected a duration (%s), got %s", DURATION_EXAMPLES, type_name(v));
        return -1;
    }
    if (parse_duration(v->valuestring, ms, err, sizeof err) < 0) {
        diag_path(d, path, "%s", err);
        return -1;
    }
    return 0;
}

/* ---- events ---- */

static int is_pod_event(const char *name)
{
    for (size_t i = 0; i < sizeof POD_EVENT_NAMES / sizeof POD_EVENT_NAMES[0]; i++)
        if (strcmp(name, POD_EVENT_NAMES[i]) == 0)
            return 1;
    return 0;
}

/* Check an event name and copy it into ev->name. */
static int event_name(const char *name, const char *path, struct diag *d, struct trigger_event *ev)
{
    char shown[SHOW_MAX * 2 + 8];
    size_t plen = strlen(RULE_FIRED);
    if (strncmp(name, RULE_FIRED, plen) == 0 || strcmp(name, "rule-fired") == 0) {
        if (strlen(name) <= plen) {
            diag_path(d, path, "\"rule-fired:\" needs a rule name, e.g. \"rule-fired:etcd-flap\"");
            return -1;
        }
        if (strlen(name) >= sizeof ev->name) {
            diag_path(d, path, "event \"%s\" is too long (rule names here: at most %zu characters)",
                      show(name, shown, sizeof shown), sizeof ev->name - 1 - plen);
            return -1;
        }
    } else if (strcmp(name, "start") != 0 && !is_pod_event(name)) {
        diag_path(d, path, "unknown event \"%s\" (known: %s)", show(name, shown, sizeof shown),
                  TRIGGER_EVENTS);
        return -1;
    }
    snprintf(ev->name, sizeof ev->name, "%s", name);
    return 0;
}

int trigger_parse_event(const cJSON *spec, const char *path, struct diag *d,
                        struct trigger_event *ev)
{
    char sub[PATH_MAX_CHARS], shown[SHOW_MAX * 2 + 8];
    const cJSON *event = NULL, *name = NULL, *c;
    int rc = 0;

    memset(ev, 0, sizeof *ev);
    if (!path)
        path = "";
    if (cJSON_IsString(spec))
        return event_name(spec->valuestring, path, d, ev);
    if (!cJSON_IsObject(spec)) {
        diag_path(d, path, "expected an event name or {\"event\": ..., \"name\": ...}, got %s",
                  spec ? type_name(spec) : "nothing");
        return -1;
    }
    cJSON_ArrayForEach(c, spec)
    {
        key_path(sub, sizeof sub, path, c->string);
        if (duplicate_key(spec, c)) {
            diag_path(d, sub, "duplicate key \"%s\"", show(c->string, shown, sizeof shown));
            rc = -1;
        } else if (strcmp(c->string, "event") == 0) {
            event = c;
        } else if (strcmp(c->string, "name") == 0) {
            name = c;
        } else {
            diag_path(d, sub, "unknown key \"%s\" (known: %s)",
                      show(c->string, shown, sizeof shown), KNOWN_EVENT_KEYS);
            rc = -1;
        }
    }
    if (!event) {
        diag_path(d, path, "missing \"event\" (known: %s)", TRIGGER_EVENTS);
        rc = -1;
    } else {
        key_path(sub, sizeof sub, path, "event");
        if (!cJSON_IsString(event)) {
            diag_path(d, sub, "expected an event name, got %s (known: %s)", type_name(event),
                      TRIGGER_EVENTS);
            rc = -1;
        } else if (event_name(event->valuestring, sub, d, ev) < 0) {
            rc = -1;
        }
    }
    if (name) {
        key_path(sub, sizeof sub, path, "name");
        if (!cJSON_IsString(name)) {
            diag_path(d, sub, "expected a pod name pattern, got %s", type_name(name));
            rc = -1;
        } else if (rc == 0 && !is_pod_event(ev->name)) {
            diag_path(d, sub, "\"name\" applies only to pod events (%s), not \"%s\"", POD_EVENTS,
                      show(ev->name, shown, sizeof shown));
            rc = -1;
        } else if (rc == 0 && !(ev->name_glob = strdup(name->valuestring))) {
            diag_path(d, sub, "out of memory");
            rc = -1;
        }
    }
    if (rc < 0)
        trigger_event_release(ev);
    return rc;
}

void trigger_event_release(struct trigger_event *ev)
{
    if (!ev)
        return;
    free(ev->name_glob);
    memset(ev, 0, sizeof *ev);
}

/* ---- triggers ---- */

static int parse_count(const cJSON *v, const char *path, struct diag *d, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) {
        diag_path(d, path, "expected a whole number >= 1, got %s", type_name(v));
        return -1;
    }
    double x = v->valuedouble;
    if (x > COUNT_MAX) {
        diag_path(d, path, "%g is too large (max %.0f)", x, COUNT_MAX);
        return -1;
    }
    if (x < 1 || x != (double)(uint64_t)x) {
        diag_path(d, path, "expected a whole number >= 1, got %g", x);
        return -1;
    }
    *out = (uint64_t)x;
    return 0;
}

static int parse_window(const cJSON *w, const char *path, struct diag *d, struct trigger *t)
{
    char sub[PATH_MAX_CHARS], shown[SHOW_MAX * 2 + 8], fshown[SHOW_MAX * 2 + 8];
    const cJSON *from = NULL, *until = NULL, *c;
    int rc = 0;

    if (!cJSON_IsObject(w)) {
        diag_path(d, path, "expected an object (keys: %s), got %s", KNOWN_WINDOW_KEYS,
                  type_name(w));
        return -1;
    }
    t->has_window = 1;
    t->from_ms = 0;
    t->until_ms = -1;
    cJSON_ArrayForEach(c, w)
    {
        key_path(sub, sizeof sub, path, c->string);
        if (duplicate_key(w, c)) {
            diag_path(d, sub, "duplicate key \"%s\"", show(c->string, shown, sizeof shown));
            rc = -1;
        } else if (strcmp(c->string, "from") == 0) {
            from = c;
            if (parse_duration_value(c, sub, d, &t->from_ms) < 0)
                rc = -1;
        } else if (strcmp(c->string, "until") == 0) {
            until = c;
            if (parse_duration_value(c, sub, d, &t->until_ms) < 0)
                rc = -1;
        } else if (strcmp(c->string, "since") == 0) {
            if (trigger_parse_event(c, sub, d, &t->since) < 0)
                rc = -1;
        } else {
            diag_path(d, sub, "unknown key \"%s\" (known: %s)",
                      show(c->string, shown, sizeof shown), KNOWN_WINDOW_KEYS);
            rc = -1;
        }
    }
    if (rc == 0 && until && t->until_ms <= t->from_ms) {
        if (from)
            diag_path(d, path, "\"until\" (%s) must be later than \"from\" (%s)",
                      show(until->valuestring, shown, sizeof shown),
                      show(from->valuestring, fshown, sizeof fshown));
        else
            diag_path(d, path, "\"until\" (%s) must be later than \"from\" (0s when not given)",
                      show(until->valuestring, shown, sizeof shown));
        rc = -1;
    }
    return rc;
}

/* The combinations that cannot mean anything, or never fire. */
static int check_counts(const char *path, struct diag *d, const struct trigger *t)
{
    if (t->nth) {
        const struct {
            const char *name;
            uint64_t set;
        } others[] = {{"first", t->first}, {"after", t->after}, {"every", t->every}};
        int rc = 0;
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
            if (others[i].set) {
                diag_path(d, path, "\"nth\" cannot be combined with \"%s\"", others[i].name);
                rc = -1;
            }
        return rc;
    }
    if (t->first && t->after && t->after >= t->first) {
        diag_path(d, path,
                  "impossible combination: \"after\": %" PRIu64 " skips all of \"first\": %" PRIu64
                  ", so the rule never fires",
                  t->after, t->first);
        return -1;
    }
    if (t->first && t->every && t->after + t->every > t->first) {
        char with[48] = "";
        if (t->after)
            snprintf(with, sizeof with, " with \"after\": %" PRIu64, t->after);
        diag_path(d, path,
                  "impossible combination: \"every\": %" PRIu64 "%s first fires on match %" PRIu64
                  ", past \"first\": %" PRIu64 ", so the rule never fires",
                  t->every, with, t->after + t->every, t->first);
        return -1;
    }
    return 0;
}

int trigger_parse(const cJSON *spec, const char *path, struct diag *d, struct trigger *t)
{
    char sub[PATH_MAX_CHARS], shown[SHOW_MAX * 2 + 8];
    const cJSON *c;
    int rc = 0;

    memset(t, 0, sizeof *t);
    snprintf(t->since.name, sizeof t->since.name, "start");
    if (!path)
        path = "";
    if (!spec)
        return 0;
    if (!cJSON_IsObject(spec)) {
        diag_path(d, path, "expected an object (keys: %s), got %s", KNOWN_KEYS, type_name(spec));
        return -1;
    }
    cJSON_ArrayForEach(c, spec)
    {
        const char *k = c->string;
        int r;
        key_path(sub, sizeof sub, path, k);
        if (duplicate_key(spec, c)) {
            diag_path(d, sub, "duplicate key \"%s\"", show(k, shown, sizeof shown));
            r = -1;
        } else if (strcmp(k, "nth") == 0) {
            r = parse_count(c, sub, d, &t->nth);
        } else if (strcmp(k, "first") == 0) {
            r = parse_count(c, sub, d, &t->first);
        } else if (strcmp(k, "after") == 0) {
            r = parse_count(c, sub, d, &t->after);
        } else if (strcmp(k, "every") == 0) {
            r = parse_count(c, sub, d, &t->every);
        } else if (strcmp(k, "probability") == 0) {
            r = 0;
            if (!cJSON_IsNumber(c)) {
                diag_path(d, sub, "expected a probability from 0 to 1, got %s", type_name(c));
                r = -1;
            } else if (c->valuedouble < 0 || c->valuedouble > 1) {
                diag_path(d, sub, "expected a probability from 0 to 1, got %g", c->valuedouble);
                r = -1;
            } else {
                t->has_probability = 1;
                t->probability = c->valuedouble;
            }
        } else if (strcmp(k, "window") == 0) {
            r = parse_window(c, sub, d, t);
        } else {
            diag_path(d, sub, "unknown key \"%s\" (known: %s)", show(k, shown, sizeof shown),
                      KNOWN_KEYS);
            r = -1;
        }
        if (r < 0)
            rc = -1;
    }
    /* Only when every count parsed: "first": "x" is one error, not two. */
    if (rc == 0 && check_counts(path, d, t) < 0)
        rc = -1;
    if (rc < 0) {
        trigger_release(t);
        snprintf(t->since.name, sizeof t->since.name, "start");
    }
    return rc;
}

void trigger_release(struct trigger *t)
{
    if (!t)
        return;
    trigger_event_release(&t->since);
    memset(t, 0, sizeof *t);
}

/* The counts alone: nth, first, after and every all hold (every counts from after). */
static int counts_allow(const struct trigger *t, uint64_t count)
{
    if (count == 0) /* not a match: counts are 1-based */
        return 0;
    if (t->nth && count != t->nth)
        return 0;
    if (t->first && count > t->first)
        return 0;
    if (t->after && count <= t->after)
        return 0;
    if (t->every && (count - t->after) % t->every != 0)
        return 0;
    return 1;
}

int trigger_fires(const struct trigger *t, uint64_t count, int64_t now_ms, int64_t since_ms,
                  struct rng *rng)
{
    if (!t)
        return count > 0;
    if (!counts_allow(t, count))
        return 0;
    if (t->has_window) {
        if (since_ms < 0)
            return 0;
        int64_t rel = now_ms - since_ms;
        if (rel < t->from_ms || (t->until_ms >= 0 && rel >= t->until_ms))
            return 0;
    }
    if (t->has_probability) {
        /* Drawn whatever the probability (0 and 1 included), so the number of draws depends only
         * on the request sequence, never on the value a scenario author tunes. */
        if (!rng)
            return t->probability >= 1;
        return rng_double(rng) < t->probability;
    }
    return 1;
}
