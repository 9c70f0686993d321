/* test_jobconfig.c -- tests harness/jobconfig.c: the runner's defaults for [runners.kubernetes]
 * (runner-k8s-executor.md §5: "<= 0 means" rules, the retry_backoff_max clamp, print_pod_warning_
 * events on, FF_USE_POD_ACTIVE_DEADLINE_SECONDS on), --set assignments (sections, feature flags,
 * MAP.KEY, JSON or text values), job variables overriding feature flags, and errors named by JSON
 * path (unknown keys with a suggestion, wrong types, unmodelled settings and flags). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/jobconfig.h"
#include "testutil.h"

/* Parse text (written with ' for ") and apply sets; 0 with *c filled, or -1 with the first
 * message in err. */
static int load(const char *text, const char *const *sets, struct jobconfig *c, char *err,
                size_t errlen)
{
    cJSON *doc = json(text);
    struct diag d;
    diag_init(&d, "t.json");
    int rc = 0;
    for (size_t i = 0; sets && sets[i] && rc == 0; i++)
        rc = jobconfig_set(doc, sets[i], &d);
    if (rc == 0)
        rc = jobconfig_from_json(doc, c, &d);
    snprintf(err, errlen, "%s", d.n ? d.msgs[0] : "");
    diag_release(&d);
    cJSON_Delete(doc);
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    struct jobconfig c;
    char err[512];
    assert_int_equal(load("{}", NULL, &c, err, sizeof err), 0);
    assert_int_equal(c.poll_interval, 3);
    assert_int_equal(c.poll_timeout, 180);
    assert_int_equal(c.retry_limit, 5);
    assert_int_equal(c.retry_backoff_max_ms, 2000);
    assert_int_equal(c.cleanup_resources_timeout_ms, 300000);
    assert_int_equal(c.cleanup_grace_period_seconds, -1);
    assert_int_equal(c.pod_termination_grace_period_seconds, -1);
    assert_int_equal(c.print_pod_warning_events, 1);
    assert_string_equal(c.namespace, "");
    assert_int_equal(c.ff[JC_FF_LEGACY_EXECUTION], 0);
    assert_int_equal(c.ff[JC_FF_POD_ACTIVE_DEADLINE], 1);
    assert_int_equal(c.job_timeout, 3600);
    assert_int_equal(c.nscript, 1);
    assert_string_equal(c.helper_image, JOBCONFIG_HELPER_IMAGE);
    jobconfig_release(&c);
    /* "<= 0 means the default", and the 500 ms clamp */
    assert_int_equal(load("{'kubernetes':{'poll_interval':0,'poll_timeout':-5,'retry_limit':0,"
                          "'retry_backoff_max':100},'job':{'timeout':0}}",
                          NULL, &c, err, sizeof err),
                     0);
    assert_int_equal(c.poll_interval, 3);
    assert_int_equal(c.poll_timeout, 180);
    assert_int_equal(c.retry_limit, 5);
    assert_int_equal(c.retry_backoff_max_ms, 500);
    assert_int_equal(c.job_timeout, 7200);
    jobconfig_release(&c);
}

static void test_full_config(void **state)
{
    (void)state;
    struct jobconfig c;
    char err[512];
    assert_int_equal(
        load(
            "{'runner':{'name':'r1','token':'glrt-abcdefgh'},'kubernetes':{'host':'https://h:6443',"
            "'bearer_token':'t','ca_file':'/ca.crt','namespace':'ci','image':'alpine',"
            "'poll_interval':1,'poll_timeout':5,'retry_limits':{'etcdserver: leader changed':3},"
            "'cleanup_grace_period_seconds':0,'cleanup_resources_timeout':'30s',"
            "'pull_policy':'always','allowed_pull_policies':['always','never'],"
            "'node_selector':{'kubernetes.io/os':'linux'},'services':['redis:7',{'name':"
            "'postgres:16','alias':'db','command':['postgres','-c','fsync=off']}]},"
            "'feature_flags':{'FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY':true},"
            "'job':{'id':42,'project_id':7,'script':'make','variables':{'A':'1','N':2},"
            "'credentials':[{'url':'r.example.com','username':'u','password':'p'}]}}",
            NULL, &c, err, sizeof err),
        0);
    assert_string_equal(c.host, "https://h:6443");
    assert_string_equal(c.runner_token, "glrt-abcdefgh");
    assert_int_equal(c.nretry_limits, 1);
    assert_string_equal(c.retry_limits[0].substring, "etcdserver: leader changed");
    assert_int_equal(c.retry_limits[0].limit, 3);
    assert_int_equal(c.cleanup_grace_period_seconds, 0);
    assert_int_equal(c.cleanup_resources_timeout_ms, 30000);
    assert_int_equal(c.npull_policy, 1);
    assert_string_equal(c.pull_policy[0], "always");
    assert_int_equal(c.nallowed_pull_policies, 2);
    assert_string_equal(c.node_selector[0].value, "linux");
    assert_int_equal(c.nservices, 2);
    assert_string_equal(c.services[0].name, "redis:7");
    assert_string_equal(c.services[1].alias, "db");
    assert_int_equal(c.services[1].ncommand, 3);
    assert_int_equal(c.ff[JC_FF_LEGACY_EXECUTION], 1);
    assert_int_equal(c.nscript, 1);
    assert_string_equal(c.script[0], "make");
    assert_string_equal(jobconfig_variable(&c, "N"), "2");
    assert_int_equal(c.ncredentials, 1);
    jobconfig_release(&c);
}

static void test_set(void **state)
{
    (void)state;
    struct jobconfig c;
    char err[512];
    const char *sets[] = {"poll_timeout=2",
                          "kubernetes.image=alpine:3.20",
                          "namespace=\"true\"",
                          "job.script=[\"echo a\",\"exit 1\"]",
                          "job.timeout=30",
                          "FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY=true",
                          "retry_limits.etcdserver: leader changed=4",
                          "node_selector.kubernetes.io/os=linux",
                          "job.variables.GIT_STRATEGY=none",
                          "runner.hostname=my host",
                          NULL};
    assert_int_equal(load("{'kubernetes':{'poll_timeout':99}}", sets, &c, err, sizeof err), 0);
    assert_int_equal(c.poll_timeout, 2);
    assert_string_equal(c.image, "alpine:3.20");
    assert_string_equal(c.namespace, "true");
    assert_int_equal(c.nscript, 2);
    assert_string_equal(c.script[1], "exit 1");
    assert_int_equal(c.job_timeout, 30);
    assert_int_equal(c.ff[JC_FF_LEGACY_EXECUTION], 1);
    assert_string_equal(c.retry_limits[0].substring, "etcdserver: leader changed");
    assert_int_equal(c.retry_limits[0].limit, 4);
    assert_string_equal(c.node_selector[0].key, "kubernetes.io/os");
    assert_string_equal(jobconfig_variable(&c, "GIT_STRATEGY"), "none");
    assert_string_equal(c.runner_hostname, "my host");
    jobconfig_release(&c);

    const char *bad1[] = {"poll_timeout", NULL};
    assert_int_equal(load("{}", bad1, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.json: \"poll_timeout\" is not key=value");
    const char *bad2[] = {"image.x=1", NULL};
    assert_int_equal(load("{}", bad2, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "kubernetes.image is not a map"));
    const char *bad3[] = {"namespace=true", NULL};
    assert_int_equal(load("{}", bad3, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.json: kubernetes.namespace: expected a string, got boolean");
}

/* A job variable named like a feature flag wins over [runners.feature_flags]. */
static void test_feature_flags(void **state)
{
    (void)state;
    struct jobconfig c;
    char err[512];
    assert_int_equal(load("{'feature_flags':{'FF_USE_POD_ACTIVE_DEADLINE_SECONDS':true},'job':"
                          "{'variables':{'FF_USE_POD_ACTIVE_DEADLINE_SECONDS':'false',"
                          "'FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY':'true'}}}",
                          NULL, &c, err, sizeof err),
                     0);
    assert_int_equal(c.ff[JC_FF_POD_ACTIVE_DEADLINE], 0);
    assert_int_equal(c.ff[JC_FF_LEGACY_EXECUTION], 1);
    jobconfig_release(&c);
    assert_int_equal(load("{'feature_flags':{'FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGI':true}}",
                          NULL, &c, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "unknown feature flag"));
    assert_non_null(strstr(err, "did you mean \"FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY\"?"));
    assert_int_equal(
        load("{'feature_flags':{'FF_PRINT_POD_EVENTS':true}}", NULL, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.json: feature_flags.FF_PRINT_POD_EVENTS: a feature flag the "
                             "reference job client does not model");
    /* off is fine: it is the runner's default */
    assert_int_equal(
        load("{'feature_flags':{'FF_PRINT_POD_EVENTS':false}}", NULL, &c, err, sizeof err), 0);
    jobconfig_release(&c);
}

static void test_errors(void **state)
{
    (void)state;
    struct jobconfig c;
    char err[2048];
    assert_int_equal(load("{'kubernetes':{'pol_timeout':3}}", NULL, &c, err, sizeof err), -1);
    assert_null(strstr(err, "pod_disruption_budget")); /* "accepted" lists what is modelled */
    assert_non_null(strstr(err, "t.json: kubernetes: unknown key \"pol_timeout\""));
    assert_non_null(strstr(err, "did you mean \"poll_timeout\"?"));
    assert_int_equal(load("{'kubernetes':{'poll_timeout':'3'}}", NULL, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "kubernetes.poll_timeout: expected an integer"));
    assert_int_equal(
        load("{'kubernetes':{'pull_policy':['sometimes']}}", NULL, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.json: kubernetes.pull_policy[0]: unknown pull policy "
                             "\"sometimes\" (known: always, if-not-present, never)");
    assert_int_equal(
        load("{'kubernetes':{'pod_disruption_budget':true}}", NULL, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.json: kubernetes.pod_disruption_budget: a runner setting the "
                             "reference job client does not model");
    assert_int_equal(
        load("{'kubernetes':{'cleanup_resources_timeout':300}}", NULL, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "kubernetes.cleanup_resources_timeout"));
    assert_int_equal(load("{'job':{'services':[{'alias':'db'}]}}", NULL, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.json: job.services[0]: a service needs a \"name\" (its image)");
    assert_int_equal(load("{'runner':{'token':'short'}}", NULL, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.json: runner.token: needs at least 8 characters (they name the "
                             "pods)");
    assert_int_equal(load("{'jobs':{}}", NULL, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown key \"jobs\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_set),      cmocka_unit_test(test_feature_flags),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
