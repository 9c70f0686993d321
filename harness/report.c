/* report.c -- what `kubefault run` reports: the human table, JUnit XML for GitLab CI, JSON, and the
 * journal as evidence */
#include "harness/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/journal.h"
#include "mockapi/base/json.h"

#define DEFAULT_WIDTH 120
#define ID_COLUMN_MAX 40
#define ID_COLUMN_MIN 8
#define GAP 2

/* ---- cases ---- */

void report_case_release(struct report_case *c)
{
    free(c->file);
    free(c->id);
    free(c->name);
    free(c->anchor);
    free(c->class_);
    free(c->expect_summary);
    free(c->error);
    free(c->skip_reason);
    expect_report_release(&c->expect);
    free(c->command);
    free(c->output);
    free(c->journal_excerpt);
    free(c->evidence);
    memset(c, 0, sizeof *c);
}

const char *report_status_name(enum report_status s)
{
    return s == REPORT_PASS    ? "PASS"
           : s == REPORT_FAIL  ? "FAIL"
           : s == REPORT_ERROR ? "ERROR"
                               : "SKIP";
}

int report_use_color(FILE *f)
{
    const char *no = getenv("NO_COLOR");
    return isatty(fileno(f)) && !(no && *no);
}

/* ---- UTF-8 ---- */

/* The length of the valid UTF-8 sequence at s[0..len) and its code point, or 0 when the bytes there
 * are not one (overlong forms, surrogates and values past U+10FFFF are not). */
static size_t utf8_seq(const unsigned char *s, size_t len, unsigned *cp)
{
    unsigned c = s[0];
    size_t n;
    unsigned v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

char *report_utf8_clean(const char *s, size_t len)
{
    char *out = malloc(len * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_seq((const unsigned char *)s + i, len - i, &cp);
        if (n == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(o, s + i, n);
        o += n;
        i += n;
    }
    *o = '\0';
    return out;
}

/* Characters (not bytes) in a UTF-8 string. */
static size_t width_of(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* s cut to at most w characters ("..." at the end when cut) and padded with spaces to w when pad,
 * into buf (at least 4 * w + 4 bytes). */
static const char *cell(char *buf, size_t len, const char *s, size_t w, int pad)
{
    size_t chars = 0, i = 0, n = 0;
    if (!s)
        s = "";
    int cut = width_of(s) > w;
    size_t keep = cut ? (w > 3 ? w - 3 : 0) : w;
    while (s[i] && n + 5 < len) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (chars == keep)
                break;
            chars++;
        }
        buf[n++] = s[i++];
    }
    if (cut)
        for (size_t k = 0; k < 3 && k < w && n + 1 < len; k++, chars++)
            buf[n++] = '.';
    while (pad && chars < w && n + 1 < len) {
        buf[n++] = ' ';
        chars++;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- the human table ---- */

static const char *color_of(enum report_status s)
{
    return s == REPORT_PASS    ? "\033[32m"
           : s == REPORT_FAIL  ? "\033[31m"
           : s == REPORT_ERROR ? "\033[33m"
                               : "\033[36m";
}

/* The observed column: how it went, or the first thing that failed. */
static void observed_short(char *buf, size_t len, const struct report_case *c)
{
    char d[48];
    if (c->status == REPORT_SKIP) {
        snprintf(buf, len, "skipped: %s", c->skip_reason ? c->skip_reason : "not run");
        return;
    }
    if (c->status == REPORT_ERROR && c->error) {
        size_t k = strcspn(c->error, "\n");
        snprintf(buf, len, "%.*s", (int)k, c->error);
        return;
    }
    if (c->status == REPORT_PASS) {
        if (c->exited)
            snprintf(buf, len, "exit %d in %s, %zu request%s", c->exit_code,
                     expect_format_duration(d, sizeof d, c->duration_ms), c->requests,
                     c->requests == 1 ? "" : "s");
        else
            snprintf(buf, len, "%zu request%s", c->requests, c->requests == 1 ? "" : "s");
        return;
    }
    size_t bad = c->expect.failed + c->expect.errors;
    for (size_t i = 0; i < c->expect.n; i++) {
        const struct expect_item *it = &c->expect.items[i];
        if (it->verdict == EXPECT_PASS)
            continue;
        char more[32] = "";
        if (bad > 1)
            snprintf(more, sizeof more, " (+%zu more)", bad - 1);
        snprintf(buf, len, "%s: %s%s", it->kind, it->observed, more);
        return;
    }
    snprintf(buf, len, "%s", report_status_name(c->status));
}

void report_table(FILE *out, const struct report_case *cases, size_t n, int width, int color,
                  int64_t total_ms)
{
    size_t w = width > 0 ? (size_t)width : DEFAULT_WIDTH, idw = ID_COLUMN_MIN;
    for (size_t i = 0; i < n; i++)
        if (cases[i].id && width_of(cases[i].id) > idw)
            idw = width_of(cases[i].id);
    if (idw > ID_COLUMN_MAX)
        idw = ID_COLUMN_MAX;
    size_t rest = w > idw + 6 + 3 * GAP ? w - idw - 6 - 3 * GAP : 0;
    size_t ew = rest / 2, ow = rest - rest / 2;
    if (ew < 12)
        ew = 12;
    if (ow < 12)
        ow = 12;
    if (ew > REPORT_COLUMN_MAX)
        ew = REPORT_COLUMN_MAX;
    if (ow > REPORT_COLUMN_MAX)
        ow = REPORT_COLUMN_MAX;
    char a[4 * ID_COLUMN_MAX + 8], b[4 * REPORT_COLUMN_MAX + 8], c[4 * REPORT_COLUMN_MAX + 8];
    fprintf(out, "%s  %s  %s  RESULT\n", cell(a, sizeof a, "SCENARIO", idw, 1),
            cell(b, sizeof b, "EXPECTED", ew, 1), cell(c, sizeof c, "OBSERVED", ow, 1));
    size_t pass = 0, fail = 0, err = 0, skip = 0;
    for (size_t i = 0; i < n; i++) {
        const struct report_case *k = &cases[i];
        char obs[512];
        observed_short(obs, sizeof obs, k);
        fprintf(out, "%s  %s  %s  %s%s%s\n", cell(a, sizeof a, k->id, idw, 1),
                cell(b, sizeof b, k->expect_summary ? k->expect_summary : "-", ew, 1),
                cell(c, sizeof c, obs, ow, 1), color ? color_of(k->status) : "",
                report_status_name(k->status), color ? "\033[0m" : "");
        pass += k->status == REPORT_PASS;
        fail += k->status == REPORT_FAIL;
        err += k->status == REPORT_ERROR;
        skip += k->status == REPORT_SKIP;
    }
    for (size_t i = 0; i < n; i++) {
        const struct report_case *k = &cases[i];
        char d[48];
        if (k->status == REPORT_PASS || k->status == REPORT_SKIP)
            continue;
        fprintf(out, "\n%s%s%s %s (%s, %s)\n", color ? color_of(k->status) : "",
                report_status_name(k->status), color ? "\033[0m" : "", k->id ? k->id : "?",
                k->file ? k->file : "?", expect_format_duration(d, sizeof d, k->duration_ms));
        if (k->error)
            for (const char *p = k->error; *p;) {
                size_t len = strcspn(p, "\n");
                fprintf(out, "  %.*s\n", (int)len, p);
                p += len + (p[len] == '\n');
            }
        for (size_t j = 0; j < k->expect.n; j++)
            if (k->expect.items[j].verdict != EXPECT_PASS)
                fprintf(out, "  %s\n", k->expect.items[j].message);
        if (k->evidence)
            fprintf(out, "  evidence: %s\n", k->evidence);
    }
    char d[48], skipped[48] = "";
    if (skip) /* only then: the line stays as it was for runs that skip nothing */
        snprintf(skipped, sizeof skipped, ", %zu skipped", skip);
    fprintf(out, "\n%zu scenario%s in %s: %zu passed, %zu failed, %zu error%s%s\n", n,
            n == 1 ? "" : "s", expect_format_duration(d, sizeof d, total_ms), pass, fail, err,
            err == 1 ? "" : "s", skipped);
}

/* ---- XML ---- */

void report_xml_text(FILE *f, const char *s, size_t len, int attr)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i], cp;
        if (c == 0x1b && i + 1 < len && u[i + 1] == '[') {
            /* an ANSI CSI sequence (colours, cursor moves): ESC [ params intermediates final */
            size_t j = i + 2;
            while (j < len && u[j] >= 0x30 && u[j] <= 0x3f)
                j++;
            while (j < len && u[j] >= 0x20 && u[j] <= 0x2f)
                j++;
            if (j < len && u[j] >= 0x40 && u[j] <= 0x7e) {
                i = j + 1;
                continue;
            }
        }
        if (c < 0x80) {
            i++;
            if (c == '&')
                fputs("&amp;", f);
            else if (c == '<')
                fputs("&lt;", f);
            else if (c == '>')
                fputs("&gt;", f);
            else if (c == '"' && attr)
                fputs("&quot;", f);
            else if (c == '\r')
                fputs("&#13;", f);
            else if ((c == '\n' || c == '\t') && attr)
                fprintf(f, "&#%u;", c);
            else if (c < 0x20 && c != '\n' && c != '\t')
                fprintf(f, "\\x%02x", c); /* XML 1.0 has no way to write these, even as &#N; */
            else
                fputc((int)c, f);
            continue;
        }
        size_t n = utf8_seq(u + i, len - i, &cp);
        if (n == 0 || cp == 0xfffe || cp == 0xffff) {
            fputs("\xef\xbf\xbd", f);
            i += n ? n : 1;
            continue;
        }
        fwrite(u + i, 1, n, f);
        i += n;
    }
}

static void xml_str(FILE *f, const char *s, int attr)
{
    if (s)
        report_xml_text(f, s, strlen(s), attr);
}

/* The first failing expectation's message (and how many more), for failure's message attribute. */
static void failure_attr(FILE *f, const struct report_case *c, enum expect_verdict which)
{
    size_t bad = which == EXPECT_FAIL ? c->expect.failed : c->expect.errors, shown = 0;
    for (size_t i = 0; i < c->expect.n && !shown; i++)
        if (c->expect.items[i].verdict == which) {
            xml_str(f, c->expect.items[i].message, 1);
            shown = 1;
        }
    if (bad > 1)
        fprintf(f, " (and %zu more)", bad - 1);
}

static void system_out(FILE *f, const struct report_case *c)
{
    char d[48];
    fputs("      <system-out>", f);
    if (c->command) {
        fputs("command: ", f);
        xml_str(f, c->command, 0);
        fputc('\n', f);
    }
    if (c->started) {
        fputs("ended: ", f);
        if (c->timed_out)
            fputs("timed out", f);
        else if (c->exited)
            fprintf(f, "exit %d", c->exit_code);
        else
            fprintf(f, "signal %d", c->signal);
        fprintf(f, " after %s\n", expect_format_duration(d, sizeof d, c->duration_ms));
    }
    for (size_t i = 0; i < c->expect.n; i++) {
        const struct expect_item *it = &c->expect.items[i];
        fprintf(f, "%s ",
                it->verdict == EXPECT_PASS   ? "pass "
                : it->verdict == EXPECT_FAIL ? "FAIL "
                                             : "ERROR");
        xml_str(f, it->message, 0);
        fputc('\n', f);
    }
    const char *out = c->output ? c->output : "";
    size_t len = c->output ? c->output_len : 0, skip = 0;
    if (len > REPORT_XML_OUTPUT_MAX) {
        skip = len - REPORT_XML_OUTPUT_MAX;
        const char *nl = out[skip - 1] == '\n' ? NULL : memchr(out + skip, '\n', len - skip);
        if (nl && (size_t)(nl - out) < skip + 1024) /* start at a line when one is near */
            skip = (size_t)(nl - out) + 1;
        fprintf(f, "--- output: its last %zu of %zu bytes (the evidence folder has all) ---\n",
                len - skip, len + c->output_dropped);
    } else {
        fprintf(f, "--- output (%zu bytes) ---\n", len + c->output_dropped);
    }
    report_xml_text(f, out + skip, len - skip, 0);
    if (len && out[len - 1] != '\n')
        fputc('\n', f);
    if (c->journal_excerpt) {
        fprintf(f, "--- journal: %zu request%s", c->requests, c->requests == 1 ? "" : "s");
        if (c->requests > REPORT_JOURNAL_EXCERPT)
            fprintf(f, ", the last %d", REPORT_JOURNAL_EXCERPT);
        fputs(" ---\n", f);
        xml_str(f, c->journal_excerpt, 0);
    }
    fputs("</system-out>\n", f);
}

int report_junit(FILE *out, const struct report_case *cases, size_t n, int64_t total_ms,
                 const char *timestamp)
{
    size_t fail = 0, err = 0, skip = 0;
    for (size_t i = 0; i < n; i++) {
        fail += cases[i].status == REPORT_FAIL;
        err += cases[i].status == REPORT_ERROR;
        skip += cases[i].status == REPORT_SKIP;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fprintf(out,
            "<testsuites name=\"kubefault\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"%.3f\">\n",
            n, fail, err, (double)total_ms / 1000);
    fprintf(out,
            "  <testsuite name=\"kubefault run\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "skipped=\"%zu\" time=\"%.3f\" timestamp=\"",
            n, fail, err, skip, (double)total_ms / 1000);
    xml_str(out, timestamp ? timestamp : "", 1);
    fputs("\">\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct report_case *c = &cases[i];
        const char *name = c->anchor ? c->anchor : c->name ? c->name : c->id ? c->id : "?";
        int dup = 0; /* two variants of one anchor: tell them apart by their file */
        for (size_t k = 0; k < n && !dup; k++) {
            const struct report_case *o = &cases[k];
            const char *on = o->anchor ? o->anchor : o->name ? o->name : o->id ? o->id : "?";
            dup = k != i && strcmp(on, name) == 0;
        }
        fputs("    <testcase classname=\"", out);
        xml_str(out, c->class_ ? c->class_ : "scenario", 1);
        fputs("\" name=\"", out);
        xml_str(out, name, 1);
        if (dup && c->id) {
            fputs(" (", out);
            xml_str(out, c->id, 1);
            fputc(')', out);
        }
        fputs("\" file=\"", out);
        xml_str(out, c->file, 1);
        fprintf(out, "\" time=\"%.3f\"", (double)c->duration_ms / 1000);
        if (c->status == REPORT_PASS) {
            fputs("/>\n", out);
            continue;
        }
        fputs(">\n", out);
        if (c->status == REPORT_SKIP) { /* nothing ran: no output, no journal */
            fputs("      <skipped message=\"", out);
            xml_str(out, c->skip_reason ? c->skip_reason : "not run", 1);
            fputs("\"/>\n    </testcase>\n", out);
            continue;
        }
        if (c->status == REPORT_FAIL) {
            fputs("      <failure type=\"expectation\" message=\"", out);
            failure_attr(out, c, EXPECT_FAIL);
            fputs("\">", out);
            for (size_t k = 0; k < c->expect.n; k++)
                if (c->expect.items[k].verdict == EXPECT_FAIL) {
                    xml_str(out, c->expect.items[k].message, 0);
                    fputc('\n', out);
                }
            fputs("</failure>\n", out);
        } else {
            fputs("      <error type=\"error\" message=\"", out);
            if (c->error) {
                size_t k = strcspn(c->error, "\n");
                report_xml_text(out, c->error, k, 1);
            } else {
                failure_attr(out, c, EXPECT_ERROR);
            }
            fputs("\">", out);
            if (c->error) {
                xml_str(out, c->error, 0);
                fputc('\n', out);
            }
            for (size_t k = 0; k < c->expect.n; k++)
                if (c->expect.items[k].verdict != EXPECT_PASS) {
                    xml_str(out, c->expect.items[k].message, 0);
                    fputc('\n', out);
                }
            fputs("</error>\n", out);
        }
        system_out(out, c);
        fputs("    </testcase>\n", out);
    }
    fputs("  </testsuite>\n</testsuites>\n", out);
    return ferror(out) ? -1 : 0;
}

/* ---- JSON ---- */

static void add_str(cJSON *o, const char *key, const char *s)
{
    if (!s) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char *clean = report_utf8_clean(s, strlen(s));
    json_add(o, key, clean ? cJSON_CreateString(clean) : NULL);
    free(clean);
}

static const char *verdict_name(enum expect_verdict v)
{
    return v == EXPECT_PASS ? "pass" : v == EXPECT_FAIL ? "fail" : "error";
}

cJSON *report_case_json(const struct report_case *c)
{
    static const char *const results[] = {"pass", "fail", "error", "skip"};
    char sb[32];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_str(o, "file", c->file);
    add_str(o, "id", c->id);
    add_str(o, "name", c->name);
    add_str(o, "anchor", c->anchor);
    add_str(o, "class", c->class_);
    add_str(o, "result", results[c->status]);
    add_str(o, "error", c->error);
    add_str(o, "skipReason", c->skip_reason);
    add_str(o, "command", c->command);
    json_add(o, "durationMs", cJSON_CreateNumber((double)c->duration_ms));
    cJSON *ex = json_add(o, "exit", cJSON_CreateObject());
    if (ex) {
        json_add(ex, "started", cJSON_CreateBool(c->started));
        json_add(ex, "exited", cJSON_CreateBool(c->exited));
        json_add(ex, "code", c->exited ? cJSON_CreateNumber(c->exit_code) : cJSON_CreateNull());
        add_str(ex, "signal", c->signal ? expect_signal_name(sb, sizeof sb, c->signal) : NULL);
        json_add(ex, "timedOut", cJSON_CreateBool(c->timed_out));
    }
    json_add(o, "outputBytes", cJSON_CreateNumber((double)(c->output_len + c->output_dropped)));
    json_add(o, "requests", cJSON_CreateNumber((double)c->requests));
    add_str(o, "expected", c->expect_summary);
    cJSON *arr = json_add(o, "expectations", cJSON_CreateArray());
    for (size_t i = 0; arr && i < c->expect.n; i++) {
        const struct expect_item *it = &c->expect.items[i];
        cJSON *e = json_push(arr, cJSON_CreateObject());
        if (!e)
            break;
        add_str(e, "kind", it->kind);
        add_str(e, "subject", it->subject);
        add_str(e, "expected", it->expected);
        add_str(e, "observed", it->observed);
        add_str(e, "result", verdict_name(it->verdict));
        add_str(e, "message", it->message);
    }
    add_str(o, "evidence", c->evidence);
    return o;
}

int report_json(FILE *out, const struct report_case *cases, size_t n, int64_t total_ms,
                const char *timestamp)
{
    size_t counts[4] = {0, 0, 0, 0};
    int rc = -1;
    cJSON *doc = cJSON_CreateObject(), *arr;
    if (!doc)
        return -1;
    add_str(doc, "kubefault", KF_VERSION);
    add_str(doc, "timestamp", timestamp);
    json_add(doc, "durationMs", cJSON_CreateNumber((double)total_ms));
    cJSON *sum = json_add(doc, "summary", cJSON_CreateObject());
    if (!(arr = json_add(doc, "scenarios", cJSON_CreateArray())) || !sum)
        goto out;
    for (size_t i = 0; i < n; i++) {
        counts[cases[i].status]++;
        if (!json_push(arr, report_case_json(&cases[i])))
            goto out;
    }
    json_add(sum, "total", cJSON_CreateNumber((double)n));
    json_add(sum, "passed", cJSON_CreateNumber((double)counts[REPORT_PASS]));
    json_add(sum, "failed", cJSON_CreateNumber((double)counts[REPORT_FAIL]));
    json_add(sum, "errors", cJSON_CreateNumber((double)counts[REPORT_ERROR]));
    json_add(sum, "skipped", cJSON_CreateNumber((double)counts[REPORT_SKIP]));
    char *text = cJSON_Print(doc);
    if (!text)
        goto out;
    fputs(text, out);
    fputc('\n', out);
    free(text);
    rc = ferror(out) ? -1 : 0;
out:
    cJSON_Delete(doc);
    return rc;
}

/* ---- the journal as evidence ---- */

char *report_journal_excerpt(const struct journal *j, size_t last)
{
    size_t n = j ? journal_count(j) : 0, from = n > last ? n - last : 0, cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    for (size_t i = from; i < n; i++) {
        const struct journal_entry *e = journal_get(j, i);
        char line[1400], answer[64], rule[160] = "";
        if (e->code == 0)
            snprintf(answer, sizeof answer, "%s", e->done_ms < 0 ? "open" : "no answer");
        else
            snprintf(answer, sizeof answer, "%d (%llu bytes%s)", e->code,
                     (unsigned long long)e->bytes, e->complete ? "" : ", cut short");
        if (e->rule[0])
            snprintf(rule, sizeof rule, " [rule %s: %s]", e->rule, e->fault);
        int k = snprintf(line, sizeof line, "#%llu +%lld.%03llds %s %s -> %s%s%s%s\n",
                         (unsigned long long)e->seq, (long long)(e->t_ms / 1000),
                         (long long)(e->t_ms % 1000), e->method, e->path, answer, rule,
                         e->note[0] ? " " : "", e->note);
        size_t add = k < 0 ? 0 : (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
        if (len + add + 1 > cap) {
            while (len + add + 1 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + len, line, add);
        len += add;
        buf[len] = '\0';
    }
    return buf;
}

int report_journal_jsonl(const struct journal *j, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
        return -1;
    }
    size_t n = j ? journal_count(j) : 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = journal_entry_json(journal_get(j, i), 1);
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        if (text)
            fprintf(f, "%s\n", text);
        free(text);
        cJSON_Delete(o);
    }
    if (ferror(f) | (fclose(f) != 0)) {
        snprintf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
