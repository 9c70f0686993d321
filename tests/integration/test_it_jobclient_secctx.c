/* test_it_jobclient_secctx.c -- the containers' securityContext in the pod the reference job
 * client creates, as the fake received it, checked against what GitLab Runner 19.x sends
 * (common/config.go GetContainerSecurityContext; executors/kubernetes/kubernetes.go: build and
 * the uid/gid collector take build_container_security_context, helper helper_..., every service
 * service_..., init-permissions init_permissions_...; NET_RAW dropped by default): with no
 * setting, with the four tables and the top-level settings they fall back to, and a Windows node
 * selector (no default drop, an empty securityContext). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobtest.h"
#include "tests/secctx.h"

static struct itest *start(void **state)
{
    jt_reset();
    struct itest_opts o = {.hooks = &jt_hooks};
    return itest_start(state, &o);
}

/* The pod body of the last create (caller frees). */
static cJSON *last_pod(void)
{
    pthread_mutex_lock(&jt_mu);
    cJSON *pod = cJSON_Parse(JT.pod_body);
    pthread_mutex_unlock(&jt_mu);
    assert_non_null(pod);
    return pod;
}

/* The container called name in spec.<list> of pod, or fail. */
static const cJSON *find_container(const cJSON *pod, const char *list, const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "spec.%s", list);
    const cJSON *it;
    cJSON_ArrayForEach(it, itest_jget(pod, path))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return it;
    }
    fail_msg("the pod has no %s \"%s\"", list, name);
    return NULL;
}

/* Container name of spec.<list> has securityContext want (JSON). */
static void assert_secctx(const cJSON *pod, const char *list, const char *name, const char *want)
{
    const cJSON *c = find_container(pod, list, name);
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(c, "securityContext");
    char what[256];
    if (!sc)
        fail_msg("%s \"%s\" has no securityContext", list, name);
    snprintf(what, sizeof what, "%s \"%s\"", list, name);
    secctx_assert_equal(sc, want, what);
}

/* No security setting: every container, init-permissions and the service included, drops
 * NET_RAW and says nothing else (defaultCapDrop through getCapabilities). */
static void test_defaults(void **state)
{
    struct itest *t = start(state);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1},"
                       "\"job\":{\"services\":[\"redis:7\"]}}",
                       &res);
    assert_int_equal(res.success, 1);
    cJSON *pod = last_pod();
    static const char want[] = "{\"capabilities\":{\"drop\":[\"NET_RAW\"]}}";
    assert_secctx(pod, "initContainers", "init-permissions", want);
    assert_secctx(pod, "containers", "build", want);
    assert_secctx(pod, "containers", "helper", want);
    assert_secctx(pod, "containers", "svc-0", want);
    cJSON_Delete(pod);
    free(log);
}

/* The four tables, each on its own container, over the top-level privileged, cap_add and
 * allow_privilege_escalation; the uid/gid collector of FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR
 * takes the build table. */
static void test_tables(void **state)
{
    struct itest *t = start(state);
    struct jobclient_result res;
    char *log =
        jt_run(t,
               "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1,\"privileged\":false,"
               "\"allow_privilege_escalation\":false,\"cap_add\":[\"SYS_PTRACE\"],"
               "\"build_container_security_context\":{\"run_as_user\":1000,\"run_as_group\":1000,"
               "\"run_as_non_root\":true,\"read_only_root_filesystem\":true,"
               "\"capabilities\":{\"drop\":[\"ALL\"]}},"
               "\"helper_container_security_context\":{\"read_only_root_filesystem\":true,"
               "\"allow_privilege_escalation\":true,\"selinux_type\":\"spc_t\"},"
               "\"service_container_security_context\":{\"privileged\":true,\"capabilities\":"
               "{\"add\":[\"NET_ADMIN\"]},\"proc_mount\":\"unmasked\"},"
               "\"init_permissions_container_security_context\":{\"run_as_user\":0,"
               "\"read_only_root_filesystem\":true}},"
               "\"feature_flags\":{\"FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR\":true},"
               "\"job\":{\"services\":[\"redis:7\",{\"name\":\"postgres:16\",\"alias\":\"db\"}]}}",
               &res);
    assert_int_equal(res.success, 1);
    cJSON *pod = last_pod();
    static const char build[] =
        "{\"capabilities\":{\"add\":[\"SYS_PTRACE\"],\"drop\":[\"ALL\"]},\"privileged\":false,"
        "\"runAsUser\":1000,\"runAsGroup\":1000,\"runAsNonRoot\":true,"
        "\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false}";
    assert_secctx(pod, "containers", "build", build);
    assert_secctx(pod, "initContainers", "init-build-uid-gid-collector", build);
    assert_secctx(pod, "containers", "helper",
                  "{\"capabilities\":{\"add\":[\"SYS_PTRACE\"],\"drop\":[\"NET_RAW\"]},"
                  "\"privileged\":false,\"seLinuxOptions\":{\"type\":\"spc_t\"},"
                  "\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":true}");
    static const char svc[] =
        "{\"capabilities\":{\"add\":[\"NET_ADMIN\"],\"drop\":[\"NET_RAW\"]},\"privileged\":true,"
        "\"allowPrivilegeEscalation\":false,\"procMount\":\"Unmasked\"}";
    assert_secctx(pod, "containers", "svc-0", svc);
    assert_secctx(pod, "containers", "db", svc);
    assert_secctx(pod, "initContainers", "init-permissions",
                  "{\"capabilities\":{\"add\":[\"SYS_PTRACE\"],\"drop\":[\"NET_RAW\"]},"
                  "\"privileged\":false,\"runAsUser\":0,\"readOnlyRootFilesystem\":true,"
                  "\"allowPrivilegeEscalation\":false}");
    cJSON_Delete(pod);
    free(log);
}

/* A Windows job (helper OS from the kubernetes.io/os node selector): no capability dropped, and
 * with nothing else set the runner still sends an empty securityContext. Legacy mode, so the
 * pod has build and helper only. */
static void test_windows(void **state)
{
    struct itest *t = start(state);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1,"
                       "\"node_selector\":{\"kubernetes.io/os\":\"windows\"}},"
                       "\"feature_flags\":{\"FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY\":true}}",
                       &res);
    assert_int_equal(res.success, 1);
    cJSON *pod = last_pod();
    assert_null(itest_jget(pod, "spec.initContainers"));
    assert_secctx(pod, "containers", "build", "{}");
    assert_secctx(pod, "containers", "helper", "{}");
    cJSON_Delete(pod);
    free(log);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, itest_teardown),
        cmocka_unit_test_teardown(test_tables, itest_teardown),
        cmocka_unit_test_teardown(test_windows, itest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
