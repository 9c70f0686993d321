/* test_kubeconfig.c -- kubeconfig rendering, quoting, 0600 atomic writes, real kubectl parse */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "mockapi/http/tls.h"
#include "mockapi/kube/kubeconfig.h"

#define KUBECTL "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
#define OUTPUT_MAX 65536

struct tmpdir {
    char path[64];
};

static void tmpdir_make(struct tmpdir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/test_kubeconfig.XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

/* Removes the files the tests create (flat directory) and the directory. */
static void tmpdir_remove(struct tmpdir *d)
{
    DIR *dir = opendir(d->path);
    struct dirent *de;
    char p[512];

    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", d->path, de->d_name);
        unlink(p);
    }
    closedir(dir);
    assert_int_equal(rmdir(d->path), 0);
}

static int count_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *de;
    int n = 0;

    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(dir);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, OUTPUT_MAX);
    size_t n;

    assert_non_null(f);
    assert_non_null(s);
    n = fread(s, 1, OUTPUT_MAX - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void test_render_golden(void **state)
{
    const struct kubeconfig_opts o = {
        .server_url = "https://127.0.0.1:6443",
        .ca_pem = "pem\n",
        .token = "0123456789abcdef0123456789abcdef",
        .cluster_name = "kf",
        .namespace = "team-a",
    };
    char *y = kubeconfig_render(&o);

    (void)state;
    assert_non_null(y);
    assert_string_equal(y, "apiVersion: v1\n"
                           "kind: Config\n"
                           "clusters:\n"
                           "- name: \"kf\"\n"
                           "  cluster:\n"
                           "    server: \"https://127.0.0.1:6443\"\n"
                           "    certificate-authority-data: \"cGVtCg==\"\n"
                           "users:\n"
                           "- name: \"kf\"\n"
                           "  user:\n"
                           "    token: \"0123456789abcdef0123456789abcdef\"\n"
                           "contexts:\n"
                           "- name: \"kf\"\n"
                           "  context:\n"
                           "    cluster: \"kf\"\n"
                           "    user: \"kf\"\n"
                           "    namespace: \"team-a\"\n"
                           "current-context: \"kf\"\n"
                           "preferences: {}\n");
    free(y);
}

static void test_render_defaults_plain_http(void **state)
{
    const struct kubeconfig_opts o = {.server_url = "http://127.0.0.1:8080"};
    char *y = kubeconfig_render(&o);

    (void)state;
    assert_non_null(y);
    assert_string_equal(y, "apiVersion: v1\n"
                           "kind: Config\n"
                           "clusters:\n"
                           "- name: \"kubefault\"\n"
                           "  cluster:\n"
                           "    server: \"http://127.0.0.1:8080\"\n"
                           "users:\n"
                           "- name: \"kubefault\"\n"
                           "  user: {}\n"
                           "contexts:\n"
                           "- name: \"kubefault\"\n"
                           "  context:\n"
                           "    cluster: \"kubefault\"\n"
                           "    user: \"kubefault\"\n"
                           "current-context: \"kubefault\"\n"
                           "preferences: {}\n");
    free(y);
}

static void test_render_ca_roundtrip(void **state)
{
    char err[256] = "";
    struct tls_ctx *t = tls_new(err, sizeof err);
    struct kubeconfig_opts o = {.server_url = "https://127.0.0.1:1"};
    const char *key = "certificate-authority-data: \"";
    char *y;
    char *p;
    char *end;
    unsigned char dec[8192];
    int n;
    size_t pemlen;

    (void)state;
    assert_non_null(t);
    o.ca_pem = tls_ca_pem(t);
    y = kubeconfig_render(&o);
    assert_non_null(y);
    p = strstr(y, key);
    assert_non_null(p);
    p += strlen(key);
    end = strchr(p, '"');
    assert_non_null(end);
    assert_true((size_t)(end - p) < sizeof dec);
    n = EVP_DecodeBlock(dec, (const unsigned char *)p, (int)(end - p));
    pemlen = strlen(tls_ca_pem(t));
    /* EVP_DecodeBlock counts the zero bytes that the `=` padding stands for. */
    assert_true(n >= (int)pemlen && n <= (int)pemlen + 2);
    assert_memory_equal(dec, tls_ca_pem(t), pemlen);
    free(y);
    tls_free(t);
}

static void test_render_escapes(void **state)
{
    const struct kubeconfig_opts o = {
        .server_url = "https://127.0.0.1:1",
        .token = "a\"b\\c\td\x7f",
        .cluster_name = "we\"ird: [name] # not a comment",
    };
    char *y = kubeconfig_render(&o);

    (void)state;
    assert_non_null(y);
    assert_non_null(strstr(y, "    token: \"a\\\"b\\\\c\\x09d\\x7f\"\n"));
    assert_non_null(strstr(y, "current-context: \"we\\\"ird: [name] # not a comment\"\n"));
    free(y);
}

static void test_render_rejects(void **state)
{
    char big[KUBECONFIG_VALUE_MAX + 2];
    struct kubeconfig_opts o = {.server_url = "https://127.0.0.1:1"};

    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_null(kubeconfig_render(NULL));
    o.server_url = NULL;
    assert_null(kubeconfig_render(&o));
    o.server_url = "ftp://127.0.0.1:1";
    assert_null(kubeconfig_render(&o));
    o.server_url = "127.0.0.1:1";
    assert_null(kubeconfig_render(&o));
    o.server_url = "https://127.0.0.1:1";
    o.token = "";
    assert_null(kubeconfig_render(&o));
    o.token = "caf\xc3\xa9";
    assert_null(kubeconfig_render(&o));
    o.token = big;
    assert_null(kubeconfig_render(&o));
    big[KUBECONFIG_VALUE_MAX] = '\0'; /* exactly at the cap is fine */
    {
        char *y = kubeconfig_render(&o);

        assert_non_null(y);
        free(y);
    }
}

static void test_write_mode_and_content(void **state)
{
    const struct kubeconfig_opts o = {
        .server_url = "https://127.0.0.1:6443",
        .ca_pem = "pem\n",
        .token = "tok",
    };
    struct tmpdir d;
    char path[128];
    char err[512] = "";
    struct stat st;
    char *want = kubeconfig_render(&o);
    char *got;
    FILE *f;

    (void)state;
    assert_non_null(want);
    tmpdir_make(&d);
    snprintf(path, sizeof path, "%s/kubeconfig", d.path);
    /* A world-readable file already there is replaced by a 0600 one. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0644), 0);

    assert_int_equal(kubeconfig_write(&o, path, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    got = slurp(path);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(count_entries(d.path), 1); /* no temporary left behind */
    tmpdir_remove(&d);
    free(want);
}

static void test_write_errors(void **state)
{
    const struct kubeconfig_opts bad = {.server_url = "gopher://x"};
    const struct kubeconfig_opts good = {.server_url = "http://127.0.0.1:1"};
    struct tmpdir d;
    char path[128];
    char err[512] = "";

    (void)state;
    assert_int_equal(kubeconfig_write(&good, "/nonexistent/kubefault/kubeconfig", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "No such file or directory"));

    tmpdir_make(&d);
    snprintf(path, sizeof path, "%s/kubeconfig", d.path);
    err[0] = '\0';
    assert_int_equal(kubeconfig_write(&bad, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "gopher://x"));
    assert_int_equal(count_entries(d.path), 0);
    tmpdir_remove(&d);
}

/* Runs cmd, returns its stdout (caller frees) and exit status. */
static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, OUTPUT_MAX);
    size_t n = 0;
    size_t r;

    assert_non_null(p);
    assert_non_null(out);
    while (n < OUTPUT_MAX - 1 && (r = fread(out + n, 1, OUTPUT_MAX - 1 - n, p)) > 0)
        n += r;
    out[n] = '\0';
    *status = pclose(p);
    return out;
}

/* A real kubectl (client-go's clientcmd and sigs.k8s.io/yaml) must read back what we wrote. */
static void test_kubectl_parses(void **state)
{
    char err[512] = "";
    char token[TLS_TOKEN_LEN + 1];
    struct tls_ctx *t = NULL;
    struct kubeconfig_opts o = {
        .server_url = "https://127.0.0.1:43210",
        .cluster_name = "kube\"fault\\test",
        .namespace = "team-a",
    };
    struct tmpdir d;
    char path[128];
    char cmd[1024];
    char want[16384];
    char *out;
    char *ca64;
    int status;
    size_t pemlen;

    (void)state;
    if (access(KUBECTL, X_OK) != 0) {
        printf("SKIP: %s not found; kubectl round-trip not checked\n", KUBECTL);
        return;
    }
    t = tls_new(err, sizeof err);
    assert_non_null(t);
    assert_int_equal(tls_random_token(token, sizeof token), 0);
    o.ca_pem = tls_ca_pem(t);
    o.token = token;
    tmpdir_make(&d);
    snprintf(path, sizeof path, "%s/kubeconfig", d.path);
    assert_int_equal(kubeconfig_write(&o, path, err, sizeof err), 0);

    pemlen = strlen(o.ca_pem);
    ca64 = calloc(1, 4 * ((pemlen + 2) / 3) + 1);
    assert_non_null(ca64);
    EVP_EncodeBlock((unsigned char *)ca64, (const unsigned char *)o.ca_pem, (int)pemlen);

    /* mkdtemp paths hold no shell metacharacters; the jsonpath is single-quoted. */
    snprintf(cmd, sizeof cmd,
             "%s --kubeconfig %s config view --raw -o jsonpath='"
             "{.clusters[0].cluster.server}{\"\\n\"}"
             "{.users[0].user.token}{\"\\n\"}"
             "{.clusters[0].cluster.certificate-authority-data}{\"\\n\"}"
             "{.contexts[0].context.namespace}{\"\\n\"}"
             "{.current-context}{\"\\n\"}"
             "{.contexts[0].context.cluster}{\"\\n\"}"
             "{.contexts[0].context.user}'",
             KUBECTL, path);
    out = run(cmd, &status);
    snprintf(want, sizeof want, "%s\n%s\n%s\n%s\n%s\n%s\n%s", o.server_url, token, ca64,
             o.namespace, o.cluster_name, o.cluster_name, o.cluster_name);
    assert_int_equal(status, 0);
    assert_string_equal(out, want);
    printf("kubectl 1.32 read back server, token, CA data, namespace and names\n");
    free(out);

    /* kubectl resolves the current context to this cluster and user. */
    snprintf(
        cmd, sizeof cmd,
        "%s --kubeconfig %s config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}'",
        KUBECTL, path);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, o.server_url);
    free(out);

    free(ca64);
    tmpdir_remove(&d);
    tls_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_golden),
        cmocka_unit_test(test_render_defaults_plain_http),
        cmocka_unit_test(test_render_ca_roundtrip),
        cmocka_unit_test(test_render_escapes),
        cmocka_unit_test(test_render_rejects),
        cmocka_unit_test(test_write_mode_and_content),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_kubectl_parses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
