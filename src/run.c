/* run.c -- `kubefault run` and `kubefault list`: argument parsing and wiring (harness/run.c runs
 * each scenario, harness/report.c reports) */
#include "src/run.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "harness/diag.h"
#include "harness/expect.h"
#include "harness/jsonc.h"
#include "harness/report.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "mockapi/base/json.h"

#define EXIT_USAGE 2
#define TABLE_WIDTH_DEFAULT 120
#define LIST_STATUS_MAX 60 /* characters of "invalid: ..." the list table shows */
#define LIST_DESC_MIN 30
#define LIST_ID_MAX 48     /* characters of a file name or anchor id the list table shows */
#define LIST_ANCHOR_MAX 96 /* ... when the file names are the anchor ids (the catalogue) */

static void run_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kubefault run SCENARIO... [options] [-- COMMAND ARGS...]\n"
        "       kubefault run --kubectl[=PATH] SCENARIO... [options]\n"
        "\n"
        "For each scenario (a file, or a directory: its *.json files, sorted), start the fake\n"
        "kube-apiserver with it, run COMMAND against it (without one: the reference job\n"
        "client, `kubefault job`), stop the fake and check the scenario's \"expect\" section.\n"
        "With --kubectl, run kubectl with the scenario's \"kubectl.args\" instead and check\n"
        "\"kubectl.expect\"; scenarios without a \"kubectl\" section are skipped.\n"
        "The command's environment: KUBECONFIG, KUBEFAULT_URL, KUBEFAULT_TOKEN,\n"
        "KUBEFAULT_CA_FILE, KUBEFAULT_SCENARIO, KUBEFAULT_CONTROL_URL, KUBEFAULT_CONTROL_TOKEN\n"
        "(harness/RUN.md). Exit status: 0 all passed, 1 some failed, 2 bad usage or an\n"
        "invalid scenario.\n"
        "\n"
        "options:\n"
        "  --kubectl[=PATH]    run PATH (default: kubectl from PATH) with each scenario's\n"
        "                      \"kubectl\" section\n"
        "  --timeout DURATION  per scenario, e.g. 90s or 2m (default 10m); then SIGTERM, and\n"
        "                      SIGKILL 5s later\n"
        "  --plain-http        serve HTTP instead of HTTPS (no token, no CA)\n"
        "  --junit FILE        write a JUnit XML report (GitLab CI's artifacts:reports:junit)\n"
        "  --json FILE         write every scenario's results as JSON\n"
        "  --keep DIR          keep every scenario's evidence in DIR (default: failures only,\n"
        "                      in $TMPDIR/kubefault-run-<timestamp>)\n"
        "  --verbose           copy the command's output to stderr as it runs\n");
}

static void list_usage(FILE *out)
{
    fprintf(out,
            "usage: kubefault list [DIR|FILE...] [--json]\n"
            "\n"
            "The scenario catalogue (default: the scenarios/ directory here): each scenario's\n"
            "anchor id, first sentence of its description, class, and whether it is valid.\n");
}

static int term_width(FILE *f)
{
    struct winsize ws;
    if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    char *end;
    long n = c ? strtol(c, &end, 10) : 0;
    return c && *c && !*end && n > 20 && n < 1000 ? (int)n : TABLE_WIDTH_DEFAULT;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_files(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

/* Expand the arguments into scenario files; -1 after printing why. */
static int collect(char **args, size_t nargs, char ***files, size_t *n, const char *cmd)
{
    char err[512];
    for (size_t i = 0; i < nargs; i++) {
        size_t before = *n;
        struct stat st;
        if (run_collect(args[i], files, n, err, sizeof err) < 0) {
            fprintf(stderr, "kubefault %s: %s\n", cmd, err);
            return -1;
        }
        if (*n == before && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "kubefault %s: no scenario files (*.json) in %s\n", cmd, args[i]);
            return -1;
        }
    }
    return 0;
}

static int write_report(const char *path, const char *what, const struct report_case *cases,
                        size_t n, int64_t total_ms, const char *stamp)
{
    FILE *f = fopen(path, "w");
    int rc;
    if (!f) {
        fprintf(stderr, "kubefault run: cannot write %s report %s: %s\n", what, path,
                strerror(errno));
        return -1;
    }
    rc = strcmp(what, "JUnit") == 0 ? report_junit(f, cases, n, total_ms, stamp)
                                    : report_json(f, cases, n, total_ms, stamp);
    if (fclose(f) != 0 || rc < 0) {
        fprintf(stderr, "kubefault run: cannot write %s report %s: %s\n", what, path,
                strerror(errno));
        return -1;
    }
    return 0;
}

int run_main(int argc, char **argv)
{
    struct run_opts o;
    const char *junit = NULL, *json = NULL, *keep = NULL;
    char **scen_args = NULL, **files = NULL;
    size_t nscen = 0, nfiles = 0, ncases = 0;
    struct report_case *cases = NULL;
    struct event_base *base = NULL;
    char work[4096] = "", keep_default[4096], err[256], stamp[32], tsdir[32];
    int verbose = 0, rc = EXIT_USAGE;

    memset(&o, 0, sizeof o);
    o.timeout_ms = RUN_DEFAULT_TIMEOUT_MS;
    if (!(scen_args = calloc((size_t)argc + 1, sizeof *scen_args)))
        goto out;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "kubefault run: \"--\" needs a command after it\n");
                goto out;
            }
            o.command = argv + i + 1;
            break;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            run_usage(stdout);
            rc = 0;
            goto out;
        } else if (strcmp(a, "--plain-http") == 0) {
            o.plain_http = 1;
        } else if (strcmp(a, "--kubectl") == 0 || strncmp(a, "--kubectl=", 10) == 0) {
            /* the path only after "=": a word after --kubectl is a scenario */
            o.kubectl = a[9] ? a + 10 : "kubectl";
            if (!*o.kubectl) {
                fprintf(stderr, "kubefault run: --kubectl= needs a path (or give --kubectl "
                                "alone for kubectl from PATH)\n");
                goto out;
            }
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--timeout") == 0 || strcmp(a, "--junit") == 0 ||
                   strcmp(a, "--json") == 0 || strcmp(a, "--keep") == 0) {
            if (!v || !*v) {
                fprintf(stderr, "kubefault run: %s needs a value\n", a);
                goto out;
            }
            i++;
            if (strcmp(a, "--timeout") == 0) {
                int64_t ms = 0;
                err[0] = '\0';
                if (jsonc_parse_duration(v, &ms, err, sizeof err) < 0 || ms <= 0) {
                    fprintf(stderr, "kubefault run: --timeout \"%s\": %s\n", v,
                            ms <= 0 && !err[0] ? "must be above 0" : err);
                    goto out;
                }
                o.timeout_ms = ms;
            } else if (strcmp(a, "--junit") == 0) {
                junit = v;
            } else if (strcmp(a, "--json") == 0) {
                json = v;
            } else {
                keep = v;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "kubefault run: unknown option \"%s\" (see kubefault run --help)\n", a);
            goto out;
        } else {
            scen_args[nscen++] = argv[i];
        }
    }
    if (o.kubectl && o.command) {
        fprintf(stderr, "kubefault run: --kubectl runs kubectl: give no command after \"--\"\n");
        goto out;
    }
    if (nscen == 0) {
        fprintf(stderr, "kubefault run: no scenario given\n");
        run_usage(stderr);
        goto out;
    }
    if (collect(scen_args, nscen, &files, &nfiles, "run") < 0)
        goto out;

    /* as serve: precise timers, no cached time (injected delays land within a millisecond) */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    rc = 1;
    if (!base) {
        fprintf(stderr, "kubefault run: cannot create the event loop\n");
        goto out;
    }
    const char *tmp = getenv("TMPDIR");
    tmp = tmp && *tmp ? tmp : "/tmp";
    snprintf(work, sizeof work, "%s/kubefault-run-XXXXXX", tmp);
    if (!mkdtemp(work)) {
        fprintf(stderr, "kubefault run: cannot create a directory in %s: %s\n", tmp,
                strerror(errno));
        work[0] = '\0';
        goto out;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(tsdir, sizeof tsdir, "%Y%m%d-%H%M%S", &tm);
    snprintf(keep_default, sizeof keep_default, "%s/kubefault-run-%s", tmp, tsdir);
    o.keep_dir = keep ? keep : keep_default;
    o.keep_all = keep != NULL;
    o.echo = verbose ? stderr : NULL;
    o.progress = isatty(STDERR_FILENO) ? stderr : NULL;
    int color = report_use_color(stderr);
    if (!(cases = calloc(nfiles, sizeof *cases)))
        goto out;

    int64_t t0 = mono_ms();
    for (size_t i = 0; i < nfiles; i++) {
        char label[512], dir[4200], d[48];
        struct report_case *c = &cases[ncases];
        const char *b = strrchr(files[i], '/');
        snprintf(label, sizeof label, "[%zu/%zu] %s", i + 1, nfiles, b ? b + 1 : files[i]);
        snprintf(dir, sizeof dir, "%s/%zu", work, i + 1);
        if (mkdir(dir, 0700) < 0) {
            fprintf(stderr, "kubefault run: cannot create %s: %s\n", dir, strerror(errno));
            goto out;
        }
        o.label = label;
        o.work_dir = dir;
        run_case(base, files[i], &o, c);
        ncases++;
        run_rmtree(dir);
        if (c->status == REPORT_SKIP)
            fprintf(stderr, "%s: %s%s%s (%s)\n", label, color ? "\033[36m" : "",
                    report_status_name(c->status), color ? "\033[0m" : "",
                    c->skip_reason ? c->skip_reason : "not run");
        else
            fprintf(stderr, "%s: %s%s%s (%s)\n", label,
                    color ? (c->status == REPORT_PASS   ? "\033[32m"
                             : c->status == REPORT_FAIL ? "\033[31m"
                                                        : "\033[33m")
                          : "",
                    report_status_name(c->status), color ? "\033[0m" : "",
                    expect_format_duration(d, sizeof d, c->duration_ms));
        if (c->interrupted) {
            fprintf(stderr, "kubefault run: interrupted; %zu scenario%s not run\n", nfiles - i - 1,
                    nfiles - i - 1 == 1 ? "" : "s");
            break;
        }
    }
    int64_t total = mono_ms() - t0;
    fputc('\n', stderr);
    fflush(stderr);
    report_table(stdout, cases, ncases, term_width(stdout), report_use_color(stdout), total);
    fflush(stdout);

    int bad_report = 0;
    if (junit && write_report(junit, "JUnit", cases, ncases, total, stamp) < 0)
        bad_report = 1;
    if (json && write_report(json, "JSON", cases, ncases, total, stamp) < 0)
        bad_report = 1;
    int invalid = 0, failed = bad_report;
    for (size_t i = 0; i < ncases; i++) {
        invalid |= cases[i].invalid;
        failed |= cases[i].status == REPORT_FAIL || cases[i].status == REPORT_ERROR;
    }
    rc = invalid ? EXIT_USAGE : failed || ncases < nfiles ? 1 : 0;
out:
    for (size_t i = 0; i < ncases; i++)
        report_case_release(&cases[i]);
    free(cases);
    if (work[0])
        run_rmtree(work);
    if (base)
        event_base_free(base);
    free_files(files, nfiles);
    free(scen_args);
    return rc;
}

/* ---- list ---- */

/* The first sentence of a description, on one line: up to the first ". " (or the end). */
static char *first_sentence(const char *d)
{
    size_t n = strlen(d), k = 0;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char ch = d[i];
        if (ch == '\n' || ch == '\t' || ch == '\r')
            ch = ' ';
        if (ch == ' ' && (k == 0 || out[k - 1] == ' '))
            continue;
        out[k++] = ch;
        if (ch == '.' && (i + 1 == n || d[i + 1] == ' ' || d[i + 1] == '\n'))
            break;
    }
    while (k && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
    return out;
}

struct list_row {
    char *file, *id, *anchor, *class_, *name, *description, *summary, *status;
    cJSON *errors;
};

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* Print s in w characters (cut with "..." or padded when pad). */
static void put_cell(FILE *out, const char *s, size_t w, int pad)
{
    size_t n = chars(s), keep = n > w ? (w > 3 ? w - 3 : 0) : n, c = 0;
    for (const char *p = s; p && *p; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80 && c++ == keep)
            break;
        fputc(*p, out);
    }
    if (n > w)
        fputs("...", out);
    for (size_t k = n > w ? w : n; pad && k < w; k++)
        fputc(' ', out);
}

int list_main(int argc, char **argv)
{
    int as_json = 0, rc = EXIT_USAGE;
    char **args = calloc((size_t)argc + 1, sizeof *args), **files = NULL;
    size_t nargs = 0, nfiles = 0;
    struct list_row *rows = NULL;
    char *dflt = (char *)"scenarios";

    if (!args)
        return 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            list_usage(stdout);
            rc = 0;
            goto out;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "kubefault list: unknown option \"%s\" (see kubefault list --help)\n",
                    argv[i]);
            goto out;
        } else {
            args[nargs++] = argv[i];
        }
    }
    if (nargs == 0) {
        struct stat st;
        if (stat(dflt, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr,
                    "kubefault list: no scenarios/ directory here (give one: kubefault list "
                    "DIR)\n");
            goto out;
        }
        args[nargs++] = dflt;
    }
    if (collect(args, nargs, &files, &nfiles, "list") < 0)
        goto out;
    rc = 1;
    if (!(rows = calloc(nfiles ? nfiles : 1, sizeof *rows)))
        goto out;
    size_t idw = 9, aw = 6, cw = 5;
    for (size_t i = 0; i < nfiles; i++) {
        struct list_row *r = &rows[i];
        struct diag d;
        const char *b = strrchr(files[i], '/');
        size_t l;
        r->file = files[i];
        r->id = strdup(b ? b + 1 : files[i]);
        if (r->id && (l = strlen(r->id)) > 5 && strcmp(r->id + l - 5, ".json") == 0)
            r->id[l - 5] = '\0';
        r->errors = cJSON_CreateArray();
        diag_init(&d, files[i]);
        struct scenario *s = scenario_load(files[i], &d);
        if (s) {
            r->anchor = s->anchor ? strdup(s->anchor) : NULL;
            r->class_ = s->class_ ? strdup(s->class_) : NULL;
            r->name = s->name ? strdup(s->name) : NULL;
            r->description = s->description ? strdup(s->description) : NULL;
            r->summary = first_sentence(s->description ? s->description : s->name ? s->name : "");
            r->status = strdup("ok");
        } else {
            const char *first = d.n ? d.msgs[0] : "invalid scenario";
            size_t fl = strlen(files[i]);
            if (strncmp(first, files[i], fl) == 0 && first[fl] == ':') /* "file: x" -> "x" */
                first += fl + 1 + (first[fl + 1] == ' ');
            r->status = malloc(strlen(first) + 10);
            if (r->status)
                snprintf(r->status, strlen(first) + 10, "invalid: %s", first);
            for (size_t k = 0; k < d.n && r->errors; k++)
                json_push(r->errors, cJSON_CreateString(d.msgs[k]));
        }
        scenario_free(s);
        diag_release(&d);
        if (chars(r->id) > idw)
            idw = chars(r->id);
        if (r->anchor && chars(r->anchor) > aw)
            aw = chars(r->anchor);
        if (r->class_ && chars(r->class_) > cw)
            cw = chars(r->class_);
    }
    if (as_json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < nfiles; i++) {
            struct list_row *r = &rows[i];
            cJSON *o = json_push(arr, cJSON_CreateObject());
            if (!o)
                break;
            json_add(o, "file", cJSON_CreateString(r->file));
            json_add(o, "id", r->id ? cJSON_CreateString(r->id) : cJSON_CreateNull());
            json_add(o, "anchor", r->anchor ? cJSON_CreateString(r->anchor) : cJSON_CreateNull());
            json_add(o, "name", r->name ? cJSON_CreateString(r->name) : cJSON_CreateNull());
            json_add(o, "class", r->class_ ? cJSON_CreateString(r->class_) : cJSON_CreateNull());
            json_add(o, "summary",
                     r->summary ? cJSON_CreateString(r->summary) : cJSON_CreateNull());
            json_add(o, "description",
                     r->description ? cJSON_CreateString(r->description) : cJSON_CreateNull());
            json_add(o, "status",
                     cJSON_CreateString(strcmp(r->status ? r->status : "", "ok") == 0 ? "ok"
                                                                                      : "invalid"));
            json_add(o, "errors", r->errors);
            r->errors = NULL;
        }
        char *text = arr ? cJSON_Print(arr) : NULL;
        cJSON_Delete(arr);
        if (!text)
            goto out;
        printf("%s\n", text);
        free(text);
        rc = 0;
        goto out;
    }
    /* the catalogue names each file after its anchor id: one column then; examples and
     * variants name theirs otherwise, and get both */
    int both = 0;
    for (size_t i = 0; i < nfiles; i++)
        both |= rows[i].anchor && rows[i].id && strcmp(rows[i].anchor, rows[i].id) != 0;
    size_t width = (size_t)term_width(stdout);
    if (idw > (both ? LIST_ID_MAX : LIST_ANCHOR_MAX)) /* alone, an anchor id is shown whole */
        idw = both ? LIST_ID_MAX : LIST_ANCHOR_MAX;
    if (aw > LIST_ID_MAX)
        aw = LIST_ID_MAX;
    size_t fixed = idw + (both ? aw + 2 : 0) + cw + 2 + 2 + 2 + 8; /* "ok" fits; invalid run on */
    size_t dw = width > fixed + LIST_DESC_MIN ? width - fixed : LIST_DESC_MIN;
    put_cell(stdout, both ? "SCENARIO" : "ANCHOR ID", idw, 1);
    fputs("  ", stdout);
    if (both) {
        put_cell(stdout, "ANCHOR", aw, 1);
        fputs("  ", stdout);
    }
    put_cell(stdout, "DESCRIPTION", dw, 1);
    fputs("  ", stdout);
    put_cell(stdout, "CLASS", cw, 1);
    fputs("  STATUS\n", stdout);
    for (size_t i = 0; i < nfiles; i++) {
        struct list_row *r = &rows[i];
        put_cell(stdout, r->id, idw, 1);
        fputs("  ", stdout);
        if (both) {
            put_cell(stdout, r->anchor ? r->anchor : "-", aw, 1);
            fputs("  ", stdout);
        }
        put_cell(stdout, r->summary ? r->summary : "-", dw, 1);
        fputs("  ", stdout);
        put_cell(stdout, r->class_ ? r->class_ : "-", cw, 1);
        fputs("  ", stdout);
        put_cell(stdout, r->status ? r->status : "?", LIST_STATUS_MAX, 0);
        fputc('\n', stdout);
    }
    rc = 0;
out:
    for (size_t i = 0; rows && i < nfiles; i++) {
        free(rows[i].id);
        free(rows[i].anchor);
        free(rows[i].class_);
        free(rows[i].name);
        free(rows[i].description);
        free(rows[i].summary);
        free(rows[i].status);
        cJSON_Delete(rows[i].errors);
    }
    free(rows);
    free_files(files, nfiles);
    free(args);
    return rc;
}
