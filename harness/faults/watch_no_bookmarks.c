/* watch_no_bookmarks.c -- the `watch-no-bookmarks` fault: withhold BOOKMARK events, the watch-list
 * `k8s.io/initial-events-end` bookmark included (or only that one, or only the periodic ones), so a
 * client that needs the bookmark to finish its initial list never does */
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/kube/watch.h"

static const char *const keys[] = {"which", NULL};

enum which { WHICH_ALL, WHICH_INITIAL_END, WHICH_PERIODIC };

static const char *const which_names[] = {"all", "initial-events-end", "periodic"};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    const char *which = NULL;
    char p[PARAM_PATH_MAX];
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_string(spec, path, "which", 0, 0, &which, d) < 0)
        return -1;
    enum which w = WHICH_ALL;
    if (which) {
        size_t i = 0;
        while (i < sizeof which_names / sizeof which_names[0] && strcmp(which, which_names[i]))
            i++;
        if (i == sizeof which_names / sizeof which_names[0]) {
            diag_path(d, param_path(p, sizeof p, path, "which"),
                      "unknown value \"%s\" (accepted: all, initial-events-end, periodic)", which);
            return -1;
        }
        w = (enum which)i;
    }
    enum which *out = malloc(sizeof *out);
    if (!out) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *out = w;
    *ctx = out;
    return 0;
}

/* The bookmark that ends a watch-list's initial events carries this annotation set to "true". */
static int initial_end(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "annotations");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, WATCH_INITIAL_EVENTS_END);
    return cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0;
}

static enum hook_verdict on_watch_event(struct fault_watch *fw)
{
    const enum which *w = fw->ctx;
    if (strcmp(fw->type, "BOOKMARK") != 0)
        return HOOK_PASS;
    if (*w == WHICH_ALL || (*w == WHICH_INITIAL_END) == initial_end(fw->object))
        return HOOK_DROP;
    return HOOK_PASS;
}

const struct fault_type fault_type_watch_no_bookmarks = {
    .name = "watch-no-bookmarks",
    .layer = FAULT_LAYER_WATCH,
    .summary = "withhold BOOKMARK events: \"which\": \"all\" (the default), \"initial-events-end\" "
               "(only the k8s.io/initial-events-end bookmark that ends a watch-list's initial "
               "events) or \"periodic\" (only the others)",
    .client_sees =
        "a watch-list (sendInitialEvents=true: kubectl 1.32 with "
        "KUBE_FEATURE_WatchListClient=true, client-go >= 0.35) never syncs: kubectl wait "
        "--timeout=22s logs, 20 s in, W... reflector.go:...] ...: hasn't received "
        "required bookmark event marking the end of initial events stream, received "
        "last event 1N.N...s ago (when no initial events came: awaiting required "
        "bookmark event for initial events stream, no events received for 10.0...s, "
        "every 10 s) and ends with error: timed out waiting for the condition on "
        "pods/p1; GitLab Runner >= 18.9 fails Prepare (starting pod watcher: not "
        "synced: *v1.Pod, per its reference, not run here); plain watches see nothing "
        "amiss",
    .keys = keys,
    .parse = parse,
    .on_watch_event = on_watch_event,
};
