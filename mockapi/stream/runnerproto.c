/* runnerproto.c -- GitLab Runner's in-container protocol: bash words and commands as the runner
 * writes them, save scripts, stage lines, legacy stage scripts, read-logs, exit markers */
#include "mockapi/stream/runnerproto.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bounded buffers ------------------------------------------------------------------------ */

/* A growable byte buffer with a cap; p is NUL-terminated whenever it is non-NULL. */
struct buf {
    char *p;
    size_t n;
    size_t cap;
    size_t max;
};

static void buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->n = 0;
    b->cap = 0;
    b->max = max;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    buf_init(b, b->max);
}

static int buf_add(struct buf *b, const void *d, size_t n)
{
    if (n > b->max || b->n > b->max - n)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np)
            return -1;
        b->p = np;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

static int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

static int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

/* The buffer's bytes as a heap string (never NULL on success); the buffer is emptied. */
static char *buf_take(struct buf *b, size_t *len)
{
    if (!b->p && buf_add(b, "", 0) < 0)
        return NULL;
    char *p = b->p;
    if (len)
        *len = b->n;
    buf_init(b, b->max);
    return p;
}

/* ---- characters ----------------------------------------------------------------------------- */

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_odigit(unsigned char c)
{
    return c >= '0' && c <= '7';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_name_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* bash's metacharacters: they end an unquoted word */
static int is_meta(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '|' || c == '&' || c == ';' || c == '(' ||
           c == ')' || c == '<' || c == '>';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int eq(const char *a, size_t alen, const char *b)
{
    size_t bl = strlen(b);
    return alen == bl && memcmp(a, b, bl) == 0;
}

static const char *find(const char *h, size_t hlen, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl == 0)
        return h;
    for (size_t i = 0; i + nl <= hlen; i++)
        if (h[i] == needle[0] && memcmp(h + i, needle, nl) == 0)
            return h + i;
    return NULL;
}

static const char *basename_of(const char *s, size_t len, size_t *blen)
{
    size_t i = len;
    while (i > 0 && s[i - 1] != '/')
        i--;
    *blen = len - i;
    return s + i;
}

static int utf8_put(struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        if (cp > 0x10ffff)
            cp = 0xfffd;
        if (cp < 0x10000)
            return utf8_put(b, cp);
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_add(b, u, n);
}

/* ---- backslash escapes ---------------------------------------------------------------------- */

/* The four dialects of bash's backslash escapes (checked against bash 5): */
#define ESC_ANSIC 0 /* $'...': \NNN, \cX is control-X */
#define ESC_FMT 1   /* a printf format: as $'...' but "\c" stays as written */
#define ESC_ECHO 2  /* echo -e: only \0NNN is octal, \c stops, \' \" \? keep the backslash */
#define ESC_PB 3    /* printf %b: \0NNN and \NNN, \c stops, \' \" \? keep the backslash */

/* Translate the escape at s[*i] == '\\' in the given dialect, appending to out and moving *i past
 * it. In ESC_ECHO and ESC_PB \c sets *stop. Returns 0 or -1 (output cap). */
static int put_escape(const char *s, size_t len, size_t *i, int mode, struct buf *out, int *stop)
{
    size_t p = *i + 1;
    if (p >= len) { /* a lone trailing backslash stays */
        *i = p;
        return buf_addc(out, '\\');
    }
    unsigned char c = (unsigned char)s[p++];
    int v;
    switch (c) {
    case 'a':
        v = '\a';
        break;
    case 'b':
        v = '\b';
        break;
    case 'e':
    case 'E':
        v = 0x1b;
        break;
    case 'f':
        v = '\f';
        break;
    case 'n':
        v = '\n';
        break;
    case 'r':
        v = '\r';
        break;
    case 't':
        v = '\t';
        break;
    case 'v':
        v = '\v';
        break;
    case '\\':
        v = '\\';
        break;
    case '\'':
    case '"':
    case '?':
        if ((mode == ESC_ECHO || mode == ESC_PB) && buf_addc(out, '\\') < 0)
            return -1;
        v = c;
        break;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
        if (mode == ESC_ECHO && c != '0') { /* echo -e knows only \0NNN */
            char two[2] = {'\\', (char)c};
            *i = p;
            return buf_add(out, two, 2);
        }
        int more = ((mode == ESC_ECHO || mode == ESC_PB) && c == '0') ? 3 : 2;
        v = c - '0';
        while (more-- > 0 && p < len && is_odigit((unsigned char)s[p]))
            v = v * 8 + (s[p++] - '0');
        v &= 0xff;
        break;
    }
    case 'x': {
        int digits = 0;
        v = 0;
        while (digits < 2 && p < len && hexval((unsigned char)s[p]) >= 0) {
            v = v * 16 + hexval((unsigned char)s[p++]);
            digits++;
        }
        if (digits == 0) { /* "\x" with no digits stays as written */
            *i = p;
            return buf_add(out, "\\x", 2);
        }
        break;
    }
    case 'u':
    case 'U': {
        int max = c == 'u' ? 4 : 8, digits = 0;
        unsigned long cp = 0;
        while (digits < max && p < len && hexval((unsigned char)s[p]) >= 0) {
            cp = cp * 16 + (unsigned long)hexval((unsigned char)s[p++]);
            digits++;
        }
        *i = p;
        if (digits == 0) {
            char two[2] = {'\\', (char)c};
            return buf_add(out, two, 2);
        }
        return utf8_put(out, cp);
    }
    case 'c':
        if (mode == ESC_ECHO || mode == ESC_PB) {
            *stop = 1;
            *i = p;
            return 0;
        }
        if (mode == ESC_FMT || p >= len) { /* not an escape there, or nothing to control */
            *i = p;
            return buf_add(out, "\\c", 2);
        }
        c = (unsigned char)s[p++];
        if (c == '\\' && p < len && s[p] == '\\')
            p++;
        v = c == '?' ? 0x7f : (c >= 'a' && c <= 'z' ? c - 32 : c) & 0x1f;
        break;
    default: {
        char two[2] = {'\\', (char)c};
        *i = p;
        return buf_add(out, two, 2);
    }
    }
    *i = p;
    return buf_addc(out, (char)v);
}

/* Apply echo -e (ESC_ECHO) or %b (ESC_PB) escapes to s (len bytes). */
static int put_echo_escaped(const char *s, size_t len, int mode, struct buf *out, int *stop)
{
    size_t i = 0;
    while (i < len && !*stop) {
        if (s[i] == '\\') {
            if (put_escape(s, len, &i, mode, out, stop) < 0)
                return -1;
        } else {
            size_t j = i;
            while (j < len && s[j] != '\\')
                j++;
            if (buf_add(out, s + i, j - i) < 0)
                return -1;
            i = j;
        }
    }
    return 0;
}

/* ---- skipping nested constructs ------------------------------------------------------------- */

static int skip_dq(const char *s, size_t len, size_t pos, size_t *end, int depth);

/* From pos, just after an opening backquote, to just after the closing one. */
static int skip_backtick(const char *s, size_t len, size_t pos, size_t *end)
{
    while (pos < len) {
        if (s[pos] == '\\')
            pos += 2;
        else if (s[pos] == '`') {
            *end = pos + 1;
            return 0;
        } else
            pos++;
    }
    return -1;
}

/* From pos, just after $', to just after the closing quote. */
static int skip_ansic(const char *s, size_t len, size_t pos, size_t *end)
{
    while (pos < len) {
        if (s[pos] == '\\')
            pos += 2;
        else if (s[pos] == '\'') {
            *end = pos + 1;
            return 0;
        } else
            pos++;
    }
    return -1;
}

/* From pos, just after "$(" (or "(" of "$(("), to just after the matching ")". */
static int skip_paren(const char *s, size_t len, size_t pos, size_t *end, int depth)
{
    if (depth > RP_MAX_NEST)
        return -1;
    int nest = 1;
    while (pos < len) {
        char c = s[pos];
        if (c == '\\') {
            pos += 2;
        } else if (c == '\'') {
            const char *q = memchr(s + pos + 1, '\'', len - pos - 1);
            if (!q)
                return -1;
            pos = (size_t)(q - s) + 1;
        } else if (c == '"') {
            if (skip_dq(s, len, pos + 1, &pos, depth + 1) < 0)
                return -1;
        } else if (c == '`') {
            if (skip_backtick(s, len, pos + 1, &pos) < 0)
                return -1;
        } else if (c == '$' && pos + 1 < len && s[pos + 1] == '\'') {
            if (skip_ansic(s, len, pos + 2, &pos) < 0)
                return -1;
        } else if (c == '(') {
            if (++nest > RP_MAX_NEST * 64)
                return -1;
            pos++;
        } else if (c == ')') {
            pos++;
            if (--nest == 0) {
                *end = pos;
                return 0;
            }
        } else {
            pos++;
        }
    }
    return -1;
}

/* From pos, just after "${", to just after the matching "}". */
static int skip_brace(const char *s, size_t len, size_t pos, size_t *end, int depth)
{
    if (depth > RP_MAX_NEST)
        return -1;
    int nest = 1;
    while (pos < len) {
        char c = s[pos];
        if (c == '\\') {
            pos += 2;
        } else if (c == '\'') {
            const char *q = memchr(s + pos + 1, '\'', len - pos - 1);
            if (!q)
                return -1;
            pos = (size_t)(q - s) + 1;
        } else if (c == '"') {
            if (skip_dq(s, len, pos + 1, &pos, depth + 1) < 0)
                return -1;
        } else if (c == '`') {
            if (skip_backtick(s, len, pos + 1, &pos) < 0)
                return -1;
        } else if (c == '$' && pos + 1 < len && s[pos + 1] == '(') {
            if (skip_paren(s, len, pos + 2, &pos, depth + 1) < 0)
                return -1;
        } else if (c == '$' && pos + 1 < len && s[pos + 1] == '{') {
            if (++nest > RP_MAX_NEST * 64)
                return -1;
            pos += 2;
        } else if (c == '}') {
            pos++;
            if (--nest == 0) {
                *end = pos;
                return 0;
            }
        } else {
            pos++;
        }
    }
    return -1;
}

/* From pos, just after an opening double quote, to just after the closing one. */
static int skip_dq(const char *s, size_t len, size_t pos, size_t *end, int depth)
{
    if (depth > RP_MAX_NEST)
        return -1;
    while (pos < len) {
        char c = s[pos];
        if (c == '\\') {
            pos += 2;
        } else if (c == '"') {
            *end = pos + 1;
            return 0;
        } else if (c == '`') {
            if (skip_backtick(s, len, pos + 1, &pos) < 0)
                return -1;
        } else if (c == '$' && pos + 1 < len && s[pos + 1] == '(') {
            if (skip_paren(s, len, pos + 2, &pos, depth + 1) < 0)
                return -1;
        } else if (c == '$' && pos + 1 < len && s[pos + 1] == '{') {
            if (skip_brace(s, len, pos + 2, &pos, depth + 1) < 0)
                return -1;
        } else {
            pos++;
        }
    }
    return -1;
}

/* ---- words ---------------------------------------------------------------------------------- */

/* How a word is read: literally (expansions kept as written) or rendered (r non-NULL). */
struct wctx {
    const char *s;
    size_t len;
    const struct rp_render *r;
};

static int put_i64(struct buf *b, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    return buf_add(b, num, (size_t)n);
}

/* Render a command substitution whose command text is cmd (len bytes). */
static int render_cmdsub(const struct rp_render *r, const char *cmd, size_t len, struct buf *out)
{
    while (len && (is_blank((unsigned char)*cmd) || *cmd == '\n')) {
        cmd++;
        len--;
    }
    while (len && (is_blank((unsigned char)cmd[len - 1]) || cmd[len - 1] == '\n'))
        len--;
    if (eq(cmd, len, "date +%s"))
        return put_i64(out, r->unix_time);
    if (eq(cmd, len, "hostname"))
        return r->hostname ? buf_adds(out, r->hostname) : 0;
    return 0;
}

/* A $ expansion at s[pos] == '$' that is not $' or $": copy it (literal) or render it; *end is
 * set after it. Returns 0, or -1 on an unterminated construct or the cap. */
static int put_dollar(const struct wctx *c, size_t pos, size_t *end, struct buf *out, int depth)
{
    const char *s = c->s;
    size_t len = c->len, e;
    if (pos + 1 < len && s[pos + 1] == '(') {
        if (skip_paren(s, len, pos + 2, &e, depth + 1) < 0)
            return -1;
        *end = e;
        if (!c->r)
            return buf_add(out, s + pos, e - pos);
        if (pos + 2 < len && s[pos + 2] == '(')
            return 0; /* $((arithmetic)) */
        return render_cmdsub(c->r, s + pos + 2, e - pos - 3, out);
    }
    if (pos + 1 < len && s[pos + 1] == '{') {
        if (skip_brace(s, len, pos + 2, &e, depth + 1) < 0)
            return -1;
        *end = e;
        return c->r ? 0 : buf_add(out, s + pos, e - pos);
    }
    e = pos + 1;
    if (e < len && is_name_char((unsigned char)s[e]) && !is_digit((unsigned char)s[e])) {
        while (e < len && is_name_char((unsigned char)s[e]))
            e++;
    } else if (e < len && (is_digit((unsigned char)s[e]) || strchr("?$!#*@-", s[e]))) {
        e++;
    } else { /* a lone $ */
        *end = e;
        return buf_addc(out, '$');
    }
    *end = e;
    if (!c->r)
        return buf_add(out, s + pos, e - pos);
    if (e - pos == 2 && (s[pos + 1] == '?' || s[pos + 1] == '#'))
        return buf_addc(out, '0');
    return 0;
}

static int put_backtick(const struct wctx *c, size_t pos, size_t *end, struct buf *out)
{
    size_t e;
    if (skip_backtick(c->s, c->len, pos + 1, &e) < 0)
        return -1;
    *end = e;
    if (!c->r)
        return buf_add(out, c->s + pos, e - pos);
    return render_cmdsub(c->r, c->s + pos + 1, e - pos - 2, out);
}

/* The inside of "..." from pos (after the quote) to after the closing quote. */
static int put_dq(const struct wctx *c, size_t pos, size_t *end, struct buf *out)
{
    const char *s = c->s;
    size_t len = c->len;
    while (pos < len) {
        char ch = s[pos];
        if (ch == '"') {
            *end = pos + 1;
            return 0;
        }
        if (ch == '\\' && pos + 1 < len) {
            char n = s[pos + 1];
            if (n == '\n') {
                pos += 2;
                continue;
            }
            if (n == '$' || n == '`' || n == '"' || n == '\\') {
                if (buf_addc(out, n) < 0)
                    return -1;
                pos += 2;
                continue;
            }
            if (buf_addc(out, '\\') < 0)
                return -1;
            pos++;
            continue;
        }
        if (ch == '$') {
            if (put_dollar(c, pos, &pos, out, 1) < 0)
                return -1;
            continue;
        }
        if (ch == '`') {
            if (put_backtick(c, pos, &pos, out) < 0)
                return -1;
            continue;
        }
        size_t j = pos + 1;
        while (j < len && s[j] != '"' && s[j] != '\\' && s[j] != '$' && s[j] != '`')
            j++;
        if (buf_add(out, s + pos, j - pos) < 0)
            return -1;
        pos = j;
    }
    return -1;
}

/* The inside of $'...' from pos (after the quote) to after the closing quote. The closing quote
 * is found first (\' does not close), so an escape never reads past it. */
static int put_ansic(const struct wctx *c, size_t pos, size_t *end, struct buf *out)
{
    const char *s = c->s;
    size_t e;
    if (skip_ansic(s, c->len, pos, &e) < 0)
        return -1;
    size_t q = e - 1; /* the closing quote */
    while (pos < q) {
        if (s[pos] == '\\') {
            int stop = 0;
            if (put_escape(s, q, &pos, ESC_ANSIC, out, &stop) < 0)
                return -1;
            continue;
        }
        size_t j = pos + 1;
        while (j < q && s[j] != '\\')
            j++;
        if (buf_add(out, s + pos, j - pos) < 0)
            return -1;
        pos = j;
    }
    *end = e;
    return 0;
}

/* Read the word at c->s[pos] into out; *end after it, *quoted set when any part was quoted. */
static int scan_word(const struct wctx *c, size_t pos, size_t *end, struct buf *out, int *quoted)
{
    const char *s = c->s;
    size_t len = c->len;
    *quoted = 0;
    while (pos < len && !is_meta((unsigned char)s[pos])) {
        char ch = s[pos];
        if (ch == '\\') {
            if (pos + 1 >= len) {
                if (buf_addc(out, '\\') < 0)
                    return -1;
                pos++;
            } else if (s[pos + 1] == '\n') {
                pos += 2;
            } else {
                if (buf_addc(out, s[pos + 1]) < 0)
                    return -1;
                *quoted = 1;
                pos += 2;
            }
        } else if (ch == '\'') {
            const char *q = memchr(s + pos + 1, '\'', len - pos - 1);
            if (!q || buf_add(out, s + pos + 1, (size_t)(q - s) - pos - 1) < 0)
                return -1;
            *quoted = 1;
            pos = (size_t)(q - s) + 1;
        } else if (ch == '"') {
            if (put_dq(c, pos + 1, &pos, out) < 0)
                return -1;
            *quoted = 1;
        } else if (ch == '$' && pos + 1 < len && s[pos + 1] == '\'') {
            if (put_ansic(c, pos + 2, &pos, out) < 0)
                return -1;
            *quoted = 1;
        } else if (ch == '$' && pos + 1 < len && s[pos + 1] == '"') {
            if (put_dq(c, pos + 2, &pos, out) < 0)
                return -1;
            *quoted = 1;
        } else if (ch == '$') {
            if (put_dollar(c, pos, &pos, out, 0) < 0)
                return -1;
        } else if (ch == '`') {
            if (put_backtick(c, pos, &pos, out) < 0)
                return -1;
        } else {
            size_t j = pos + 1;
            while (j < len && !is_meta((unsigned char)s[j]) && !strchr("\\'\"$`", s[j]))
                j++;
            if (buf_add(out, s + pos, j - pos) < 0)
                return -1;
            pos = j;
        }
    }
    *end = pos;
    return 0;
}

int rp_unquote_word(const char *s, size_t len, size_t pos, size_t *end, char **out, size_t *out_len)
{
    *out = NULL;
    if (!s || len > RP_MAX_INPUT || pos >= len || is_meta((unsigned char)s[pos]))
        return -1;
    struct wctx c = {s, len, NULL};
    struct buf b;
    buf_init(&b, RP_MAX_OUTPUT);
    int quoted;
    size_t e;
    if (scan_word(&c, pos, &e, &b, &quoted) < 0) {
        buf_free(&b);
        return -1;
    }
    char *w = buf_take(&b, out_len);
    if (!w)
        return -1;
    *out = w;
    *end = e;
    return 0;
}

/* ---- the lexer ------------------------------------------------------------------------------ */

struct heredoc {
    char *delim;
    size_t dlen;
    int strip;
};

struct lexer {
    struct wctx c;
    size_t pos;
    int want_delim; /* 0, or 1/2: the next word is a << / <<- delimiter */
    struct heredoc hd[RP_MAX_HEREDOCS];
    int nhd;
    struct rp_token queue[RP_MAX_HEREDOCS];
    int qhead, qn;
};

static void lexer_init(struct lexer *lx, const char *s, size_t len, const struct rp_render *r)
{
    memset(lx, 0, sizeof *lx);
    lx->c.s = s;
    lx->c.len = len;
    lx->c.r = r;
}

static void tok_release(struct rp_token *t)
{
    free(t->text);
    t->text = NULL;
    t->len = 0;
}

static void lexer_release(struct lexer *lx)
{
    for (int i = 0; i < lx->nhd; i++)
        free(lx->hd[i].delim);
    lx->nhd = 0;
    while (lx->qn > 0) {
        tok_release(&lx->queue[lx->qhead]);
        lx->qhead = (lx->qhead + 1) % RP_MAX_HEREDOCS;
        lx->qn--;
    }
}

static const struct {
    const char *text;
    enum rp_op op;
} ops[] = {
    {"&&", RP_OP_AND},     {"&>>", RP_OP_ANDDGREAT}, {"&>", RP_OP_ANDGREAT},
    {"&", RP_OP_BG},       {"||", RP_OP_OR},         {"|&", RP_OP_PIPEAND},
    {"|", RP_OP_PIPE},     {";;", RP_OP_DSEMI},      {";", RP_OP_SEMI},
    {"<<<", RP_OP_TLESS},  {"<<-", RP_OP_DLESSDASH}, {"<<", RP_OP_DLESS},
    {"<&", RP_OP_LESSAND}, {"<>", RP_OP_LESSGREAT},  {"<", RP_OP_LESS},
    {">>", RP_OP_DGREAT},  {">&", RP_OP_GREATAND},   {">|", RP_OP_CLOBBER},
    {">", RP_OP_GREAT},    {"(", RP_OP_LPAREN},      {")", RP_OP_RPAREN},
};

static int set_text(struct rp_token *t, const char *s, size_t n)
{
    t->text = malloc(n + 1);
    if (!t->text)
        return -1;
    memcpy(t->text, s, n);
    t->text[n] = '\0';
    t->len = n;
    return 0;
}

/* Read the bodies of the pending here-documents from lx->pos (just after a newline). */
static int read_heredocs(struct lexer *lx)
{
    const char *s = lx->c.s;
    size_t len = lx->c.len;
    for (int i = 0; i < lx->nhd; i++) {
        struct buf b;
        buf_init(&b, RP_MAX_OUTPUT);
        size_t start = lx->pos;
        while (lx->pos < len) {
            size_t ls = lx->pos;
            const char *nl = memchr(s + ls, '\n', len - ls);
            size_t le = nl ? (size_t)(nl - s) : len;
            size_t cs = ls;
            if (lx->hd[i].strip)
                while (cs < le && s[cs] == '\t')
                    cs++;
            lx->pos = nl ? le + 1 : len;
            if (le - cs == lx->hd[i].dlen && memcmp(s + cs, lx->hd[i].delim, le - cs) == 0)
                break;
            if (buf_add(&b, s + cs, le - cs) < 0 || (nl && buf_addc(&b, '\n') < 0)) {
                buf_free(&b);
                return -1;
            }
        }
        struct rp_token *t = &lx->queue[(lx->qhead + lx->qn) % RP_MAX_HEREDOCS];
        memset(t, 0, sizeof *t);
        t->type = RP_TOK_HEREDOC;
        t->fd = t->dup = -1;
        t->start = start;
        t->end = lx->pos;
        t->text = buf_take(&b, &t->len);
        if (!t->text)
            return -1;
        lx->qn++;
        free(lx->hd[i].delim);
        lx->hd[i].delim = NULL;
    }
    lx->nhd = 0;
    return 0;
}

/* The next token into *t (t->text owned by the caller). Returns 1, 0 at the end, -1 on error. */
static int lex_next(struct lexer *lx, struct rp_token *t)
{
    const char *s = lx->c.s;
    size_t len = lx->c.len;
    memset(t, 0, sizeof *t);
    t->fd = t->dup = -1;
    if (lx->qn > 0) {
        *t = lx->queue[lx->qhead];
        lx->qhead = (lx->qhead + 1) % RP_MAX_HEREDOCS;
        lx->qn--;
        return 1;
    }
    for (;;) {
        while (lx->pos < len && is_blank((unsigned char)s[lx->pos]))
            lx->pos++;
        if (lx->pos + 1 < len && s[lx->pos] == '\\' && s[lx->pos + 1] == '\n') {
            lx->pos += 2;
            continue;
        }
        if (lx->pos < len && s[lx->pos] == '#') {
            const char *nl = memchr(s + lx->pos, '\n', len - lx->pos);
            lx->pos = nl ? (size_t)(nl - s) : len;
            continue;
        }
        break;
    }
    if (lx->pos >= len)
        return lx->want_delim ? -1 : 0;
    size_t start = lx->pos;
    t->start = start;
    unsigned char ch = (unsigned char)s[start];
    if (ch == '\n') {
        if (lx->want_delim)
            return -1;
        t->type = RP_TOK_NEWLINE;
        lx->pos++;
        t->end = lx->pos;
        if (set_text(t, "\n", 1) < 0)
            return -1;
        if (lx->nhd > 0 && read_heredocs(lx) < 0) {
            tok_release(t);
            return -1;
        }
        return 1;
    }
    size_t p = start;
    int fd = -1;
    if (is_digit(ch)) { /* an IO number: digits right before < or > */
        size_t q = p;
        while (q < len && is_digit((unsigned char)s[q]))
            q++;
        if (q < len && (s[q] == '<' || s[q] == '>') && q - p <= 9) {
            fd = 0;
            for (size_t k = p; k < q; k++)
                fd = fd * 10 + (s[k] - '0');
            p = q;
        }
    }
    if (is_meta((unsigned char)s[p])) {
        if (lx->want_delim)
            return -1;
        size_t k;
        for (k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            size_t n = strlen(ops[k].text);
            if (p + n <= len && memcmp(s + p, ops[k].text, n) == 0)
                break;
        }
        if (k == sizeof ops / sizeof ops[0])
            return -1; /* not reached: every metacharacter starts an operator */
        t->type = RP_TOK_OP;
        t->op = ops[k].op;
        t->fd = fd;
        p += strlen(ops[k].text);
        if (t->op == RP_OP_GREATAND || t->op == RP_OP_LESSAND) {
            size_t q = p;
            while (q < len && is_digit((unsigned char)s[q]))
                q++;
            if (q > p && q - p <= 9 && (q == len || is_meta((unsigned char)s[q]))) {
                t->dup = 0;
                for (size_t m = p; m < q; m++)
                    t->dup = t->dup * 10 + (s[m] - '0');
                p = q;
            } else if (q == p && p < len && s[p] == '-' &&
                       (p + 1 == len || is_meta((unsigned char)s[p + 1]))) {
                t->dup = -2;
                p++;
            }
        }
        if (t->op == RP_OP_DLESS)
            lx->want_delim = 1;
        else if (t->op == RP_OP_DLESSDASH)
            lx->want_delim = 2;
        lx->pos = p;
        t->end = p;
        return set_text(t, s + start, p - start) < 0 ? -1 : 1;
    }
    struct buf b;
    buf_init(&b, RP_MAX_OUTPUT);
    struct wctx c = lx->c;
    if (lx->want_delim)
        c.r = NULL; /* a delimiter is taken as written */
    if (scan_word(&c, start, &lx->pos, &b, &t->quoted) < 0) {
        buf_free(&b);
        return -1;
    }
    t->type = RP_TOK_WORD;
    t->end = lx->pos;
    t->text = buf_take(&b, &t->len);
    if (!t->text)
        return -1;
    if (lx->want_delim) {
        if (lx->nhd >= RP_MAX_HEREDOCS) {
            tok_release(t);
            return -1;
        }
        struct heredoc *h = &lx->hd[lx->nhd];
        h->delim = malloc(t->len + 1);
        if (!h->delim) {
            tok_release(t);
            return -1;
        }
        memcpy(h->delim, t->text, t->len + 1);
        h->dlen = t->len;
        h->strip = lx->want_delim == 2;
        lx->nhd++;
        lx->want_delim = 0;
    }
    return 1;
}

int rp_split(const char *s, size_t len, struct rp_tokens *out)
{
    out->v = NULL;
    out->n = 0;
    if (!s || len > RP_MAX_INPUT)
        return -1;
    struct lexer lx;
    lexer_init(&lx, s, len, NULL);
    size_t cap = 0;
    int ret = -1;
    for (;;) {
        struct rp_token t;
        int r = lex_next(&lx, &t);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if (out->n >= RP_MAX_TOKENS) {
            tok_release(&t);
            goto out;
        }
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct rp_token *nv = realloc(out->v, nc * sizeof *nv);
            if (!nv) {
                tok_release(&t);
                goto out;
            }
            out->v = nv;
            cap = nc;
        }
        out->v[out->n++] = t;
    }
    ret = 0;
out:
    lexer_release(&lx);
    if (ret < 0)
        rp_tokens_release(out);
    return ret;
}

void rp_tokens_release(struct rp_tokens *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* ---- simple commands ------------------------------------------------------------------------ */

struct redir {
    enum rp_op op;
    int fd;
    int dup;
    char *target; /* NULL for the >&N form */
    size_t tlen;
};

#define T_EOF 0
#define T_NEWLINE 1
#define T_OP 2

/* One simple command: its words, its redirections, what ended it, its here-document body. */
struct scmd {
    char **w;
    size_t *wl;
    size_t nw, capw;
    struct redir *rd;
    size_t nrd, caprd;
    int term;
    enum rp_op term_op;
    char *heredoc;
    size_t hdlen;
    int want_heredoc;
};

static void scmd_clear(struct scmd *c)
{
    for (size_t i = 0; i < c->nw; i++)
        free(c->w[i]);
    for (size_t i = 0; i < c->nrd; i++)
        free(c->rd[i].target);
    free(c->heredoc);
    c->heredoc = NULL;
    c->hdlen = 0;
    c->nw = c->nrd = 0;
    c->term = T_EOF;
    c->term_op = RP_OP_NONE;
    c->want_heredoc = 0;
}

static void scmd_free(struct scmd *c)
{
    scmd_clear(c);
    free(c->w);
    free(c->wl);
    free(c->rd);
    memset(c, 0, sizeof *c);
}

static int is_redir_op(enum rp_op op)
{
    return op >= RP_OP_GREAT && op <= RP_OP_ANDDGREAT;
}

/* Takes ownership of t->text on success. */
static int scmd_add_word(struct scmd *c, struct rp_token *t)
{
    if (c->nw + c->nrd >= RP_MAX_WORDS)
        return -1;
    if (c->nw == c->capw) {
        size_t nc = c->capw ? c->capw * 2 : 8;
        char **nw = realloc(c->w, nc * sizeof *nw);
        if (!nw)
            return -1;
        c->w = nw;
        size_t *nl = realloc(c->wl, nc * sizeof *nl);
        if (!nl)
            return -1;
        c->wl = nl;
        c->capw = nc;
    }
    c->w[c->nw] = t->text;
    c->wl[c->nw] = t->len;
    c->nw++;
    t->text = NULL;
    return 0;
}

static int scmd_add_redir(struct scmd *c, const struct rp_token *t)
{
    if (c->nw + c->nrd >= RP_MAX_WORDS)
        return -1;
    if (c->nrd == c->caprd) {
        size_t nc = c->caprd ? c->caprd * 2 : 4;
        struct redir *nr = realloc(c->rd, nc * sizeof *nr);
        if (!nr)
            return -1;
        c->rd = nr;
        c->caprd = nc;
    }
    struct redir *r = &c->rd[c->nrd++];
    r->op = t->op;
    r->fd = t->fd;
    r->dup = t->dup;
    r->target = NULL;
    r->tlen = 0;
    if (t->op == RP_OP_DLESS || t->op == RP_OP_DLESSDASH)
        c->want_heredoc = 1;
    return 0;
}

/* Read the next simple command. Returns 1 (the command may be empty: look at c->term), 0 at the
 * end of input with nothing read, -1 on a syntax or resource error. */
static int read_cmd(struct lexer *lx, struct scmd *c)
{
    scmd_clear(c);
    long pend = -1; /* index of a redirection waiting for its word */
    for (;;) {
        struct rp_token t;
        int r = lex_next(lx, &t);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (pend >= 0)
                return -1;
            c->term = T_EOF;
            return (c->nw || c->nrd) ? 1 : 0;
        }
        switch (t.type) {
        case RP_TOK_WORD:
            if (pend >= 0) {
                c->rd[pend].target = t.text;
                c->rd[pend].tlen = t.len;
                pend = -1;
            } else if (scmd_add_word(c, &t) < 0) {
                tok_release(&t);
                return -1;
            }
            break;
        case RP_TOK_NEWLINE:
            tok_release(&t);
            if (pend >= 0)
                return -1;
            c->term = T_NEWLINE;
            if (c->want_heredoc && lx->qn > 0) { /* the body follows the newline */
                struct rp_token h;
                if (lex_next(lx, &h) < 0)
                    return -1;
                c->heredoc = h.text;
                c->hdlen = h.len;
            }
            return 1;
        case RP_TOK_HEREDOC: /* a body whose command ended before the newline: dropped */
            tok_release(&t);
            break;
        case RP_TOK_OP:
            if (is_redir_op(t.op)) {
                if (pend >= 0 || scmd_add_redir(c, &t) < 0) {
                    tok_release(&t);
                    return -1;
                }
                if (t.dup == -1)
                    pend = (long)c->nrd - 1;
                tok_release(&t);
                break;
            }
            tok_release(&t);
            if (pend >= 0)
                return -1;
            c->term = T_OP;
            c->term_op = t.op;
            return 1;
        }
    }
}

static int is_assignment(const char *w, size_t len)
{
    if (len == 0 || !(is_alpha((unsigned char)w[0]) || w[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (w[i] == '=')
            return 1;
        if (!is_name_char((unsigned char)w[i]))
            return 0;
    }
    return 0;
}

/* ---- echo and printf ------------------------------------------------------------------------ */

/* bash's builtin echo: leading words made only of -[neE] are options. */
static int run_echo(char **w, const size_t *wl, size_t n, struct buf *out)
{
    size_t i = 1;
    int nl = 1, esc = 0, stop = 0;
    for (; i < n; i++) {
        if (wl[i] < 2 || w[i][0] != '-' || strspn(w[i] + 1, "neE") != wl[i] - 1)
            break;
        for (size_t k = 1; k < wl[i]; k++) {
            if (w[i][k] == 'n')
                nl = 0;
            else if (w[i][k] == 'e')
                esc = 1;
            else
                esc = 0;
        }
    }
    for (size_t first = i; i < n && !stop; i++) {
        if (i > first && buf_addc(out, ' ') < 0)
            return -1;
        if (esc ? put_echo_escaped(w[i], wl[i], ESC_ECHO, out, &stop) : buf_add(out, w[i], wl[i]))
            return -1;
    }
    if (nl && !stop && buf_addc(out, '\n') < 0)
        return -1;
    return 0;
}

static int pad(struct buf *out, char with, long n)
{
    for (; n > 0; n--)
        if (buf_addc(out, with) < 0)
            return -1;
    return 0;
}

/* Emit s (n bytes) in a field of width, left-justified when left. */
static int put_field(struct buf *out, const char *s, size_t n, long width, int left)
{
    long fill = width > (long)n ? width - (long)n : 0;
    if (!left && pad(out, ' ', fill) < 0)
        return -1;
    if (buf_add(out, s, n) < 0)
        return -1;
    return left ? pad(out, ' ', fill) : 0;
}

/* bash printf's integer argument: blanks, sign, 0x/0 prefixes, or 'c for c's value. */
static void int_arg(const char *a, int *neg, uint64_t *mag)
{
    *neg = 0;
    *mag = 0;
    if (!a)
        return;
    while (is_blank((unsigned char)*a))
        a++;
    if (*a == '\'' || *a == '"') {
        *mag = (unsigned char)a[1];
        return;
    }
    if (*a == '-' || *a == '+')
        *neg = *a++ == '-';
    int base = 10;
    if (a[0] == '0' && (a[1] == 'x' || a[1] == 'X')) {
        base = 16;
        a += 2;
    } else if (a[0] == '0') {
        base = 8;
    }
    for (; *a; a++) {
        int d = hexval((unsigned char)*a);
        if (d < 0 || d >= base)
            break;
        *mag = *mag > (UINT64_MAX - (uint64_t)d) / (uint64_t)base
                   ? UINT64_MAX
                   : *mag * (uint64_t)base + (uint64_t)d;
    }
}

struct spec {
    int left, plus, space, alt, zero;
    long width, prec;
    int has_prec;
};

static int put_int(struct buf *out, const struct spec *sp, int neg, uint64_t mag, int base,
                   int upper, int is_signed)
{
    char digits[72];
    size_t nd = 0;
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    if (!(sp->has_prec && sp->prec == 0 && mag == 0))
        do {
            digits[nd++] = dig[mag % (uint64_t)base];
            mag /= (uint64_t)base;
        } while (mag);
    char prefix[3];
    size_t np = 0;
    if (is_signed) {
        if (neg)
            prefix[np++] = '-';
        else if (sp->plus)
            prefix[np++] = '+';
        else if (sp->space)
            prefix[np++] = ' ';
    }
    if (sp->alt && base == 16 && nd && !(nd == 1 && digits[0] == '0')) {
        prefix[np++] = '0';
        prefix[np++] = upper ? 'X' : 'x';
    }
    long zeros = sp->has_prec && sp->prec > (long)nd ? sp->prec - (long)nd : 0;
    if (sp->alt && base == 8 && zeros == 0 && (nd == 0 || digits[nd - 1] != '0'))
        zeros = 1;
    long body = (long)np + zeros + (long)nd;
    long fill = sp->width > body ? sp->width - body : 0;
    if (sp->zero && !sp->left && !sp->has_prec) {
        zeros += fill;
        fill = 0;
    }
    if (!sp->left && pad(out, ' ', fill) < 0)
        return -1;
    if (buf_add(out, prefix, np) < 0 || pad(out, '0', zeros) < 0)
        return -1;
    while (nd)
        if (buf_addc(out, digits[--nd]) < 0)
            return -1;
    return sp->left ? pad(out, ' ', fill) : 0;
}

static int put_float(struct buf *out, const struct spec *sp, char conv, const char *a)
{
    long double v = 0.0L; /* bash's printf uses long double */
    if (a && (a[0] == '\'' || a[0] == '"'))
        v = (unsigned char)a[1]; /* 'c: the character's value, as for integers */
    else if (a)
        v = strtold(a, NULL);
    int prec = sp->has_prec ? (int)(sp->prec > 60 ? 60 : sp->prec) : 6;
    char tmp[512];
    int n;
    switch (conv) {
    case 'e':
        n = snprintf(tmp + 1, sizeof tmp - 1, "%.*Le", prec, v);
        break;
    case 'E':
        n = snprintf(tmp + 1, sizeof tmp - 1, "%.*LE", prec, v);
        break;
    case 'g':
        n = snprintf(tmp + 1, sizeof tmp - 1, "%.*Lg", prec, v);
        break;
    case 'G':
        n = snprintf(tmp + 1, sizeof tmp - 1, "%.*LG", prec, v);
        break;
    default:
        n = snprintf(tmp + 1, sizeof tmp - 1, "%.*Lf", prec, v);
        break;
    }
    if (n < 0)
        return -1;
    if ((size_t)n >= sizeof tmp - 1)
        n = (int)sizeof tmp - 2;
    char *p = tmp + 1;
    if (p[0] != '-' && (sp->plus || sp->space)) {
        *--p = sp->plus ? '+' : ' ';
        n++;
    }
    return put_field(out, p, (size_t)n, sp->width, sp->left);
}

#define MAX_FIELD ((long)RP_MAX_OUTPUT)

static int read_num(const char *f, size_t fl, size_t *i, long *v)
{
    *v = 0;
    while (*i < fl && is_digit((unsigned char)f[*i])) {
        *v = *v * 10 + (f[*i] - '0');
        if (*v > MAX_FIELD)
            return -1;
        (*i)++;
    }
    return 0;
}

/* bash's printf builtin for FORMAT and args; the format is reused while it consumes args. */
static int run_printf_format(const char *f, size_t fl, char **args, const size_t *al, size_t na,
                             struct buf *out)
{
    size_t ai = 0;
    for (;;) {
        size_t ai0 = ai;
        size_t i = 0;
        while (i < fl) {
            if (f[i] == '\\') {
                int stop = 0;
                if (put_escape(f, fl, &i, ESC_FMT, out, &stop) < 0)
                    return -1;
                continue;
            }
            if (f[i] != '%') {
                size_t j = i;
                while (j < fl && f[j] != '%' && f[j] != '\\')
                    j++;
                if (buf_add(out, f + i, j - i) < 0)
                    return -1;
                i = j;
                continue;
            }
            size_t st = i++;
            if (i < fl && f[i] == '%') {
                if (buf_addc(out, '%') < 0)
                    return -1;
                i++;
                continue;
            }
            struct spec sp = {0, 0, 0, 0, 0, 0, 0, 0};
            for (; i < fl && strchr("-+ #0'", f[i]); i++) {
                if (f[i] == '-')
                    sp.left = 1;
                else if (f[i] == '+')
                    sp.plus = 1;
                else if (f[i] == ' ')
                    sp.space = 1;
                else if (f[i] == '#')
                    sp.alt = 1;
                else if (f[i] == '0')
                    sp.zero = 1;
            }
            if (i < fl && f[i] == '*') {
                int neg;
                uint64_t m;
                int_arg(ai < na ? args[ai] : NULL, &neg, &m);
                ai += ai < na;
                i++;
                if (m > (uint64_t)MAX_FIELD)
                    return -1;
                sp.width = (long)m;
                if (neg)
                    sp.left = 1;
            } else if (read_num(f, fl, &i, &sp.width) < 0) {
                return -1;
            }
            if (i < fl && f[i] == '.') {
                i++;
                sp.has_prec = 1;
                if (i < fl && f[i] == '*') {
                    int neg;
                    uint64_t m;
                    int_arg(ai < na ? args[ai] : NULL, &neg, &m);
                    ai += ai < na;
                    i++;
                    /* a huge precision only matters where it makes output: clamp it there */
                    sp.prec = m > (uint64_t)MAX_FIELD ? MAX_FIELD + 1 : (long)m;
                    sp.has_prec = !(neg && m != 0); /* a negative precision is none */
                } else {
                    while (i < fl && is_digit((unsigned char)f[i])) {
                        if (sp.prec <= MAX_FIELD)
                            sp.prec = sp.prec * 10 + (f[i] - '0');
                        i++;
                    }
                }
            }
            while (i < fl && strchr("hlLqjzt", f[i]))
                i++;
            if (i >= fl) { /* a dangling spec is printed as written */
                if (buf_add(out, f + st, fl - st) < 0)
                    return -1;
                break;
            }
            char conv = f[i++];
            const char *a = ai < na ? args[ai] : NULL;
            size_t alen = ai < na ? al[ai] : 0;
            int r = 0;
            switch (conv) {
            case 's':
            case 'q':
            case 'Q':
                r = put_field(out, a ? a : "",
                              sp.has_prec && (size_t)sp.prec < alen ? (size_t)sp.prec : alen,
                              sp.width, sp.left);
                break;
            case 'b': {
                struct buf t;
                int stop = 0;
                buf_init(&t, RP_MAX_OUTPUT);
                if (put_echo_escaped(a ? a : "", alen, ESC_PB, &t, &stop) < 0) {
                    buf_free(&t);
                    return -1;
                }
                size_t n = sp.has_prec && (size_t)sp.prec < t.n ? (size_t)sp.prec : t.n;
                r = put_field(out, t.p ? t.p : "", n, sp.width, sp.left);
                buf_free(&t);
                if (stop)
                    return r;
                break;
            }
            case 'c': /* the first byte, or NUL for an empty or missing argument */
                r = put_field(out, alen ? a : "", 1, sp.width, sp.left);
                break;
            case 'd':
            case 'i':
            case 'u':
            case 'o':
            case 'x':
            case 'X': {
                int neg;
                uint64_t m;
                int_arg(a, &neg, &m);
                int sgn = conv == 'd' || conv == 'i';
                if (sgn) { /* strtoimax saturates */
                    uint64_t lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
                    if (m > lim)
                        m = lim;
                    if (m == 0)
                        neg = 0;
                } else if (neg) {
                    m = (uint64_t)0 - m;
                    neg = 0;
                }
                int base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X') ? 16 : 10;
                r = put_int(out, &sp, neg, m, base, conv == 'X', sgn);
                break;
            }
            case 'f':
            case 'F':
            case 'e':
            case 'E':
            case 'g':
            case 'G':
                r = put_float(out, &sp, conv, a);
                break;
            default: /* not a conversion bash knows: print it as written, use no argument */
                if (buf_add(out, f + st, i - st) < 0)
                    return -1;
                continue;
            }
            if (r < 0)
                return -1;
            ai += ai < na;
        }
        if (ai >= na || ai == ai0)
            return 0;
    }
}

static int run_printf(char **w, const size_t *wl, size_t n, struct buf *out)
{
    size_t i = 1;
    if (i < n && eq(w[i], wl[i], "-v"))
        return 0; /* printf -v VAR: assigns, prints nothing */
    if (i < n && eq(w[i], wl[i], "--"))
        i++;
    if (i >= n)
        return 0;
    return run_printf_format(w[i], wl[i], w + i + 1, wl + i + 1, n - i - 1, out);
}

/* ---- save scripts --------------------------------------------------------------------------- */

static int files_find(const struct rp_files *f, const char *p, size_t plen)
{
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->v[i].path) == plen && memcmp(f->v[i].path, p, plen) == 0)
            return (int)i;
    return -1;
}

/* The file at p, created empty (0644) when missing. Returns its index, -1 on the file cap or
 * memory, -2 for a path no file system would take (empty or holding NUL). */
static int files_create(struct rp_files *f, const char *p, size_t plen)
{
    if (plen == 0 || memchr(p, '\0', plen) || plen >= RP_PATH_MAX)
        return -2;
    int i = files_find(f, p, plen);
    if (i >= 0)
        return i;
    if (f->n >= RP_MAX_FILES)
        return -1;
    if (!f->v) {
        f->v = calloc(RP_MAX_FILES, sizeof *f->v);
        if (!f->v)
            return -1;
    }
    struct rp_file *nf = &f->v[f->n];
    nf->path = malloc(plen + 1);
    nf->data = malloc(1);
    if (!nf->path || !nf->data) {
        free(nf->path);
        free(nf->data);
        nf->path = nf->data = NULL;
        return -1;
    }
    memcpy(nf->path, p, plen);
    nf->path[plen] = '\0';
    nf->data[0] = '\0';
    nf->len = 0;
    nf->mode = 0644;
    return (int)f->n++;
}

static void files_remove(struct rp_files *f, int i)
{
    free(f->v[i].path);
    free(f->v[i].data);
    memmove(&f->v[i], &f->v[i + 1], (f->n - (size_t)i - 1) * sizeof *f->v);
    f->n--;
}

static int file_write(struct rp_file *fl, const char *d, size_t n)
{
    if (n > RP_MAX_OUTPUT || fl->len > RP_MAX_OUTPUT - n)
        return -1;
    char *nd = realloc(fl->data, fl->len + n + 1);
    if (!nd)
        return -1;
    fl->data = nd;
    if (n)
        memcpy(fl->data + fl->len, d, n);
    fl->len += n;
    fl->data[fl->len] = '\0';
    return 0;
}

static void file_truncate(struct rp_file *fl)
{
    fl->len = 0;
    fl->data[0] = '\0';
}

static int is_dev(const char *p, size_t n)
{
    return n >= 5 && memcmp(p, "/dev/", 5) == 0;
}

/* chmod MODE: octal, or comma-separated [ugoa]*[+-=][rwxX]* clauses. Returns 0 or -1. */
static int apply_mode(const char *m, size_t n, unsigned *mode)
{
    if (n == 0)
        return -1;
    if (is_odigit((unsigned char)m[0])) {
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!is_odigit((unsigned char)m[i]) || i >= 4)
                return -1;
            v = v * 8 + (unsigned)(m[i] - '0');
        }
        *mode = v & 07777;
        return 0;
    }
    unsigned cur = *mode;
    size_t i = 0;
    while (i <= n) {
        unsigned who = 0;
        for (; i < n && strchr("ugoa", m[i]); i++)
            who |= m[i] == 'u' ? 04700u : m[i] == 'g' ? 02070u : m[i] == 'o' ? 01007u : 07777u;
        if (!who)
            who = 07777;
        if (i >= n || !strchr("+-=", m[i]))
            return -1;
        while (i < n && strchr("+-=", m[i])) {
            char op = m[i++];
            unsigned bits = 0;
            for (; i < n && strchr("rwxXst", m[i]); i++) {
                if (m[i] == 'r')
                    bits |= 0444;
                else if (m[i] == 'w')
                    bits |= 0222;
                else if (m[i] == 'x' || (m[i] == 'X' && (cur & 0111)))
                    bits |= 0111;
            }
            bits &= who;
            if (op == '+')
                cur |= bits;
            else if (op == '-')
                cur &= ~bits;
            else
                cur = (cur & ~(who & 0777)) | bits;
        }
        if (i == n)
            break;
        if (m[i] != ',')
            return -1;
        i++;
    }
    *mode = cur & 07777;
    return 0;
}

/* Index of the first operand after options (words starting with '-', up to "--"). */
static size_t first_operand(char **w, const size_t *wl, size_t n, size_t i)
{
    for (; i < n; i++) {
        if (eq(w[i], wl[i], "--"))
            return i + 1;
        if (wl[i] < 2 || w[i][0] != '-')
            break;
    }
    return i;
}

static int has_flag(char **w, const size_t *wl, size_t from, size_t to, char flag)
{
    for (size_t i = from; i < to; i++)
        if (wl[i] >= 2 && w[i][0] == '-' && memchr(w[i] + 1, flag, wl[i] - 1))
            return 1;
    return 0;
}

/* mv or cp of w[a] to w[b]. Returns 0, 1 when it failed, -1 on the file cap or memory. */
static int move_file(struct rp_files *f, const char *src, size_t sl, const char *dst, size_t dl,
                     int copy)
{
    int si = files_find(f, src, sl);
    if (si < 0)
        return 1;
    char tmp[RP_PATH_MAX];
    if (dl > 0 && dst[dl - 1] == '/') { /* into a directory: keep the name */
        size_t bl;
        const char *bn = basename_of(src, sl, &bl);
        if (dl + bl >= sizeof tmp)
            return 1;
        memcpy(tmp, dst, dl);
        memcpy(tmp + dl, bn, bl);
        dst = tmp;
        dl += bl;
    }
    if (dl == sl && memcmp(src, dst, sl) == 0)
        return copy; /* cp a a fails; mv a a is a no-op */
    int di = files_find(f, dst, dl);
    if (!copy) {
        if (dl >= RP_PATH_MAX || memchr(dst, '\0', dl))
            return 1;
        char *np = malloc(dl + 1);
        if (!np)
            return -1;
        memcpy(np, dst, dl);
        np[dl] = '\0';
        free(f->v[si].path);
        f->v[si].path = np;
        if (di >= 0)
            files_remove(f, di);
        return 0;
    }
    di = files_create(f, dst, dl);
    if (di == -2)
        return 1;
    if (di < 0)
        return -1;
    si = files_find(f, src, sl);
    file_truncate(&f->v[di]);
    if (file_write(&f->v[di], f->v[si].data, f->v[si].len) < 0)
        return -1;
    f->v[di].mode = f->v[si].mode;
    return 0;
}

/* Run one command of a save script against f. Returns 0, or -1 to abort the interpretation. */
static int save_cmd(struct rp_files *f, struct scmd *c)
{
    int out_i = -1;
    for (size_t k = 0; k < c->nrd; k++) {
        const struct redir *r = &c->rd[k];
        int to_file = r->op == RP_OP_GREAT || r->op == RP_OP_DGREAT || r->op == RP_OP_CLOBBER ||
                      r->op == RP_OP_ANDGREAT || r->op == RP_OP_ANDDGREAT ||
                      (r->op == RP_OP_GREATAND && r->dup == -1);
        int is_stdout = r->fd == -1 || r->fd == 1;
        if (r->op == RP_OP_GREATAND && r->dup >= 0) {
            if (is_stdout && r->dup != 1)
                out_i = -1; /* >&2: away from any file */
            continue;
        }
        if (!to_file || !r->target)
            continue;
        if (is_dev(r->target, r->tlen)) {
            if (is_stdout)
                out_i = -1;
            continue;
        }
        int i = files_create(f, r->target, r->tlen);
        if (i == -1)
            return -1;
        if (i == -2) {
            f->failed++;
            return 0;
        }
        if (r->op != RP_OP_DGREAT && r->op != RP_OP_ANDDGREAT)
            file_truncate(&f->v[i]);
        if (is_stdout)
            out_i = i;
    }
    size_t a = 0;
    while (a < c->nw && is_assignment(c->w[a], c->wl[a]))
        a++;
    if (a == c->nw && c->nw > 0)
        return 0; /* assignments only */
    f->commands++;
    if (a == c->nw)
        return 0; /* redirections only: done above */
    char **w = c->w + a;
    const size_t *wl = c->wl + a;
    size_t n = c->nw - a;
    struct buf o;
    buf_init(&o, RP_MAX_OUTPUT);
    int ret = 0, r = 0;
    if (eq(w[0], wl[0], "echo")) {
        r = run_echo(w, wl, n, &o);
    } else if (eq(w[0], wl[0], "printf")) {
        r = run_printf(w, wl, n, &o);
    } else if (eq(w[0], wl[0], "cat")) {
        if (c->heredoc)
            r = buf_add(&o, c->heredoc, c->hdlen);
        else if (n >= 2) {
            for (size_t k = first_operand(w, wl, n, 1); k < n && r == 0; k++) {
                int i = files_find(f, w[k], wl[k]);
                if (i < 0)
                    f->failed++;
                else
                    r = buf_add(&o, f->v[i].data, f->v[i].len);
            }
        } else
            f->unknown++;
    } else if (eq(w[0], wl[0], ":") || eq(w[0], wl[0], "true") || eq(w[0], wl[0], "mkdir")) {
        /* nothing to do: directories are not tracked */
    } else if (eq(w[0], wl[0], "touch")) {
        for (size_t k = first_operand(w, wl, n, 1); k < n; k++) {
            int i = files_create(f, w[k], wl[k]);
            if (i == -1) {
                ret = -1;
                break;
            }
            if (i == -2)
                f->failed++;
        }
    } else if (eq(w[0], wl[0], "chmod")) {
        size_t k = 1;
        while (k < n && wl[k] >= 2 && w[k][0] == '-' && strspn(w[k] + 1, "Rfvc") == wl[k] - 1)
            k++;
        if (k < n && eq(w[k], wl[k], "--"))
            k++;
        if (k + 1 >= n) {
            f->failed++;
        } else {
            const char *m = w[k];
            size_t ml = wl[k];
            for (k++; k < n; k++) {
                int i = files_find(f, w[k], wl[k]);
                if (i < 0 || apply_mode(m, ml, &f->v[i].mode) < 0)
                    f->failed++;
            }
        }
    } else if (eq(w[0], wl[0], "mv") || eq(w[0], wl[0], "cp")) {
        size_t k = first_operand(w, wl, n, 1);
        if (n - k != 2) {
            f->failed++;
        } else {
            int m = move_file(f, w[k], wl[k], w[k + 1], wl[k + 1], w[0][0] == 'c');
            if (m < 0)
                ret = -1;
            else if (m > 0)
                f->failed++;
        }
    } else if (eq(w[0], wl[0], "rm")) {
        size_t k = first_operand(w, wl, n, 1);
        int force = has_flag(w, wl, 1, k, 'f');
        for (; k < n; k++) {
            int i = files_find(f, w[k], wl[k]);
            if (i >= 0)
                files_remove(f, i);
            else if (!force)
                f->failed++;
        }
    } else {
        f->unknown++;
    }
    if (r < 0)
        ret = -1;
    if (ret == 0 && out_i >= 0 && o.n > 0 && out_i < (int)f->n &&
        file_write(&f->v[out_i], o.p, o.n) < 0)
        ret = -1;
    buf_free(&o);
    return ret;
}

int rp_save_script(const char *text, size_t len, struct rp_files *out)
{
    memset(out, 0, sizeof *out);
    if (!text || len > RP_MAX_INPUT)
        return -1;
    struct lexer lx;
    struct scmd c;
    memset(&c, 0, sizeof c);
    lexer_init(&lx, text, len, NULL);
    int ret = -1;
    for (;;) {
        int r = read_cmd(&lx, &c);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if ((c.nw || c.nrd) && save_cmd(out, &c) < 0)
            goto out;
        if (c.term == T_EOF)
            break;
    }
    ret = 0;
out:
    scmd_free(&c);
    lexer_release(&lx);
    if (ret < 0)
        rp_files_release(out);
    return ret;
}

const struct rp_file *rp_files_get(const struct rp_files *f, const char *path)
{
    if (!f || !path)
        return NULL;
    int i = files_find(f, path, strlen(path));
    return i < 0 ? NULL : &f->v[i];
}

void rp_files_release(struct rp_files *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
        free(f->v[i].data);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}

/* ---- the detect-shell command and cancellation ---------------------------------------------- */

int rp_is_detect_shell(const char *const *argv, size_t argc)
{
    if (!argv || argc != 3 || !argv[0] || !argv[1] || !argv[2])
        return 0;
    if ((strcmp(argv[0], "sh") != 0 && strcmp(argv[0], "/bin/sh") != 0) ||
        strcmp(argv[1], "-c") != 0)
        return 0;
    const char *s = argv[2];
    size_t len = strnlen(s, (size_t)RP_MAX_INPUT + 1);
    if (len > RP_MAX_INPUT)
        return 0;
    if (len >= 2 && s[0] == '>' && s[1] == '\'') { /* >'PROBE'; */
        const char *q = memchr(s + 2, '\'', len - 2);
        if (!q || (size_t)(s + len - q) < 3 || q[1] != ';' || q[2] != ' ')
            return 0;
        len -= (size_t)(q + 3 - s);
        s = q + 3;
    }
    static const char head[] = "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash";
    if (len < sizeof head - 1 || memcmp(s, head, sizeof head - 1) != 0)
        return 0;
    const char *rest = s + sizeof head - 1;
    size_t rl = len - (sizeof head - 1);
    int kind;
    if (rl >= 4 && memcmp(rest, " -l\n", 4) == 0)
        kind = RP_SHELL_LOGIN;
    else if ((rl >= 2 && memcmp(rest, " \n", 2) == 0) || (rl >= 1 && rest[0] == '\n') ||
             (rl >= 4 && memcmp(rest, " $@\n", 4) == 0))
        kind = RP_SHELL_NORMAL;
    else
        return 0;
    if (!find(s, len, "echo shell not found"))
        return 0;
    size_t e = len;
    while (e > 0 && (is_blank((unsigned char)s[e - 1]) || s[e - 1] == '\n' || s[e - 1] == '\r'))
        e--;
    if (e < 3 || s[e - 2] != 'f' || s[e - 1] != 'i' ||
        (s[e - 3] != '\n' && !is_blank((unsigned char)s[e - 3])))
        return 0;
    return kind;
}

int rp_is_cancel_script(const char *text, size_t len, char *stage, size_t stage_size)
{
    if (stage && stage_size)
        stage[0] = '\0';
    if (!text || len > RP_MAX_INPUT)
        return 0;
    while (len && (is_blank((unsigned char)*text) || *text == '\n')) {
        text++;
        len--;
    }
    static const char kill_head[] = "kill -TERM $(";
    if (len >= sizeof kill_head - 1 && memcmp(text, kill_head, sizeof kill_head - 1) == 0 &&
        find(text, len, "/proc/")) {
        const char *g = find(text, len, "grep -e '");
        if (g && stage && stage_size) {
            g += strlen("grep -e '");
            const char *q = memchr(g, '\'', len - (size_t)(g - text));
            if (q) {
                size_t n = (size_t)(q - g);
                if (n >= 2 && g[n - 2] == ' ' && g[n - 1] == '$')
                    n -= 2;
                if (n >= stage_size)
                    n = stage_size - 1;
                memcpy(stage, g, n);
                stage[n] = '\0';
            }
        }
        return RP_CANCEL_STAGE;
    }
    if (find(text, len, "PROCS=$(cd /proc && ls -rvd [0-9]*)") && find(text, len, "kill -TERM $P"))
        return RP_CANCEL_ALL;
    return 0;
}

/* ---- read-logs ------------------------------------------------------------------------------ */

int rp_parse_duration(const char *s, size_t len, int64_t *ns)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},       {"us", 1000},         {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000ull}, {"m", 60000000000ull}, {"h", 3600000000000ull}};
    const uint64_t lim = (uint64_t)1 << 63;
    if (!s)
        return -1;
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (len - i == 1 && s[i] == '0') {
        *ns = 0;
        return 0;
    }
    if (i == len)
        return -1;
    uint64_t d = 0;
    while (i < len) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        int pre = 0, post = 0;
        if (!(s[i] == '.' || is_digit((unsigned char)s[i])))
            return -1;
        for (; i < len && is_digit((unsigned char)s[i]); i++, pre = 1) {
            if (v > (lim - 1) / 10)
                return -1;
            v = v * 10 + (uint64_t)(s[i] - '0');
            if (v > lim)
                return -1;
        }
        if (i < len && s[i] == '.') {
            int overflow = 0;
            for (i++; i < len && is_digit((unsigned char)s[i]); i++, post = 1) {
                if (overflow)
                    continue;
                if (f > (lim - 1) / 10) {
                    overflow = 1;
                    continue;
                }
                uint64_t nf = f * 10 + (uint64_t)(s[i] - '0');
                if (nf > lim) {
                    overflow = 1;
                    continue;
                }
                f = nf;
                scale *= 10;
            }
        }
        if (!pre && !post)
            return -1;
        size_t u = i;
        while (u < len && s[u] != '.' && !is_digit((unsigned char)s[u]))
            u++;
        if (u == i)
            return -1;
        uint64_t unit = 0;
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
            if (eq(s + i, u - i, units[k].name))
                unit = units[k].ns;
        if (!unit)
            return -1;
        i = u;
        if (v > lim / unit)
            return -1;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > lim)
                return -1;
        }
        d += v;
        if (d > lim)
            return -1;
    }
    if (neg) {
        *ns = d == lim ? INT64_MIN : -(int64_t)d;
        return 0;
    }
    if (d > lim - 1)
        return -1;
    *ns = (int64_t)d;
    return 0;
}

/* Go strconv.ParseInt(s, 0, 64) without underscores. */
static int parse_go_int(const char *s, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (s[i] == '-' || s[i] == '+')
        neg = s[i++] == '-';
    int base = 10;
    if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    } else if (s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
        base = 8;
        i += 2;
    } else if (s[i] == '0' && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
        base = 2;
        i += 2;
    } else if (s[i] == '0' && s[i + 1] != '\0') {
        base = 8;
        i++;
    }
    if (s[i] == '\0')
        return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
    for (; s[i]; i++) {
        int d = hexval((unsigned char)s[i]);
        if (d < 0 || d >= base)
            return -1;
        if (v > (lim - (uint64_t)d) / (uint64_t)base)
            return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = neg ? (v == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 0;
}

int rp_parse_read_logs(const char *const *argv, size_t argc, struct rp_read_logs *out)
{
    memset(out, 0, sizeof *out);
    out->wait_file_timeout = 1000000000;
    if (!argv || argc < 2 || !argv[0] || !argv[1])
        return -1;
    size_t a0 = strnlen(argv[0], RP_PATH_MAX), bl;
    const char *bn = basename_of(argv[0], a0, &bl);
    if (!(eq(bn, bl, "gitlab-runner-helper") || eq(argv[0], a0, "gitlab-runner")) ||
        strcmp(argv[1], "read-logs") != 0)
        return -1;
    for (size_t i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!a)
            return -1;
        if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0')
            break;
        const char *name = a + 1;
        if (*name == '-')
            name++;
        if (*name == '\0' || *name == '-' || *name == '=')
            return -1;
        const char *eqs = strchr(name, '=');
        size_t nl = eqs ? (size_t)(eqs - name) : strlen(name);
        const char *val = eqs ? eqs + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc || !argv[i + 1])
                return -1;
            val = argv[++i];
        }
        size_t vl = strnlen(val, RP_MAX_INPUT);
        if (eq(name, nl, "path")) {
            if (vl >= sizeof out->path)
                return -1;
            memcpy(out->path, val, vl + 1);
        } else if (eq(name, nl, "offset")) {
            if (parse_go_int(val, &out->offset) < 0)
                return -1;
        } else if (eq(name, nl, "wait-file-timeout")) {
            if (rp_parse_duration(val, vl, &out->wait_file_timeout) < 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* ---- stage attach lines --------------------------------------------------------------------- */

static int is_word(const struct rp_tokens *t, size_t i)
{
    return i < t->n && t->v[i].type == RP_TOK_WORD;
}

static int word_base_is(const struct rp_token *w, const char *name)
{
    size_t bl;
    const char *bn = basename_of(w->text, w->len, &bl);
    return eq(bn, bl, name);
}

static int copy_str(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size || memchr(s, '\0', n))
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int stage_from_tokens(const struct rp_tokens *t, struct rp_stage_line *out, int depth)
{
    if (is_word(t, 0) && is_word(t, 1) && is_word(t, 2) && word_base_is(&t->v[0], "sh") &&
        eq(t->v[1].text, t->v[1].len, "-c") && depth < 2) {
        struct rp_tokens in;
        if (rp_split(t->v[2].text, t->v[2].len, &in) == 0) {
            int r = stage_from_tokens(&in, out, depth + 1);
            rp_tokens_release(&in);
            if (r == 0)
                return 0;
        }
    }
    size_t si = 0;
    int found = 0, helper = 0;
    for (size_t i = 0; i < t->n && !found; i++) {
        if (!is_word(t, i))
            continue;
        const struct rp_token *w = &t->v[i];
        if ((word_base_is(w, "detect_shell_script") ||
             word_base_is(w, "terminate_with_json_script") ||
             word_base_is(w, "parse_pwsh_script.ps1")) &&
            is_word(t, i + 1)) {
            si = i + 1;
            found = 1;
        } else if (word_base_is(w, "gitlab-runner-build") && i + 2 < t->n &&
                   t->v[i + 1].type == RP_TOK_OP && t->v[i + 1].op == RP_OP_TLESS &&
                   is_word(t, i + 2)) {
            si = i + 2;
            found = helper = 1;
        }
    }
    if (!found)
        return -1;
    memset(out, 0, sizeof *out);
    const struct rp_token *sw = &t->v[si];
    size_t bl;
    const char *bn = basename_of(sw->text, sw->len, &bl);
    if (bl == 0 || copy_str(out->script, sizeof out->script, sw->text, sw->len) < 0 ||
        copy_str(out->stage, sizeof out->stage, bn, bl) < 0)
        return -1;
    size_t dl = sw->len - bl;
    if (dl > 1)
        dl--; /* drop the slash, keep "/" for a script at the root */
    if (copy_str(out->scripts_dir, sizeof out->scripts_dir, sw->text, dl) < 0)
        return -1;
    out->helper = helper;
    for (size_t i = si + 1; i < t->n; i++) {
        if (!is_word(t, i))
            continue;
        if (eq(t->v[i].text, t->v[i].len, "tee")) {
            size_t k = i + 1;
            while (is_word(t, k) && t->v[k].len > 1 && t->v[k].text[0] == '-')
                k++;
            if (is_word(t, k) && copy_str(out->log, sizeof out->log, t->v[k].text, t->v[k].len) < 0)
                return -1;
            break;
        }
        if (eq(t->v[i].text, t->v[i].len, "Out-File")) {
            size_t k = i + 1, last = 0;
            for (; is_word(t, k); k++)
                last = k;
            if (last && copy_str(out->log, sizeof out->log, t->v[last].text, t->v[last].len) < 0)
                return -1;
            break;
        }
    }
    return 0;
}

int rp_parse_stage_line(const char *line, size_t len, struct rp_stage_line *out)
{
    memset(out, 0, sizeof *out);
    if (!line || len > RP_MAX_INPUT)
        return -1;
    struct rp_tokens t;
    if (rp_split(line, len, &t) < 0)
        return -1;
    int r = stage_from_tokens(&t, out, 0);
    rp_tokens_release(&t);
    if (r < 0)
        memset(out, 0, sizeof *out);
    return r;
}

/* ---- stage scripts: the eval body and the success path --------------------------------------- */

/* The words of ": | eval WORD..." or ": | (eval WORD...)" joined by spaces (eval's own join).
 * Returns 1 with *body set (caller frees), 0 when there is none, -1 on a tokenizing error. */
static int eval_body(const char *s, size_t len, char **body, size_t *blen)
{
    struct lexer lx;
    struct scmd c;
    memset(&c, 0, sizeof c);
    lexer_init(&lx, s, len, NULL);
    int ret = -1, state = 0;
    *body = NULL;
    for (;;) {
        int r = read_cmd(&lx, &c);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        int is_eval = c.nw >= 1 && eq(c.w[0], c.wl[0], "eval");
        if (state == 1 && c.nw == 0 && c.term == T_OP && c.term_op == RP_OP_LPAREN) {
            state = 2;
        } else if (state && is_eval) {
            struct buf b;
            buf_init(&b, RP_MAX_OUTPUT);
            for (size_t i = 1; i < c.nw; i++)
                if ((i > 1 && buf_addc(&b, ' ') < 0) || buf_add(&b, c.w[i], c.wl[i]) < 0) {
                    buf_free(&b);
                    goto out;
                }
            *body = buf_take(&b, blen);
            ret = *body ? 1 : -1;
            goto out;
        } else {
            state =
                c.nw == 1 && eq(c.w[0], c.wl[0], ":") && c.term == T_OP && c.term_op == RP_OP_PIPE;
        }
        if (c.term == T_EOF)
            break;
    }
    ret = 0;
out:
    scmd_free(&c);
    lexer_release(&lx);
    return ret;
}

#define F_IF 1
#define F_LOOP 2
#define F_BRACE 3
#define F_SUB 4
#define F_FUNC 5

struct frame {
    int kind;
    int exec;  /* the current part runs */
    int cond;  /* in a condition (if, elif, while, until, for header) */
    int taken; /* IF: a branch already ran */
};

struct walker {
    const struct rp_render *r;
    rp_on_line cb;
    void *arg;
    struct buf pending; /* output not yet ended by a newline */
    int lines;
    int stopped;
    size_t nrm, nother; /* commands run: rm, and anything but rm, find and chmod */
    struct frame st[RP_MAX_NEST];
    int depth;
    int skip_next;  /* the command after || */
    int case_depth; /* inside case ... esac */
    int func_next;  /* the next { opens a function body */
    int funcdef;    /* saw "name (": expecting ")" */
};

static int walk_active(const struct walker *w)
{
    for (int i = 0; i < w->depth; i++)
        if (!w->st[i].exec || w->st[i].cond)
            return 0;
    return !w->skip_next;
}

static int walk_push(struct walker *w, int kind, int exec, int cond)
{
    if (w->depth >= RP_MAX_NEST)
        return -1;
    struct frame *f = &w->st[w->depth++];
    f->kind = kind;
    f->exec = exec;
    f->cond = cond;
    f->taken = 0;
    return 0;
}

static struct frame *walk_top(struct walker *w, int kind)
{
    return w->depth > 0 && w->st[w->depth - 1].kind == kind ? &w->st[w->depth - 1] : NULL;
}

/* Pass the complete lines of data to the callback; keep the rest. */
static int walk_output(struct walker *w, const char *d, size_t n)
{
    if (w->stopped || buf_add(&w->pending, d, n) < 0)
        return w->stopped ? 0 : -1;
    size_t start = 0;
    const char *p = w->pending.p;
    while (!w->stopped) {
        const char *nl = memchr(p + start, '\n', w->pending.n - start);
        if (!nl)
            break;
        size_t ll = (size_t)(nl - p) - start;
        w->lines++;
        if (w->cb(w->arg, p + start, ll) != 0)
            w->stopped = 1;
        start += ll + 1;
    }
    if (start > 0) { /* only when lines left: echo -n after echo -n must stay linear */
        memmove(w->pending.p, p + start, w->pending.n - start);
        w->pending.n -= start;
        w->pending.p[w->pending.n] = '\0';
    }
    return 0;
}

static int stdout_hidden(const struct scmd *c)
{
    for (size_t k = 0; k < c->nrd; k++) {
        const struct redir *r = &c->rd[k];
        int is_stdout = r->fd == -1 || r->fd == 1;
        if (!is_stdout)
            continue;
        if (r->op == RP_OP_GREATAND && r->dup >= 0)
            continue; /* >&2: still reaches the log through 2>&1 */
        if ((r->op == RP_OP_GREAT || r->op == RP_OP_DGREAT || r->op == RP_OP_CLOBBER ||
             r->op == RP_OP_ANDGREAT || r->op == RP_OP_ANDDGREAT || r->op == RP_OP_GREATAND) &&
            r->target &&
            !(eq(r->target, r->tlen, "/dev/stdout") || eq(r->target, r->tlen, "/dev/stderr")))
            return 1;
    }
    return 0;
}

/* One command of the success path. */
static int walk_cmd(struct walker *w, struct scmd *c)
{
    size_t i = 0;
    if (w->case_depth > 0) { /* only words in command position open or close a case */
        if (c->nw > 0 && eq(c->w[0], c->wl[0], "case"))
            w->case_depth++;
        else if (c->nw > 0 && eq(c->w[0], c->wl[0], "esac"))
            w->case_depth--;
        return 0;
    }
    while (i < c->nw) {
        const char *k = c->w[i];
        size_t kl = c->wl[i];
        struct frame *f;
        if (eq(k, kl, "if")) {
            if (walk_push(w, F_IF, 1, 1) < 0)
                return -1;
        } else if (eq(k, kl, "then")) {
            if ((f = walk_top(w, F_IF))) {
                f->cond = 0;
                f->exec = !f->taken;
                f->taken = 1;
            }
        } else if (eq(k, kl, "elif")) {
            if ((f = walk_top(w, F_IF))) {
                f->cond = 1;
                f->exec = 0;
            }
        } else if (eq(k, kl, "else")) {
            if ((f = walk_top(w, F_IF))) {
                f->cond = 0;
                f->exec = 0;
            }
        } else if (eq(k, kl, "fi")) {
            if (walk_top(w, F_IF))
                w->depth--;
        } else if (eq(k, kl, "while") || eq(k, kl, "until")) {
            if (walk_push(w, F_LOOP, 0, 1) < 0)
                return -1;
        } else if (eq(k, kl, "for") || eq(k, kl, "select")) {
            if (walk_push(w, F_LOOP, 0, 1) < 0)
                return -1;
            i = c->nw; /* the loop header */
            break;
        } else if (eq(k, kl, "do")) {
            if ((f = walk_top(w, F_LOOP)))
                f->cond = 0;
        } else if (eq(k, kl, "done")) {
            if (walk_top(w, F_LOOP))
                w->depth--;
        } else if (eq(k, kl, "case")) {
            w->case_depth = 1;
            return 0;
        } else if (eq(k, kl, "{")) {
            if (walk_push(w, w->func_next ? F_FUNC : F_BRACE, !w->func_next, 0) < 0)
                return -1;
            w->func_next = 0;
        } else if (eq(k, kl, "}")) {
            if (walk_top(w, F_BRACE) || walk_top(w, F_FUNC))
                w->depth--;
        } else if (eq(k, kl, "function")) {
            w->func_next = 1;
            i = c->nw;
            break;
        } else if (!eq(k, kl, "!")) {
            break;
        }
        i++;
    }
    size_t nwords = c->nw - i;
    int lparen = c->term == T_OP && c->term_op == RP_OP_LPAREN;
    int rparen = c->term == T_OP && c->term_op == RP_OP_RPAREN;
    if (lparen && nwords == 1) { /* name ( ) { ... }: a function definition */
        w->funcdef = 1;
        w->skip_next = 0;
        return 0;
    }
    if (rparen && nwords == 0 && w->funcdef) {
        w->funcdef = 0;
        w->func_next = 1;
        return 0;
    }
    w->funcdef = 0;
    if (nwords > 0 && walk_active(w)) {
        char **wv = c->w + i;
        const size_t *wl = c->wl + i;
        size_t a = 0;
        while (a < nwords && is_assignment(wv[a], wl[a]))
            a++;
        if (a < nwords) {
            if (eq(wv[a], wl[a], "rm"))
                w->nrm++;
            else if (!eq(wv[a], wl[a], "find") && !eq(wv[a], wl[a], "chmod"))
                w->nother++;
            int piped =
                c->term == T_OP && (c->term_op == RP_OP_PIPE || c->term_op == RP_OP_PIPEAND);
            int is_echo = eq(wv[a], wl[a], "echo"), is_printf = eq(wv[a], wl[a], "printf");
            if ((is_echo || is_printf) && !piped && !stdout_hidden(c)) {
                struct buf o;
                buf_init(&o, RP_MAX_OUTPUT);
                int r = is_echo ? run_echo(wv + a, wl + a, nwords - a, &o)
                                : run_printf(wv + a, wl + a, nwords - a, &o);
                if (r == 0 && o.n)
                    r = walk_output(w, o.p, o.n);
                buf_free(&o);
                if (r < 0)
                    return -1;
            }
        }
    }
    w->skip_next = c->term == T_OP && c->term_op == RP_OP_OR;
    if (lparen && nwords == 0 && walk_push(w, F_SUB, 1, 0) < 0)
        return -1;
    if (rparen && walk_top(w, F_SUB))
        w->depth--;
    return 0;
}

/* Walk text's success path, rendering with r into cb. Returns lines passed or -1. */
static int walk(struct walker *w, const char *text, size_t len)
{
    struct lexer lx;
    struct scmd c;
    memset(&c, 0, sizeof c);
    lexer_init(&lx, text, len, w->r);
    int ret = -1;
    while (!w->stopped) {
        int r = read_cmd(&lx, &c);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if (walk_cmd(w, &c) < 0)
            goto out;
        if (c.term == T_EOF)
            break;
    }
    if (!w->stopped && w->pending.n > 0) { /* output without a final newline */
        w->lines++;
        if (w->cb(w->arg, w->pending.p, w->pending.n) != 0)
            w->stopped = 1;
        w->pending.n = 0;
    }
    ret = w->lines;
out:
    scmd_free(&c);
    lexer_release(&lx);
    return ret;
}

static int walk_script(const char *script, size_t len, const struct rp_render *r, rp_on_line cb,
                       void *arg, struct walker *w, int need_body)
{
    memset(w, 0, sizeof *w);
    w->r = r;
    w->cb = cb;
    w->arg = arg;
    buf_init(&w->pending, RP_MAX_OUTPUT);
    if (!script || len > RP_MAX_INPUT)
        return -1;
    char *body;
    size_t blen = 0;
    int e = eval_body(script, len, &body, &blen);
    int ret;
    if (e < 0 || (e == 0 && need_body))
        ret = -1;
    else if (e == 1)
        ret = walk(w, body, blen);
    else
        ret = walk(w, script, len);
    if (e == 1)
        free(body);
    buf_free(&w->pending);
    return ret;
}

int rp_script_echo_lines(const char *script, size_t len, const struct rp_render *r,
                         rp_on_line on_line, void *arg)
{
    static const struct rp_render none = {0, NULL};
    struct walker w;
    if (!on_line)
        return -1;
    return walk_script(script, len, r ? r : &none, on_line, arg, &w, 0);
}

/* ---- legacy stages -------------------------------------------------------------------------- */

static const struct {
    const char *prefix;
    const char *stage;
} notices[] = {
    {"Fetching changes", "get_sources"},
    {"Cloning repository", "get_sources"},
    {"Skipping Git repository setup", "get_sources"},
    {"Created fresh repository", "get_sources"},
    {"Checking out ", "get_sources"},
    {"Skipping Git checkout", "get_sources"},
    {"Skippping Git checkout", "get_sources"},
    {"Updating/initializing submodules", "get_sources"},
    {"Skipping Git submodules setup", "get_sources"},
    {"Checking cache for", "restore_cache"},
    {"Not downloading cache", "restore_cache"},
    {"Skipping cache extraction", "restore_cache"},
    {"Successfully extracted cache", "restore_cache"},
    {"Failed to extract cache", "restore_cache"},
    {"Downloading artifacts", "download_artifacts"},
    {"Running after script", "after_script"},
    {"Running after_script", "after_script"},
    {"Creating cache", "archive_cache"},
    {"Not uploading cache", "archive_cache"},
    {"Skipping cache archiving", "archive_cache"},
    {"Created cache", "archive_cache"},
    {"Uploading artifacts", "upload_artifacts_on_success"},
    {"Skipping build directory cleanup step", "cleanup_file_variables"},
};

struct classify {
    const char *stage;
    int seen;
};

static int on_classify_line(void *arg, const char *line, size_t len)
{
    struct classify *c = arg;
    int first = c->seen++ == 0;
    if (first && len >= 11 && memcmp(line, "Running on ", 11) == 0) {
        c->stage = "prepare_script";
        return 1;
    }
    if (len < 2 || line[0] != 0x1b || line[1] != '[')
        return 0;
    while (len >= 2 && line[0] == 0x1b && line[1] == '[') { /* strip CSI sequences */
        size_t k = 2;
        while (k < len && !((unsigned char)line[k] >= 0x40 && (unsigned char)line[k] <= 0x7e))
            k++;
        if (k >= len)
            return 0;
        line += k + 1;
        len -= k + 1;
    }
    if (len >= 2 && line[0] == '$' && line[1] == ' ')
        return 0; /* "$ <user command>" */
    for (size_t i = 0; i < sizeof notices / sizeof notices[0]; i++) {
        size_t pl = strlen(notices[i].prefix);
        if (len >= pl && memcmp(line, notices[i].prefix, pl) == 0) {
            c->stage = notices[i].stage;
            return 1;
        }
    }
    return 0;
}

const char *rp_legacy_stage(const char *script, size_t len)
{
    static const struct rp_render none = {0, NULL};
    struct classify c = {NULL, 0};
    struct walker w;
    if (walk_script(script, len, &none, on_classify_line, &c, &w, 1) < 0 && !c.stage)
        return NULL;
    if (c.stage)
        return c.stage;
    if (w.nrm > 0 && w.nother == 0)
        return "cleanup_file_variables";
    return "step_script";
}

/* ---- markers -------------------------------------------------------------------------------- */

int rp_marker_start(const char *path, char *buf, size_t size)
{
    if (!path || !buf)
        return -1;
    int n = snprintf(buf, size, "{\"script\": \"%s\"}", path);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int rp_marker_exit(int code, const char *path, char *buf, size_t size)
{
    if (!path || !buf)
        return -1;
    int n = snprintf(buf, size, "{\"command_exit_code\": %d, \"script\": \"%s\"}", code, path);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* ---- status markers: a strict JSON reader ---------------------------------------------------- */

struct jstr {
    char *dst; /* NULL: validate only */
    size_t cap, n;
    int trunc;
    int ascii; /* every decoded rune was ASCII */
};

static void jput(struct jstr *o, const char *d, size_t n)
{
    if (!o->dst)
        return;
    for (size_t i = 0; i < n; i++) {
        if (o->n + 1 < o->cap)
            o->dst[o->n++] = d[i];
        else
            o->trunc = 1;
    }
    o->dst[o->n] = '\0';
}

static int hex4(const char *s, size_t len, size_t i, unsigned *v)
{
    if (i + 4 > len)
        return -1;
    *v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval((unsigned char)s[i + k]);
        if (h < 0)
            return -1;
        *v = *v * 16 + (unsigned)h;
    }
    return 0;
}

/* A JSON string at s[*i] == '"'; *i moves past it. Returns 0 or -1 (syntax). */
static int json_string(const char *s, size_t len, size_t *i, struct jstr *o)
{
    size_t p = *i + 1;
    o->ascii = 1;
    while (p < len) {
        unsigned char c = (unsigned char)s[p];
        if (c == '"') {
            *i = p + 1;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            if (c >= 0x80)
                o->ascii = 0;
            jput(o, (const char *)&s[p], 1);
            p++;
            continue;
        }
        if (++p >= len)
            return -1;
        char e = s[p++], ch;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            ch = e;
            break;
        case 'b':
            ch = '\b';
            break;
        case 'f':
            ch = '\f';
            break;
        case 'n':
            ch = '\n';
            break;
        case 'r':
            ch = '\r';
            break;
        case 't':
            ch = '\t';
            break;
        case 'u': {
            unsigned v, lo;
            if (hex4(s, len, p, &v) < 0)
                return -1;
            p += 4;
            unsigned long cp = v;
            if (v >= 0xd800 && v < 0xdc00) { /* a pair, or U+FFFD as Go does */
                if (p + 1 < len && s[p] == '\\' && s[p + 1] == 'u' &&
                    hex4(s, len, p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((unsigned long)(v - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                } else {
                    cp = 0xfffd;
                }
            } else if (v >= 0xdc00 && v < 0xe000) {
                cp = 0xfffd;
            }
            if (cp >= 0x80)
                o->ascii = 0;
            struct buf t;
            buf_init(&t, 8);
            if (utf8_put(&t, cp) == 0)
                jput(o, t.p, t.n);
            buf_free(&t);
            continue;
        }
        default:
            return -1;
        }
        jput(o, &ch, 1);
    }
    return -1;
}

/* A JSON number at s[*i]; *is_int and *v (when it is an integer literal fitting int64). */
static int json_number(const char *s, size_t len, size_t *i, int *is_int, int64_t *v)
{
    size_t p = *i;
    int neg = 0;
    uint64_t mag = 0;
    int fits = 1;
    if (p < len && s[p] == '-') {
        neg = 1;
        p++;
    }
    if (p >= len || !is_digit((unsigned char)s[p]))
        return -1;
    if (s[p] == '0') {
        p++;
    } else {
        for (; p < len && is_digit((unsigned char)s[p]); p++) {
            uint64_t d = (uint64_t)(s[p] - '0');
            if (mag > (UINT64_MAX - d) / 10)
                fits = 0;
            else
                mag = mag * 10 + d;
        }
    }
    *is_int = 1;
    if (p < len && s[p] == '.') {
        *is_int = 0;
        if (++p >= len || !is_digit((unsigned char)s[p]))
            return -1;
        while (p < len && is_digit((unsigned char)s[p]))
            p++;
    }
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        *is_int = 0;
        p++;
        if (p < len && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p >= len || !is_digit((unsigned char)s[p]))
            return -1;
        while (p < len && is_digit((unsigned char)s[p]))
            p++;
    }
    if (*is_int) {
        uint64_t lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
        if (!fits || mag > lim)
            *is_int = 0; /* Go: out of range for int, an UnmarshalTypeError */
        else
            *v = neg ? (mag == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    }
    *i = p;
    return 0;
}

static int is_jws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int key_is(const char *k, size_t n, const char *want)
{
    if (n != strlen(want))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)k[i]) != (unsigned char)want[i])
            return 0;
    return 1;
}

#define K_OTHER 0
#define K_CODE 1
#define K_SCRIPT 2

int rp_is_status_marker(const char *line, size_t len, struct rp_status *out)
{
    struct rp_status st;
    memset(&st, 0, sizeof st);
    if (out)
        memset(out, 0, sizeof *out);
    if (!line || len > RP_MAX_INPUT)
        return 0;
    unsigned char stack[RP_JSON_MAX_DEPTH];
    int depth = 0, key = K_OTHER, type_err = 0, top_object = 0;
    size_t i = 0;
    char kbuf[32];
    enum { VALUE, AFTER, KEY } state = VALUE;
    for (;;) {
        while (i < len && is_jws((unsigned char)line[i]))
            i++;
        if (state == VALUE) {
            if (i >= len)
                return 0;
            unsigned char c = (unsigned char)line[i];
            int at_key = depth == 1 && stack[0] == '{';
            if (c == '{' || c == '[') {
                if (depth == 0)
                    top_object = c == '{';
                if (at_key && key != K_OTHER)
                    type_err = 1;
                if (depth >= RP_JSON_MAX_DEPTH)
                    return 0;
                stack[depth++] = c;
                i++;
                while (i < len && is_jws((unsigned char)line[i]))
                    i++;
                if (i < len && line[i] == (c == '{' ? '}' : ']')) {
                    i++;
                    depth--;
                    state = AFTER;
                } else {
                    state = c == '{' ? KEY : VALUE;
                }
                continue;
            }
            if (c == '"') {
                struct jstr o = {NULL, 0, 0, 0, 1};
                if (at_key && key == K_SCRIPT) {
                    o.dst = st.script;
                    o.cap = sizeof st.script;
                    st.script[0] = '\0';
                }
                if (json_string(line, len, &i, &o) < 0)
                    return 0;
                if (at_key && key == K_SCRIPT) {
                    st.has_script = 1;
                    st.script_truncated = o.trunc;
                } else if ((at_key && key == K_CODE) || depth == 0) {
                    type_err = 1;
                }
            } else if (c == '-' || is_digit(c)) {
                int is_int;
                int64_t v = 0;
                if (json_number(line, len, &i, &is_int, &v) < 0)
                    return 0;
                if (at_key && key == K_CODE) {
                    if (is_int) {
                        st.has_exit_code = 1;
                        st.exit_code = v;
                    } else {
                        type_err = 1;
                    }
                } else if ((at_key && key == K_SCRIPT) || depth == 0) {
                    type_err = 1;
                }
            } else if (c == 't' || c == 'f' || c == 'n') {
                const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
                size_t ll = strlen(lit);
                if (len - i < ll || memcmp(line + i, lit, ll) != 0)
                    return 0;
                i += ll;
                if (c == 'n') {
                    if (at_key && key == K_CODE)
                        st.has_exit_code = 0;
                    else if (at_key && key == K_SCRIPT) {
                        st.has_script = 0;
                        st.script[0] = '\0';
                        st.script_truncated = 0;
                    }
                } else if ((at_key && key != K_OTHER) || depth == 0) {
                    type_err = 1;
                }
            } else {
                return 0;
            }
            state = AFTER;
            continue;
        }
        if (state == KEY) {
            if (i >= len || line[i] != '"')
                return 0;
            struct jstr o = {kbuf, sizeof kbuf, 0, 0, 1};
            kbuf[0] = '\0';
            if (json_string(line, len, &i, &o) < 0)
                return 0;
            while (i < len && is_jws((unsigned char)line[i]))
                i++;
            if (i >= len || line[i] != ':')
                return 0;
            i++;
            key = K_OTHER;
            if (depth == 1 && o.ascii && !o.trunc) {
                if (key_is(kbuf, o.n, "command_exit_code"))
                    key = K_CODE;
                else if (key_is(kbuf, o.n, "script"))
                    key = K_SCRIPT;
            }
            state = VALUE;
            continue;
        }
        /* AFTER a value */
        if (depth == 0) {
            if (i != len)
                return 0;
            break;
        }
        if (i >= len)
            return 0;
        unsigned char top = stack[depth - 1];
        if (line[i] == ',') {
            i++;
            state = top == '{' ? KEY : VALUE;
        } else if (line[i] == (top == '{' ? '}' : ']')) {
            i++;
            depth--;
        } else {
            return 0;
        }
    }
    if (!top_object || type_err || (!st.has_exit_code && !st.has_script))
        return 0;
    if (out)
        *out = st;
    return 1;
}

/* ---- read-logs records ---------------------------------------------------------------------- */

int rp_read_logs_records(const char *file, size_t file_len, uint64_t offset, int flush,
                         struct rp_records *out)
{
    memset(out, 0, sizeof *out);
    if ((!file && file_len) || offset > (uint64_t)INT64_MAX)
        return -1;
    struct buf b;
    buf_init(&b, RP_MAX_OUTPUT);
    if (buf_add(&b, "", 0) < 0)
        return -1;
    size_t consumed = 0;
    while (offset < file_len) {
        size_t pos = (size_t)offset + consumed;
        if (pos >= file_len)
            break;
        size_t avail = file_len - pos;
        size_t look = avail < RP_READ_LOGS_BUFFER ? avail : RP_READ_LOGS_BUFFER;
        const char *nl = memchr(file + pos, '\n', look);
        size_t piece;
        if (nl)
            piece = (size_t)(nl - (file + pos)) + 1;
        else if (avail >= RP_READ_LOGS_BUFFER)
            piece = RP_READ_LOGS_BUFFER;
        else if (flush)
            piece = avail;
        else
            break;
        if (consumed + piece > RP_READ_LOGS_CHUNK)
            break;
        uint64_t end = offset + consumed + piece;
        if (end > (uint64_t)INT64_MAX)
            break;
        char num[24];
        int n = snprintf(num, sizeof num, "%llu ", (unsigned long long)end);
        if (buf_add(&b, num, (size_t)n) < 0 || buf_add(&b, file + pos, piece) < 0 ||
            (file[pos + piece - 1] != '\n' && buf_addc(&b, '\n') < 0)) {
            buf_free(&b);
            return -1;
        }
        consumed += piece;
        out->count++;
    }
    out->consumed = consumed;
    out->data = buf_take(&b, &out->len);
    return out->data ? 0 : -1;
}

void rp_records_release(struct rp_records *r)
{
    if (!r)
        return;
    free(r->data);
    memset(r, 0, sizeof *r);
}
