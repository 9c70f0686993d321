/* test_stages.c -- tests harness/stages.c, the "commands" and "stages" sections without a server:
 * the model good-stages.json loads into, which command answers an exec (patterns on the joined
 * words or word by word, container, pod, namespace; first match wins; attach never), the programs
 * commands become, which stage entry a build stage follows (stage, container and pod patterns,
 * "when" with "matches" and [name=x] selectors, "runningFor" bounds), and the plans the shorthand
 * and "steps" become (lines, evenly spread waits, exit, hang, deleteLog). The parse errors are in
 * tests/scenarios/bad-commands.json, bad-stages.json and bad-stream.json (checked by
 * test_scenario), with a few single cases here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/scenario.h"
#include "harness/stages.h"
#include "mockapi/stream/session.h"
#include "testutil.h"

#define GOOD KF_VECTORS_DIR "/../scenarios/good-stages.json"

/* ---- helpers ---- */

/* A scenario from text written with ' for ". */
static struct scenario *scenario(const char *text)
{
    struct diag d;
    char *t = dq(text);
    diag_init(&d, "t.json");
    struct scenario *s = scenario_parse("t.json", t, strlen(t), &d);
    if (!s)
        fail_msg("scenario: %s", d.n ? d.msgs[0] : "scenario_parse failed");
    diag_release(&d);
    free(t);
    return s;
}

/* text (' for ") must fail with exactly these messages, one a line. */
static void fails(const char *text, const char *want)
{
    struct diag d;
    char *t = dq(text), *w = dq(want), got[8192];
    size_t o = 0;
    diag_init(&d, "t.json");
    assert_null(scenario_parse("t.json", t, strlen(t), &d));
    got[0] = '\0';
    for (size_t i = 0; i < d.n && o < sizeof got; i++)
        o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", i ? "\n" : "", d.msgs[i]);
    if (strcmp(got, w) != 0)
        fail_msg("%s\nwant: %s\ngot:  %s", t, w, got);
    diag_release(&d);
    free(t);
    free(w);
}

/* The plan as text: "out:hi\n" "err:x" "sleep:100" "stdin" "exit:3" "hang", joined by '|'. */
static const char *show(const struct rcs_script *p, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->nsteps && o < len; i++) {
        const struct rcs_step *st = &p->steps[i];
        const char *sep = i ? "|" : "";
        int w = 0;
        switch (st->kind) {
        case RCS_STEP_WRITE:
            w = snprintf(buf + o, len - o, "%s%s:%.*s", sep,
                         st->stream == RCS_STDERR ? "err" : "out", (int)st->len, st->data);
            break;
        case RCS_STEP_SLEEP:
            w = snprintf(buf + o, len - o, "%ssleep:%lld", sep, (long long)st->ms);
            break;
        case RCS_STEP_STDIN:
            w = snprintf(buf + o, len - o, "%sstdin", sep);
            break;
        case RCS_STEP_EXIT:
            w = snprintf(buf + o, len - o, "%sexit:%d", sep, st->exit_code);
            break;
        case RCS_STEP_HANG:
            w = snprintf(buf + o, len - o, "%shang", sep);
            break;
        }
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}

/* The plan of stages[i] of s, as show() writes it; *del its deleteLog; *rc the return. */
static const char *stage_plan(const struct scenario *s, size_t i, char *buf, size_t len,
                              int64_t *del, int *rc)
{
    struct rcs_script p = {0};
    *rc = stages_stage_plan(s->stages[i].spec, &p, del);
    show(&p, buf, len);
    rcs_script_clear(&p);
    return buf;
}

static const char *command_plan(const struct scenario *s, size_t i, char *buf, size_t len,
                                int *echo)
{
    struct rcs_script p = {0};
    assert_int_equal(stages_command_plan(s->commands[i].spec, &p), 0);
    *echo = p.echo_stdin;
    show(&p, buf, len);
    rcs_script_clear(&p);
    return buf;
}

/* ---- the model ---- */

static void test_model(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d, GOOD);
    struct scenario *s = scenario_load(GOOD, &d);
    for (size_t i = 0; i < d.n; i++)
        print_error("%s\n", d.msgs[i]);
    assert_non_null(s);
    diag_release(&d);
    assert_int_equal(s->ncommands, 3);
    assert_string_equal(s->commands[0].name, "cat");
    assert_string_equal(s->commands[1].name, "commands[1]");
    assert_string_equal(s->commands[2].name, "commands[2]");
    assert_int_equal(s->nstages, 6);
    assert_int_equal(s->nrules, 5);
    for (size_t i = 0; i < s->nrules; i++)
        assert_int_equal(s->rules[i].fault->layer, FAULT_LAYER_STREAM);
    assert_string_equal(s->rules[1].trigger.since.name, "stage-started:step_*");
    assert_string_equal(s->rules[1].trigger.since.name_glob, "runner-*");
    assert_string_equal(s->timeline[0].on.name, "stage-started");
    assert_string_equal(s->timeline[1].on.name, "stage-started:archive_cache*");

    char buf[1024];
    int echo, rc;
    int64_t del;
    assert_string_equal(command_plan(s, 0, buf, sizeof buf, &echo), "stdin|exit:0");
    assert_true(echo);
    assert_string_equal(command_plan(s, 1, buf, sizeof buf, &echo),
                        "out:deploying\n|err:warning: slow\n|sleep:1500|out:done\n|exit:3");
    assert_false(echo);
    assert_string_equal(command_plan(s, 2, buf, sizeof buf, &echo), "out:zzz\n|hang");

    assert_string_equal(stage_plan(s, 0, buf, sizeof buf, &del, &rc),
                        "out:fatal: unable to access "
                        "'https://gitlab-ci-token:token@example.com/repo/proj.git/': Could not "
                        "resolve host: example.com\n|exit:128");
    assert_int_equal(rc, 1);
    assert_int_equal(del, -1);
    assert_string_equal(stage_plan(s, 1, buf, sizeof buf, &del, &rc),
                        "out:docker: Cannot connect to the Docker daemon at tcp://docker:2375. Is "
                        "the docker daemon running?\n|sleep:1000|exit:1");
    assert_string_equal(stage_plan(s, 2, buf, sizeof buf, &del, &rc),
                        "out:a\n|sleep:1500|out:b\n|sleep:1500|hang");
    assert_string_equal(stage_plan(s, 3, buf, sizeof buf, &del, &rc),
                        "out:x\n|sleep:100|err:y\n|exit:2");
    /* deleteLog alone: the stage's own output, and the log goes */
    assert_string_equal(stage_plan(s, 4, buf, sizeof buf, &del, &rc), "");
    assert_int_equal(rc, 0);
    assert_int_equal(del, 2000);
    assert_string_equal(stage_plan(s, 5, buf, sizeof buf, &del, &rc), "hang");
    assert_int_equal(rc, 1);
    assert_int_equal(del, 500);
    scenario_free(s);
}

/* ---- commands ---- */

static int cmd_matches(const char *pattern, const char *const *argv, size_t argc)
{
    cJSON *p = json(pattern);
    int r = stages_command_matches(p, argv, argc);
    cJSON_Delete(p);
    return r;
}

static void test_command_matching(void **state)
{
    (void)state;
    const char *const exit3[] = {"sh", "-c", "exit 3"};
    const char *const detect[] = {"sh", "-c", "if [ -x /usr/local/bin/bash ]; then\n\texec x\nfi"};
    const char *const rl[] = {"gitlab-runner-helper", "read-logs", "--path",
                              "/logs-1-2/output.log", "--offset",  "0"};
    /* a string: the words joined by single spaces */
    assert_true(cmd_matches("'sh -c exit 3'", exit3, 3));
    assert_true(cmd_matches("'sh -c *'", exit3, 3));
    assert_true(cmd_matches("'*exit [0-9]'", exit3, 3));
    assert_false(cmd_matches("'sh -c'", exit3, 3));
    assert_false(cmd_matches("'sh  -c exit 3'", exit3, 3));
    assert_true(cmd_matches("'sh -c if*fi'", detect, 3)); /* * crosses newlines and tabs */
    assert_true(cmd_matches("'gitlab-runner-helper read-logs *'", rl, 6));
    assert_true(cmd_matches("'*read-logs*'", rl, 6));
    assert_true(cmd_matches("''", NULL, 0)); /* no words: "" */
    assert_false(cmd_matches("'*x*'", NULL, 0));
    /* an array: word by word, same count */
    assert_true(cmd_matches("['sh', '-c', 'exit*']", exit3, 3));
    assert_false(cmd_matches("['sh', '-c']", exit3, 3));
    assert_false(cmd_matches("['sh', '-c', 'exit*', '*']", exit3, 3));
    assert_false(cmd_matches("['sh', '-c', 'exit 4']", exit3, 3));
    assert_true(cmd_matches("['*', '*', '*']", exit3, 3));
    assert_true(cmd_matches("['gitlab-runner-helper', 'read-logs', '*', '*', '*', '*']", rl, 6));
    assert_false(cmd_matches("3", exit3, 3));
    assert_true(stages_command_matches(NULL, exit3, 3)); /* no pattern: any command */
}

static void test_command_find(void **state)
{
    (void)state;
    struct scenario *s =
        scenario("{'name': 'c', 'commands': ["
                 " {'name': 'in-build', 'match': {'command': 'sh -c *', 'container': 'build'},"
                 "  'steps': [{'exit': 1}]},"
                 " {'name': 'ns', 'match': {'command': 'sh -c *', 'namespace': 'ci-*',"
                 "  'pod': 'runner-*'}, 'steps': [{'exit': 2}]},"
                 " {'name': 'words', 'match': {'command': ['sh', '-c', '*']},"
                 "  'steps': [{'exit': 3}]},"
                 " {'name': 'any', 'steps': [{'exit': 4}]}]}");
    const char *const exit3[] = {"sh", "-c", "exit 3"};
    const char *const ls[] = {"ls"};
    assert_int_equal(stages_command_find(s, "ci-1", "runner-a", "build", exit3, 3), 0);
    assert_int_equal(stages_command_find(s, "ci-1", "runner-a", "helper", exit3, 3), 1);
    assert_int_equal(stages_command_find(s, "default", "runner-a", "helper", exit3, 3), 2);
    assert_int_equal(stages_command_find(s, "ci-1", "web", "helper", exit3, 3), 2);
    assert_int_equal(stages_command_find(s, "ci-1", "web", "helper", ls, 1), 3);
    assert_int_equal(stages_command_find(s, "ci-1", "web", NULL, ls, 1), 3);
    assert_int_equal(stages_command_find(NULL, "ci-1", "web", "helper", ls, 1), -1);

    /* the hook: an exec gets the program; an attach never does */
    struct rcs_script script = {0};
    struct rcs_faults faults;
    rcs_faults_none(&faults);
    struct hook_remotecmd rc = {.namespace = "ci-1",
                                .name = "runner-a",
                                .container = "build",
                                .argv = exit3,
                                .argc = 3,
                                .script = &script,
                                .faults = &faults};
    const char *name;
    char buf[256];
    assert_int_equal(stages_on_remotecmd(s, &rc, &name), 1);
    assert_string_equal(name, "in-build");
    assert_true(rc.has_script);
    assert_string_equal(show(&script, buf, sizeof buf), "exit:1");
    rcs_script_clear(&script);
    struct hook_remotecmd at = {.namespace = "ci-1",
                                .name = "runner-a",
                                .container = "build",
                                .attach = 1,
                                .script = &script,
                                .faults = &faults};
    assert_int_equal(stages_on_remotecmd(s, &at, &name), 0);
    assert_null(name);
    assert_false(at.has_script);
    assert_int_equal(script.nsteps, 0);
    scenario_free(s);

    s = scenario("{'name': 'none'}");
    rc.has_script = 0;
    assert_int_equal(stages_on_remotecmd(s, &rc, &name), 0);
    assert_false(rc.has_script);
    scenario_free(s);
}

/* ---- stages ---- */

static const char POD[] =
    "{'metadata': {'name': 'runner-abc', 'namespace': 'ci'},"
    " 'spec': {'containers': ["
    "   {'name': 'build', 'image': 'ruby:3.3'},"
    "   {'name': 'helper', 'image': 'registry.gitlab.com/gitlab-org/gitlab-runner/"
    "gitlab-runner-helper:alpine3.19-x86_64-v17.5.0'},"
    "   {'name': 'svc-0', 'image': 'docker:27-dind'}]}}";

static int find(const struct scenario *s, const cJSON *pod, const char *stage,
                const char *container, int64_t running_ms)
{
    struct hook_stage st = {.pod = pod,
                            .namespace = "ci",
                            .name = "runner-abc",
                            .container = container,
                            .stage = stage,
                            .pod_running_ms = running_ms,
                            .delete_log_ms = -1};
    return stages_stage_find(s, &st);
}

static void test_stage_find(void **state)
{
    (void)state;
    struct scenario *s = scenario(
        "{'name': 's', 'stages': ["
        " {'stage': 'get_sources', 'container': 'helper',"
        "  'when': [{'path': 'spec.containers[name=helper].image', 'matches': '*alpine*'}],"
        "  'exit': 1},"
        " {'stage': 'step_script', 'runningFor': {'max': '30s'}, 'exit': 2},"
        " {'stage': 'step_script', 'runningFor': {'min': '1m'}, 'exit': 3},"
        " {'stage': 'archive_cache*', 'pod': 'other-*', 'exit': 4},"
        " {'stage': 'archive_cache*', 'exit': 5},"
        " {'container': 'build', 'exit': 6}]}");
    cJSON *pod = json(POD);
    cJSON *ubuntu = json("{'metadata': {'name': 'runner-abc'}, 'spec': {'containers': ["
                         " {'name': 'helper', 'image': 'gitlab-runner-helper:ubuntu-x86_64'},"
                         " {'name': 'build', 'image': 'alpine'}]}}");
    assert_int_equal(find(s, pod, "get_sources", "helper", 0), 0);
    assert_int_equal(find(s, ubuntu, "get_sources", "helper", 0), -1);
    assert_int_equal(find(s, pod, "get_sources", "build", 0), 5);
    /* runningFor: min <= t < max; unknown (-1) never holds */
    assert_int_equal(find(s, pod, "step_script", "build", 0), 1);
    assert_int_equal(find(s, pod, "step_script", "build", 29999), 1);
    assert_int_equal(find(s, pod, "step_script", "build", 30000), 5);
    assert_int_equal(find(s, pod, "step_script", "build", 59999), 5);
    assert_int_equal(find(s, pod, "step_script", "build", 60000), 2);
    assert_int_equal(find(s, pod, "step_script", "build", -1), 5);
    assert_int_equal(find(s, pod, "step_script", "helper", -1), -1);
    /* patterns on the stage and the pod */
    assert_int_equal(find(s, pod, "archive_cache", "helper", 0), 4);
    assert_int_equal(find(s, pod, "archive_cache_on_failure", "helper", 0), 4);
    assert_int_equal(find(s, pod, "upload_artifacts_on_success", "helper", 0), -1);

    /* the hook */
    struct rcs_script plan = {0};
    struct hook_stage st = {.pod = pod,
                            .namespace = "ci",
                            .name = "runner-abc",
                            .container = "helper",
                            .stage = "get_sources",
                            .plan = &plan,
                            .delete_log_ms = -1};
    int index;
    char buf[256];
    assert_int_equal(stages_on_stage(s, &st, &index), HOOK_HANDLED);
    assert_int_equal(index, 0);
    assert_string_equal(show(&plan, buf, sizeof buf), "exit:1");
    rcs_script_clear(&plan);
    st.stage = "download_artifacts";
    assert_int_equal(stages_on_stage(s, &st, &index), HOOK_PASS);
    assert_int_equal(index, -1);
    assert_int_equal(plan.nsteps, 0);
    assert_int_equal(st.delete_log_ms, -1);
    cJSON_Delete(pod);
    cJSON_Delete(ubuntu);
    scenario_free(s);

    /* an entry with only deleteLog: PASS, with the time set */
    s = scenario("{'name': 'd', 'stages': [{'stage': 'step_script', 'deleteLog': '250ms'}]}");
    st.stage = "step_script";
    st.pod = NULL;
    assert_int_equal(stages_on_stage(s, &st, &index), HOOK_PASS);
    assert_int_equal(index, 0);
    assert_int_equal(st.delete_log_ms, 250);
    assert_int_equal(plan.nsteps, 0);
    scenario_free(s);
}

static void test_stage_plans(void **state)
{
    (void)state;
    struct scenario *s =
        scenario("{'name': 'p', 'stages': ["
                 " {'output': ['a', 'b', 'c'], 'duration': '1s'},"
                 " {'output': ['', 'x']},"
                 " {'duration': '2s'},"
                 " {'duration': '2s', 'hang': true},"
                 " {'exit': 7},"
                 " {'output': ['only'], 'hang': true, 'deleteLog': '0s'},"
                 " {'output': ['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'duration': '10ms', 'exit': 1},"
                 " {'steps': [{'stdout': 'no newline'}, {'hang': true}]}]}");
    char buf[1024];
    int64_t del;
    int rc;
    /* the k-th line's wait ends at k * D / N: 333 + 333 + 334 = 1000 */
    assert_string_equal(stage_plan(s, 0, buf, sizeof buf, &del, &rc),
                        "out:a\n|sleep:333|out:b\n|sleep:333|out:c\n|sleep:334|exit:0");
    assert_int_equal(rc, 1);
    assert_string_equal(stage_plan(s, 1, buf, sizeof buf, &del, &rc), "out:\n|out:x\n|exit:0");
    assert_string_equal(stage_plan(s, 2, buf, sizeof buf, &del, &rc), "sleep:2000|exit:0");
    assert_string_equal(stage_plan(s, 3, buf, sizeof buf, &del, &rc), "sleep:2000|hang");
    assert_string_equal(stage_plan(s, 4, buf, sizeof buf, &del, &rc), "exit:7");
    assert_int_equal(del, -1);
    assert_string_equal(stage_plan(s, 5, buf, sizeof buf, &del, &rc), "out:only\n|hang");
    assert_int_equal(del, 0);
    /* waits of 0 ms are left out; they still add up to D */
    assert_string_equal(stage_plan(s, 6, buf, sizeof buf, &del, &rc),
                        "out:a\n|sleep:1|out:b\n|sleep:1|out:c\n|sleep:2|out:d\n|sleep:1|out:e\n|"
                        "sleep:2|out:f\n|sleep:1|out:g\n|sleep:2|exit:1");
    assert_string_equal(stage_plan(s, 7, buf, sizeof buf, &del, &rc), "out:no newline|hang");
    scenario_free(s);
}

/* ---- parse errors, one at a time ---- */

static void test_parse_errors(void **state)
{
    (void)state;
    fails("{'name': 'x', 'commands': {}}", "t.json: commands: expected an array, got object");
    fails("{'name': 'x', 'commands': [{'steps': [{'exit': 0}, {'exit': 1}]}]}",
          "t.json: commands[0].steps[1]: impossible combination: steps[0] ('exit') ends the "
          "command, so nothing can follow it");
    fails("{'name': 'x', 'commands': [{'steps': [{'hang': true}, {'sleep': '1s'}]}]}",
          "t.json: commands[0].steps[1]: impossible combination: steps[0] ('hang') ends the "
          "command, so nothing can follow it");
    fails("{'name': 'x', 'commands': [{'match': {'command': 'x'}}]}",
          "t.json: commands[0]: missing key 'steps'");
    fails("{'name': 'x', 'commands': [{'step': [{'exit': 0}]}]}",
          "t.json: commands[0]: unknown key 'step' (accepted: name, match, steps, echoStdin); did "
          "you mean 'steps'?\nt.json: commands[0]: missing key 'steps'");
    fails("{'name': 'x', 'stages': [{'stage': 'x', 'output': ['a'], 'steps': [{'exit': 0}]}]}",
          "t.json: stages[0]: give 'steps' or the shorthand 'output', 'exit', 'duration' and "
          "'hang', not both");
    fails("{'name': 'x', 'stages': [{'stage': 'x', 'exit': 0, 'hang': true}]}",
          "t.json: stages[0]: impossible combination: 'hang' never ends the stage, so it takes "
          "no 'exit'");
    fails("{'name': 'x', 'stages': [{'stage': 'x'}]}",
          "t.json: stages[0]: say what the stage does: give 'output', 'exit', 'duration', 'hang', "
          "'steps' or 'deleteLog'");
    fails("{'name': 'x', 'stages': [{'stage': 'x', 'steps': [{'stdin': true}]}]}",
          "t.json: stages[0].steps[0].stdin: a stage reads no stdin (its script is a file), so "
          "there is nothing to wait for");
    fails("{'name': 'x', 'stages': [{'stage': 'x', 'exit': 1, 'runningFor': {'min': '5s', "
          "'max': '5s'}}]}",
          "t.json: stages[0].runningFor: 'max' must be above 'min' (the entry holds from 'min' "
          "after the pod became Running until before 'max')");
    fails("{'name': 'x', 'stages': [{'stage': 'x', 'exit': 1, 'when': [{'path': 'a', "
          "'matches': 3}]}]}",
          "t.json: stages[0].when[0].matches: expected a string, got number");
    fails("{'name': 'x', 'rules': [{'match': {'verb': 'watch'}, 'fault': {'type': "
          "'exec-no-pong'}}]}",
          "t.json: rules[0].match.verb: impossible combination: 'exec-no-pong' is a stream "
          "fault, it acts on exec and attach streams, but the match selects neither (add 'exec' "
          "or 'attach' to 'verb')");
    fails("{'name': 'x', 'rules': [{'fault': {'type': 'exec-exit', 'code': 256}}]}",
          "t.json: rules[0].fault.code: expected an integer from 0 to 255, got 256");
    fails("{'name': 'x', 'pods': [{'when': [{'path': 'a', 'matches': ''}]}]}",
          "t.json: pods[0].when[0].matches: expected a pattern of 1 to 1024 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),        cmocka_unit_test(test_command_matching),
        cmocka_unit_test(test_command_find), cmocka_unit_test(test_stage_find),
        cmocka_unit_test(test_stage_plans),  cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
