/* selector.c -- label and field selectors: kube's grammar, its validation and its error text */
#include "mockapi/kube/selector.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The grammar, the order of checks and every message follow k8s.io/apimachinery:
 * pkg/labels/selector.go (lexer, parser, NewRequirement), pkg/fields/selector.go (splitTerms,
 * splitTerm, UnescapeValue), pkg/util/validation (IsQualifiedName, IsValidLabelValue), and the
 * field label conversion funcs of pkg/apis/core/v1/conversion.go. Where kube would index past
 * its token list (it never does for valid Go) we stop at the end token instead.
 */

enum op { OP_IN, OP_NOTIN, OP_EQ, OP_DEQ, OP_NEQ, OP_EXISTS, OP_NOTEXISTS, OP_GT, OP_LT, OP_NONE };

struct field_def {
    const char *label; /* as the client spells it */
    const char *canon; /* what kube converts it to (spec.host -> spec.nodeName); NULL: same */
    const char *path;  /* dotted path in the v1 JSON object; NULL: never set (always "") */
    const char *dflt;  /* the value kube's field set holds when the JSON field is absent */
};

struct field_kind {
    const char *kind;
    const struct field_def *defs;
    size_t ndefs;
};

struct req {
    const char *key; /* label key or (canonical) field label */
    enum op op;
    size_t v0, nv; /* values: sel->vals[v0 .. v0+nv), sorted and unique for label selectors */
    long long num; /* gt/lt operand */
    const struct field_def *fd;
};

struct ksel {
    int is_field;
    size_t n;
    struct req reqs[KSEL_MAX_REQS];
    size_t nvals;
    const char *vals[KSEL_MAX_VALUES];
    char *arena; /* copies of keys and values, NUL-terminated */
    size_t arena_len, arena_cap;
};

/* ---- field label tables (pkg/apis/core/v1/conversion.go, pkg/registry/core/<kind>/strategy.go) */

static const struct field_def pod_fields[] = {
    {"metadata.name", NULL, "metadata.name", ""},
    {"metadata.namespace", NULL, "metadata.namespace", ""},
    {"spec.nodeName", NULL, "spec.nodeName", ""},
    {"spec.restartPolicy", NULL, "spec.restartPolicy", ""},
    {"spec.schedulerName", NULL, "spec.schedulerName", ""},
    {"spec.serviceAccountName", NULL, "spec.serviceAccountName", ""},
    {"spec.hostNetwork", NULL, "spec.hostNetwork", "false"},
    {"status.phase", NULL, "status.phase", ""},
    {"status.podIP", NULL, "status.podIP", ""},
    /* accepted by the conversion func but absent from the pod's field set: always "" */
    {"status.podIPs", NULL, NULL, ""},
    {"status.nominatedNodeName", NULL, "status.nominatedNodeName", ""},
    /* old v1 clients send spec.host */
    {"spec.host", "spec.nodeName", "spec.nodeName", ""},
};

static const struct field_def event_fields[] = {
    {"involvedObject.kind", NULL, "involvedObject.kind", ""},
    {"involvedObject.namespace", NULL, "involvedObject.namespace", ""},
    {"involvedObject.name", NULL, "involvedObject.name", ""},
    {"involvedObject.uid", NULL, "involvedObject.uid", ""},
    {"involvedObject.apiVersion", NULL, "involvedObject.apiVersion", ""},
    {"involvedObject.resourceVersion", NULL, "involvedObject.resourceVersion", ""},
    {"involvedObject.fieldPath", NULL, "involvedObject.fieldPath", ""},
    {"reason", NULL, "reason", ""},
    {"reportingComponent", NULL, "reportingComponent", ""},
    {"source", NULL, "source.component", ""},
    {"type", NULL, "type", ""},
    {"metadata.namespace", NULL, "metadata.namespace", ""},
    {"metadata.name", NULL, "metadata.name", ""},
};

static const struct field_def namespace_fields[] = {
    {"status.phase", NULL, "status.phase", ""},
    {"metadata.name", NULL, "metadata.name", ""},
};

static const struct field_def node_fields[] = {
    {"metadata.name", NULL, "metadata.name", ""},
    {"spec.unschedulable", NULL, "spec.unschedulable", "false"},
};

static const struct field_def secret_fields[] = {
    {"type", NULL, "type", ""},
    {"metadata.namespace", NULL, "metadata.namespace", ""},
    {"metadata.name", NULL, "metadata.name", ""},
};

static const struct field_def service_fields[] = {
    {"metadata.namespace", NULL, "metadata.namespace", ""},
    {"metadata.name", NULL, "metadata.name", ""},
    {"spec.clusterIP", NULL, "spec.clusterIP", ""},
    {"spec.type", NULL, "spec.type", ""},
};

static const struct field_def rc_fields[] = {
    {"metadata.name", NULL, "metadata.name", ""},
    {"metadata.namespace", NULL, "metadata.namespace", ""},
    {"status.replicas", NULL, "status.replicas", "0"},
};

/* runtime.DefaultMetaV1FieldSelectorConversion: every kind without its own func */
static const struct field_def default_fields[] = {
    {"metadata.name", NULL, "metadata.name", ""},
    {"metadata.namespace", NULL, "metadata.namespace", ""},
};

#define FIELD_KIND(k, defs)                                                                        \
    {                                                                                              \
        k, defs, sizeof(defs) / sizeof((defs)[0])                                                  \
    }
static const struct field_kind field_kinds[] = {
    FIELD_KIND("Pod", pod_fields),
    FIELD_KIND("Event", event_fields),
    FIELD_KIND("Namespace", namespace_fields),
    FIELD_KIND("Node", node_fields),
    FIELD_KIND("Secret", secret_fields),
    FIELD_KIND("Service", service_fields),
    FIELD_KIND("ReplicationController", rc_fields),
};
static const struct field_kind default_kind = FIELD_KIND(NULL, default_fields);
#undef FIELD_KIND

/* ---- bounded message buffer ------------------------------------------------------------------ */

struct sbuf {
    char *p;
    size_t cap, len;
};

static void sb_init(struct sbuf *sb, char *p, size_t cap)
{
    sb->p = p;
    sb->cap = p ? cap : 0;
    sb->len = 0;
    if (sb->cap)
        p[0] = '\0';
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (sb->len + 1 >= sb->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb->len += (size_t)n;
    if (sb->len >= sb->cap)
        sb->len = sb->cap - 1;
}

/* Drop what was written so far (a cap message replaces the grammar prefix). */
static void sb_reset(struct sbuf *sb)
{
    sb->len = 0;
    if (sb->cap)
        sb->p[0] = '\0';
}

static void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
    sb_printf(sb, "%.*s", (int)(n > INT32_MAX ? INT32_MAX : n), s);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* Go's %q (strconv.Quote), close enough: printable UTF-8 kept, the rest escaped. */
static void sb_quote(struct sbuf *sb, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, l;

    sb_printf(sb, "\"");
    while (i < n) {
        switch (u[i]) {
        case '"':
            sb_printf(sb, "\\\"");
            break;
        case '\\':
            sb_printf(sb, "\\\\");
            break;
        case '\a':
            sb_printf(sb, "\\a");
            break;
        case '\b':
            sb_printf(sb, "\\b");
            break;
        case '\f':
            sb_printf(sb, "\\f");
            break;
        case '\n':
            sb_printf(sb, "\\n");
            break;
        case '\r':
            sb_printf(sb, "\\r");
            break;
        case '\t':
            sb_printf(sb, "\\t");
            break;
        case '\v':
            sb_printf(sb, "\\v");
            break;
        default:
            if (u[i] < 0x20 || u[i] == 0x7f) {
                sb_printf(sb, "\\x%02x", u[i]);
            } else if (u[i] < 0x80) {
                sb_putn(sb, s + i, 1);
            } else if ((l = utf8_len(u + i, n - i)) != 0) {
                sb_putn(sb, s + i, l);
                i += l;
                continue;
            } else {
                sb_printf(sb, "\\x%02x", u[i]);
            }
        }
        i++;
    }
    sb_printf(sb, "\"");
}

/* ---- Kubernetes name validation (k8s.io/apimachinery/pkg/util/validation) -------------------- */

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_ERR                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '" QNAME_FMT "')"
#define DNS1123_SUBDOMAIN_ERR                                                                      \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL_VALUE_ERR                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is '(" QNAME_FMT ")?')"
#define QNAME_MAX 63
#define DNS1123_SUBDOMAIN_MAX 253
#define LABEL_VALUE_MAX 63

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static int qname_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
        return 0;
    for (i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
            return 0;
    }
    return 1;
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)* */
static int dns1123_subdomain_ok(const char *s, size_t n)
{
    size_t start = 0, i;

    for (i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        if (i == start || !is_lower_alnum((unsigned char)s[start]) ||
            !is_lower_alnum((unsigned char)s[i - 1]))
            return 0;
        for (size_t j = start; j < i; j++)
            if (!is_lower_alnum((unsigned char)s[j]) && s[j] != '-')
                return 0;
        start = i + 1;
    }
    return 1;
}

/* IsQualifiedName: writes its messages joined by "; " (when sb is non-NULL); returns the count. */
static int check_label_key(struct sbuf *sb, const char *s)
{
    size_t n = strlen(s), slashes = 0, i;
    const char *name = s, *sep = "";
    size_t name_len = n;
    int errs = 0;

#define KEY_ERR(...)                                                                               \
    do {                                                                                           \
        if (sb) {                                                                                  \
            sb_printf(sb, "%s", sep);                                                              \
            sb_printf(sb, __VA_ARGS__);                                                            \
        }                                                                                          \
        sep = "; ";                                                                                \
        errs++;                                                                                    \
    } while (0)

    for (i = 0; i < n; i++)
        if (s[i] == '/')
            slashes++;
    if (slashes > 1) {
        KEY_ERR("a qualified name " QNAME_ERR " with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')");
        return errs;
    }
    if (slashes == 1) {
        const char *slash = strchr(s, '/');
        size_t plen = (size_t)(slash - s);

        name = slash + 1;
        name_len = n - plen - 1;
        if (plen == 0) {
            KEY_ERR("prefix part must be non-empty");
        } else {
            if (plen > DNS1123_SUBDOMAIN_MAX)
                KEY_ERR("prefix part must be no more than %d characters", DNS1123_SUBDOMAIN_MAX);
            if (!dns1123_subdomain_ok(s, plen))
                KEY_ERR("prefix part %s", DNS1123_SUBDOMAIN_ERR);
        }
    }
    if (name_len == 0)
        KEY_ERR("name part must be non-empty");
    else if (name_len > QNAME_MAX)
        KEY_ERR("name part must be no more than %d characters", QNAME_MAX);
    if (!qname_ok(name, name_len))
        KEY_ERR("name part %s", QNAME_ERR);
#undef KEY_ERR
    return errs;
}

/* IsValidLabelValue, same conventions. */
static int check_label_value(struct sbuf *sb, const char *s)
{
    size_t n = strlen(s);
    int errs = 0;

    if (n > LABEL_VALUE_MAX) {
        if (sb)
            sb_printf(sb, "must be no more than %d characters", LABEL_VALUE_MAX);
        errs++;
    }
    if (n > 0 && !qname_ok(s, n)) {
        if (sb)
            sb_printf(sb, "%s%s", errs ? "; " : "", LABEL_VALUE_ERR);
        errs++;
    }
    return errs;
}

/* strconv.ParseInt(s, 10, 64): optional sign, decimal digits, nothing else. */
static int parse_int64(const char *s, long long *out)
{
    const char *p = s;
    char *end = NULL;
    long long v;

    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || !end || *end)
        return -1;
    *out = v;
    return 0;
}

/* ---- selector storage ------------------------------------------------------------------------ */

void ksel_free(struct ksel *sel)
{
    if (!sel)
        return;
    free(sel->arena);
    free(sel);
}

static struct ksel *sel_new(size_t input_len)
{
    struct ksel *sel = calloc(1, sizeof(*sel));

    if (!sel)
        goto fail;
    /* every token is a substring plus a NUL, and tokens do not overlap: 2n+2 always suffices */
    sel->arena_cap = 2 * input_len + 2;
    sel->arena = malloc(sel->arena_cap);
    if (!sel->arena)
        goto fail;
    return sel;
fail:
    ksel_free(sel);
    return NULL;
}

static const char *arena_add(struct ksel *sel, const char *s, size_t n)
{
    char *p;

    if (sel->arena_len + n + 1 > sel->arena_cap)
        return NULL; /* cannot happen: see sel_new */
    p = sel->arena + sel->arena_len;
    memcpy(p, s, n);
    p[n] = '\0';
    sel->arena_len += n + 1;
    return p;
}

int ksel_empty(const struct ksel *sel)
{
    return !sel || sel->n == 0;
}

/* ---- label selector: lexer ------------------------------------------------------------------- */

enum tok {
    T_EOS,
    T_CPAR,
    T_COMMA,
    T_NOT,
    T_DEQ,
    T_EQ,
    T_GT,
    T_ID,
    T_IN,
    T_LT,
    T_NEQ,
    T_NOTIN,
    T_OPAR
};

struct token {
    enum tok t;
    const char *lit;
    size_t n;
};

struct parser {
    const char *s;
    size_t len, pos;
    struct token cur; /* the lookahead */
    struct ksel *sel;
    struct sbuf *err;
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static struct token lex(struct parser *p)
{
    struct token t = {T_EOS, "", 0};
    size_t start;

    while (p->pos < p->len && is_ws(p->s[p->pos]))
        p->pos++;
    if (p->pos >= p->len || p->s[p->pos] == '\0')
        return t;
    start = p->pos;
    t.lit = p->s + start;
    if (is_special(p->s[start])) {
        /* longest match over the operator set: only "!=" and "==" are two characters long */
        char c = p->s[start], d = start + 1 < p->len ? p->s[start + 1] : '\0';
        t.n = 1;
        if (d == '=' && (c == '!' || c == '=')) {
            t.n = 2;
            t.t = c == '!' ? T_NEQ : T_DEQ;
        } else {
            switch (c) {
            case '=':
                t.t = T_EQ;
                break;
            case '!':
                t.t = T_NOT;
                break;
            case '(':
                t.t = T_OPAR;
                break;
            case ')':
                t.t = T_CPAR;
                break;
            case ',':
                t.t = T_COMMA;
                break;
            case '>':
                t.t = T_GT;
                break;
            default:
                t.t = T_LT;
            }
        }
        p->pos += t.n;
        return t;
    }
    while (p->pos < p->len && p->s[p->pos] != '\0' && !is_special(p->s[p->pos]) &&
           !is_ws(p->s[p->pos]))
        p->pos++;
    t.n = p->pos - start;
    if (t.n == 2 && memcmp(t.lit, "in", 2) == 0)
        t.t = T_IN;
    else if (t.n == 5 && memcmp(t.lit, "notin", 5) == 0)
        t.t = T_NOTIN;
    else
        t.t = T_ID;
    return t;
}

/* In the values context, `in` and `notin` are plain identifiers (`x in (in)`). */
static struct token as_values(struct token t)
{
    if (t.t == T_IN || t.t == T_NOTIN)
        t.t = T_ID;
    return t;
}

static struct token peek(struct parser *p, int values)
{
    return values ? as_values(p->cur) : p->cur;
}

static struct token consume(struct parser *p, int values)
{
    struct token t = p->cur;

    if (t.t != T_EOS)
        p->cur = lex(p);
    return values ? as_values(t) : t;
}

/* "found '<lit>', expected: ..." */
static int found(struct parser *p, struct token t, const char *expected)
{
    sb_printf(p->err, "found '");
    sb_putn(p->err, t.lit, t.n);
    sb_printf(p->err, "%s", expected);
    return -1;
}

/* ---- label selector: parser ------------------------------------------------------------------ */

static int add_value(struct parser *p, size_t v0, const char *lit, size_t n)
{
    struct ksel *sel = p->sel;
    const char *v;

    /* a set: kube keeps each value once */
    for (size_t i = v0; i < sel->nvals; i++)
        if (strlen(sel->vals[i]) == n && memcmp(sel->vals[i], lit, n) == 0)
            return 0;
    if (sel->nvals >= KSEL_MAX_VALUES) {
        sb_reset(p->err);
        sb_printf(p->err, "label selector has too many values (max %d)", KSEL_MAX_VALUES);
        return -1;
    }
    v = arena_add(sel, lit, n);
    if (!v) {
        sb_printf(p->err, "out of memory");
        return -1;
    }
    sel->vals[sel->nvals++] = v;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int parse_identifiers_list(struct parser *p, size_t v0)
{
    for (;;) {
        struct token t = consume(p, 1), t2;

        switch (t.t) {
        case T_ID:
            if (add_value(p, v0, t.lit, t.n) < 0)
                return -1;
            t2 = peek(p, 1);
            if (t2.t == T_COMMA)
                continue;
            if (t2.t == T_CPAR)
                return 0;
            return found(p, t2, "', expected: ',' or ')'");
        case T_COMMA: /* "(," and ",," and ",)" each stand for the empty value */
            if (p->sel->nvals == v0 && add_value(p, v0, "", 0) < 0)
                return -1;
            t2 = peek(p, 1);
            if (t2.t == T_CPAR)
                return add_value(p, v0, "", 0);
            if (t2.t == T_COMMA && add_value(p, v0, "", 0) < 0)
                return -1;
            break;
        default:
            return found(p, t, "', expected: ',', or identifier");
        }
    }
}

static int parse_values(struct parser *p, size_t v0)
{
    struct token t = consume(p, 1);

    if (t.t != T_OPAR)
        return found(p, t, "' expected: '('");
    t = peek(p, 1);
    switch (t.t) {
    case T_ID:
    case T_COMMA:
        if (parse_identifiers_list(p, v0) < 0)
            return -1;
        if (consume(p, 1).t != T_CPAR)
            return found(p, t, "', expected: ')'");
        return 0;
    case T_CPAR:
        consume(p, 1);
        return add_value(p, v0, "", 0);
    default:
        return found(p, t, "', expected: ',', ')' or identifier");
    }
}

static int parse_exact_value(struct parser *p, size_t v0)
{
    struct token t = peek(p, 1);

    if (t.t == T_EOS || t.t == T_COMMA)
        return add_value(p, v0, "", 0);
    t = consume(p, 1);
    if (t.t == T_ID)
        return add_value(p, v0, t.lit, t.n);
    return found(p, t, "', expected: identifier");
}

/* NewRequirement's value checks: one message per problem, aggregated as kube does. */
static int requirement_errors(struct sbuf *sb, const struct ksel *sel, const struct req *r)
{
    int errs = 0;

    for (size_t i = 0; i < r->nv; i++) {
        const char *v = sel->vals[r->v0 + i];
        long long num;

        if ((r->op == OP_GT || r->op == OP_LT) && parse_int64(v, &num) < 0) {
            if (sb) {
                sb_printf(sb, "%svalues[%zu]: Invalid value: ", errs ? ", " : "", i);
                sb_quote(sb, v, strlen(v));
                sb_printf(sb, ": for 'Gt', 'Lt' operators, the value must be an integer");
            }
            errs++;
        }
    }
    for (size_t i = 0; i < r->nv; i++) {
        const char *v = sel->vals[r->v0 + i];

        if (check_label_value(NULL, v) == 0)
            continue;
        if (sb) {
            sb_printf(sb, "%svalues[%zu][%s]: Invalid value: ", errs ? ", " : "", i, r->key);
            sb_quote(sb, v, strlen(v));
            sb_printf(sb, ": ");
            check_label_value(sb, v);
        }
        errs++;
    }
    return errs;
}

static int parse_requirement(struct parser *p)
{
    struct ksel *sel = p->sel;
    struct req *r;
    struct token t;
    int errs;

    if (sel->n >= KSEL_MAX_REQS) {
        sb_reset(p->err);
        sb_printf(p->err, "label selector has too many requirements (max %d)", KSEL_MAX_REQS);
        return -1;
    }
    r = &sel->reqs[sel->n];
    memset(r, 0, sizeof(*r));
    r->op = OP_NONE;
    r->v0 = sel->nvals;

    /* parseKeyAndInferOperator */
    t = consume(p, 1);
    if (t.t == T_NOT) {
        r->op = OP_NOTEXISTS;
        t = consume(p, 1);
    }
    if (t.t != T_ID)
        return found(p, t, "', expected: identifier");
    r->key = arena_add(sel, t.lit, t.n);
    if (!r->key) {
        sb_printf(p->err, "out of memory");
        return -1;
    }
    if (check_label_key(NULL, r->key) > 0) {
        sb_printf(p->err, "<nil>: Invalid value: ");
        sb_quote(p->err, r->key, t.n);
        sb_printf(p->err, ": ");
        check_label_key(p->err, r->key);
        return -1;
    }
    t = peek(p, 1);
    if ((t.t == T_EOS || t.t == T_COMMA) && r->op != OP_NOTEXISTS)
        r->op = OP_EXISTS;

    if (r->op != OP_EXISTS && r->op != OP_NOTEXISTS) {
        /* parseOperator */
        t = consume(p, 0);
        switch (t.t) {
        case T_IN:
            r->op = OP_IN;
            break;
        case T_NOTIN:
            r->op = OP_NOTIN;
            break;
        case T_EQ:
            r->op = OP_EQ;
            break;
        case T_DEQ:
            r->op = OP_DEQ;
            break;
        case T_NEQ:
            r->op = OP_NEQ;
            break;
        case T_GT:
            r->op = OP_GT;
            break;
        case T_LT:
            r->op = OP_LT;
            break;
        default:
            return found(p, t, "', expected: in, notin, =, ==, !=, gt, lt");
        }
        if ((r->op == OP_IN || r->op == OP_NOTIN ? parse_values(p, r->v0)
                                                 : parse_exact_value(p, r->v0)) < 0)
            return -1;
    }
    r->nv = sel->nvals - r->v0;
    /* sets.String.List() hands NewRequirement its values sorted */
    qsort(&sel->vals[r->v0], r->nv, sizeof(sel->vals[0]), cmp_str);

    errs = requirement_errors(NULL, sel, r);
    if (errs > 0) {
        sb_printf(p->err, "%s", errs > 1 ? "[" : "");
        requirement_errors(p->err, sel, r);
        sb_printf(p->err, "%s", errs > 1 ? "]" : "");
        return -1;
    }
    if (r->op == OP_GT || r->op == OP_LT)
        parse_int64(sel->vals[r->v0], &r->num);
    sel->n++;
    return 0;
}

struct ksel *ksel_parse_labels(const char *s, char *err, size_t errlen)
{
    struct sbuf sb;
    struct parser p;
    struct ksel *sel = NULL;
    size_t len;

    sb_init(&sb, err, errlen);
    if (!s)
        s = "";
    len = strlen(s);
    if (len > KSEL_MAX_LEN) {
        sb_printf(&sb, "label selector is too long: %zu bytes (max %d)", len, KSEL_MAX_LEN);
        goto fail;
    }
    sel = sel_new(len);
    if (!sel) {
        sb_printf(&sb, "out of memory");
        goto fail;
    }
    memset(&p, 0, sizeof(p));
    p.s = s;
    p.len = len;
    p.sel = sel;
    p.err = &sb;
    p.cur = lex(&p);

    for (;;) {
        struct token t = peek(&p, 1);

        if (t.t == T_EOS)
            break;
        if (t.t != T_ID && t.t != T_NOT) {
            found(&p, t, "', expected: !, identifier, or 'end of string'");
            goto fail;
        }
        sb_printf(&sb, "unable to parse requirement: ");
        if (parse_requirement(&p) < 0)
            goto fail;
        sb_reset(&sb);
        t = consume(&p, 1);
        if (t.t == T_EOS)
            break;
        if (t.t != T_COMMA) {
            found(&p, t, "', expected: ',' or 'end of string'");
            goto fail;
        }
        t = peek(&p, 1);
        if (t.t != T_ID && t.t != T_NOT) {
            found(&p, t, "', expected: identifier after ','");
            goto fail;
        }
    }
    return sel;

fail:
    ksel_free(sel);
    return NULL;
}

/* ---- field selector -------------------------------------------------------------------------- */

struct span {
    const char *p;
    size_t n;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);

    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

static const struct field_kind *field_kind_of(const char *kind)
{
    if (kind)
        for (size_t i = 0; i < sizeof(field_kinds) / sizeof(field_kinds[0]); i++)
            if (strcmp(field_kinds[i].kind, kind) == 0)
                return &field_kinds[i];
    return &default_kind;
}

/* UnescapeValue: \\ \, \= are data; any other escape, or a bare , or =, is an error. */
static int unescape_value(struct sbuf *sb, const char *s, size_t n, char *out, size_t *outn)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\\') {
            size_t l;

            if (i + 1 >= n) {
                sb_printf(sb, "invalid field selector: invalid escape sequence: \\");
                return -1;
            }
            c = s[i + 1];
            if (c == '\\' || c == ',' || c == '=') {
                out[o++] = c;
                i++;
                continue;
            }
            l = utf8_len((const unsigned char *)s + i + 1, n - i - 1);
            sb_printf(sb, "invalid field selector: invalid escape sequence: \\");
            if (l)
                sb_putn(sb, s + i + 1, l);
            else
                sb_printf(sb, "\xef\xbf\xbd"); /* Go decodes a bad byte as U+FFFD */
            return -1;
        }
        if (c == ',' || c == '=') {
            sb_printf(sb, "invalid field selector: unescapedRune character in value: %d", c);
            return -1;
        }
        out[o++] = c;
    }
    *outn = o;
    return 0;
}

struct ksel *ksel_parse_fields(const char *s, const char *kind, char *err, size_t errlen)
{
    struct span parts[KSEL_MAX_REQS];
    const struct field_kind *fk = field_kind_of(kind);
    struct ksel *sel = NULL;
    struct sbuf sb;
    size_t len, nparts = 0, start = 0, i;
    int in_slash = 0;
    char *tmp = NULL;

    sb_init(&sb, err, errlen);
    if (!s)
        s = "";
    len = strlen(s);
    if (len > KSEL_MAX_LEN) {
        sb_printf(&sb, "field selector is too long: %zu bytes (max %d)", len, KSEL_MAX_LEN);
        goto fail;
    }
    sel = sel_new(len);
    tmp = malloc(len + 1);
    if (!sel || !tmp) {
        sb_printf(&sb, "out of memory");
        goto fail;
    }
    sel->is_field = 1;

    /* splitTerms: commas split unless escaped; empty terms are skipped */
    for (i = 0; i <= len; i++) {
        if (i < len) {
            if (in_slash) {
                in_slash = 0;
                continue;
            }
            if (s[i] == '\\') {
                in_slash = 1;
                continue;
            }
            if (s[i] != ',')
                continue;
        }
        if (i > start) {
            if (nparts >= KSEL_MAX_REQS) {
                sb_printf(&sb, "field selector has too many terms (max %d)", KSEL_MAX_REQS);
                goto fail;
            }
            parts[nparts].p = s + start;
            parts[nparts++].n = i - start;
        }
        start = i + 1;
    }
    qsort(parts, nparts, sizeof(parts[0]), cmp_span);

    /* splitTerm + UnescapeValue for every term, before any field label is looked at */
    for (i = 0; i < nparts; i++) {
        const char *t = parts[i].p;
        size_t n = parts[i].n, at, oplen = 0, vn;
        struct req *r = &sel->reqs[sel->n];
        enum op op = OP_EQ;

        for (at = 0; at < n; at++) {
            if (at + 1 < n && t[at] == '!' && t[at + 1] == '=') {
                op = OP_NEQ;
                oplen = 2;
            } else if (at + 1 < n && t[at] == '=' && t[at + 1] == '=') {
                op = OP_DEQ;
                oplen = 2;
            } else if (t[at] == '=') {
                op = OP_EQ;
                oplen = 1;
            } else {
                continue;
            }
            break;
        }
        if (oplen == 0) {
            sb_printf(&sb, "invalid selector: '%s'; can't understand '", s);
            sb_putn(&sb, t, n);
            sb_printf(&sb, "'");
            goto fail;
        }
        if (unescape_value(&sb, t + at + oplen, n - at - oplen, tmp, &vn) < 0)
            goto fail;
        memset(r, 0, sizeof(*r));
        r->op = op;
        r->key = arena_add(sel, t, at);
        r->v0 = sel->nvals;
        r->nv = 1;
        sel->vals[sel->nvals] = arena_add(sel, tmp, vn);
        if (!r->key || !sel->vals[sel->nvals]) {
            sb_printf(&sb, "out of memory");
            goto fail;
        }
        sel->nvals++;
        sel->n++;
    }

    /* Transform: the kind's field label conversion, in the same (sorted) order */
    for (i = 0; i < sel->n; i++) {
        struct req *r = &sel->reqs[i];

        for (size_t d = 0; d < fk->ndefs; d++)
            if (strcmp(fk->defs[d].label, r->key) == 0) {
                r->fd = &fk->defs[d];
                break;
            }
        if (!r->fd) {
            if (fk == &default_kind) {
                sb_quote(&sb, r->key, strlen(r->key));
                sb_printf(&sb, " is not a known field selector: only \"metadata.name\", "
                               "\"metadata.namespace\"");
            } else {
                sb_printf(&sb, "field label not supported: %s", r->key);
            }
            goto fail;
        }
        if (r->fd->canon)
            r->key = r->fd->canon;
    }
    free(tmp);
    return sel;

fail:
    free(tmp);
    ksel_free(sel);
    return NULL;
}

const char *ksel_exact_name(const struct ksel *sel)
{
    if (!sel || !sel->is_field)
        return NULL;
    for (size_t i = 0; i < sel->n; i++)
        if ((sel->reqs[i].op == OP_EQ || sel->reqs[i].op == OP_DEQ) &&
            strcmp(sel->reqs[i].key, "metadata.name") == 0)
            return sel->vals[sel->reqs[i].v0];
    return NULL;
}

/* ---- matching -------------------------------------------------------------------------------- */

/* The object's value for a field label, as kube's field set would hold it. */
static const char *field_value(const struct field_def *fd, const cJSON *obj, char *buf, size_t len)
{
    const cJSON *v = obj;
    const char *p = fd->path;

    if (!p)
        return fd->dflt;
    while (*p && v) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        const cJSON *c;

        if (!cJSON_IsObject(v))
            return fd->dflt;
        for (c = v->child; c; c = c->next)
            if (c->string && strlen(c->string) == n && memcmp(c->string, p, n) == 0)
                break;
        v = c;
        p += n + (dot ? 1 : 0);
    }
    if (!v || cJSON_IsNull(v))
        return fd->dflt;
    if (cJSON_IsString(v))
        return v->valuestring ? v->valuestring : "";
    if (cJSON_IsTrue(v))
        return "true";
    if (cJSON_IsFalse(v))
        return "false";
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(long long)d)
            snprintf(buf, len, "%lld", (long long)d);
        else
            snprintf(buf, len, "%g", d);
        return buf;
    }
    return ""; /* objects and arrays have no field-set value */
}

static const cJSON *label_lookup(const cJSON *labels, const char *key)
{
    const cJSON *c;

    if (!cJSON_IsObject(labels))
        return NULL;
    for (c = labels->child; c; c = c->next)
        if (c->string && strcmp(c->string, key) == 0)
            return cJSON_IsString(c) && c->valuestring ? c : NULL;
    return NULL;
}

static int has_value(const struct ksel *sel, const struct req *r, const char *v)
{
    for (size_t i = 0; i < r->nv; i++)
        if (strcmp(sel->vals[r->v0 + i], v) == 0)
            return 1;
    return 0;
}

static int label_req_match(const struct ksel *sel, const struct req *r, const cJSON *labels)
{
    const cJSON *l = label_lookup(labels, r->key);
    long long num;

    switch (r->op) {
    case OP_IN:
    case OP_EQ:
    case OP_DEQ:
        return l && has_value(sel, r, l->valuestring);
    case OP_NOTIN:
    case OP_NEQ:
        return !l || !has_value(sel, r, l->valuestring);
    case OP_EXISTS:
        return l != NULL;
    case OP_NOTEXISTS:
        return l == NULL;
    case OP_GT:
    case OP_LT:
        if (!l || parse_int64(l->valuestring, &num) < 0)
            return 0;
        return r->op == OP_GT ? num > r->num : num < r->num;
    case OP_NONE:
        break;
    }
    return 0;
}

int ksel_match(const struct ksel *sel, const cJSON *obj)
{
    const cJSON *labels = NULL;
    char buf[64];

    if (!sel)
        return 1;
    if (!sel->is_field) {
        const cJSON *meta =
            cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "metadata") : NULL;
        labels = meta ? cJSON_GetObjectItemCaseSensitive(meta, "labels") : NULL;
    }
    for (size_t i = 0; i < sel->n; i++) {
        const struct req *r = &sel->reqs[i];

        if (sel->is_field) {
            int eq = strcmp(field_value(r->fd, obj, buf, sizeof(buf)), sel->vals[r->v0]) == 0;
            if (r->op == OP_NEQ ? eq : !eq)
                return 0;
        } else if (!label_req_match(sel, r, labels)) {
            return 0;
        }
    }
    return 1;
}
