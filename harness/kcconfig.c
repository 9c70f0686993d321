/* kcconfig.c -- kubeconfig files (a YAML subset) and the runner's host settings, as one connection
 * config for the reference job client (kcconfig.h) */
#include "harness/kcconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* ---- reading files ---- */

/* The whole file (at most KC_CONFIG_MAX_FILE bytes), NUL-terminated; NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 8192;
            if (nc > KC_CONFIG_MAX_FILE + 4096 + 1)
                nc = KC_CONFIG_MAX_FILE + 4096 + 1;
            char *b = realloc(buf, nc);
            if (!b) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = b;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n > KC_CONFIG_MAX_FILE) {
            free(buf);
            fclose(f);
            errno = EFBIG;
            return NULL;
        }
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- the YAML subset ---- */

struct yline {
    int indent;
    char *s; /* content after the indentation; comments and trailing blanks cut (NUL-terminated) */
    int lineno;
};

struct yparse {
    struct yline *v;
    size_t n, i;
    char *err;
    size_t errlen;
    int failed;
};

static void yerr(struct yparse *p, int lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void yerr(struct yparse *p, int lineno, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    int k = snprintf(p->err, p->errlen, "line %d: ", lineno);
    if (k < 0 || (size_t)k >= p->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Cut a comment (" #" or "#" at the start, outside quotes) and trailing blanks, in place. */
static void cut_comment(char *s)
{
    char q = 0;
    char *end = s + strlen(s);
    for (char *c = s; *c; c++) {
        if (q) {
            if (q == '"' && *c == '\\' && c[1]) {
                c++;
            } else if (*c == q) {
                q = 0;
            }
            continue;
        }
        if (*c == '"' || *c == '\'') {
            q = *c;
        } else if (*c == '#' && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
            end = c;
            break;
        }
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
}

static int is_dash(const char *s)
{
    return s[0] == '-' && (s[1] == '\0' || s[1] == ' ');
}

/* Append the UTF-8 bytes of code point u to o (at least 4 bytes free). */
static size_t put_utf8(char *o, unsigned long u)
{
    if (u < 0x80) {
        o[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        o[0] = (char)(0xc0 | (u >> 6));
        o[1] = (char)(0x80 | (u & 0x3f));
        return 2;
    }
    if (u < 0x10000) {
        o[0] = (char)(0xe0 | (u >> 12));
        o[1] = (char)(0x80 | ((u >> 6) & 0x3f));
        o[2] = (char)(0x80 | (u & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (u >> 18));
    o[1] = (char)(0x80 | ((u >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((u >> 6) & 0x3f));
    o[3] = (char)(0x80 | (u & 0x3f));
    return 4;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A scalar from s (the whole remaining text of the value) as a JSON string or empty collection.
 */
static cJSON *scalar(struct yparse *p, const char *s, int lineno)
{
    size_t len = strlen(s);
    if (strcmp(s, "{}") == 0)
        return cJSON_CreateObject();
    if (strcmp(s, "[]") == 0)
        return cJSON_CreateArray();
    if (s[0] == '{' || s[0] == '[') {
        yerr(p, lineno, "flow collections are not supported");
        return NULL;
    }
    if (s[0] == '&' || s[0] == '*' || s[0] == '!' || s[0] == '|' || s[0] == '>') {
        yerr(p, lineno, "anchors, aliases, tags and block scalars are not supported");
        return NULL;
    }
    if (s[0] != '"' && s[0] != '\'')
        return cJSON_CreateString(s);
    char q = s[0];
    char *out = malloc(len * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 1;
    for (; i < len && s[i] != q; i++) {
        if (q == '\'' || s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        char e = s[++i];
        unsigned long u = 0;
        int digits = 0;
        switch (e) {
        case 'n':
            out[o++] = '\n';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case '0':
            out[o++] = '\0';
            break;
        case '"':
        case '\\':
        case '/':
            out[o++] = e;
            break;
        case 'x':
            digits = 2;
            break;
        case 'u':
            digits = 4;
            break;
        default:
            free(out);
            yerr(p, lineno, "unknown escape \"\\%c\" in a double-quoted scalar", e ? e : '0');
            return NULL;
        }
        for (int k = 0; k < digits; k++) {
            int h = hexval(s[i + 1]);
            if (h < 0) {
                free(out);
                yerr(p, lineno, "bad \\%c escape", e);
                return NULL;
            }
            u = u * 16 + (unsigned long)h;
            i++;
        }
        if (digits)
            o += put_utf8(out + o, u);
    }
    if (i >= len) {
        free(out);
        yerr(p, lineno, "unterminated quoted scalar");
        return NULL;
    }
    /* '' inside a single-quoted scalar is one quote */
    if (q == '\'' && i + 1 < len && s[i + 1] == '\'') {
        /* rare in kubeconfigs: redo with the doubling folded */
        o = 0;
        for (i = 1; i < len; i++) {
            if (s[i] == '\'' && s[i + 1] == '\'') {
                out[o++] = '\'';
                i++;
            } else if (s[i] == '\'') {
                break;
            } else {
                out[o++] = s[i];
            }
        }
    }
    if (s[i + 1] != '\0') {
        free(out);
        yerr(p, lineno, "text after a quoted scalar");
        return NULL;
    }
    out[o] = '\0';
    cJSON *r = cJSON_CreateString(out);
    free(out);
    return r;
}

/* Where "key:" ends in s (the index of the ':'), or -1 when s is not a mapping entry. */
static long key_end(const char *s)
{
    char q = 0;
    for (size_t i = 0; s[i]; i++) {
        if (q) {
            if (q == '"' && s[i] == '\\' && s[i + 1])
                i++;
            else if (s[i] == q)
                q = 0;
            continue;
        }
        if ((s[i] == '"' || s[i] == '\'') && i == 0) {
            q = s[i];
            continue;
        }
        if (s[i] == ':' && (s[i + 1] == '\0' || s[i + 1] == ' '))
            return (long)i;
    }
    return -1;
}

static cJSON *block(struct yparse *p, int indent, int depth);

/* The value of a "key:" with nothing after it: a deeper block, a sequence at the same
 * indentation, or null. */
static cJSON *nested(struct yparse *p, int indent, int depth)
{
    if (p->i < p->n && p->v[p->i].indent > indent)
        return block(p, p->v[p->i].indent, depth + 1);
    if (p->i < p->n && p->v[p->i].indent == indent && is_dash(p->v[p->i].s))
        return block(p, indent, depth + 1);
    return cJSON_CreateNull();
}

static cJSON *sequence(struct yparse *p, int indent, int depth)
{
    cJSON *arr = cJSON_CreateArray();
    while (arr && !p->failed && p->i < p->n && p->v[p->i].indent == indent &&
           is_dash(p->v[p->i].s)) {
        struct yline *l = &p->v[p->i];
        cJSON *item;
        if (l->s[1] == '\0') {
            p->i++;
            item = nested(p, indent, depth);
        } else {
            int k = 1;
            while (l->s[k] == ' ')
                k++;
            l->s += k;
            l->indent += k;
            item = block(p, l->indent, depth + 1);
        }
        if (!item) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, item);
    }
    return arr;
}

static cJSON *mapping(struct yparse *p, int indent, int depth)
{
    cJSON *obj = cJSON_CreateObject();
    while (obj && !p->failed && p->i < p->n && p->v[p->i].indent >= indent) {
        struct yline *l = &p->v[p->i];
        if (l->indent > indent) {
            yerr(p, l->lineno, "unexpected indentation");
            break;
        }
        if (is_dash(l->s))
            break; /* a sequence that belongs to the key before */
        long ke = key_end(l->s);
        if (ke < 0) {
            yerr(p, l->lineno, "expected \"key: value\"");
            break;
        }
        l->s[ke] = '\0';
        cJSON *k = scalar(p, l->s, l->lineno);
        if (!k)
            break;
        char *key = cJSON_IsString(k) ? strdup(k->valuestring) : NULL;
        cJSON_Delete(k);
        if (!key) {
            yerr(p, l->lineno, "bad key");
            break;
        }
        const char *v = l->s + ke + 1;
        while (*v == ' ')
            v++;
        p->i++;
        cJSON *val = *v ? scalar(p, v, l->lineno) : nested(p, indent, depth);
        if (!val) {
            free(key);
            break;
        }
        cJSON_AddItemToObject(obj, key, val);
        free(key);
    }
    if (p->failed) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static cJSON *block(struct yparse *p, int indent, int depth)
{
    if (depth > KC_YAML_MAX_DEPTH) {
        yerr(p, p->i < p->n ? p->v[p->i].lineno : 0, "nesting deeper than %d", KC_YAML_MAX_DEPTH);
        return NULL;
    }
    struct yline *l = &p->v[p->i];
    if (is_dash(l->s))
        return sequence(p, indent, depth);
    if (key_end(l->s) >= 0)
        return mapping(p, indent, depth);
    p->i++;
    if (p->i < p->n && p->v[p->i].indent > indent) {
        yerr(p, p->v[p->i].lineno, "multi-line scalars are not supported");
        return NULL;
    }
    return scalar(p, l->s, l->lineno);
}

cJSON *kc_yaml_parse(const char *text, size_t len, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    struct yparse p = {.err = err, .errlen = errlen};
    char *copy = malloc(len + 1);
    size_t cap = 64;
    p.v = malloc(cap * sizeof *p.v);
    cJSON *doc = NULL;
    if (!copy || !p.v) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    int lineno = 0;
    for (char *line = copy; line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        int ind = 0;
        while (line[ind] == ' ')
            ind++;
        if (line[ind] == '\t') {
            yerr(&p, lineno, "tabs in indentation are not supported");
            goto out;
        }
        char *s = line + ind;
        cut_comment(s);
        if (*s && strcmp(s, "---") != 0 && strcmp(s, "...") != 0) {
            if (p.n == KC_YAML_MAX_LINES) {
                yerr(&p, lineno, "more than %d lines", KC_YAML_MAX_LINES);
                goto out;
            }
            if (p.n == cap) {
                cap *= 2;
                struct yline *nv = realloc(p.v, cap * sizeof *nv);
                if (!nv) {
                    snprintf(err, errlen, "out of memory");
                    goto out;
                }
                p.v = nv;
            }
            p.v[p.n++] = (struct yline){ind, s, lineno};
        }
        line = nl ? nl + 1 : NULL;
    }
    if (p.n == 0) {
        doc = cJSON_CreateObject();
        goto out;
    }
    doc = block(&p, p.v[0].indent, 0);
    if (doc && p.i < p.n) {
        yerr(&p, p.v[p.i].lineno, "unexpected indentation");
        cJSON_Delete(doc);
        doc = NULL;
    }
    if (!doc && !err[0])
        snprintf(err, errlen, "out of memory");
out:
    free(p.v);
    free(copy);
    return doc;
}

/* ---- configs ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void kc_config_release(struct kc_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->token);
    free(c->ca_file);
    free(c->ca_pem);
    free(c->namespace);
    free(c->source);
    memset(c, 0, sizeof *c);
}

static char *dup_trim_slash(const char *s)
{
    char *d = strdup(s);
    if (!d)
        return NULL;
    size_t n = strlen(d);
    while (n > 0 && d[n - 1] == '/')
        d[--n] = '\0';
    return d;
}

static int url_ok(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

int kc_config_from_host(const char *host, const char *token, const char *ca_file,
                        struct kc_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!host || !url_ok(host)) {
        set_err(err, errlen, "host \"%s\" is not an http:// or https:// URL", host ? host : "");
        return -1;
    }
    out->server = dup_trim_slash(host);
    out->token = token && token[0] ? strdup(token) : NULL;
    out->ca_file = ca_file && ca_file[0] ? strdup(ca_file) : NULL;
    size_t n = strlen(host) + 32;
    out->source = malloc(n);
    if (out->source)
        snprintf(out->source, n, "host %s", host);
    if (!out->server || !out->source || (token && token[0] && !out->token) ||
        (ca_file && ca_file[0] && !out->ca_file)) {
        kc_config_release(out);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The entry named name in the list arr ([{name, <field>: {...}}]): its <field> object. */
static const cJSON *named(const cJSON *arr, const char *name, const char *field)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, field);
            return f ? f : it;
        }
    }
    return NULL;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* base64 (whitespace ignored) to a NUL-terminated string; NULL when it does not decode. */
static char *b64_decode(const char *in)
{
    size_t n = strlen(in);
    char *clean = malloc(n + 1);
    if (!clean)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] != ' ' && in[i] != '\n' && in[i] != '\r' && in[i] != '\t')
            clean[k++] = in[i];
    clean[k] = '\0';
    if (k % 4 != 0) {
        free(clean);
        return NULL;
    }
    unsigned char *out = malloc(k / 4 * 3 + 1);
    if (!out) {
        free(clean);
        return NULL;
    }
    int got = k ? EVP_DecodeBlock(out, (unsigned char *)clean, (int)k) : 0;
    if (got < 0) {
        free(clean);
        free(out);
        return NULL;
    }
    if (k >= 1 && clean[k - 1] == '=')
        got--;
    if (k >= 2 && clean[k - 2] == '=')
        got--;
    out[got] = '\0';
    free(clean);
    return (char *)out;
}

int kc_config_load(const char *path, const char *context, struct kc_config *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t len = 0;
    char *text = slurp(path, &len);
    cJSON *doc = NULL;
    int rc = -1;
    if (!text) {
        set_err(err, errlen, "kubeconfig %s: %s", path, strerror(errno));
        goto out;
    }
    const char *first = text + strspn(text, " \t\r\n");
    char perr[256] = "";
    doc = *first == '{' ? cJSON_ParseWithLength(text, len)
                        : kc_yaml_parse(text, len, perr, sizeof perr);
    if (!doc) {
        set_err(err, errlen, "kubeconfig %s: %s", path, perr[0] ? perr : "not valid JSON");
        goto out;
    }
    const char *ctx_name = context && context[0] ? context : str_of(doc, "current-context");
    if (!ctx_name || !ctx_name[0]) {
        set_err(err, errlen, "kubeconfig %s: no current-context (and no context given)", path);
        goto out;
    }
    const cJSON *ctx =
        named(cJSON_GetObjectItemCaseSensitive(doc, "contexts"), ctx_name, "context");
    if (!ctx) {
        set_err(err, errlen, "kubeconfig %s: context \"%s\" not found", path, ctx_name);
        goto out;
    }
    const char *cl_name = str_of(ctx, "cluster"), *user_name = str_of(ctx, "user");
    const cJSON *cl =
        cl_name ? named(cJSON_GetObjectItemCaseSensitive(doc, "clusters"), cl_name, "cluster")
                : NULL;
    if (!cl) {
        set_err(err, errlen, "kubeconfig %s: cluster \"%s\" of context \"%s\" not found", path,
                cl_name ? cl_name : "", ctx_name);
        goto out;
    }
    const cJSON *user =
        user_name ? named(cJSON_GetObjectItemCaseSensitive(doc, "users"), user_name, "user") : NULL;
    const char *server = str_of(cl, "server");
    if (!server || !url_ok(server)) {
        set_err(err, errlen, "kubeconfig %s: cluster \"%s\" has no http:// or https:// server",
                path, cl_name);
        goto out;
    }
    out->server = dup_trim_slash(server);
    const char *ca_data = str_of(cl, "certificate-authority-data");
    const char *ca_file = str_of(cl, "certificate-authority");
    if (ca_data) {
        out->ca_pem = b64_decode(ca_data);
        if (!out->ca_pem) {
            set_err(err, errlen, "kubeconfig %s: certificate-authority-data is not base64", path);
            goto out;
        }
    } else if (ca_file) {
        if (ca_file[0] == '/') {
            out->ca_file = strdup(ca_file);
        } else {
            const char *slash = strrchr(path, '/');
            size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
            size_t n = dl + strlen(ca_file) + 1;
            out->ca_file = malloc(n);
            if (out->ca_file)
                snprintf(out->ca_file, n, "%.*s%s", (int)dl, path, ca_file);
        }
    }
    const char *insecure = str_of(cl, "insecure-skip-tls-verify");
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(cl, "insecure-skip-tls-verify");
    out->insecure = (insecure && strcmp(insecure, "true") == 0) || cJSON_IsTrue(ins);
    if (user) {
        if (cJSON_GetObjectItemCaseSensitive(user, "client-certificate-data") ||
            cJSON_GetObjectItemCaseSensitive(user, "client-certificate") ||
            cJSON_GetObjectItemCaseSensitive(user, "exec") ||
            cJSON_GetObjectItemCaseSensitive(user, "auth-provider")) {
            set_err(err, errlen,
                    "kubeconfig %s: user \"%s\" uses client certificates or a credential plugin, "
                    "which the reference job client does not implement (use a token)",
                    path, user_name);
            goto out;
        }
        const char *tok = str_of(user, "token");
        const char *tok_file = str_of(user, "tokenFile");
        if (tok) {
            out->token = strdup(tok);
        } else if (tok_file) {
            size_t tl;
            char *t = slurp(tok_file, &tl);
            if (!t) {
                set_err(err, errlen, "kubeconfig %s: tokenFile %s: %s", path, tok_file,
                        strerror(errno));
                goto out;
            }
            while (tl > 0 && (t[tl - 1] == '\n' || t[tl - 1] == '\r' || t[tl - 1] == ' '))
                t[--tl] = '\0';
            out->token = t;
        }
    }
    const char *ns = str_of(ctx, "namespace");
    if (ns && ns[0])
        out->namespace = strdup(ns);
    size_t sn = strlen(path) + strlen(ctx_name) + 40;
    out->source = malloc(sn);
    if (out->source)
        snprintf(out->source, sn, "kubeconfig %s (context %s)", path, ctx_name);
    if (!out->server || !out->source || (ca_file && !ca_data && !out->ca_file)) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        kc_config_release(out);
    cJSON_Delete(doc);
    free(text);
    return rc;
}
