/* test_jobconfig.c -- tests harness/jobconfig.c: the runner's defaults for [runners.kubernetes]
 * (runner-k8s-executor.md §5: "<= 0 means" rules, the retry_backoff_max clamp, print_pod_warning_
 * events on, FF_USE_POD_ACTIVE_DEADLINE_SECONDS on), --set assignments (sections, feature flags,
 * MAP.KEY, JSON or text values), job variables overriding feature flags, errors named by JSON
 * path (unknown keys with a suggestion, wrong types, unmodelled settings and flags), and the
 * *_container_security_context tables with the top-level settings they fall back to. */
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
#include "mockapi/gitlab/proto.h"
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

/* The four *_container_security_context tables (KubernetesContainerSecurityContext) and the
 * top-level privileged, allow_privilege_escalation, cap_add and cap_drop: typed, each field unset
 * unless given. */
static void test_security_contexts(void **state)
{
    (void)state;
    struct jobconfig c;
    char err[1024];
    assert_int_equal(load("{}", NULL, &c, err, sizeof err), 0);
    assert_int_equal(c.privileged, -1);
    assert_int_equal(c.allow_privilege_escalation, -1);
    assert_int_equal(c.ncap_add + c.ncap_drop, 0);
    for (int i = 0; i < JC_CTR_COUNT; i++) {
        const struct jobconfig_secctx *s = &c.secctx[i];
        assert_int_equal(s->has_cap_add + s->has_cap_drop, 0);
        assert_int_equal(s->privileged, -1);
        assert_int_equal(s->has_run_as_user + s->has_run_as_group, 0);
        assert_int_equal(s->run_as_non_root, -1);
        assert_int_equal(s->read_only_root_filesystem, -1);
        assert_int_equal(s->allow_privilege_escalation, -1);
        assert_null(s->selinux_type);
        assert_null(s->proc_mount);
    }
    jobconfig_release(&c);

    assert_int_equal(
        load("{'kubernetes':{'privileged':true,'allow_privilege_escalation':false,"
             "'cap_add':['NET_ADMIN'],'cap_drop':['CHOWN','MKNOD'],"
             "'build_container_security_context':{'capabilities':{'add':['SYS_TIME'],'drop':[]},"
             "'privileged':false,'run_as_user':1000,'run_as_group':0,'run_as_non_root':true,"
             "'read_only_root_filesystem':true,'allow_privilege_escalation':true,"
             "'selinux_type':'spc_t','proc_mount':'unmasked'},"
             "'helper_container_security_context':{'read_only_root_filesystem':false},"
             "'service_container_security_context':{},"
             "'init_permissions_container_security_context':{'run_as_user':0}}}",
             NULL, &c, err, sizeof err),
        0);
    assert_int_equal(c.privileged, 1);
    assert_int_equal(c.allow_privilege_escalation, 0);
    assert_int_equal(c.ncap_add, 1);
    assert_string_equal(c.cap_add[0], "NET_ADMIN");
    assert_int_equal(c.ncap_drop, 2);
    assert_string_equal(c.cap_drop[1], "MKNOD");
    const struct jobconfig_secctx *b = &c.secctx[JC_CTR_BUILD];
    assert_int_equal(b->has_cap_add, 1);
    assert_int_equal(b->ncap_add, 1);
    assert_string_equal(b->cap_add[0], "SYS_TIME");
    assert_int_equal(b->has_cap_drop, 1); /* given, empty */
    assert_int_equal(b->ncap_drop, 0);
    assert_int_equal(b->privileged, 0);
    assert_int_equal(b->has_run_as_user, 1);
    assert_int_equal(b->run_as_user, 1000);
    assert_int_equal(b->has_run_as_group, 1);
    assert_int_equal(b->run_as_group, 0);
    assert_int_equal(b->run_as_non_root, 1);
    assert_int_equal(b->read_only_root_filesystem, 1);
    assert_int_equal(b->allow_privilege_escalation, 1);
    assert_string_equal(b->selinux_type, "spc_t");
    assert_string_equal(b->proc_mount, "unmasked");
    assert_int_equal(c.secctx[JC_CTR_HELPER].read_only_root_filesystem, 0);
    assert_int_equal(c.secctx[JC_CTR_SERVICE].read_only_root_filesystem, -1);
    assert_int_equal(c.secctx[JC_CTR_INIT_PERMISSIONS].has_run_as_user, 1);
    assert_int_equal(c.secctx[JC_CTR_INIT_PERMISSIONS].run_as_user, 0);
    jobconfig_release(&c);

    /* --set: a whole table as JSON, or one field, each dot one level down */
    const char *sets[] = {"service_container_security_context={'run_as_user':7}",
                          "kubernetes.helper_container_security_context.read_only_root_filesystem="
                          "true",
                          "build_container_security_context.capabilities.drop=['ALL']",
                          "init_permissions_container_security_context.selinux_type=container_t",
                          "cap_add=['NET_ADMIN']",
                          NULL};
    char *q[6] = {NULL};
    for (size_t i = 0; sets[i]; i++)
        q[i] = dq(sets[i]);
    assert_int_equal(load("{'kubernetes':{'build_container_security_context':{'privileged':true}}}",
                          (const char *const *)q, &c, err, sizeof err),
                     0);
    for (size_t i = 0; q[i]; i++)
        free(q[i]);
    assert_int_equal(c.secctx[JC_CTR_SERVICE].run_as_user, 7);
    assert_int_equal(c.secctx[JC_CTR_HELPER].read_only_root_filesystem, 1);
    assert_int_equal(c.secctx[JC_CTR_BUILD].privileged, 1); /* the file's field kept */
    assert_int_equal(c.secctx[JC_CTR_BUILD].ncap_drop, 1);
    assert_string_equal(c.secctx[JC_CTR_BUILD].cap_drop[0], "ALL");
    assert_string_equal(c.secctx[JC_CTR_INIT_PERMISSIONS].selinux_type, "container_t");
    assert_int_equal(c.ncap_add, 1);
    jobconfig_release(&c);
}

/* Strict keys and types in the tables, each error named by its JSON path. */
static void test_security_context_errors(void **state)
{
    (void)state;
    struct jobconfig c;
    char err[1024];
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{'kubernetes':{'build_container_security_context':{'read_only_rootfs':true}}}",
         "t.json: kubernetes.build_container_security_context: unknown key \"read_only_rootfs\""},
        {"{'kubernetes':{'helper_container_security_context':{'capabilities':{'dorp':['ALL']}}}}",
         "t.json: kubernetes.helper_container_security_context.capabilities: unknown key "
         "\"dorp\" (accepted: add, drop); did you mean \"drop\"?"},
        {"{'kubernetes':{'build_container_security_context':{'read_only_root_filesystem':'true'}}}",
         "t.json: kubernetes.build_container_security_context.read_only_root_filesystem: "
         "expected true or false, got string"},
        {"{'kubernetes':{'service_container_security_context':{'run_as_user':'1000'}}}",
         "t.json: kubernetes.service_container_security_context.run_as_user: expected an "
         "integer of at least 0, got string"},
        {"{'kubernetes':{'service_container_security_context':{'run_as_group':1.5}}}",
         "t.json: kubernetes.service_container_security_context.run_as_group: expected an "
         "integer of at least 0, got 1.5"},
        {"{'kubernetes':{'init_permissions_container_security_context':{'capabilities':"
         "{'add':'NET_ADMIN'}}}}",
         "t.json: kubernetes.init_permissions_container_security_context.capabilities.add: "
         "expected an array of strings, got string"},
        {"{'kubernetes':{'init_permissions_container_security_context':{'capabilities':"
         "{'drop':['ALL',1]}}}}",
         "t.json: kubernetes.init_permissions_container_security_context.capabilities.drop[1]: "
         "expected a string, got number"},
        {"{'kubernetes':{'build_container_security_context':true}}",
         "t.json: kubernetes.build_container_security_context: expected an object, got boolean"},
        {"{'kubernetes':{'build_container_security_context':{'selinux_type':5}}}",
         "t.json: kubernetes.build_container_security_context.selinux_type: expected a string, "
         "got number"},
        {"{'kubernetes':{'privileged':'yes'}}",
         "t.json: kubernetes.privileged: expected true or false, got string"},
        {"{'kubernetes':{'cap_drop':'NET_RAW'}}",
         "t.json: kubernetes.cap_drop: expected an array of strings, got string"},
        {"{'kubernetes':{'build_container_securty_context':{}}}",
         "did you mean \"build_container_security_context\"?"},
        /* it would set runAsUser/runAsGroup of build, helper and services: refused by name */
        {"{'kubernetes':{'pod_security_context':{'run_as_user':1000}}}",
         "t.json: kubernetes.pod_security_context: a runner setting the reference job client "
         "does not model"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (load(cases[i].text, NULL, &c, err, sizeof err) != -1)
            fail_msg("accepted: %s", cases[i].text);
        char *want = dq(cases[i].want);
        if (!strstr(err, want))
            fail_msg("for %s\n  got  %s\n  want %s", cases[i].text, err, want);
        free(want);
    }
    /* --set into something that is not a table */
    const char *bad[] = {"build_container_security_context.run_as_user.x=1", NULL};
    assert_int_equal(load("{'kubernetes':{'build_container_security_context':{'run_as_user':1}}}",
                          bad, &c, err, sizeof err),
                     -1);
    assert_string_equal(err, "t.json: \"build_container_security_context.run_as_user.x\": "
                             "build_container_security_context.run_as_user is not a table");
}

/* GitLab mode: a jobs/request payload (the fake GitLab's, common/spec's names) as a job section,
 * validated like any other: image, pull policy, services, variables (a later key wins), the
 * script step (before_script already in it), after_script, runner_info.timeout, registry
 * credentials, CI_PROJECT_PATH; a step the model does not run, and wrong types, are errors. */
static void test_job_from_payload(void **state)
{
    (void)state;
    char err[256] = "";
    cJSON *spec = json("{'id':42,'token':'glcbt-x','name':'unit','stage':'build','project_id':7,"
                       "'image':{'name':'alpine:3.20','pull_policy':['always']},"
                       "'services':[{'name':'redis:7','alias':'cache','command':['redis-server'],"
                       "'variables':[{'key':'A','value':'1'}]}],"
                       "'variables':[{'key':'X','value':'1'},{'key':'X','value':'2'},"
                       "{'key':'CI_PROJECT_PATH','value':'grp/proj','public':true}],"
                       "'script':['echo before','make'],'after_script':['echo after'],"
                       "'timeout':900,"
                       "'credentials':[{'type':'registry','url':'r.example','username':'u',"
                       "'password':'p'},{'type':'other','url':'x'}]}");
    cJSON *payload = glproto_job_payload(spec, 1, "tok", err, sizeof err);
    assert_non_null(payload);
    cJSON *jobsec = jobconfig_job_from_payload(payload, err, sizeof err);
    if (!jobsec)
        fail_msg("%s", err);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "job", jobsec);
    struct diag d;
    diag_init(&d, "gitlab job");
    struct jobconfig c;
    if (jobconfig_from_json(doc, &c, &d) < 0)
        fail_msg("%s", d.msgs[0]);
    diag_release(&d);
    assert_int_equal(c.job_id, 42);
    assert_int_equal(c.project_id, 7);
    assert_string_equal(c.job_name, "unit");
    assert_string_equal(c.job_stage, "build");
    assert_string_equal(c.job_image, "alpine:3.20");
    assert_int_equal(c.njob_pull_policy, 1);
    assert_string_equal(c.job_pull_policy[0], "always");
    assert_int_equal(c.njob_services, 1);
    assert_string_equal(c.job_services[0].name, "redis:7");
    assert_string_equal(c.job_services[0].alias, "cache");
    assert_int_equal(c.job_services[0].ncommand, 1);
    assert_string_equal(c.job_services[0].variables[0], "A=1");
    assert_string_equal(jobconfig_variable(&c, "X"), "2");
    assert_string_equal(jobconfig_variable(&c, "CI_JOB_TOKEN"), "glcbt-x");
    assert_string_equal(c.project_path, "grp/proj");
    assert_int_equal(c.nscript, 2);
    assert_string_equal(c.script[1], "make");
    assert_int_equal(c.nbefore_script, 0);
    assert_int_equal(c.nafter_script, 1);
    assert_int_equal(c.job_timeout, 900);
    assert_int_equal(c.ncredentials, 1);
    assert_string_equal(c.credentials[0].url, "r.example");
    assert_false(c.cache);
    jobconfig_release(&c);
    cJSON_Delete(doc);
    cJSON_Delete(payload);
    cJSON_Delete(spec);

    /* runner_info.timeout 0: the runner's 7200 s; the project path from repo_url */
    cJSON *p =
        json("{'id':3,'git_info':{'repo_url':'https://gitlab-ci-token:x@h.example/a/b/c.git',"
             "'ref':'dev','sha':'abc'},'runner_info':{'timeout':0},"
             "'steps':[{'name':'script','script':['true']}],'cache':[{'key':'k'}]}");
    jobsec = jobconfig_job_from_payload(p, err, sizeof err);
    assert_non_null(jobsec);
    doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "job", jobsec);
    diag_init(&d, "gitlab job");
    assert_int_equal(jobconfig_from_json(doc, &c, &d), 0);
    diag_release(&d);
    assert_int_equal(c.job_timeout, JOBCONFIG_DEFAULT_TIMEOUT);
    assert_string_equal(c.project_path, "a/b/c");
    assert_string_equal(c.job_ref, "dev");
    assert_true(c.cache);
    jobconfig_release(&c);
    cJSON_Delete(doc);
    cJSON_Delete(p);

    /* what the model cannot run */
    p = json("{'id':3,'steps':[{'name':'release','script':['x']}]}");
    assert_null(jobconfig_job_from_payload(p, err, sizeof err));
    assert_string_equal(err, "payload.steps[0].name: step \"release\" is not modelled by the "
                             "reference job client (known: script, after_script)");
    cJSON_Delete(p);
    p = json("{'id':3,'image':{'name':5}}");
    assert_null(jobconfig_job_from_payload(p, err, sizeof err));
    assert_string_equal(err, "payload.image.name: expected a string");
    cJSON_Delete(p);
    p = json("{'token':'x'}");
    assert_null(jobconfig_job_from_payload(p, err, sizeof err));
    assert_string_equal(err, "payload.id: expected an integer from 1");
    cJSON_Delete(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_job_from_payload),
        cmocka_unit_test(test_full_config),       cmocka_unit_test(test_set),
        cmocka_unit_test(test_feature_flags),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_security_contexts), cmocka_unit_test(test_security_context_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
