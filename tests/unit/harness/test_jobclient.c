/* test_jobclient.c -- tests the pure parts of harness/jobclient.c against
 * runner-k8s-executor.md: the §6 retry decision (the network error substrings verbatim,
 * "etcdserver: leader changed" and friends not retried, retry_limits winning with its own count),
 * the backoff (500 ms doubling to retry_backoff_max), the §7.8 pull-policy texts, Go's duration
 * format used in the timeout texts, and each container's securityContext as common/config.go
 * builds it. (The job itself is tested over sockets in
 * tests/integration/test_it_jobclient*.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/jobclient.h"
#include "harness/jobconfig.h"
#include "tests/secctx.h"
#include "harness/kclient.h"

static void config(struct jobconfig *c, const char *text)
{
    struct diag d;
    diag_init(&d, "t.json");
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    if (jobconfig_from_json(doc, c, &d) < 0)
        fail_msg("config: %s", d.n ? d.msgs[0] : "?");
    cJSON_Delete(doc);
    diag_release(&d);
}

static void test_retryable(void **state)
{
    (void)state;
    struct jobconfig c;
    config(&c, "{}");
    /* §6, verbatim */
    static const char *const yes[] = {
        "error dialing backend: dial tcp 10.0.0.1:10250: i/o timeout",
        "net/http: TLS handshake timeout",
        "read tcp 1.2.3.4:5->6.7.8.9:443: read: connection timed out",
        "dial tcp 1.2.3.4:443: connect: connection timed out",
        "Timeout occurred",
        "etcdserver: request timed out",
        "etcdserver: request timed out, possibly due to previous leader failure",
        "http2: client connection lost",
        "Post \"https://h/api/v1/namespaces/default/pods\": dial tcp 127.0.0.1:1: connect: "
        "connection refused",
        "remote error: tls: internal error",
        "unexpected EOF",
        "read tcp a->b: read: connection reset by peer",
        "write tcp a->b: write: broken pipe",
        "software caused connection abort",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        int limit = 0;
        if (!jobclient_retryable(&c, yes[i], &limit))
            fail_msg("not retried: %s", yes[i]);
        assert_int_equal(limit, 5);
    }
    static const char *const no[] = {
        "etcdserver: leader changed",
        "exceeded quota: compute-resources, requested: pods=1, used: pods=10, limited: pods=10",
        "Timeout: request did not complete within requested timeout - context deadline exceeded",
        "context deadline exceeded",
        "admission webhook \"x\" denied the request: no",
        "pods \"x\" already exists",
        "Post \"https://h/api\": EOF",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        int limit = 0;
        if (jobclient_retryable(&c, no[i], &limit))
            fail_msg("retried: %s", no[i]);
    }
    jobconfig_release(&c);
    config(&c, "{\"kubernetes\":{\"retry_limit\":2,\"retry_limits\":{\"leader changed\":7,"
               "\"connection refused\":1}}}");
    int limit = 0;
    assert_true(jobclient_retryable(&c, "etcdserver: leader changed", &limit));
    assert_int_equal(limit, 7);
    assert_true(jobclient_retryable(&c, "dial tcp: connect: connection refused", &limit));
    assert_int_equal(limit, 1); /* retry_limits wins over retry_limit */
    assert_true(jobclient_retryable(&c, "unexpected EOF", &limit));
    assert_int_equal(limit, 2);
    jobconfig_release(&c);
}

static void test_backoff(void **state)
{
    (void)state;
    /* jpillora/backoff min 500 ms, factor 2, max retry_backoff_max (default 2 s) */
    assert_int_equal(jobclient_backoff_ms(1, 2000), 500);
    assert_int_equal(jobclient_backoff_ms(2, 2000), 1000);
    assert_int_equal(jobclient_backoff_ms(3, 2000), 2000);
    assert_int_equal(jobclient_backoff_ms(4, 2000), 2000);
    assert_int_equal(jobclient_backoff_ms(9, 5000), 5000);
    assert_int_equal(jobclient_backoff_ms(3, 100), 500); /* clamped to the floor */
}

static void test_pull_policies(void **state)
{
    (void)state;
    char out[512];
    char a[] = "always", i[] = "if-not-present", n[] = "never";
    char *always[] = {a};
    char *ifnp[] = {i};
    char *both[] = {a, i};
    char *never[] = {n};
    /* nothing configured: the cluster default, printed as [] */
    assert_int_equal(jobclient_pull_policies(NULL, 0, NULL, 0, NULL, 0, out, sizeof out), 0);
    assert_string_equal(out, "[]");
    assert_int_equal(jobclient_pull_policies(NULL, 0, both, 2, NULL, 0, out, sizeof out), 0);
    assert_string_equal(out, "[Always IfNotPresent]");
    /* the CI's wins over the runner's; the intersection with allowed */
    assert_int_equal(jobclient_pull_policies(ifnp, 1, always, 1, both, 2, out, sizeof out), 0);
    assert_string_equal(out, "[IfNotPresent]");
    /* §7.8 texts, with the three sources */
    assert_int_equal(jobclient_pull_policies(always, 1, NULL, 0, ifnp, 1, out, sizeof out), -1);
    assert_string_equal(out, "pull_policy ([Always]) defined in GitLab pipeline config is not one "
                             "of the allowed_pull_policies ([IfNotPresent])");
    assert_int_equal(jobclient_pull_policies(NULL, 0, both, 2, never, 1, out, sizeof out), -1);
    assert_string_equal(out, "pull_policy ([Always IfNotPresent]) defined in Runner config is not "
                             "one of the allowed_pull_policies ([Never])");
    assert_int_equal(jobclient_pull_policies(NULL, 0, NULL, 0, never, 1, out, sizeof out), -1);
    assert_string_equal(out, "pull_policy ([]) defined in Runner config (default) is not one of "
                             "the allowed_pull_policies ([Never])");
}

static void test_go_duration(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(jobclient_go_duration(b, sizeof b, 3600), "1h0m0s");
    assert_string_equal(jobclient_go_duration(b, sizeof b, 3), "3s");
    assert_string_equal(jobclient_go_duration(b, sizeof b, 150), "2m30s");
    assert_string_equal(jobclient_go_duration(b, sizeof b, 7261), "2h1m1s");
    assert_string_equal(jobclient_go_duration(b, sizeof b, 0), "0s");
}

/* Go's url.QueryEscape, which the exec URLs in the runner's error texts are written with (§4.3) */
static void test_query_escape(void **state)
{
    (void)state;
    char buf[256];
    size_t used = 0;
    buf[0] = '\0';
    assert_int_equal(kc_query_escape(buf, sizeof buf, &used, "if [ -x /usr/local/bin/bash ]; then"),
                     0);
    assert_string_equal(buf, "if+%5B+-x+%2Fusr%2Flocal%2Fbin%2Fbash+%5D%3B+then");
    used = 0;
    assert_int_equal(kc_query_escape(buf, sizeof buf, &used, "a-b_c.d~e=f&g\n"), 0);
    assert_string_equal(buf, "a-b_c.d~e%3Df%26g%0A");
    used = 0;
    assert_int_equal(kc_query_escape(buf, 8, &used, "0123456789"), -1);
}

/* ---- container security contexts ----
 * What the runner sends, worked out from common/config.go (GetContainerSecurityContext,
 * getCapabilities, mergeCapabilitiesAddDrop, getContainerSecurityContextEffectiveFlagValue,
 * getProcMount) and executors/kubernetes/kubernetes.go (defaultCapDrop: NET_RAW, none for
 * Windows; which table each container gets), in the JSON names of k8s.io/api SecurityContext. */

/* The securityContext of container kind k under configuration text equals want (both JSON, the
 * capability lists compared as sets). */
static void assert_secctx(const char *text, enum jobconfig_container k, const char *want)
{
    struct jobconfig c;
    char what[512];
    config(&c, text);
    cJSON *got = jobclient_security_context(&c, k);
    assert_non_null(got);
    snprintf(what, sizeof what, "%s (config %s)", jobconfig_container_section(k), text);
    secctx_assert_equal(got, want, what);
    cJSON_Delete(got);
    jobconfig_release(&c);
}

/* No setting at all: every container drops NET_RAW and nothing else (defaultCapDrop through
 * getCapabilities; the other fields are nil pointers, left out by omitempty). */
static void test_security_context_defaults(void **state)
{
    (void)state;
    for (int k = 0; k < JC_CTR_COUNT; k++)
        assert_secctx("{}", (enum jobconfig_container)k,
                      "{\"capabilities\":{\"drop\":[\"NET_RAW\"]}}");
    /* Windows (the helper image's OS from the node selector): no default drop, and with nothing
     * else the runner still sends an empty SecurityContext, never nil */
    for (int k = 0; k < JC_CTR_COUNT; k++)
        assert_secctx("{\"kubernetes\":{\"node_selector\":{\"kubernetes.io/os\":\"windows\"}}}",
                      (enum jobconfig_container)k, "{}");
    assert_secctx("{\"kubernetes\":{\"node_selector\":{\"kubernetes.io/os\":\"linux\"}}}",
                  JC_CTR_HELPER, "{\"capabilities\":{\"drop\":[\"NET_RAW\"]}}");
}

/* The top-level settings apply to every container when its table does not say: privileged and
 * allow_privilege_escalation fall back to them; cap_add/cap_drop go over the default drop, a
 * name in cap_drop winning over cap_add, cap_add winning over the default NET_RAW drop. */
static void test_security_context_top_level(void **state)
{
    (void)state;
    static const char cfg[] =
        "{\"kubernetes\":{\"privileged\":true,\"allow_privilege_escalation\":false,"
        "\"cap_add\":[\"NET_ADMIN\",\"SYS_TIME\",\"CHOWN\"],\"cap_drop\":[\"CHOWN\",\"MKNOD\"]}}";
    for (int k = 0; k < JC_CTR_COUNT; k++)
        assert_secctx(cfg, (enum jobconfig_container)k,
                      "{\"capabilities\":{\"add\":[\"NET_ADMIN\",\"SYS_TIME\"],"
                      "\"drop\":[\"NET_RAW\",\"CHOWN\",\"MKNOD\"]},\"privileged\":true,"
                      "\"allowPrivilegeEscalation\":false}");
    assert_secctx("{\"kubernetes\":{\"cap_add\":[\"NET_RAW\"]}}", JC_CTR_BUILD,
                  "{\"capabilities\":{\"add\":[\"NET_RAW\"]}}");
    assert_secctx("{\"kubernetes\":{\"cap_add\":[\"NET_RAW\"],\"cap_drop\":[\"NET_RAW\"]}}",
                  JC_CTR_SERVICE, "{\"capabilities\":{\"drop\":[\"NET_RAW\"]}}");
    assert_secctx("{\"kubernetes\":{\"privileged\":false}}", JC_CTR_INIT_PERMISSIONS,
                  "{\"capabilities\":{\"drop\":[\"NET_RAW\"]},\"privileged\":false}");
}

/* Each container takes its own table: build_ for build, helper_ for helper, service_ for every
 * service, init_permissions_ for init-permissions; a table's fields win over the top level, its
 * capabilities.add and .drop each replace the whole list they name. */
static void test_security_context_tables(void **state)
{
    (void)state;
    static const char cfg[] =
        "{\"kubernetes\":{\"privileged\":true,\"cap_add\":[\"NET_ADMIN\"],"
        "\"build_container_security_context\":{\"capabilities\":{\"drop\":[\"ALL\"]},"
        "\"privileged\":false,\"run_as_user\":1000,\"run_as_group\":2000,"
        "\"run_as_non_root\":true,\"read_only_root_filesystem\":true,"
        "\"allow_privilege_escalation\":false,\"selinux_type\":\"spc_t\",\"proc_mount\":"
        "\"unmasked\"},"
        "\"helper_container_security_context\":{\"capabilities\":{\"add\":[\"SYS_ADMIN\"]},"
        "\"read_only_root_filesystem\":false},"
        "\"service_container_security_context\":{\"run_as_user\":999,\"proc_mount\":\" Default \"},"
        "\"init_permissions_container_security_context\":{\"run_as_user\":0,"
        "\"capabilities\":{\"add\":[],\"drop\":[\"ALL\"]},\"proc_mount\":\"masked\"}}}";
    /* the build table's drop replaces [NET_RAW]; the top-level add stays */
    assert_secctx(cfg, JC_CTR_BUILD,
                  "{\"capabilities\":{\"add\":[\"NET_ADMIN\"],\"drop\":[\"ALL\"]},"
                  "\"privileged\":false,\"seLinuxOptions\":{\"type\":\"spc_t\"},\"runAsUser\":1000,"
                  "\"runAsGroup\":2000,\"runAsNonRoot\":true,\"readOnlyRootFilesystem\":true,"
                  "\"allowPrivilegeEscalation\":false,\"procMount\":\"Unmasked\"}");
    /* the helper table's add replaces [NET_ADMIN]; the default drop stays */
    assert_secctx(cfg, JC_CTR_HELPER,
                  "{\"capabilities\":{\"add\":[\"SYS_ADMIN\"],\"drop\":[\"NET_RAW\"]},"
                  "\"privileged\":true,\"readOnlyRootFilesystem\":false}");
    assert_secctx(cfg, JC_CTR_SERVICE,
                  "{\"capabilities\":{\"add\":[\"NET_ADMIN\"],\"drop\":[\"NET_RAW\"]},"
                  "\"privileged\":true,\"runAsUser\":999,\"procMount\":\"Default\"}");
    /* add = [] replaces the list with an empty one (left out); an unknown proc_mount is dropped
     * (the runner logs it and sends none) */
    assert_secctx(cfg, JC_CTR_INIT_PERMISSIONS,
                  "{\"capabilities\":{\"drop\":[\"ALL\"]},\"privileged\":true,\"runAsUser\":0}");
    /* both lists replaced by empty ones: the capabilities object stays, empty */
    assert_secctx("{\"kubernetes\":{\"build_container_security_context\":{\"capabilities\":"
                  "{\"drop\":[]}}}}",
                  JC_CTR_BUILD, "{\"capabilities\":{}}");
    /* an empty capabilities table changes nothing; an empty selinux_type is no option */
    assert_secctx("{\"kubernetes\":{\"build_container_security_context\":{\"capabilities\":{},"
                  "\"selinux_type\":\"\"}}}",
                  JC_CTR_BUILD, "{\"capabilities\":{\"drop\":[\"NET_RAW\"]}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retryable),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_pull_policies),
        cmocka_unit_test(test_go_duration),
        cmocka_unit_test(test_query_escape),
        cmocka_unit_test(test_security_context_defaults),
        cmocka_unit_test(test_security_context_top_level),
        cmocka_unit_test(test_security_context_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
