/* test_podscript.c -- tests harness/podscript.c's interpretation of "pods" scripts: which script a
 * pod follows (name and namespace patterns, every kind of "when"), placeholders, scheduling delays
 * (durations and seeded distributions), kube-scheduler's retry clock, which script a container
 * follows, and the containers' timeline (init containers in turn, waiting "for" from creation,
 * readiness and exits, failures that stop the rest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/podscript.h"
#include "harness/scenario.h"
#include "mockapi/base/rng.h"
#include "testutil.h"

/* ---- helpers ---- */

/* A scenario with these "pods" entries (validated as kubefault check would). */
static struct scenario *scenario(const char *pods)
{
    char text[8192];
    struct diag d;
    snprintf(text, sizeof text, "{'name': 'unit', 'pods': %s}", pods);
    char *t = dq(text);
    diag_init(&d, "t.json");
    struct scenario *s = scenario_parse("t.json", t, strlen(t), &d);
    if (!s)
        fail_msg("scenario: %s", d.n ? d.msgs[0] : "scenario_parse failed");
    diag_release(&d);
    free(t);
    return s;
}

/* The first entry of a scenario's pods, as the engine keeps it. */
static const cJSON *script0(const struct scenario *s)
{
    assert_true(s->npods > 0);
    return s->pods[0].spec;
}

/* ---- which script ---- */

static const char POD_LINUX[] = "{'metadata': {'name': 'runner-abc', 'namespace': 'gitlab'},"
                                " 'spec': {'nodeSelector': {'kubernetes.io/os': 'linux'},"
                                "          'containers': [{'name': 'build', 'image': 'alpine'},"
                                "                         {'name': 'helper', 'image': 'h'}]}}";
static const char POD_PLAIN[] = "{'metadata': {'name': 'runner-xyz', 'namespace': 'gitlab'},"
                                " 'spec': {'containers': [{'name': 'build', 'image': 'alpine'}]}}";

static void test_find_by_name_and_namespace(void **state)
{
    (void)state;
    struct scenario *s = scenario("[{'match': {'name': 'other-*'}},"
                                  " {'match': {'name': 'runner-*', 'namespace': 'default'}},"
                                  " {'match': {'name': 'runner-*', 'namespace': 'git*'}},"
                                  " {'match': {'name': 'runner-abc'}}]");
    cJSON *a = json(POD_LINUX), *b = json(POD_PLAIN);
    assert_int_equal(podscript_find(s, a), 2); /* the first that matches, not the exact one */
    assert_int_equal(podscript_find(s, b), 2);
    cJSON *c = json("{'metadata': {'name': 'web', 'namespace': 'gitlab'}}");
    assert_int_equal(podscript_find(s, c), -1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    scenario_free(s);
}

static void test_find_when(void **state)
{
    (void)state;
    struct scenario *s = scenario(
        "[{'match': {'name': 'none'}},"
        " {'when': [{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'equals': 'windows'}]},"
        " {'when': [{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'absent': true}]},"
        " {'when': [{'path': 'spec.containers[*].name', 'equals': 'helper'},"
        "           {'path': 'spec.nodeSelector', 'exists': true}]}]");
    cJSON *linux_pod = json(POD_LINUX), *plain = json(POD_PLAIN);
    assert_int_equal(podscript_find(s, plain), 2);     /* no OS selector: the Windows node */
    assert_int_equal(podscript_find(s, linux_pod), 3); /* [*]: some container is "helper" */
    cJSON_Delete(linux_pod);
    cJSON_Delete(plain);
    scenario_free(s);

    s = scenario("[{'when': [{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']',"
                 "            'notEquals': 'linux'}]}]");
    linux_pod = json(POD_LINUX);
    plain = json(POD_PLAIN);
    assert_int_equal(podscript_find(s, linux_pod), -1);
    assert_int_equal(podscript_find(s, plain), 0); /* absent is not equal */
    cJSON_Delete(linux_pod);
    cJSON_Delete(plain);
    scenario_free(s);
}

/* ---- placeholders ---- */

static void test_expand(void **state)
{
    (void)state;
    char buf[256];
    struct podscript_vars v = {"runner-1", "gitlab", "u-1", "node-a", "init-permissions"};
    assert_string_equal(
        podscript_expand("{container}_{name}_{namespace}_{uid}_0 on {node}", &v, buf, sizeof buf),
        "init-permissions_runner-1_gitlab_u-1_0 on node-a");
    /* anything else in braces is text */
    assert_string_equal(
        podscript_expand("[]v1.HostAlias{v1.HostAlias{IP:\"x\"}} {names} {", &v, buf, sizeof buf),
        "[]v1.HostAlias{v1.HostAlias{IP:\"x\"}} {names} {");
    struct podscript_vars none = {0};
    assert_string_equal(podscript_expand("<{container}>", &none, buf, sizeof buf), "<>");
    char small[8];
    assert_string_equal(podscript_expand("{namespace}-{name}", &v, small, sizeof small), "gitlab-");
    assert_string_equal(podscript_expand("abcdefghijk", &v, small, sizeof small), "abcdefg");
}

/* ---- scheduling ---- */

static void test_schedule_delay(void **state)
{
    (void)state;
    struct rng r;
    rng_init(&r, 7);
    struct scenario *s =
        scenario("[{'schedule': {'delay': '1m30s'}},"
                 " {'schedule': {'delay': {'fixed': '250ms'}}},"
                 " {'schedule': {'delay': {'uniform': {'min': '1s', 'max': '2s'}}}},"
                 " {'schedule': {'delay': {'lognormal': {'median': '10s',"
                 "   'sigma': 2}, 'max': '12s'}}},"
                 " {'schedule': {'unschedulable': {'message': 'm'}}},"
                 " {'match': {'name': 'x'}}]");
    assert_int_equal(podscript_schedule_delay(s->pods[0].spec, &r), 90000);
    assert_int_equal(podscript_schedule_delay(s->pods[1].spec, &r), 250);
    int64_t first[20];
    for (int i = 0; i < 20; i++) {
        first[i] = podscript_schedule_delay(s->pods[2].spec, &r);
        assert_in_range(first[i], 1000, 2000);
    }
    for (int i = 0; i < 50; i++)
        assert_in_range(podscript_schedule_delay(s->pods[3].spec, &r), 0, 12000);
    assert_int_equal(podscript_schedule_delay(s->pods[4].spec, &r), -1);
    assert_int_equal(podscript_schedule_delay(s->pods[5].spec, &r), -1);
    /* the same seed, the same draws */
    rng_init(&r, 7);
    podscript_schedule_delay(s->pods[0].spec, &r);
    podscript_schedule_delay(s->pods[1].spec, &r);
    for (int i = 0; i < 20; i++)
        assert_int_equal(podscript_schedule_delay(s->pods[2].spec, &r), first[i]);
    scenario_free(s);

    /* empirical: one of the measured delays, cut at max */
    s = scenario("[{'schedule': {'delay': {'empirical': ['12s', '31s', '2m5s'], 'max': '1m'}}}]");
    int seen12 = 0, seen31 = 0, seen60 = 0;
    for (int i = 0; i < 60; i++) {
        int64_t ms = podscript_schedule_delay(s->pods[0].spec, &r);
        assert_true(ms == 12000 || ms == 31000 || ms == 60000);
        seen12 |= ms == 12000;
        seen31 |= ms == 31000;
        seen60 |= ms == 60000;
    }
    assert_true(seen12 && seen31 && seen60);
    scenario_free(s);
}

static void test_retry_clock(void **state)
{
    (void)state;
    /* flushUnschedulablePodsLeftover runs every 30 s and moves pods unschedulable > 5 min */
    assert_int_equal(podscript_retry_ms(0), 330000);
    assert_int_equal(podscript_retry_ms(50), 330000);
    assert_int_equal(podscript_retry_ms(29999), 330000);
    assert_int_equal(podscript_retry_ms(30000), 360000);
    assert_int_equal(podscript_retry_ms(330000), 660000);
    for (int64_t last = 0; last < 200000; last += 777) {
        int64_t next = podscript_retry_ms(last);
        assert_true(next - last > PODSCRIPT_RETRY_MS);
        assert_true(next - last <= PODSCRIPT_RETRY_MS + PODSCRIPT_FLUSH_MS);
        assert_int_equal(next % PODSCRIPT_FLUSH_MS, 0);
    }
}

/* ---- containers ---- */

static void test_container_script(void **state)
{
    (void)state;
    struct scenario *s =
        scenario("[{'containers': {'svc-*': {'readyAfter': '1s'}, '*': {'exitCode': 1},"
                 "                 'svc-0': {'readyAfter': '2s'}},"
                 "  'initContainers': {'init-permissions': {'exitCode': 0}}}]");
    const cJSON *sc = script0(s);
    assert_string_equal(podscript_container_script(sc, "containers", "svc-0")->string, "svc-0");
    assert_string_equal(podscript_container_script(sc, "containers", "svc-1")->string, "svc-*");
    assert_string_equal(podscript_container_script(sc, "containers", "build")->string, "*");
    assert_non_null(podscript_container_script(sc, "initContainers", "init-permissions"));
    assert_null(podscript_container_script(sc, "initContainers", "other"));
    assert_null(podscript_container_script(NULL, "containers", "build"));
    scenario_free(s);
}

#define MAXA 32

struct expect_action {
    int64_t at;
    enum podscript_act act;
    size_t container;
    int arg; /* RUN: ready; EXIT: exit code */
};

static void plan_is(const char *pods, const char *pod_text, int64_t start,
                    const struct expect_action *want, size_t nwant)
{
    struct scenario *s = scenario(pods);
    cJSON *pod = json(pod_text);
    struct podscript_action got[MAXA];
    size_t n = podscript_plan(script0(s), pod, start, got, MAXA);
    for (size_t i = 0; i < n && i < nwant; i++) {
        if (got[i].at_ms != want[i].at || got[i].act != want[i].act ||
            got[i].container != want[i].container ||
            (got[i].act == PODSCRIPT_RUN && got[i].ready != want[i].arg) ||
            (got[i].act == PODSCRIPT_EXIT && got[i].exit_code != want[i].arg))
            fail_msg("action %zu: got {%lld, %d, %zu, ready %d, exit %d}, want {%lld, %d, %zu, %d}",
                     i, (long long)got[i].at_ms, (int)got[i].act, got[i].container, got[i].ready,
                     got[i].exit_code, (long long)want[i].at, (int)want[i].act, want[i].container,
                     want[i].arg);
    }
    if (n != nwant)
        fail_msg("%zu actions, want %zu", n, nwant);
    cJSON_Delete(pod);
    scenario_free(s);
}

static const char POD_INIT[] = "{'metadata': {'name': 'runner-1', 'namespace': 'gitlab'},"
                               " 'spec': {'initContainers': [{'name': 'init-permissions'}],"
                               "          'containers': [{'name': 'build'}, {'name': 'helper'},"
                               "                         {'name': 'svc-0'}]}}";

static void test_plan_defaults(void **state)
{
    (void)state;
    /* nothing scripted for these containers: the init container runs and completes, then every
     * container runs, ready at once */
    const struct expect_action want[] = {
        {200, PODSCRIPT_RUN, 0, 0}, {200, PODSCRIPT_EXIT, 0, 0}, {200, PODSCRIPT_RUN, 1, 1},
        {200, PODSCRIPT_RUN, 2, 1}, {200, PODSCRIPT_RUN, 3, 1},
    };
    plan_is("[{'containers': {'other': {'readyAfter': '1s'}}}]", POD_INIT, 200, want,
            sizeof want / sizeof want[0]);
}

static void test_plan_init_waits(void **state)
{
    (void)state;
    /* catalogue 17: the init container cannot be created, for good: nothing else happens */
    const struct expect_action forever[] = {{200, PODSCRIPT_WAIT, 0, 0}};
    plan_is("[{'initContainers': {'init-*': {'waiting': {'reason': 'CreateContainerError'}}}}]",
            POD_INIT, 200, forever, 1);
    /* for 1s (from creation), then it runs, completes, and the containers start */
    const struct expect_action a_while[] = {
        {200, PODSCRIPT_WAIT, 0, 0}, {1000, PODSCRIPT_RUN, 0, 0}, {1000, PODSCRIPT_EXIT, 0, 0},
        {1000, PODSCRIPT_RUN, 1, 1}, {1000, PODSCRIPT_RUN, 2, 1}, {1000, PODSCRIPT_RUN, 3, 1},
    };
    plan_is("[{'initContainers': {'init-permissions': {'waiting': {'reason': "
            "'CreateContainerError', 'for': '1s'}}}}]",
            POD_INIT, 200, a_while, sizeof a_while / sizeof a_while[0]);
    /* a "for" already over when its turn comes: no waiting at all */
    const struct expect_action over[] = {
        {2000, PODSCRIPT_RUN, 0, 0}, {2000, PODSCRIPT_EXIT, 0, 0}, {2000, PODSCRIPT_RUN, 1, 1},
        {2000, PODSCRIPT_RUN, 2, 1}, {2000, PODSCRIPT_RUN, 3, 1},
    };
    plan_is("[{'initContainers': {'init-permissions': {'waiting': {'reason': "
            "'ErrImagePull', 'for': '1s'}}}}]",
            POD_INIT, 2000, over, sizeof over / sizeof over[0]);
}

static void test_plan_init_fails(void **state)
{
    (void)state;
    /* runs 300ms, exits 1: the containers never start */
    const struct expect_action want[] = {{100, PODSCRIPT_RUN, 0, 0}, {400, PODSCRIPT_EXIT, 0, 1}};
    plan_is("[{'initContainers': {'init-permissions': {'exitCode': 1, 'exitAfter': '300ms'}}}]",
            POD_INIT, 100, want, 2);
}

static void test_plan_containers(void **state)
{
    (void)state;
    /* build pulls for 2s; svc-0 (docker:dind) is ready 5s after it starts; helper exits 3 after
     * 1s; init completes at once */
    const struct expect_action want[] = {
        {200, PODSCRIPT_RUN, 0, 0},  {200, PODSCRIPT_EXIT, 0, 0},   {200, PODSCRIPT_WAIT, 1, 0},
        {200, PODSCRIPT_RUN, 2, 1},  {200, PODSCRIPT_RUN, 3, 0},    {1200, PODSCRIPT_EXIT, 2, 3},
        {2000, PODSCRIPT_RUN, 1, 1}, {5200, PODSCRIPT_READY, 3, 0},
    };
    plan_is("[{'containers': {'build': {'waiting': {'reason': 'ErrImagePull', 'for': '2s'}},"
            "                 'helper': {'exitCode': 3, 'exitAfter': '1s'},"
            "                 'svc-*': {'readyAfter': '5s'}}}]",
            POD_INIT, 200, want, sizeof want / sizeof want[0]);
    /* waiting for good: that container only waits; the others run */
    const struct expect_action forever[] = {
        {50, PODSCRIPT_WAIT, 0, 0},
        {50, PODSCRIPT_RUN, 1, 1},
    };
    plan_is("[{'containers': {'build': {'waiting': {'reason': 'ImagePullBackOff'}}}}]", POD_LINUX,
            50, forever, 2);
    /* exitCode without exitAfter: it runs and exits at once */
    const struct expect_action at_once[] = {
        {50, PODSCRIPT_RUN, 0, 1}, {50, PODSCRIPT_EXIT, 0, 0}, {50, PODSCRIPT_RUN, 1, 1}};
    plan_is("[{'containers': {'build': {'exitCode': 0}}}]", POD_LINUX, 50, at_once, 3);
}

static void test_plan_capacity(void **state)
{
    (void)state;
    struct scenario *s = scenario("[{'containers': {'*': {'readyAfter': '1s'}}}]");
    cJSON *pod = json(POD_INIT);
    struct podscript_action out[3];
    /* 2 for the init container, 2 for each of 3 containers */
    assert_int_equal(podscript_plan(script0(s), pod, 0, NULL, 0), 8);
    assert_int_equal(podscript_plan(script0(s), pod, 0, out, 3), 8);
    assert_int_equal(out[0].act, PODSCRIPT_RUN);
    assert_int_equal(out[1].act, PODSCRIPT_EXIT);
    assert_int_equal(out[2].container, 1);
    cJSON_Delete(pod);
    scenario_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_by_name_and_namespace),
        cmocka_unit_test(test_find_when),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_schedule_delay),
        cmocka_unit_test(test_retry_clock),
        cmocka_unit_test(test_container_script),
        cmocka_unit_test(test_plan_defaults),
        cmocka_unit_test(test_plan_init_waits),
        cmocka_unit_test(test_plan_init_fails),
        cmocka_unit_test(test_plan_containers),
        cmocka_unit_test(test_plan_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
