/* expect.c -- checks a scenario's "expect" section against what a run showed: exit status, output,
 * duration and the request journal, one result line per expectation */
#include "harness/expect.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/journal.h"
#include "mockapi/gitlab/proto.h"
#include "harness/jsonc.h"
#include "harness/match.h"
#include "harness/scenario.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/route.h"

#define LINE_SHOW_MAX 200 /* bytes of an output line copied before jsonc_show() cuts it */
#define URL_SHOW_MAX 80   /* characters of a request's path a message shows */

/* ---- small helpers ---- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

static const char *show(char *buf, size_t len, const char *s)
{
    return jsonc_show(buf, len, s);
}

char *expect_format_duration(char *buf, size_t len, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000) {
        snprintf(buf, len, "%lldms", (long long)ms);
        return buf;
    }
    long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    char sec[32];
    if (frac) {
        snprintf(sec, sizeof sec, "%lld.%03lld", s, frac);
        size_t n = strlen(sec);
        while (sec[n - 1] == '0') /* "2.350" -> "2.35", as Go prints it */
            sec[--n] = '\0';
    } else {
        snprintf(sec, sizeof sec, "%lld", s);
    }
    if (h)
        snprintf(buf, len, "%lldh%lldm%ss", h, m, sec);
    else if (m)
        snprintf(buf, len, "%lldm%ss", m, sec);
    else
        snprintf(buf, len, "%ss", sec);
    return buf;
}

const char *expect_signal_name(char *buf, size_t len, int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
                 {SIGILL, "SIGILL"},   {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},
                 {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},
                 {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"}, {SIGPIPE, "SIGPIPE"},
                 {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    snprintf(buf, len, "signal %d", sig);
    return buf;
}

/* The item being filled; NULL when memory ran out. */
static struct expect_item *add_item(struct expect_report *r, const char *kind)
{
    struct expect_item *n = realloc(r->items, (r->n + 1) * sizeof *n);
    if (!n)
        return NULL;
    r->items = n;
    struct expect_item *it = &r->items[r->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->kind, sizeof it->kind, "%s", kind);
    return it;
}

/* Set an item's verdict, short columns and message (subject + ": " + detail); takes ownership of
 * subject, expected, observed and detail. -1 when memory ran out. */
static int finish(struct expect_report *r, struct expect_item *it, enum expect_verdict v,
                  char *subject, char *expected, char *observed, char *detail)
{
    it->verdict = v;
    it->subject = subject;
    it->expected = expected;
    it->observed = observed;
    it->message = subject && detail ? fmt("%s: %s", subject, detail) : NULL;
    free(detail);
    if (v == EXPECT_FAIL)
        r->failed++;
    else if (v == EXPECT_ERROR)
        r->errors++;
    return it->subject && it->expected && it->observed && it->message ? 0 : -1;
}

/* ---- the command's output ---- */

static const char *find(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > n)
        return k == 0 ? hay : NULL;
    for (const char *p = hay; (p = memchr(p, needle[0], n - k + 1 - (size_t)(p - hay)));) {
        if (memcmp(p, needle, k) == 0)
            return p;
        p++;
    }
    return NULL;
}

static size_t line_number(const char *out, const char *at)
{
    size_t n = 1;
    for (const char *p = out; p < at; p++)
        n += *p == '\n';
    return n;
}

/* The line holding at (or the last non-empty line when at is NULL), quoted and cut, into buf. */
static const char *line_of(char *buf, size_t len, const char *out, size_t n, const char *at)
{
    const char *end = out + n, *b, *e;
    if (!at) {
        while (end > out && (end[-1] == '\n' || end[-1] == '\r'))
            end--;
        at = end > out ? end - 1 : out;
    }
    for (b = at; b > out && b[-1] != '\n'; b--)
        ;
    for (e = at; e < end && *e != '\n'; e++)
        ;
    if (e > b && e[-1] == '\r')
        e--;
    char line[LINE_SHOW_MAX + 1];
    size_t k = (size_t)(e - b) < LINE_SHOW_MAX ? (size_t)(e - b) : LINE_SHOW_MAX;
    memcpy(line, b, k);
    line[k] = '\0';
    for (size_t i = 0; i < k; i++) /* a NUL in the output would end the string early */
        if (line[i] == '\0')
            line[i] = '.';
    if ((size_t)(e - b) > LINE_SHOW_MAX && k >= 3)
        memcpy(line + k - 3, "...", 3);
    return show(buf, len, line);
}

static int check_output(struct expect_report *r, const struct expect_input *in, const char *text,
                        int contains)
{
    struct expect_item *it = add_item(r, contains ? "outputContains" : "outputLacks");
    char q[JSONC_SHOW_BUF], l[JSONC_SHOW_BUF];
    if (!it)
        return -1;
    const char *out = in->output ? in->output : "";
    size_t n = in->output ? in->output_len : 0;
    const char *at = find(out, n, text);
    char cut[64] = "";
    if (in->output_dropped)
        snprintf(cut, sizeof cut, ", %zu more bytes not kept", in->output_dropped);
    char *subject = fmt("%s \"%s\"", it->kind, show(q, sizeof q, text));
    if (contains && at)
        return finish(r, it, EXPECT_PASS, subject, fmt("\"%s\"", q), strdup("found"),
                      fmt("found on line %zu", line_number(out, at)));
    if (contains && n == 0)
        return finish(r, it, EXPECT_FAIL, subject, fmt("\"%s\"", q), strdup("not found"),
                      fmt("not found: the output is empty%s", cut));
    if (contains)
        return finish(r, it, EXPECT_FAIL, subject, fmt("\"%s\"", q), strdup("not found"),
                      fmt("not found in the output (%zu bytes%s; last line: \"%s\")", n, cut,
                          line_of(l, sizeof l, out, n, NULL)));
    if (at)
        return finish(r, it, EXPECT_FAIL, subject, fmt("no \"%s\"", q),
                      fmt("found on line %zu", line_number(out, at)),
                      fmt("found on line %zu: \"%s\"", line_number(out, at),
                          line_of(l, sizeof l, out, n, at)));
    return finish(r, it, EXPECT_PASS, subject, fmt("no \"%s\"", q), strdup("absent"),
                  fmt("not in the output (%zu bytes%s)", n, cut));
}

/* ---- exit status, duration, timeout ---- */

/* How the command ended, as a message fragment and a short observed value. */
static void ending(const struct expect_input *in, char *what, size_t wlen, char *obs, size_t olen)
{
    char sb[32], d[48];
    if (in->timed_out) {
        snprintf(what, wlen, "the command did not exit: it timed out after %s and was killed",
                 expect_format_duration(d, sizeof d, in->timeout_ms));
        snprintf(obs, olen, "timed out");
    } else if (in->exited) {
        snprintf(what, wlen, "the command exited %d", in->exit_code);
        snprintf(obs, olen, "%d", in->exit_code);
    } else if (in->signal) {
        const char *name = expect_signal_name(sb, sizeof sb, in->signal);
        snprintf(what, wlen, "the command was killed by %s", name);
        snprintf(obs, olen, "%s", name);
    } else {
        snprintf(what, wlen, "the command did not run");
        snprintf(obs, olen, "did not run");
    }
}

static int check_exit(struct expect_report *r, const struct expect_input *in, int want,
                      int is_default, const char *section)
{
    struct expect_item *it = add_item(r, "exitCode");
    char what[160], obs[32];
    if (!it)
        return -1;
    ending(in, what, sizeof what, obs, sizeof obs);
    int ok = in->exited && !in->timed_out && in->exit_code == want;
    char *subject = is_default ? fmt("exitCode 0 (the default without \"%s\")", section)
                               : fmt("exitCode %d", want);
    return finish(r, it, ok ? EXPECT_PASS : EXPECT_FAIL, subject, fmt("%d", want), strdup(obs),
                  strdup(what));
}

static int check_timeout(struct expect_report *r, const struct expect_input *in)
{
    struct expect_item *it = add_item(r, "timeout");
    char d[48], sb[32];
    if (!it)
        return -1;
    expect_format_duration(d, sizeof d, in->timeout_ms);
    const char *how = in->killed_by == SIGKILL ? "killed with SIGTERM, then SIGKILL"
                      : in->killed_by          ? expect_signal_name(sb, sizeof sb, in->killed_by)
                                               : "killed";
    return finish(r, it, EXPECT_FAIL, fmt("timeout %s", d), fmt("exit within %s", d),
                  strdup("timed out"),
                  fmt("the command was still running after %s; %s%s", d,
                      in->killed_by && in->killed_by != SIGKILL ? "killed with " : "", how));
}

static int check_duration(struct expect_report *r, const struct expect_input *in,
                          const char *written, int64_t bound, int is_max)
{
    struct expect_item *it = add_item(r, is_max ? "durationMax" : "durationMin");
    char ran[48];
    if (!it)
        return -1;
    expect_format_duration(ran, sizeof ran, in->duration_ms);
    int ok = is_max ? in->duration_ms <= bound : in->duration_ms >= bound;
    return finish(r, it, ok ? EXPECT_PASS : EXPECT_FAIL, fmt("%s %s", it->kind, written),
                  fmt("%s %s", is_max ? "<=" : ">=", written), strdup(ran),
                  ok ? fmt("ran %s", ran)
                     : fmt("ran %s, %s than %s", ran, is_max ? "more" : "less", written));
}

/* ---- the journal ---- */

/* A journal entry turned back into the request and route the engine saw (the parts the journal
 * keeps: method, path and query, User-Agent), so a match can be evaluated on it. */
struct jreq {
    struct http_request req;
    struct route route;
    char url[sizeof((struct journal_entry *)0)->path];
    char buf[3 * sizeof((struct journal_entry *)0)->path + 8];
    char ua_name[16];
    char ua[sizeof((struct journal_entry *)0)->user_agent];
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) to *pos (as conn.c does), NUL-terminated; returns where it starts. */
static char *decode(char **pos, const char *s, size_t n, int plus_is_space)
{
    char *out = *pos, *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i] == '+' && plus_is_space ? ' ' : s[i];
        }
    }
    *o++ = '\0';
    *pos = o;
    return out;
}

static void jreq_fill(struct jreq *q, const struct journal_entry *e)
{
    static char empty[] = "";
    memset(&q->req, 0, sizeof q->req);
    snprintf(q->url, sizeof q->url, "%s", e->path);
    char *pos = q->buf;
    const char *qm = strchr(q->url, '?');
    size_t plen = qm ? (size_t)(qm - q->url) : strlen(q->url);
    q->req.method = e->method;
    q->req.url = q->url;
    q->req.path = decode(&pos, q->url, plen, 0);
    q->req.query = qm ? (char *)qm + 1 : empty;
    for (const char *p = qm ? qm + 1 : ""; *p && q->req.nparams < HTTP_MAX_QUERY_PARAMS;) {
        size_t len = strcspn(p, "&");
        if (len) {
            const char *eq = memchr(p, '=', len);
            struct http_param *pr = &q->req.params[q->req.nparams++];
            pr->key = decode(&pos, p, eq ? (size_t)(eq - p) : len, 1);
            pr->value = eq ? decode(&pos, eq + 1, len - (size_t)(eq - p) - 1, 1) : empty;
        }
        p += len + (p[len] == '&');
    }
    snprintf(q->ua_name, sizeof q->ua_name, "User-Agent");
    snprintf(q->ua, sizeof q->ua, "%s", e->user_agent);
    if (e->user_agent[0]) {
        q->req.headers[0] = (struct http_header){q->ua_name, q->ua};
        q->req.nheaders = 1;
    }
    q->req.seq = e->seq;
    const char *w = http_request_param(&q->req, "watch");
    int watch = w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0);
    char err[128];
    if (route_parse(e->method, q->req.path, watch, &q->route, err, sizeof err) < 0)
        memset(&q->route, 0, sizeof q->route); /* answered 400: unrouted */
}

struct jexp {
    const cJSON *spec;
    size_t index;
    const char *name;   /* NULL when unnamed */
    struct match match; /* parsed "match" (empty when absent) */
    int has_match;
    const char *rule, *fault;
    const struct rule *rule_ptr; /* the scenario's rule, when "rule" names one */
    int listener;                /* counted from rule_fired, not the journal */
    uint64_t count;              /* requests (or connections) counted */
    uint64_t shown[EXPECT_SHOW_REQUESTS];
    int shown_gitlab[EXPECT_SHOW_REQUESTS]; /* the servers number their requests apart */
    size_t nshown;
    const struct journal_entry *first;
};

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* "#12 POST /api/v1/namespaces/default/pods" */
static void request_label(char *buf, size_t len, const struct journal_entry *e)
{
    char path[URL_SHOW_MAX + 4];
    size_t n = strnlen(e->path, sizeof e->path);
    if (n > URL_SHOW_MAX) { /* memcpy: snprintf's truncation warning fires with -O1 */
        memcpy(path, e->path, URL_SHOW_MAX - 3);
        memcpy(path + URL_SHOW_MAX - 3, "...", 4);
    } else {
        memcpy(path, e->path, n);
        path[n] = '\0';
    }
    snprintf(buf, len, "#%llu %s %s", (unsigned long long)e->seq, e->method, path);
}

/* What an expectation counts, in the scenario's words: `journal[0] "creates" (match {...}, rule
 * x) min 1`. */
static char *jexp_subject(const struct jexp *x, const char *quant)
{
    char *match = x->has_match ? cJSON_PrintUnformatted(get(x->spec, "match")) : NULL;
    char what[1400] = "";
    size_t n = 0;
    if (match)
        n += (size_t)snprintf(what + n, sizeof what - n, "match %s", match);
    if (x->rule && n < sizeof what)
        n += (size_t)snprintf(what + n, sizeof what - n, "%srule %s", n ? ", " : "", x->rule);
    if (x->fault && n < sizeof what)
        n += (size_t)snprintf(what + n, sizeof what - n, "%sfault %s", n ? ", " : "", x->fault);
    if (!n)
        snprintf(what, sizeof what, "every request");
    free(match);
    char nm[JSONC_SHOW_BUF + 4] = "";
    if (x->name)
        snprintf(nm, sizeof nm, " \"%s\"", x->name);
    return fmt("journal[%zu]%s (%s) %s", x->index, nm, what, quant);
}

/* Why a journal expectation cannot be checked, or NULL. */
static char *jexp_uncheckable(const struct jexp *x)
{
    if (x->has_match && x->match.nbody)
        return strdup("cannot check \"match.body\": the journal keeps no request bodies");
    for (size_t i = 0; x->has_match && i < x->match.nheaders; i++)
        if (strcasecmp(x->match.headers[i].key, "User-Agent") != 0)
            return fmt("cannot check header \"%s\": the journal keeps only User-Agent",
                       x->match.headers[i].key);
    if (x->listener && x->has_match)
        return fmt("cannot check \"match\" with %s %s: listener faults act on connections, "
                   "which the journal does not list (leave \"match\" out to count them)",
                   x->rule ? "rule" : "fault", x->rule ? x->rule : x->fault);
    return NULL;
}

static void jexp_count(struct jexp *x, const struct scenario *s, const struct expect_input *in)
{
    if (x->listener) {
        for (size_t i = 0; in->rule_fired && i < s->nrules; i++) {
            const struct rule *r = &s->rules[i];
            if (r->removed || r->fault->layer != FAULT_LAYER_LISTENER)
                continue;
            if ((x->rule && strcmp(r->name, x->rule) != 0) ||
                (x->fault && strcmp(r->fault->name, x->fault) != 0))
                continue;
            x->count += in->rule_fired[i];
        }
        return;
    }
    size_t n = in->journal ? journal_count(in->journal) : 0;
    struct jreq *q = x->has_match ? malloc(sizeof *q) : NULL;
    if (x->has_match && !q)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct journal_entry *e = journal_get(in->journal, i);
        if ((x->rule && strcmp(e->rule, x->rule) != 0) ||
            (x->fault && strcmp(e->fault, x->fault) != 0))
            continue;
        if (q) {
            jreq_fill(q, e);
            if (e->gitlab) {
                struct glproto_route gr;
                glproto_route(e->method, q->req.path, &gr);
                if (!match_gitlab_request(&x->match, &q->req, &gr, NULL))
                    continue;
            } else if (!match_request(&x->match, &q->req, &q->route, NULL)) {
                continue;
            }
        }
        if (!x->first)
            x->first = e;
        if (x->nshown < EXPECT_SHOW_REQUESTS) {
            x->shown_gitlab[x->nshown] = e->gitlab;
            x->shown[x->nshown++] = e->seq;
        }
        x->count++;
    }
    free(q);
}

/* "#3 POST /api/..., #5 POST /api/..., ..." for the requests an expectation counted. */
static void shown_requests(char *buf, size_t len, const struct jexp *x,
                           const struct expect_input *in)
{
    size_t n = 0, total = in->journal ? journal_count(in->journal) : 0;
    buf[0] = '\0';
    for (size_t k = 0, i = 0; k < x->nshown && i < total && n < len; i++) {
        const struct journal_entry *e = journal_get(in->journal, i);
        if (e->seq != x->shown[k] || e->gitlab != x->shown_gitlab[k])
            continue;
        char l[URL_SHOW_MAX + 64];
        request_label(l, sizeof l, e);
        n += (size_t)snprintf(buf + n, len - n, "%s%s", k ? ", " : "", l);
        k++;
    }
    if (x->count > x->nshown && n < len)
        snprintf(buf + n, len - n, ", ...");
}

static int check_journal(struct expect_report *r, const struct scenario *s,
                         const struct expect_input *in, struct jexp *x)
{
    struct expect_item *it = add_item(r, "journal");
    if (!it)
        return -1;
    const cJSON *c = get(x->spec, "count"), *mn = get(x->spec, "min"), *mx = get(x->spec, "max");
    uint64_t lo = 1, hi = UINT64_MAX;
    char quant[64], want[96];
    if (cJSON_IsNumber(c)) {
        lo = hi = (uint64_t)c->valuedouble;
        snprintf(quant, sizeof quant, "count %llu", (unsigned long long)lo);
        snprintf(want, sizeof want, lo ? "expected exactly %llu" : "expected none",
                 (unsigned long long)lo);
    } else if (cJSON_IsNumber(mn) || cJSON_IsNumber(mx)) {
        lo = cJSON_IsNumber(mn) ? (uint64_t)mn->valuedouble : 0;
        hi = cJSON_IsNumber(mx) ? (uint64_t)mx->valuedouble : UINT64_MAX;
        if (cJSON_IsNumber(mn) && cJSON_IsNumber(mx)) {
            snprintf(quant, sizeof quant, "min %llu, max %llu", (unsigned long long)lo,
                     (unsigned long long)hi);
            snprintf(want, sizeof want, "expected %llu to %llu", (unsigned long long)lo,
                     (unsigned long long)hi);
        } else if (cJSON_IsNumber(mn)) {
            snprintf(quant, sizeof quant, "min %llu", (unsigned long long)lo);
            snprintf(want, sizeof want, "expected at least %llu", (unsigned long long)lo);
        } else {
            snprintf(quant, sizeof quant, "max %llu", (unsigned long long)hi);
            snprintf(want, sizeof want, "expected at most %llu", (unsigned long long)hi);
        }
    } else {
        snprintf(quant, sizeof quant, "(at least 1)");
        snprintf(want, sizeof want, "expected at least 1");
    }
    char *subject = jexp_subject(x, quant);
    char *why = jexp_uncheckable(x);
    char *expected = strdup(quant[0] == '(' ? "min 1" : quant);
    if (why)
        return finish(r, it, EXPECT_ERROR, subject, expected, strdup("cannot check"), why);
    jexp_count(x, s, in);
    int ok = x->count >= lo && x->count <= hi;
    size_t total = in->journal ? journal_count(in->journal) : 0;
    const char *unit = x->listener ? "connection" : "request";
    const char *plural = x->count == 1 ? "" : "s";
    char *observed = fmt("%llu %s%s", (unsigned long long)x->count, unit, plural);
    char detail[1024], dropped[96] = "";
    const struct journal_entry *first = total ? journal_get(in->journal, 0) : NULL;
    if (first && first->seq > 1)
        snprintf(dropped, sizeof dropped, " (the journal kept only the last %zu requests)", total);
    if (x->listener) {
        snprintf(detail, sizeof detail,
                 "the rule fired on %llu connection%s%s%s (listener faults act on connections, "
                 "which the journal does not list)",
                 (unsigned long long)x->count, plural, ok ? "" : ", ", ok ? "" : want);
    } else if (x->count == 0) {
        if (total == 0)
            snprintf(detail, sizeof detail, "no request reached the server%s%s", ok ? "" : ", ",
                     ok ? "" : want);
        else
            snprintf(detail, sizeof detail,
                     "no request matched%s%s (the journal holds %zu request%s)", ok ? "" : ", ",
                     ok ? "" : want, total, total == 1 ? "" : "s");
    } else {
        char reqs[600];
        shown_requests(reqs, sizeof reqs, x, in);
        snprintf(detail, sizeof detail, "%llu %s%s (%s)%s%s%s", (unsigned long long)x->count, unit,
                 plural, reqs, ok ? "" : ", ", ok ? "" : want, ok ? "" : dropped);
    }
    return finish(r, it, ok ? EXPECT_PASS : EXPECT_FAIL, subject, expected, observed,
                  strdup(detail));
}

static int check_before(struct expect_report *r, const struct jexp *x, const struct jexp *all,
                        size_t n)
{
    struct expect_item *it = add_item(r, "before");
    const char *other = get(x->spec, "before")->valuestring;
    const struct jexp *y = NULL;
    char nm[JSONC_SHOW_BUF + 4] = "", a[URL_SHOW_MAX + 64], b[URL_SHOW_MAX + 64];
    if (!it)
        return -1;
    for (size_t i = 0; i < n && !y; i++)
        if (all[i].name && strcmp(all[i].name, other) == 0)
            y = &all[i];
    if (x->name)
        snprintf(nm, sizeof nm, " \"%s\"", x->name);
    char *subject = fmt("journal[%zu]%s before \"%s\"", x->index, nm, other);
    char *expected = fmt("before \"%s\"", other);
    if (!y) /* scenario.c makes sure it exists; kept for callers with unchecked input */
        return finish(r, it, EXPECT_ERROR, subject, expected, strdup("cannot check"),
                      fmt("no journal expectation named \"%s\"", other));
    if (x->listener || y->listener)
        return finish(r, it, EXPECT_ERROR, subject, expected, strdup("cannot check"),
                      strdup("cannot order listener faults: they act on connections, which the "
                             "journal does not list"));
    if (!x->first)
        return finish(
            r, it, EXPECT_FAIL, subject, expected, strdup("none matched"),
            fmt("journal[%zu] matched no request: it has no first request to order", x->index));
    if (!y->first)
        return finish(r, it, EXPECT_FAIL, subject, expected, strdup("none matched"),
                      fmt("\"%s\" matched no request: there is nothing to come before", other));
    request_label(a, sizeof a, x->first);
    request_label(b, sizeof b, y->first);
    if (x->first->seq < y->first->seq)
        return finish(
            r, it, EXPECT_PASS, subject, expected,
            fmt("#%llu < #%llu", (unsigned long long)x->first->seq,
                (unsigned long long)y->first->seq),
            fmt("its first request %s comes before the first of \"%s\", %s", a, other, b));
    return finish(r, it, EXPECT_FAIL, subject, expected,
                  fmt("#%llu after #%llu", (unsigned long long)x->first->seq,
                      (unsigned long long)y->first->seq),
                  fmt("its first request %s comes after the first of \"%s\", %s", a, other, b));
}

/* ---- the fake GitLab's jobs ---- */

/* The job an expectation names ("job": id or "name"), or NULL. */
static const cJSON *find_job(const cJSON *jobs, const cJSON *x)
{
    const cJSON *id = get(x, "job"), *name = get(x, "name"), *j;
    cJSON_ArrayForEach(j, jobs)
    {
        if (cJSON_IsNumber(id) && cJSON_IsNumber(get(j, "id")) &&
            get(j, "id")->valuedouble == id->valuedouble)
            return j;
        if (cJSON_IsString(name) && cJSON_IsString(get(j, "name")) &&
            strcmp(get(j, "name")->valuestring, name->valuestring) == 0)
            return j;
    }
    return NULL;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int check_gitlab_job(struct expect_report *r, const struct expect_input *in, const cJSON *x,
                            size_t i)
{
    struct expect_item *it = add_item(r, "gitlabJob");
    if (!it)
        return -1;
    char who[JSONC_SHOW_BUF + 32], want[1024] = "", why[1400] = "", sh[JSONC_SHOW_BUF];
    size_t n = 0;
    const cJSON *v;
    if (cJSON_IsNumber(v = get(x, "job")))
        snprintf(who, sizeof who, "job %.0f", v->valuedouble);
    else
        snprintf(who, sizeof who, "job \"%s\"", show(sh, sizeof sh, jstr(x, "name")));
#define WANT(...)                                                                                  \
    do {                                                                                           \
        if (n < sizeof want)                                                                       \
            n += (size_t)snprintf(want + n, sizeof want - n, __VA_ARGS__);                         \
    } while (0)
    if (cJSON_IsString(v = get(x, "state")))
        WANT("%sstate %s", n ? ", " : "", v->valuestring);
    if (cJSON_IsString(v = get(x, "failureReason")))
        WANT("%sfailureReason \"%s\"", n ? ", " : "", show(sh, sizeof sh, v->valuestring));
    if (cJSON_IsNumber(v = get(x, "exitCode")))
        WANT("%sexitCode %d", n ? ", " : "", v->valueint);
    for (int k = 0; k < 2; k++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, get(x, k ? "traceLacks" : "traceContains")) if (cJSON_IsString(e))
            WANT("%strace %s \"%s\"", n ? ", " : "", k ? "lacks" : "has",
                 show(sh, sizeof sh, e->valuestring));
    }
#undef WANT
    if (!n)
        snprintf(want, sizeof want, "exists");
    char *subject = fmt("gitlab.jobs[%zu] (%s)", i, who);
    const cJSON *job = find_job(in->gitlab_jobs, x);
    if (!job)
        return finish(
            r, it, EXPECT_FAIL, subject, strdup(want), strdup("no such job"),
            fmt("the fake GitLab has no %s%s", who, in->gitlab_jobs ? "" : " (it did not run)"));
    const char *state = jstr(job, "state"), *reason = jstr(job, "failure_reason");
    const char *trace = jstr(job, "trace");
    const cJSON *code = get(job, "exit_code");
    char *observed = cJSON_IsNumber(code) ? fmt("%s%s%s%s, exit %d", state, reason[0] ? " (" : "",
                                                reason, reason[0] ? ")" : "", code->valueint)
                                          : fmt("%s%s%s%s", state, reason[0] ? " (" : "", reason,
                                                reason[0] ? ")" : "");
    if (cJSON_IsString(v = get(x, "state")) && strcmp(v->valuestring, state) != 0)
        snprintf(why, sizeof why, "the job is %s, expected %s", state, v->valuestring);
    else if (cJSON_IsString(v = get(x, "failureReason")) && strcmp(v->valuestring, reason) != 0)
        snprintf(why, sizeof why, "failure_reason is \"%s\", expected \"%s\"",
                 show(sh, sizeof sh, reason), v->valuestring);
    else if (cJSON_IsNumber(v = get(x, "exitCode")) && !cJSON_IsNumber(code))
        snprintf(why, sizeof why, "the runner sent no exit code, expected %d", v->valueint);
    else if (cJSON_IsNumber(v) && code->valueint != v->valueint)
        snprintf(why, sizeof why, "the exit code is %d, expected %d", code->valueint, v->valueint);
    for (int k = 0; k < 2 && !why[0]; k++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, get(x, k ? "traceLacks" : "traceContains"))
        {
            int has = cJSON_IsString(e) && strstr(trace, e->valuestring) != NULL;
            if (cJSON_IsString(e) && has == k) {
                snprintf(why, sizeof why, "the trace (%zu bytes) %s \"%s\"", strlen(trace),
                         k ? "contains" : "lacks", show(sh, sizeof sh, e->valuestring));
                break;
            }
        }
    }
    if (why[0])
        return finish(r, it, EXPECT_FAIL, subject, strdup(want), observed, strdup(why));
    return finish(r, it, EXPECT_PASS, subject, strdup(want), observed, fmt("%s", observed));
}

static int check_all_gitlab(struct expect_report *r, const struct expect_input *in,
                            const cJSON *spec)
{
    const cJSON *e;
    size_t i = 0;
    int rc = 0;
    cJSON_ArrayForEach(e, get(spec, "jobs"))
    {
        if (rc == 0)
            rc = check_gitlab_job(r, in, e, i);
        i++;
    }
    return rc;
}

/* ---- the whole section ---- */

static void verdict_of(struct expect_report *r)
{
    r->verdict = r->errors ? EXPECT_ERROR : r->failed ? EXPECT_FAIL : EXPECT_PASS;
}

static int check_all_journal(struct expect_report *r, const struct scenario *s,
                             const struct expect_input *in, const cJSON *arr)
{
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    int rc = 0;
    struct jexp *xs = calloc(n ? n : 1, sizeof *xs);
    if (!xs)
        return -1;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        struct jexp *x = &xs[i];
        const cJSON *v;
        x->spec = e;
        x->index = i;
        x->name = cJSON_IsString(v = get(e, "name")) ? v->valuestring : NULL;
        x->rule = cJSON_IsString(v = get(e, "rule")) ? v->valuestring : NULL;
        x->fault = cJSON_IsString(v = get(e, "fault")) ? v->valuestring : NULL;
        if ((v = get(e, "match"))) {
            struct diag d;
            diag_init(&d, s->file ? s->file : "");
            x->has_match = match_parse(v, "match", &d, &x->match) == 0;
            diag_release(&d);
        }
        if (x->rule)
            x->rule_ptr = scenario_rule((struct scenario *)s, x->rule);
        const struct fault_type *ft = x->fault ? fault_type_find(x->fault) : NULL;
        x->listener = (x->rule_ptr && x->rule_ptr->fault->layer == FAULT_LAYER_LISTENER) ||
                      (!x->rule && ft && ft->layer == FAULT_LAYER_LISTENER);
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = check_journal(r, s, in, &xs[i]);
    for (i = 0; i < n && rc == 0; i++)
        if (cJSON_IsString(get(xs[i].spec, "before")))
            rc = check_before(r, &xs[i], xs, n);
    for (i = 0; i < n; i++)
        if (xs[i].has_match)
            match_release(&xs[i].match);
    free(xs);
    return rc;
}

/* Name every expectation of a section other than the top-level "expect" by its path
 * ("kubectl.expect.outputContains ..."), so a message says which section to look at. The timeout
 * is the run's, not an expectation's. */
static int prefix_items(struct expect_report *r, const char *section)
{
    for (size_t i = 0; i < r->n; i++) {
        struct expect_item *it = &r->items[i];
        if (strcmp(it->kind, "timeout") == 0)
            continue;
        char *subject = fmt("%s.%s", section, it->subject);
        char *message = fmt("%s.%s", section, it->message);
        if (!subject || !message) {
            free(subject);
            free(message);
            return -1;
        }
        free(it->subject);
        free(it->message);
        it->subject = subject;
        it->message = message;
    }
    return 0;
}

int expect_evaluate(const struct scenario *s, const struct expect_input *in,
                    struct expect_report *out)
{
    return expect_evaluate_section(s, s ? s->expect : NULL, "expect", in, out);
}

int expect_evaluate_section(const struct scenario *s, const struct cJSON *ex, const char *section,
                            const struct expect_input *in, struct expect_report *out)
{
    const cJSON *v;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (in->timed_out)
        rc = check_timeout(out, in);
    if (rc == 0 && !ex)
        rc = check_exit(out, in, 0, 1, section);
    if (rc == 0 && ex && cJSON_IsNumber(v = get(ex, "exitCode")))
        rc = check_exit(out, in, v->valueint, 0, section);
    const char *keys[2] = {"outputContains", "outputLacks"};
    for (int k = 0; k < 2 && ex; k++) {
        v = get(ex, keys[k]);
        for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e && rc == 0; e = e->next)
            if (cJSON_IsString(e))
                rc = check_output(out, in, e->valuestring, k == 0);
    }
    const char *dkeys[2] = {"durationMin", "durationMax"};
    for (int k = 0; k < 2 && ex && rc == 0; k++) {
        int64_t ms;
        char err[128];
        v = get(ex, dkeys[k]);
        if (cJSON_IsString(v) && jsonc_parse_duration(v->valuestring, &ms, err, sizeof err) == 0)
            rc = check_duration(out, in, v->valuestring, ms, k == 1);
    }
    if (rc == 0 && ex && cJSON_IsArray(v = get(ex, "journal")))
        rc = check_all_journal(out, s, in, v);
    if (rc == 0 && ex && cJSON_IsObject(v = get(ex, "gitlab")))
        rc = check_all_gitlab(out, in, v);
    if (rc == 0 && strcmp(section, "expect") != 0)
        rc = prefix_items(out, section);
    if (rc < 0) {
        expect_report_release(out);
        return -1;
    }
    verdict_of(out);
    return 0;
}

void expect_report_release(struct expect_report *out)
{
    for (size_t i = 0; i < out->n; i++) {
        free(out->items[i].subject);
        free(out->items[i].expected);
        free(out->items[i].observed);
        free(out->items[i].message);
    }
    free(out->items);
    memset(out, 0, sizeof *out);
}
