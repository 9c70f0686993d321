/* trigger.c -- when a matching request fires its rule: the "trigger" object parsed and checked
 * (counts, probability, window, events), and the decision for each match */
#include "harness/trigger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/jsonc.h"
#include "mockapi/base/rng.h"

/* Counts are JSON numbers (doubles): above 2^53 they are no longer exact. */
#define COUNT_MAX 9007199254740991LL

#define POD_EVENTS "pod-created, pod-scheduled, pod-running, pod-deleted, stage-started[:<stage>]"
#define RULE_FIRED "rule-fired:"

static const char *const TRIGGER_KEYS[] = {"nth",         "first",  "after", "every",
                                           "probability", "window", NULL};
static const char *const WINDOW_KEYS[] = {"from", "until", "since", NULL};
static const char *const EVENT_KEYS[] = {"event", "name", NULL};

/* The events by name ("rule-fired:<rule>" and "stage-started:<stage>" aside); the pod and stage
 * events follow "start". */
static const char *const EVENT_NAMES[] = {"start",       "pod-created", "pod-scheduled",
                                          "pod-running", "pod-deleted", SCENARIO_STAGE_STARTED,
                                          NULL};
static const char *const *const POD_EVENT_NAMES = EVENT_NAMES + 1;

/* ---- messages ---- */

/* `unknown <what> "<s>" (known: <known>)`, then `; did you mean "<hint>"?` when there is a hint:
 * the wording scenario.c gives a value outside an enumeration (its enum_value() is private). */
static void unknown_value(struct diag *d, const char *path, const char *what, const char *s,
                          const char *known, const char *hint)
{
    char shown[JSONC_SHOW_BUF];
    jsonc_show(shown, sizeof shown, s);
    if (hint)
        diag_path(d, path, "unknown %s \"%s\" (known: %s); did you mean \"%s\"?", what, shown,
                  known, hint);
    else
        diag_path(d, path, "unknown %s \"%s\" (known: %s)", what, shown, known);
}

/* 1 when key is in list (NULL-ended). */
static int is_one_of(const char *key, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(key, list[i]) == 0)
            return 1;
    return 0;
}

/* Report c (a member of obj, an accepted key) when obj has its key twice: jsonc_parse() refuses
 * such a file, but a tree built otherwise keeps both. 1 when reported. */
static int reported_duplicate(const cJSON *obj, const cJSON *c, const char *path, struct diag *d)
{
    char sub[JSONC_PATH_MAX], shown[JSONC_SHOW_BUF];
    for (const cJSON *p = obj->child; p && p != c; p = p->next)
        if (strcmp(p->string, c->string) == 0) {
            diag_path(d, jsonc_path_key(sub, sizeof sub, path, c->string), "duplicate key \"%s\"",
                      jsonc_show(shown, sizeof shown, c->string));
            return 1;
        }
    return 0;
}

/* ---- events ---- */

/* "stage-started" (any stage) or "stage-started:<stage pattern>". */
static int is_stage_event(const char *name)
{
    size_t n = strlen(SCENARIO_STAGE_STARTED);
    return strncmp(name, SCENARIO_STAGE_STARTED, n) == 0 && (name[n] == '\0' || name[n] == ':');
}

/* Events about one pod: "name" narrows them to pods whose name matches. */
static int is_pod_event(const char *name)
{
    return is_one_of(name, POD_EVENT_NAMES) || is_stage_event(name);
}

/* Check an event name and copy it into ev->name. */
static int event_name(const char *name, const char *path, struct diag *d, struct trigger_event *ev)
{
    char shown[JSONC_SHOW_BUF];
    size_t plen = strlen(RULE_FIRED);
    if (strncmp(name, RULE_FIRED, plen) == 0 || strcmp(name, "rule-fired") == 0) {
        if (strlen(name) <= plen) {
            diag_path(d, path, "\"rule-fired:\" needs a rule name, e.g. \"rule-fired:etcd-flap\"");
            return -1;
        }
        if (strlen(name) >= sizeof ev->name) {
            diag_path(d, path, "event \"%s\" is too long (rule names here: at most %zu characters)",
                      jsonc_show(shown, sizeof shown, name), sizeof ev->name - 1 - plen);
            return -1;
        }
    } else if (is_stage_event(name)) {
        size_t n = strlen(SCENARIO_STAGE_STARTED) + 1;
        if (name[n - 1] == ':' && !name[n]) {
            diag_path(d, path,
                      "\"stage-started:\" needs a stage name or pattern, e.g. "
                      "\"stage-started:step_script\" (or \"stage-started\" for any stage)");
            return -1;
        }
        if (strlen(name) >= sizeof ev->name) {
            diag_path(d, path,
                      "event \"%s\" is too long (stage patterns here: at most %zu characters)",
                      jsonc_show(shown, sizeof shown, name), sizeof ev->name - 1 - n);
            return -1;
        }
    } else if (!is_one_of(name, EVENT_NAMES)) {
        unknown_value(d, path, "event", name, TRIGGER_EVENTS, jsonc_suggest(name, EVENT_NAMES));
        return -1;
    }
    snprintf(ev->name, sizeof ev->name, "%s", name);
    return 0;
}

int trigger_parse_event(const cJSON *spec, const char *path, struct diag *d,
                        struct trigger_event *ev)
{
    char sub[JSONC_PATH_MAX], shown[JSONC_SHOW_BUF];
    const cJSON *event = NULL, *name = NULL, *c;
    int rc = 0;

    memset(ev, 0, sizeof *ev);
    if (!path)
        path = "";
    if (cJSON_IsString(spec))
        return event_name(spec->valuestring, path, d, ev);
    if (!cJSON_IsObject(spec)) {
        jsonc_type_error(d, path, "an event name or {\"event\": ..., \"name\": ...}", spec);
        return -1;
    }
    if (jsonc_check_keys(spec, path, EVENT_KEYS, d) < 0)
        rc = -1;
    cJSON_ArrayForEach(c, spec)
    {
        if (!is_one_of(c->string, EVENT_KEYS)) /* reported by jsonc_check_keys() */
            continue;
        if (reported_duplicate(spec, c, path, d))
            rc = -1;
        else if (strcmp(c->string, "event") == 0)
            event = c;
        else
            name = c;
    }
    if (!event) {
        diag_path(d, path, "missing key \"event\" (known: %s)", TRIGGER_EVENTS);
        rc = -1;
    } else {
        jsonc_path_key(sub, sizeof sub, path, "event");
        if (!cJSON_IsString(event)) {
            jsonc_type_error(d, sub, "an event name (known: " TRIGGER_EVENTS ")", event);
            rc = -1;
        } else if (event_name(event->valuestring, sub, d, ev) < 0) {
            rc = -1;
        }
    }
    if (name) {
        jsonc_path_key(sub, sizeof sub, path, "name");
        if (!cJSON_IsString(name)) {
            jsonc_type_error(d, sub, "a pod name pattern", name);
            rc = -1;
        } else if (rc == 0 && !is_pod_event(ev->name)) {
            diag_path(d, sub, "\"name\" applies only to pod and stage events (%s), not \"%s\"",
                      POD_EVENTS, jsonc_show(shown, sizeof shown, ev->name));
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
    int64_t n;
    if (jsonc_as_int(v, path, d, 1, COUNT_MAX, &n) < 0)
        return -1;
    *out = (uint64_t)n;
    return 0;
}

static int parse_window(const cJSON *w, const char *path, struct diag *d, struct trigger *t)
{
    char sub[JSONC_PATH_MAX], shown[JSONC_SHOW_BUF], fshown[JSONC_SHOW_BUF];
    const cJSON *from = NULL, *until = NULL, *c;
    int rc = 0;

    if (jsonc_as_object(w, path, d) < 0)
        return -1;
    t->has_window = 1;
    t->from_ms = 0;
    t->until_ms = -1;
    if (jsonc_check_keys(w, path, WINDOW_KEYS, d) < 0)
        rc = -1;
    cJSON_ArrayForEach(c, w)
    {
        if (!is_one_of(c->string, WINDOW_KEYS)) /* reported by jsonc_check_keys() */
            continue;
        jsonc_path_key(sub, sizeof sub, path, c->string);
        if (reported_duplicate(w, c, path, d)) {
            rc = -1;
        } else if (strcmp(c->string, "from") == 0) {
            from = c;
            if (jsonc_as_duration(c, sub, d, &t->from_ms) < 0)
                rc = -1;
        } else if (strcmp(c->string, "until") == 0) {
            until = c;
            if (jsonc_as_duration(c, sub, d, &t->until_ms) < 0)
                rc = -1;
        } else { /* "since" */
            if (trigger_parse_event(c, sub, d, &t->since) < 0)
                rc = -1;
        }
    }
    if (rc == 0 && until && t->until_ms <= t->from_ms) {
        if (from)
            diag_path(d, path, "\"until\" (%s) must be later than \"from\" (%s)",
                      jsonc_show(shown, sizeof shown, until->valuestring),
                      jsonc_show(fshown, sizeof fshown, from->valuestring));
        else
            diag_path(d, path, "\"until\" (%s) must be later than \"from\" (0s when not given)",
                      jsonc_show(shown, sizeof shown, until->valuestring));
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
    char sub[JSONC_PATH_MAX];
    const cJSON *c;
    int rc = 0;

    memset(t, 0, sizeof *t);
    snprintf(t->since.name, sizeof t->since.name, "start");
    if (!path)
        path = "";
    if (!spec)
        return 0;
    if (jsonc_as_object(spec, path, d) < 0)
        return -1;
    if (jsonc_check_keys(spec, path, TRIGGER_KEYS, d) < 0)
        rc = -1;
    cJSON_ArrayForEach(c, spec)
    {
        const char *k = c->string;
        int r;
        if (!is_one_of(k, TRIGGER_KEYS)) /* reported by jsonc_check_keys() */
            continue;
        jsonc_path_key(sub, sizeof sub, path, k);
        if (reported_duplicate(spec, c, path, d)) {
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
            r = jsonc_as_number(c, sub, d, 0, 1, &t->probability);
            if (r == 0)
                t->has_probability = 1;
        } else { /* "window" */
            r = parse_window(c, sub, d, t);
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
