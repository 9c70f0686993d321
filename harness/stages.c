/* stages.c -- the "commands" and "stages" sections at run time: the first entry that matches an
 * exec or a build stage, and its steps (or shorthand) turned into an rcs_script for the container
 * runtime to play. Every value was validated by scenario.c: a missing key here means its default,
 * never a malformed one. */
#include "harness/stages.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "harness/jsonc.h"
#include "harness/match.h"
#include "harness/scenario.h"
#include "mockapi/base/json.h"
#include "mockapi/stream/session.h"

/* ---- helpers ---- */

static int64_t ms_of(const char *s)
{
    int64_t ms;
    char err[128];
    return s && jsonc_parse_duration(s, &ms, err, sizeof err) == 0 ? ms : 0;
}

static int64_t duration_ms(const cJSON *obj, const char *key, int64_t def)
{
    const char *s = json_str(obj, key);
    return s ? ms_of(s) : def;
}

/* NULL pattern: anything. */
static int glob_ok(const char *glob, const char *s)
{
    return !glob || fnmatch(glob, s ? s : "", 0) == 0;
}

static int add(struct rcs_script *out, enum rcs_step_kind kind, enum rcs_stream stream,
               const char *data, size_t len, int64_t ms, int code)
{
    struct rcs_step st = {.kind = kind,
                          .stream = stream,
                          .data = (char *)data,
                          .len = len,
                          .ms = ms,
                          .exit_code = code};
    return rcs_script_add(out, &st);
}

/* One line and its newline, as one write. */
static int add_line(struct rcs_script *out, const char *line)
{
    size_t n = strlen(line);
    char *b = malloc(n + 1);
    if (!b)
        return -1;
    memcpy(b, line, n);
    b[n] = '\n';
    int r = add(out, RCS_STEP_WRITE, RCS_STDOUT, b, n + 1, 0, 0);
    free(b);
    return r;
}

/* A "steps" array (commands and stages alike). */
static int add_steps(struct rcs_script *out, const cJSON *steps)
{
    const cJSON *st, *v;
    cJSON_ArrayForEach(st, steps)
    {
        int r = 0;
        if ((v = cJSON_GetObjectItemCaseSensitive(st, "stdout")) && cJSON_IsString(v))
            r = add(out, RCS_STEP_WRITE, RCS_STDOUT, v->valuestring, strlen(v->valuestring), 0, 0);
        else if ((v = cJSON_GetObjectItemCaseSensitive(st, "stderr")) && cJSON_IsString(v))
            r = add(out, RCS_STEP_WRITE, RCS_STDERR, v->valuestring, strlen(v->valuestring), 0, 0);
        else if ((v = cJSON_GetObjectItemCaseSensitive(st, "sleep")))
            r = add(out, RCS_STEP_SLEEP, RCS_STDOUT, NULL, 0,
                    ms_of(cJSON_IsString(v) ? v->valuestring : NULL), 0);
        else if (cJSON_GetObjectItemCaseSensitive(st, "stdin"))
            r = add(out, RCS_STEP_STDIN, RCS_STDIN, NULL, 0, 0, 0);
        else if ((v = cJSON_GetObjectItemCaseSensitive(st, "exit")) && cJSON_IsNumber(v))
            r = add(out, RCS_STEP_EXIT, RCS_STDOUT, NULL, 0, 0, v->valueint);
        else if (cJSON_GetObjectItemCaseSensitive(st, "hang"))
            r = add(out, RCS_STEP_HANG, RCS_STDOUT, NULL, 0, 0, 0);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* ---- commands ---- */

int stages_command_matches(const cJSON *command, const char *const *argv, size_t argc)
{
    if (!command)
        return 1;
    if (cJSON_IsArray(command)) {
        if ((size_t)cJSON_GetArraySize(command) != argc)
            return 0;
        size_t i = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, command)
        {
            if (!cJSON_IsString(w) || fnmatch(w->valuestring, argv[i++], 0) != 0)
                return 0;
        }
        return 1;
    }
    if (!cJSON_IsString(command))
        return 0;
    size_t len = 1;
    for (size_t i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *joined = malloc(len);
    if (!joined)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i)
            joined[o++] = ' ';
        memcpy(joined + o, argv[i], n);
        o += n;
    }
    joined[o] = '\0';
    int ok = fnmatch(command->valuestring, joined, 0) == 0;
    free(joined);
    return ok;
}

int stages_command_find(const struct scenario *s, const char *ns, const char *pod,
                        const char *container, const char *const *argv, size_t argc)
{
    for (size_t i = 0; s && i < s->ncommands; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(s->commands[i].spec, "match");
        if (glob_ok(json_str(m, "namespace"), ns) && glob_ok(json_str(m, "pod"), pod) &&
            glob_ok(json_str(m, "container"), container) &&
            stages_command_matches(cJSON_GetObjectItemCaseSensitive(m, "command"), argv, argc))
            return (int)i;
    }
    return -1;
}

int stages_command_plan(const cJSON *entry, struct rcs_script *out)
{
    out->echo_stdin = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "echoStdin"));
    return add_steps(out, cJSON_GetObjectItemCaseSensitive(entry, "steps"));
}

int stages_on_remotecmd(const struct scenario *s, struct hook_remotecmd *rc, const char **name)
{
    *name = NULL;
    if (rc->attach)
        return 0; /* an attach joins the container's main process: no command to match */
    int i = stages_command_find(s, rc->namespace, rc->name, rc->container, rc->argv, rc->argc);
    if (i < 0)
        return 0;
    if (stages_command_plan(s->commands[i].spec, rc->script) < 0) {
        rcs_script_clear(rc->script);
        return -1;
    }
    rc->has_script = 1;
    *name = s->commands[i].name;
    return 1;
}

/* ---- stages ---- */

static int running_for_ok(const cJSON *rf, int64_t running_ms)
{
    if (!rf)
        return 1;
    if (running_ms < 0)
        return 0; /* not running yet, or unknown: no bound can hold */
    int64_t min = duration_ms(rf, "min", 0), max = duration_ms(rf, "max", -1);
    return running_ms >= min && (max < 0 || running_ms < max);
}

int stages_stage_find(const struct scenario *s, const struct hook_stage *st)
{
    for (size_t i = 0; s && i < s->nstages; i++) {
        const cJSON *e = s->stages[i].spec;
        if (!glob_ok(json_str(e, "stage"), st->stage) ||
            !glob_ok(json_str(e, "container"), st->container) ||
            !glob_ok(json_str(e, "pod"), st->name) ||
            !running_for_ok(cJSON_GetObjectItemCaseSensitive(e, "runningFor"), st->pod_running_ms))
            continue;
        int ok = 1;
        const cJSON *pred;
        cJSON_ArrayForEach(pred, cJSON_GetObjectItemCaseSensitive(e, "when"))
        {
            ok = ok && match_predicate(pred, st->pod);
        }
        if (ok)
            return (int)i;
    }
    return -1;
}

int stages_stage_plan(const cJSON *entry, struct rcs_script *out, int64_t *delete_log_ms)
{
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(entry, "steps");
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(entry, "output");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(entry, "exit");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(entry, "duration");
    int hang = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "hang"));

    *delete_log_ms = duration_ms(entry, "deleteLog", -1);
    if (steps)
        return add_steps(out, steps) < 0 ? -1 : 1;
    if (!output && !code && !dur && !hang)
        return 0; /* deleteLog alone: the stage runs as it would, its log goes */
    int64_t d = duration_ms(entry, "duration", 0);
    int64_t n = cJSON_GetArraySize(output), i = 0;
    const cJSON *line;
    cJSON_ArrayForEach(line, output)
    {
        if (add_line(out, cJSON_IsString(line) ? line->valuestring : "") < 0)
            return -1;
        /* waits that add up to d exactly: the k-th line ends at k * d / n */
        int64_t wait = d * (i + 1) / n - d * i / n;
        i++;
        if (wait > 0 && add(out, RCS_STEP_SLEEP, RCS_STDOUT, NULL, 0, wait, 0) < 0)
            return -1;
    }
    if (n == 0 && d > 0 && add(out, RCS_STEP_SLEEP, RCS_STDOUT, NULL, 0, d, 0) < 0)
        return -1;
    if (hang)
        return add(out, RCS_STEP_HANG, RCS_STDOUT, NULL, 0, 0, 0) < 0 ? -1 : 1;
    return add(out, RCS_STEP_EXIT, RCS_STDOUT, NULL, 0, 0,
               cJSON_IsNumber(code) ? code->valueint : 0) < 0
               ? -1
               : 1;
}

enum hook_verdict stages_on_stage(const struct scenario *s, struct hook_stage *st, int *index)
{
    *index = stages_stage_find(s, st);
    if (*index < 0)
        return HOOK_PASS;
    int64_t del = -1;
    int r = stages_stage_plan(s->stages[*index].spec, st->plan, &del);
    st->delete_log_ms = del;
    if (r <= 0) {
        rcs_script_clear(st->plan);
        return HOOK_PASS;
    }
    return HOOK_HANDLED;
}
