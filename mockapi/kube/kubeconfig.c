/* kubeconfig.c -- renders and atomically writes the kubeconfig that points clients at the fake */
#include "mockapi/kube/kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mockapi/base/file.h"

/* A growing output buffer; `failed` latches on the first allocation failure so the renderer can
 * append without checking every call and test once at the end. */
struct buf {
    char *p;
    size_t len;
    size_t cap;
    int failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *p;

        while (b->len + n + 1 > cap)
            cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* A YAML double-quoted scalar. Inputs are ASCII (checked by valid()), so escaping `"`, `\` and
 * the control bytes is all YAML needs; \xNN is a YAML 1.1 and 1.2 escape that go-yaml reads. */
static void buf_quoted(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    buf_add(b, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};

            buf_add(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 0x0f]};

            buf_add(b, esc, 4);
        } else {
            buf_add(b, (const char *)&c, 1);
        }
    }
    buf_add(b, "\"", 1);
}

/* key: "value"\n, indented */
static void buf_field(struct buf *b, const char *indent_key, const char *value)
{
    buf_puts(b, indent_key);
    buf_quoted(b, value);
    buf_add(b, "\n", 1);
}

/* NULL is fine (the option is absent); otherwise non-empty, capped and ASCII. Non-ASCII is refused
 * rather than escaped because invalid UTF-8 makes go-yaml reject the whole file, and none of these
 * values (URL, PEM, hex token, DNS names) has a reason to carry it. */
static int valid(const char *what, const char *s, char *err, size_t errlen)
{
    size_t n;

    if (s == NULL)
        return 0;
    n = strnlen(s, KUBECONFIG_VALUE_MAX + 1);
    if (n == 0) {
        snprintf(err, errlen, "kubeconfig: empty %s", what);
        return -1;
    }
    if (n > KUBECONFIG_VALUE_MAX) {
        snprintf(err, errlen, "kubeconfig: %s longer than %d bytes", what, KUBECONFIG_VALUE_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            snprintf(err, errlen, "kubeconfig: non-ASCII byte in %s at offset %zu", what, i);
            return -1;
        }
    }
    return 0;
}

static char *base64(const char *s)
{
    size_t n = strlen(s);
    unsigned char *out = malloc(4 * ((n + 2) / 3) + 1);

    /* n <= KUBECONFIG_VALUE_MAX, so the int conversion is safe. */
    if (out != NULL)
        EVP_EncodeBlock(out, (const unsigned char *)s, (int)n);
    return (char *)out;
}

static char *render(const struct kubeconfig_opts *o, char *err, size_t errlen)
{
    struct buf b = {NULL, 0, 0, 0};
    char *ca64 = NULL;
    char *ret = NULL;
    const char *name;

    if (o == NULL || o->server_url == NULL) {
        snprintf(err, errlen, "kubeconfig: no server URL");
        goto out;
    }
    if (valid("server URL", o->server_url, err, errlen) != 0 ||
        valid("CA PEM", o->ca_pem, err, errlen) != 0 ||
        valid("token", o->token, err, errlen) != 0 ||
        valid("cluster name", o->cluster_name, err, errlen) != 0 ||
        valid("namespace", o->namespace, err, errlen) != 0)
        goto out;
    if (strncmp(o->server_url, "https://", 8) != 0 && strncmp(o->server_url, "http://", 7) != 0) {
        snprintf(err, errlen, "kubeconfig: server URL \"%.64s\" is not http:// or https://",
                 o->server_url);
        goto out;
    }
    name = o->cluster_name != NULL ? o->cluster_name : KUBECONFIG_DEFAULT_NAME;
    if (o->ca_pem != NULL) {
        ca64 = base64(o->ca_pem);
        if (ca64 == NULL) {
            snprintf(err, errlen, "kubeconfig: out of memory");
            goto out;
        }
    }

    buf_puts(&b, "apiVersion: v1\nkind: Config\nclusters:\n");
    buf_field(&b, "- name: ", name);
    buf_puts(&b, "  cluster:\n");
    buf_field(&b, "    server: ", o->server_url);
    if (ca64 != NULL)
        buf_field(&b, "    certificate-authority-data: ", ca64);
    buf_puts(&b, "users:\n");
    buf_field(&b, "- name: ", name);
    if (o->token != NULL) {
        buf_puts(&b, "  user:\n");
        buf_field(&b, "    token: ", o->token);
    } else {
        buf_puts(&b, "  user: {}\n");
    }
    buf_puts(&b, "contexts:\n");
    buf_field(&b, "- name: ", name);
    buf_puts(&b, "  context:\n");
    buf_field(&b, "    cluster: ", name);
    buf_field(&b, "    user: ", name);
    if (o->namespace != NULL)
        buf_field(&b, "    namespace: ", o->namespace);
    buf_field(&b, "current-context: ", name);
    buf_puts(&b, "preferences: {}\n");
    if (b.failed) {
        snprintf(err, errlen, "kubeconfig: out of memory");
        goto out;
    }
    ret = b.p;
    b.p = NULL;
out:
    free(b.p);
    free(ca64);
    return ret;
}

char *kubeconfig_render(const struct kubeconfig_opts *o)
{
    char err[256];

    return render(o, err, sizeof err);
}

int kubeconfig_write(const struct kubeconfig_opts *o, const char *path, char *err, size_t errlen)
{
    char *yaml = render(o, err, errlen);
    int rc = -1;

    if (yaml == NULL)
        goto out;
    /* 0600 (mkstemp's mode on glibc, said explicitly): the file holds a bearer token. */
    rc = file_write_atomic(path, yaml, strlen(yaml), 0600, err, errlen);
out:
    free(yaml);
    return rc;
}
