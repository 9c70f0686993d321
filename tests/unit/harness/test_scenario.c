/* test_scenario.c -- tests harness/scenario.c and harness/check.c: the scenario format, every
 * error shape (the bad files in tests/scenarios/ carry the exact messages they must produce in
 * their "// error:" comment lines), the model good files load into, the examples, limits, and
 * the fault-type table in scenarios/README.md (KF_UPDATE_DOCS=1 rewrites it from the registry) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "harness/check.h"
#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/jsonc.h"
#include "harness/scenario.h"

#define DATA_DIR KF_VECTORS_DIR "/../scenarios"
#define EXAMPLES_DIR KF_VECTORS_DIR "/../../scenarios/examples"
#define SOAK_SCENARIO KF_VECTORS_DIR "/../bench/soak.json" /* scripts/soak.sh's faults */
#define README KF_VECTORS_DIR "/../../scenarios/README.md"
#define TABLE_BEGIN "<!-- fault-types:begin -->\n"
#define TABLE_END "<!-- fault-types:end -->\n"
#define MAX_FILES 64
#define MAX_LINES 64

/* ---- helpers ---- */

/* The whole file, NUL-terminated; caller frees. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        print_error("cannot open %s\n", path);
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* dir's files whose names start with prefix and end in ".json", sorted; returns how many. */
static size_t list(const char *dir, const char *prefix, char paths[][512])
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) && n < MAX_FILES) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || l < 5 ||
            strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(paths[n++], 512, "%s/%s", dir, e->d_name);
    }
    closedir(dp);
    qsort(paths, n, 512, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* Run check_files on one file; its stdout and stderr texts (caller frees) and its status. */
static int check_one(const char *path, char **out, char **err)
{
    size_t ol = 0, el = 0;
    FILE *o = open_memstream(out, &ol), *e = open_memstream(err, &el);
    char *files[] = {(char *)path};
    int rc;

    assert_non_null(o);
    assert_non_null(e);
    rc = check_files(1, files, o, e);
    fclose(o);
    fclose(e);
    return rc;
}

/* s with every "FILE" replaced by file and "KNOWN" by the registry's names; caller frees. */
static char *expand(const char *s, const char *file)
{
    char known[2048], *r = malloc(8192);
    size_t o = 0;

    assert_non_null(r);
    fault_type_names(known, sizeof known);
    while (*s && o < 8000) {
        if (strncmp(s, "FILE", 4) == 0) {
            o += (size_t)snprintf(r + o, 8192 - o, "%s", file);
            s += 4;
        } else if (strncmp(s, "KNOWN", 5) == 0) {
            o += (size_t)snprintf(r + o, 8192 - o, "%s", known);
            s += 5;
        } else {
            r[o++] = *s++;
        }
    }
    r[o] = '\0';
    return r;
}

static struct scenario *parse_text(const char *text, struct diag *d)
{
    diag_init(d, "t.json");
    return scenario_parse("t.json", text, strlen(text), d);
}

/* text must fail with a message containing want (and say which, when it does not). */
static void assert_error(const char *text, const char *want)
{
    struct diag d;
    struct scenario *s = parse_text(text, &d);
    int found = 0;

    assert_null(s);
    for (size_t i = 0; i < d.n; i++)
        found |= strstr(d.msgs[i], want) != NULL;
    if (!found) {
        print_error("want: %s\ngot:\n", want);
        for (size_t i = 0; i < d.n; i++)
            print_error("  %s\n", d.msgs[i]);
    }
    assert_true(found);
    diag_release(&d);
}

static struct scenario *load_ok(const char *path)
{
    struct diag d;
    struct scenario *s;

    diag_init(&d, path);
    s = scenario_load(path, &d);
    for (size_t i = 0; i < d.n; i++)
        print_error("%s\n", d.msgs[i]);
    assert_non_null(s);
    assert_int_equal(d.n, 0);
    diag_release(&d);
    return s;
}

/* ---- the data files ---- */

/* Each bad file lists its errors in order: "// error: MSG" exactly, "// error~: MSG" as a part. */
static void bad_files_give_their_errors(void **state)
{
    char paths[MAX_FILES][512];
    size_t n = list(DATA_DIR, "bad-", paths);

    (void)state;
    assert_true(n >= 10);
    for (size_t f = 0; f < n; f++) {
        char *text = slurp(paths[f], NULL), *out = NULL, *err = NULL;
        char *want[MAX_LINES], *got[MAX_LINES];
        int exact[MAX_LINES];
        size_t nw = 0, ng = 0;
        int ok;

        for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            size_t ll = strcspn(l, "\n");
            char line[8192];
            snprintf(line, sizeof line, "%.*s", (int)ll, l);
            if (strncmp(line, "// error: ", 10) == 0 && nw < MAX_LINES) {
                exact[nw] = 1;
                want[nw++] = expand(line + 10, paths[f]);
            } else if (strncmp(line, "// error~: ", 11) == 0 && nw < MAX_LINES) {
                exact[nw] = 0;
                want[nw++] = expand(line + 11, paths[f]);
            }
        }
        assert_true(nw > 0);
        assert_int_equal(check_one(paths[f], &out, &err), 2);
        assert_string_equal(out, "");
        for (char *l = err; *l && ng < MAX_LINES; l += strcspn(l, "\n") + 1) {
            got[ng] = strndup(l, strcspn(l, "\n"));
            ng++;
            if (!l[strcspn(l, "\n")])
                break;
        }
        ok = nw == ng;
        for (size_t i = 0; ok && i < nw; i++)
            ok = exact[i] ? strcmp(want[i], got[i]) == 0 : strstr(got[i], want[i]) != NULL;
        if (!ok) {
            print_error("%s: want %zu errors:\n", paths[f], nw);
            for (size_t i = 0; i < nw; i++)
                print_error("  %s%s\n", exact[i] ? "" : "~", want[i]);
            print_error("got %zu:\n", ng);
            for (size_t i = 0; i < ng; i++)
                print_error("  %s\n", got[i]);
        }
        for (size_t i = 0; i < nw; i++)
            free(want[i]);
        for (size_t i = 0; i < ng; i++)
            free(got[i]);
        free(text);
        free(out);
        free(err);
        assert_true(ok);
    }
}

static void good_files_check_ok(void **state)
{
    char paths[MAX_FILES][512];
    size_t n = list(DATA_DIR, "good-", paths);

    (void)state;
    assert_true(n >= 2);
    for (size_t f = 0; f < n; f++) {
        char *out = NULL, *err = NULL;
        int rc = check_one(paths[f], &out, &err);
        if (rc)
            print_error("%s", err);
        assert_int_equal(rc, 0);
        assert_string_equal(err, "");
        assert_non_null(strstr(out, ": ok ("));
        free(out);
        free(err);
    }
}

/* What a good file says is what the model holds. */
static void full_model(void **state)
{
    struct scenario *s = load_ok(DATA_DIR "/good-full.json");
    struct rule *r;

    (void)state;
    assert_string_equal(s->name, "every section");
    assert_string_equal(s->anchor, "context-deadline-exceeded");
    assert_string_equal(s->class_, "wire");
    assert_non_null(strstr(s->description, "https://docs.gitlab.com/runner/"));
    assert_int_equal(s->ntags, 3);
    assert_string_equal(s->tags[2], "pods");
    assert_int_equal(s->seed, 42);
    assert_string_equal(s->cluster.version, "1.31");
    assert_int_equal(s->cluster.nnamespaces, 2);
    assert_string_equal(s->cluster.namespaces[1], "build-1");
    assert_int_equal(s->cluster.schedule_delay_ms, 100);
    assert_int_equal(s->cluster.start_delay_ms, 1500);
    assert_int_equal(s->cluster.terminate_delay_ms, 2000);

    assert_int_equal(s->nrules, 3);
    r = scenario_rule(s, "etcd-flap");
    assert_ptr_equal(r, &s->rules[0]);
    assert_string_equal(r->path, "rules[0]");
    assert_string_equal(r->fault->name, "status");
    assert_non_null(r->fault_ctx);
    assert_int_equal(r->match.verbs, MATCH_CREATE);
    assert_string_equal(r->match.namespace_glob, "gitlab-*");
    assert_int_equal(r->trigger.first, 2);
    assert_string_equal(r->trigger.since.name, "start");
    assert_string_equal(r->set_state, "recovered");
    assert_string_equal(r->require_state, "");
    assert_true(r->enabled);

    r = scenario_rule(s, "rules[1]"); /* no name in the file */
    assert_ptr_equal(r, &s->rules[1]);
    assert_false(r->enabled);
    assert_int_equal(r->match.verbs, MATCH_GET | MATCH_DELETE);
    assert_int_equal(r->trigger.nth, 3);
    assert_true(r->trigger.has_window);
    assert_int_equal(r->trigger.from_ms, 1000);
    assert_int_equal(r->trigger.until_ms, 60000);
    assert_string_equal(r->trigger.since.name, "pod-created");
    assert_string_equal(r->require_state, "recovered");

    r = scenario_rule(s, "api-down");
    assert_int_equal(r->fault->layer, FAULT_LAYER_LISTENER);
    assert_null(scenario_rule(s, "nope"));

    assert_int_equal(s->ntimeline, 5);
    assert_int_equal(s->timeline[0].at_ms, 5000);
    assert_int_equal(s->timeline[0].action, TIMELINE_ENABLE);
    assert_string_equal(s->timeline[0].target, "api-down");
    assert_string_equal(s->timeline[0].on.name, "start");
    assert_int_equal(s->timeline[1].action, TIMELINE_DISABLE);
    assert_int_equal(s->timeline[2].at_ms, 90000);
    assert_int_equal(s->timeline[2].action, TIMELINE_SET_STATE);
    assert_string_equal(s->timeline[2].target, "late");
    assert_string_equal(s->timeline[2].on.name, "pod-running");
    assert_int_equal(s->timeline[3].at_ms, 0);
    assert_string_equal(s->timeline[3].on.name, "pod-created");
    assert_string_equal(s->timeline[3].on.name_glob, "runner-*");
    assert_string_equal(s->timeline[4].on.name, "rule-fired:etcd-flap");

    assert_int_equal(s->npods, 4);
    assert_string_equal(s->pods[0].name_glob, "runner-*");
    assert_string_equal(s->pods[3].name_glob, "measured-*");
    assert_null(s->pods[1].name_glob);
    assert_int_equal(s->nadmission, 2);
    assert_string_equal(s->admission[0].name, "readonly-root");
    assert_string_equal(s->admission[1].name, "admission[1]");
    assert_non_null(s->expect);
    assert_non_null(s->kubectl);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(s->kubectl, "args");
    assert_int_equal(cJSON_GetArraySize(args), 6);
    assert_string_equal(cJSON_GetArrayItem(args, 0)->valuestring, "run");
    const cJSON *kex = cJSON_GetObjectItemCaseSensitive(s->kubectl, "expect");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(kex, "exitCode")->valueint, 1);
    scenario_free(s);
}

/* The JSON kept for the engine is the JSON written, for every good file and example. */
static void round_trip(const char *path)
{
    struct scenario *s = load_ok(path);
    struct diag d;
    size_t len;
    char *text = slurp(path, &len);
    cJSON *root, *arr;
    size_t i;

    diag_init(&d, path);
    root = jsonc_parse(text, len, &d);
    assert_non_null(root);
    arr = cJSON_GetObjectItemCaseSensitive(root, "rules");
    assert_int_equal(s->nrules, (size_t)cJSON_GetArraySize(arr));
    i = 0;
    for (cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++) {
        assert_true(
            cJSON_Compare(s->rules[i].fault_spec, cJSON_GetObjectItemCaseSensitive(e, "fault"), 1));
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (n)
            assert_string_equal(s->rules[i].name, n->valuestring);
        assert_ptr_equal(scenario_rule(s, s->rules[i].name), &s->rules[i]);
    }
    arr = cJSON_GetObjectItemCaseSensitive(root, "timeline");
    assert_int_equal(s->ntimeline, (size_t)cJSON_GetArraySize(arr));
    arr = cJSON_GetObjectItemCaseSensitive(root, "pods");
    assert_int_equal(s->npods, (size_t)cJSON_GetArraySize(arr));
    i = 0;
    for (cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++)
        assert_true(cJSON_Compare(s->pods[i].spec, e, 1));
    arr = cJSON_GetObjectItemCaseSensitive(root, "admission");
    assert_int_equal(s->nadmission, (size_t)cJSON_GetArraySize(arr));
    i = 0;
    for (cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++)
        assert_true(cJSON_Compare(s->admission[i].spec, e, 1));
    arr = cJSON_GetObjectItemCaseSensitive(root, "commands");
    assert_int_equal(s->ncommands, (size_t)cJSON_GetArraySize(arr));
    i = 0;
    for (cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++)
        assert_true(cJSON_Compare(s->commands[i].spec, e, 1));
    arr = cJSON_GetObjectItemCaseSensitive(root, "stages");
    assert_int_equal(s->nstages, (size_t)cJSON_GetArraySize(arr));
    i = 0;
    for (cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++)
        assert_true(cJSON_Compare(s->stages[i].spec, e, 1));
    arr = cJSON_GetObjectItemCaseSensitive(root, "expect");
    assert_true(arr ? cJSON_Compare(s->expect, arr, 1) : s->expect == NULL);
    arr = cJSON_GetObjectItemCaseSensitive(root, "kubectl");
    assert_true(arr ? cJSON_Compare(s->kubectl, arr, 1) : s->kubectl == NULL);
    assert_string_equal(s->name, cJSON_GetObjectItemCaseSensitive(root, "name")->valuestring);
    cJSON_Delete(root);
    diag_release(&d);
    free(text);
    scenario_free(s);
}

/* good-gitlab.json: the section's settings, jobs converted to the protocol's words, GitLab
 * matches. */
static void gitlab_model(void **state)
{
    struct scenario *s = load_ok(DATA_DIR "/good-gitlab.json");
    const cJSON *job;

    (void)state;
    assert_true(s->gitlab.present);
    assert_int_equal(s->gitlab.long_poll_ms, 2000);
    assert_int_equal(s->gitlab.update_interval_s, 1);
    assert_string_equal(s->gitlab.runner_token, "glrt-kubefault-good-file");
    assert_int_equal(cJSON_GetArraySize(s->gitlab.jobs), 2);
    job = cJSON_GetArrayItem(s->gitlab.jobs, 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(job, "project_id")->valueint, 7);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(job, "repo_url")->valuestring,
                        "https://gitlab.example.com/group/proj.git");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(job, "before_sha"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(job, "after_script"));
    assert_null(cJSON_GetObjectItemCaseSensitive(job, "afterScript"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(job, "timeout")->valueint, 600);
    job = cJSON_GetArrayItem(s->gitlab.jobs, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(job, "timeout")->valueint, 900);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(job, "steps"));

    assert_int_equal(s->nrules, 3);
    for (size_t i = 0; i < s->nrules; i++)
        assert_int_equal(s->rules[i].match.server, MATCH_SERVER_GITLAB);
    assert_string_equal(s->rules[0].fault->name, "gitlab-no-job");
    assert_string_equal(s->rules[2].fault->name, "gitlab-cancel");
    scenario_free(s);
}

static void good_files_round_trip(void **state)
{
    char paths[MAX_FILES][512];
    size_t n = list(DATA_DIR, "good-", paths);

    (void)state;
    for (size_t i = 0; i < n; i++)
        round_trip(paths[i]);
    n = list(EXAMPLES_DIR, "", paths);
    for (size_t i = 0; i < n; i++)
        round_trip(paths[i]);
}

static void defaults(void **state)
{
    struct diag d;
    struct scenario *s =
        parse_text("{\"name\": \"d\", \"rules\": [{\"fault\": {\"type\": \"refuse\"}}]}", &d);

    (void)state;
    assert_non_null(s);
    assert_string_equal(s->file, "t.json");
    assert_int_equal(s->seed, 1);
    assert_null(s->anchor);
    assert_null(s->class_);
    assert_string_equal(s->cluster.version, "");
    assert_int_equal(s->cluster.schedule_delay_ms, -1);
    assert_int_equal(s->cluster.start_delay_ms, -1);
    assert_int_equal(s->cluster.terminate_delay_ms, -1);
    assert_int_equal(s->nrules, 1);
    assert_string_equal(s->rules[0].name, "rules[0]");
    assert_true(s->rules[0].enabled);
    assert_int_equal(s->rules[0].match.verbs, 0);
    assert_false(s->rules[0].trigger.has_window);
    assert_string_equal(s->rules[0].trigger.since.name, "start");
    assert_null(s->expect);
    assert_null(s->kubectl);
    scenario_free(s);
    diag_release(&d);
    scenario_free(NULL);
}

/* ---- check ---- */

static void check_reports_ok_and_errors(void **state)
{
    char *out = NULL, *err = NULL, want[1024];
    size_t ol = 0, el = 0;
    FILE *o, *e;
    char f0[] = DATA_DIR "/good-full.json", f1[] = DATA_DIR "/good-minimal.json",
         f2[] = DATA_DIR "/bad-not-object.json";
    char *files[] = {f0, f1, f2};

    (void)state;
    assert_int_equal(check_one(DATA_DIR "/good-full.json", &out, &err), 0);
    snprintf(want, sizeof want, "%s: ok (3 rules, 5 timeline entries)\n",
             DATA_DIR "/good-full.json");
    assert_string_equal(out, want);
    free(out);
    free(err);

    o = open_memstream(&out, &ol);
    e = open_memstream(&err, &el);
    assert_int_equal(check_files(3, files, o, e), 2);
    fclose(o);
    fclose(e);
    snprintf(want, sizeof want,
             "%s: ok (3 rules, 5 timeline entries)\n%s: ok (0 rules, 0 timeline entries)\n",
             files[0], files[1]);
    assert_string_equal(out, want);
    snprintf(want, sizeof want, "%s: expected a scenario object, got array\n", files[2]);
    assert_string_equal(err, want);
    free(out);
    free(err);

    o = open_memstream(&out, &ol);
    e = open_memstream(&err, &el);
    assert_int_equal(check_files(0, NULL, o, e), 2);
    fclose(o);
    fclose(e);
    assert_string_equal(err, "usage: kubefault check FILE... (\"-\" reads standard input)\n");
    free(out);
    free(err);
}

static void missing_file(void **state)
{
    char *out = NULL, *err = NULL;

    (void)state;
    assert_int_equal(check_one("no-such-dir/x.json", &out, &err), 2);
    assert_string_equal(err, "cannot read \"no-such-dir/x.json\": No such file or directory\n");
    free(out);
    free(err);
    assert_int_equal(check_one(DATA_DIR, &out, &err), 2);
    assert_non_null(strstr(err, "Is a directory"));
    free(out);
    free(err);
}

static void file_too_big(void **state)
{
    char path[] = "/tmp/kf-test-scenario-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    char *out = NULL, *err = NULL, want[512];
    struct diag d;
    char *big;

    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"name\": \"big\", \"description\": \"", f);
    for (int i = 0; i < SCENARIO_MAX_BYTES; i++)
        fputc('x', f);
    fputs("\"}", f);
    fclose(f);
    assert_int_equal(check_one(path, &out, &err), 2);
    snprintf(want, sizeof want, "%s: file is too big: %d bytes (a scenario has at most %d)\n", path,
             SCENARIO_MAX_BYTES + 34, SCENARIO_MAX_BYTES);
    assert_string_equal(err, want);
    free(out);
    free(err);
    unlink(path);

    big = calloc(1, (size_t)SCENARIO_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, ' ', (size_t)SCENARIO_MAX_BYTES + 1);
    diag_init(&d, "t.json");
    assert_null(scenario_parse("t.json", big, (size_t)SCENARIO_MAX_BYTES + 1, &d));
    assert_int_equal(d.n, 1);
    snprintf(want, sizeof want, "t.json: file is too big: %d bytes (a scenario has at most %d)",
             SCENARIO_MAX_BYTES + 1, SCENARIO_MAX_BYTES);
    assert_string_equal(d.msgs[0], want);
    diag_release(&d);
    free(big);
}

/* ---- limits and single errors ---- */

static void too_many_rules(void **state)
{
    size_t cap = (SCENARIO_MAX_RULES + 1) * 40 + 64, o = 0;
    char *text = malloc(cap), want[128];

    (void)state;
    assert_non_null(text);
    o += (size_t)snprintf(text + o, cap - o, "{\"name\": \"many\", \"rules\": [");
    for (int i = 0; i <= SCENARIO_MAX_RULES; i++)
        o += (size_t)snprintf(text + o, cap - o, "%s{\"fault\": {\"type\": \"refuse\"}}",
                              i ? "," : "");
    snprintf(text + o, cap - o, "]}");
    snprintf(want, sizeof want, "t.json: rules: too many entries (%d, at most %d)",
             SCENARIO_MAX_RULES + 1, SCENARIO_MAX_RULES);
    assert_error(text, want);
    free(text);
}

static void names_are_capped(void **state)
{
    char text[512], want[256], name[SCENARIO_NAME_MAX + 1];

    (void)state;
    memset(name, 'a', SCENARIO_NAME_MAX);
    name[SCENARIO_NAME_MAX] = '\0';
    snprintf(text, sizeof text,
             "{\"name\": \"x\", \"rules\": [{\"name\": \"%s\", \"fault\": "
             "{\"type\": \"refuse\"}}]}",
             name);
    snprintf(want, sizeof want, "rules[0].name: name \"%s\" is too long (at most %d characters)",
             name, SCENARIO_NAME_MAX - 1);
    assert_error(text, want);
    name[SCENARIO_NAME_MAX - 1] = '\0'; /* the longest name that fits */
    snprintf(text, sizeof text,
             "{\"name\": \"x\", \"rules\": [{\"name\": \"%s\", \"fault\": "
             "{\"type\": \"refuse\"}}]}",
             name);
    struct diag d;
    struct scenario *s = parse_text(text, &d);
    assert_non_null(s);
    assert_string_equal(s->rules[0].name, name);
    scenario_free(s);
    diag_release(&d);
}

static void single_errors(void **state)
{
    (void)state;
    assert_error("{}", "t.json: missing key \"name\"");
    assert_error("{\"name\": \"\"}", "t.json: name: must not be empty");
    /* a user's string is quoted back on one line, escaped */
    assert_error("{\"name\": \"x\", \"rules\": [{\"name\": \"a\\\"b\\nc\", \"fault\": "
                 "{\"type\": \"refuse\"}}]}",
                 "t.json: rules[0].name: invalid name \"a\\\"b.c\"");
    assert_error("{\"name\": \"x\", \"class\": \"wires\"}",
                 "t.json: class: unknown class \"wires\" (known: wire, cluster, client-side); "
                 "did you mean \"wire\"?");
    assert_error("{\"name\": \"x\", \"anchor\": \"Has Spaces\"}", "t.json: anchor: invalid anchor");
    assert_error("{\"name\": \"x\", \"cluster\": {\"version\": \"v1.32\"}}",
                 "t.json: cluster.version: invalid version \"v1.32\" (expected \"1.NN\", e.g. "
                 "\"1.32\")");
    assert_error("{\"name\": \"x\", \"cluster\": {\"namespaces\": [\"Bad_NS\"]}}",
                 "t.json: cluster.namespaces[0]: invalid namespace name \"Bad_NS\"");
    assert_error("{\"name\": \"x\", \"timeline\": [{\"setState\": \"a\", \"enable\": \"b\"}]}",
                 "t.json: timeline[0]: give only one of \"enable\", \"disable\" or \"setState\"");
    assert_error(
        "{\"name\": \"x\", \"timeline\": [{\"on\": \"pod-exploded\", \"setState\": \"a\"}]}",
        "t.json: timeline[0].on: unknown event \"pod-exploded\"");
    assert_error("{\"name\": \"x\", \"rules\": [{\"fault\": {\"type\": \"status\", \"code\": 700, "
                 "\"message\": \"m\"}}]}",
                 "t.json: rules[0].fault.code: expected an integer from 400 to 599, got 700");
    assert_error("{\"name\": \"x\", \"rules\": [{\"match\": {\"verb\": \"gett\"}, "
                 "\"fault\": {\"type\": \"refuse\"}}]}",
                 "t.json: rules[0].match.verb: unknown verb \"gett\"");
    assert_error("{\"name\": \"x\", \"pods\": [{\"disrupt\": {\"at\": \"1s\"}}]}",
                 "t.json: pods[0].disrupt: give \"steps\"");
    assert_error("{\"name\": \"x\", \"pods\": [{\"node\": {}}]}",
                 "t.json: pods[0].node: give \"name\" and/or \"os\"");
    assert_error(
        "{\"name\": \"x\", \"pods\": [{\"schedule\": {\"for\": \"1s\", \"delay\": \"1s\"}}]}",
        "t.json: pods[0].schedule.for: \"for\" says how long the pod stays "
        "unschedulable: it needs \"unschedulable\"");
    assert_error(
        "{\"name\": \"x\", \"pods\": [{\"containers\": {\"c\": {\"exitAfter\": \"1s\"}}}]}",
        "t.json: pods[0].containers.c.exitAfter: \"exitAfter\" says when the container "
        "exits: it needs \"exitCode\"");
    assert_error("{\"name\": \"x\", \"pods\": [{\"schedule\": {\"delay\": {\"fixed\": \"1s\", "
                 "\"uniform\": {}}}}]}",
                 "t.json: pods[0].schedule.delay: give one distribution only (fixed, uniform, "
                 "lognormal or empirical)");
    assert_error("{\"name\": \"x\", \"pods\": [{\"schedule\": {\"delay\": {\"empirical\": "
                 "[\"1s\", \"2s\", \"3s\", \"4x\"]}}}]}",
                 "t.json: pods[0].schedule.delay.empirical[3]: unknown unit \"x\" in duration "
                 "\"4x\" (known: ms, s, m, h)");
    assert_error("{\"name\": \"x\", \"pods\": [{\"schedule\": {\"delay\": {\"empirical\": "
                 "[]}}}]}",
                 "t.json: pods[0].schedule.delay.empirical: an empirical delay needs at least one "
                 "value, e.g. [\"12s\", \"31s\"]");
    assert_error("{\"name\": \"x\", \"rules\": [{\"fault\": {\"type\": \"delay\", "
                 "\"empirical\": [\"1s\", \"20m\"]}}]}",
                 "t.json: rules[0].fault.empirical[1]: \"20m\" is longer than the limit of 10m");
}

static void every_error_is_collected(void **state)
{
    struct diag d;
    char text[8192];
    size_t o = 0;

    (void)state;
    o += (size_t)snprintf(text + o, sizeof text - o, "{\"name\": \"x\", \"tags\": [");
    for (int i = 0; i < DIAG_MAX_ERRORS + 5; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s%d", i ? "," : "", i);
    snprintf(text + o, sizeof text - o, "]}");
    assert_null(parse_text(text, &d));
    assert_int_equal(d.n, DIAG_MAX_ERRORS);
    assert_int_equal(d.dropped, 5);
    diag_release(&d);
}

/* A watch fault on a match that selects no watch can never act. */
static void watch_fault_needs_watch(void **state)
{
    const struct fault_type *w = NULL;
    char text[512];
    struct diag d;
    int found = 0;

    (void)state;
    for (size_t i = 0; i < fault_types_count && !w; i++)
        if (fault_types[i]->layer == FAULT_LAYER_WATCH)
            w = fault_types[i];
    if (!w)
        skip(); /* no watch fault types registered yet */
    snprintf(text, sizeof text,
             "{\"name\": \"x\", \"rules\": [{\"match\": {\"verb\": \"get\"}, \"fault\": "
             "{\"type\": \"%s\"}}]}",
             w->name);
    assert_null(parse_text(text, &d));
    for (size_t i = 0; i < d.n; i++)
        found |= strstr(d.msgs[i], "is a watch fault") != NULL;
    diag_release(&d);
    if (!found)
        skip(); /* its parameters failed first: the type needs some, and this test gives none */
}

/* ---- examples and docs ---- */

/* The examples, and the soak's scenario (not run by any test), pass kubefault check. */
static void examples_pass_check(void **state)
{
    char paths[MAX_FILES][512];
    char *files[MAX_FILES];
    size_t n = list(EXAMPLES_DIR, "", paths);
    char *out = NULL, *err = NULL;
    size_t ol = 0, el = 0;
    FILE *o, *e;

    (void)state;
    assert_true(n >= 3 && n < MAX_FILES);
    snprintf(paths[n++], sizeof paths[0], "%s", SOAK_SCENARIO);
    for (size_t i = 0; i < n; i++)
        files[i] = paths[i];
    o = open_memstream(&out, &ol);
    e = open_memstream(&err, &el);
    int rc = check_files((int)n, files, o, e);
    fclose(o);
    fclose(e);
    if (rc)
        print_error("%s", err);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
    free(out);
    free(err);
}

/* scenarios/README.md embeds fault_doc_table()'s output between its markers; the docs cannot
 * drift from the registry. KF_UPDATE_DOCS=1 rewrites the table instead of comparing it. */
static void readme_fault_table_is_current(void **state)
{
    char *readme = slurp(README, NULL), *table = NULL, *b, *e;
    size_t tl = 0;
    FILE *f = open_memstream(&table, &tl);

    (void)state;
    assert_non_null(f);
    fault_doc_table(f);
    fclose(f);
    b = strstr(readme, TABLE_BEGIN);
    e = b ? strstr(b, TABLE_END) : NULL;
    assert_non_null(b);
    assert_non_null(e);
    b += strlen(TABLE_BEGIN);
    if (getenv("KF_UPDATE_DOCS")) {
        FILE *w = fopen(README, "w");
        assert_non_null(w);
        fwrite(readme, 1, (size_t)(b - readme), w);
        fputs(table, w);
        fputs(e, w);
        fclose(w);
    } else {
        size_t have = (size_t)(e - b);
        int same = have == tl && memcmp(b, table, tl) == 0;
        if (!same)
            print_error("scenarios/README.md's fault table differs from the registry; run\n"
                        "  KF_UPDATE_DOCS=1 BUILD/tests/test_scenario\nto rewrite it. Want:\n%s",
                        table);
        assert_true(same);
    }
    free(readme);
    free(table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_files_give_their_errors),
        cmocka_unit_test(good_files_check_ok),
        cmocka_unit_test(full_model),
        cmocka_unit_test(gitlab_model),
        cmocka_unit_test(good_files_round_trip),
        cmocka_unit_test(defaults),
        cmocka_unit_test(check_reports_ok_and_errors),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(file_too_big),
        cmocka_unit_test(too_many_rules),
        cmocka_unit_test(names_are_capped),
        cmocka_unit_test(single_errors),
        cmocka_unit_test(every_error_is_collected),
        cmocka_unit_test(watch_fault_needs_watch),
        cmocka_unit_test(examples_pass_check),
        cmocka_unit_test(readme_fault_table_is_current),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
