/* test_kcconfig.c -- tests harness/kcconfig.c: the YAML subset kubeconfigs are written in (read
 * back from kubefault's own kubeconfig writer, mockapi/kube/kubeconfig.c, and from the shape
 * kubectl writes), contexts, relative CA files, JSON kubeconfigs, refused credential plugins, and
 * the runner's host/bearer_token/ca_file (runner-k8s-executor.md §1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/kcconfig.h"
#include "mockapi/kube/kubeconfig.h"

static char *write_tmp(const char *text, char *path, size_t len)
{
    snprintf(path, len, "/tmp/kf-kcconfig-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_yaml_subset(void **state)
{
    (void)state;
    static const char y[] = "---\n"
                            "# a comment\n"
                            "apiVersion: v1\n"
                            "clusters:\n"
                            "- cluster:\n"
                            "    server: https://10.0.0.1:6443 # trailing\n"
                            "    insecure-skip-tls-verify: true\n"
                            "  name: 'c''1'\n"
                            "users:\n"
                            "  - name: \"u\\x31\\n\"\n"
                            "    user: {}\n"
                            "list:\n"
                            "- - a\n"
                            "  - b\n"
                            "- c\n"
                            "empty:\n"
                            "after: \"x#y\"\n";
    char err[128];
    cJSON *doc = kc_yaml_parse(y, sizeof y - 1, err, sizeof err);
    if (!doc)
        fail_msg("%s", err);
    char *s = cJSON_PrintUnformatted(doc);
    assert_string_equal(s, "{\"apiVersion\":\"v1\",\"clusters\":[{\"cluster\":{\"server\":"
                           "\"https://10.0.0.1:6443\",\"insecure-skip-tls-verify\":\"true\"},"
                           "\"name\":\"c'1\"}],\"users\":[{\"name\":\"u1\\n\",\"user\":{}}],"
                           "\"list\":[[\"a\",\"b\"],\"c\"],\"empty\":null,\"after\":\"x#y\"}");
    cJSON_free(s);
    cJSON_Delete(doc);
    static const char *const bad[][2] = {
        {"a: &x 1\n", "line 1: anchors, aliases, tags and block scalars are not supported"},
        {"a: {b: 1}\n", "line 1: flow collections are not supported"},
        {"a:\n\tb: 1\n", "line 2: tabs in indentation are not supported"},
        {"a: \"x\n", "line 1: unterminated quoted scalar"},
        {"a: 1\n  b: 2\n", "line 2: unexpected indentation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        doc = kc_yaml_parse(bad[i][0], strlen(bad[i][0]), err, sizeof err);
        assert_null(doc);
        assert_string_equal(err, bad[i][1]);
    }
}

/* kubefault's own kubeconfig, as `kubefault serve` writes it, reads back. */
static void test_own_kubeconfig(void **state)
{
    (void)state;
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    struct kubeconfig_opts o = {.server_url = "https://127.0.0.1:40321",
                                .ca_pem = pem,
                                .token = "tok\"en",
                                .namespace = "ns1"};
    char *y = kubeconfig_render(&o);
    assert_non_null(y);
    char path[64];
    write_tmp(y, path, sizeof path);
    free(y);
    struct kc_config c;
    char err[256];
    if (kc_config_load(path, NULL, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_string_equal(c.server, "https://127.0.0.1:40321");
    assert_string_equal(c.ca_pem, pem);
    assert_string_equal(c.token, "tok\"en");
    assert_string_equal(c.namespace, "ns1");
    assert_null(c.ca_file);
    assert_int_equal(c.insecure, 0);
    kc_config_release(&c);
    assert_int_equal(kc_config_load(path, "other", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "context \"other\" not found"));
    unlink(path);
}

/* The shape kubectl writes: several contexts, a CA file relative to the kubeconfig. */
static void test_kubectl_shape(void **state)
{
    (void)state;
    static const char y[] = "apiVersion: v1\n"
                            "clusters:\n"
                            "- cluster:\n"
                            "    certificate-authority: ca.crt\n"
                            "    server: https://a:6443/\n"
                            "  name: a\n"
                            "- cluster:\n"
                            "    server: http://b:8080\n"
                            "  name: b\n"
                            "contexts:\n"
                            "- context:\n"
                            "    cluster: a\n"
                            "    user: ua\n"
                            "  name: ctx-a\n"
                            "- context:\n"
                            "    cluster: b\n"
                            "    user: ub\n"
                            "  name: ctx-b\n"
                            "current-context: ctx-a\n"
                            "kind: Config\n"
                            "preferences: {}\n"
                            "users:\n"
                            "- name: ua\n"
                            "  user:\n"
                            "    token: ta\n"
                            "- name: ub\n"
                            "  user:\n"
                            "    client-certificate-data: AAAA\n";
    char path[64], err[256];
    write_tmp(y, path, sizeof path);
    struct kc_config c;
    if (kc_config_load(path, NULL, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_string_equal(c.server, "https://a:6443");
    assert_string_equal(c.token, "ta");
    assert_string_equal(c.ca_file, "/tmp/ca.crt");
    kc_config_release(&c);
    assert_int_equal(kc_config_load(path, "ctx-b", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "client certificates or a credential plugin"));
    unlink(path);
    /* JSON works too */
    static const char j[] = "{\"current-context\":\"x\",\"contexts\":[{\"name\":\"x\",\"context\":"
                            "{\"cluster\":\"c\",\"user\":\"u\"}}],\"clusters\":[{\"name\":\"c\","
                            "\"cluster\":{\"server\":\"http://h:1\"}}],\"users\":[{\"name\":\"u\","
                            "\"user\":{\"token\":\"t\"}}]}";
    write_tmp(j, path, sizeof path);
    assert_int_equal(kc_config_load(path, NULL, &c, err, sizeof err), 0);
    assert_string_equal(c.server, "http://h:1");
    assert_string_equal(c.token, "t");
    kc_config_release(&c);
    unlink(path);
    assert_int_equal(kc_config_load("/nonexistent/kc", NULL, &c, err, sizeof err), -1);
    assert_string_equal(err, "kubeconfig /nonexistent/kc: No such file or directory");
}

static void test_from_host(void **state)
{
    (void)state;
    struct kc_config c;
    char err[256];
    assert_int_equal(kc_config_from_host("http://127.0.0.1:8080/", "t", "/ca", &c, err, sizeof err),
                     0);
    assert_string_equal(c.server, "http://127.0.0.1:8080");
    assert_string_equal(c.token, "t");
    assert_string_equal(c.ca_file, "/ca");
    kc_config_release(&c);
    assert_int_equal(kc_config_from_host("127.0.0.1:8080", NULL, NULL, &c, err, sizeof err), -1);
    assert_string_equal(err, "host \"127.0.0.1:8080\" is not an http:// or https:// URL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_subset),
        cmocka_unit_test(test_own_kubeconfig),
        cmocka_unit_test(test_kubectl_shape),
        cmocka_unit_test(test_from_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
