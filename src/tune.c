/* tune.c -- `kubefault tune`: argument parsing and output (harness/tune.c runs the trials) */
#include "src/tune.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/run.h"
#include "harness/tune.h"
#include "mockapi/base/file.h"

#define EXIT_USAGE 2
#define TRIALS_DEFAULT 20

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kubefault tune SCENARIO --poll-timeout 30,60,120,180 [options]\n"
        "\n"
        "Run the reference job client --trials times per poll_timeout value against\n"
        "SCENARIO, whose build pod schedules after a delay drawn from its seeded\n"
        "pods[].schedule.delay distribution (fixed, uniform, lognormal or empirical), and\n"
        "print per value the share of jobs that failed with \"timed out waiting for pod to\n"
        "start\", the time they lost, and the smallest value meeting --target. The trials\n"
        "run time-scaled and several at once; the same seed prints the same table\n"
        "(harness/TUNE.md).\n"
        "\n"
        "options:\n"
        "  --poll-timeout LIST  poll_timeout values in seconds, comma-separated (required)\n"
        "  --trials N           jobs per value (default %d); the same N delays for every value\n"
        "  --target P           the failure share to meet: 1%%, 0.5%%, 0.01 (default 1%%)\n"
        "  --poll-interval S    seconds between the job client's pod polls (default: the\n"
        "                       scenario's jobClient poll_interval, else 3)\n"
        "  --seed N             draw the delays with this seed (default: the scenario's)\n"
        "  --time-scale N       run N times faster than the model (default: one\n"
        "                       poll_interval lasts %d ms)\n"
        "  --jobs N             trials at once (default: 8 per CPU, at most 16)\n"
        "  --json FILE          write the table and every trial as JSON\n"
        "  --keep DIR           keep the output of trials that neither started nor timed out\n"
        "  --verbose            list every trial after the run (to stderr)\n"
        "\n"
        "exit status: 0 a value meets the target and every trial went to plan, 1 none does\n"
        "or some trials did not, 2 bad usage or a scenario tune cannot use\n",
        TRIALS_DEFAULT, TUNE_POLL_REAL_MS);
}

static int parse_int(const char *opt, const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        fprintf(stderr, "kubefault tune: %s needs a whole number from %ld to %ld (got \"%s\")\n",
                opt, min, max, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_values(const char *v, struct tune_opts *o)
{
    const char *p = v;
    o->ntimeouts = 0;
    for (;;) {
        char *end;
        errno = 0;
        long n = strtol(p, &end, 10);
        if (errno || end == p || n < 1 || n > 86400 * 7 || (*end && *end != ',')) {
            fprintf(stderr,
                    "kubefault tune: --poll-timeout takes seconds from 1 to 604800, "
                    "comma-separated (got \"%s\")\n",
                    v);
            return -1;
        }
        if (o->ntimeouts == TUNE_VALUES_MAX) {
            fprintf(stderr, "kubefault tune: --poll-timeout takes at most %d values\n",
                    TUNE_VALUES_MAX);
            return -1;
        }
        for (size_t i = 0; i < o->ntimeouts; i++)
            if (o->timeouts_s[i] == (int)n) {
                fprintf(stderr, "kubefault tune: --poll-timeout: %ld is given twice\n", n);
                return -1;
            }
        o->timeouts_s[o->ntimeouts++] = (int)n;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

static int parse_target(const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    int pct = *end == '%';
    if (pct)
        end++;
    if (errno || end == v || *end || x < 0) {
        fprintf(stderr, "kubefault tune: --target takes a share: 1%%, 0.5%% or 0.01 (got \"%s\")\n",
                v);
        return -1;
    }
    x = pct ? x / 100 : x;
    if (x > 1) {
        fprintf(stderr, "kubefault tune: --target \"%s\" is above 100%%\n", v);
        return -1;
    }
    *out = x;
    return 0;
}

int tune_main(int argc, char **argv)
{
    struct tune_opts o;
    struct tune_result r;
    const char *json = NULL;
    char work[4096] = "", err[4096] = "";
    int verbose = 0, rc = EXIT_USAGE;
    long n;

    memset(&o, 0, sizeof o);
    memset(&r, 0, sizeof r);
    o.trials = TRIALS_DEFAULT;
    o.target = TUNE_TARGET_DEFAULT;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            static const char *const with_value[] = {
                "--poll-timeout", "--trials", "--target", "--poll-interval", "--seed",
                "--time-scale",   "--jobs",   "--json",   "--keep",          NULL};
            size_t k = 0;
            while (with_value[k] && strcmp(a, with_value[k]) != 0)
                k++;
            if (!with_value[k]) {
                fprintf(stderr,
                        "kubefault tune: unknown option \"%s\" (see kubefault tune --help)\n", a);
                return EXIT_USAGE;
            }
            if (!v || !*v) {
                fprintf(stderr, "kubefault tune: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            i++;
            if (strcmp(a, "--poll-timeout") == 0) {
                if (parse_values(v, &o) < 0)
                    return EXIT_USAGE;
            } else if (strcmp(a, "--trials") == 0) {
                if (parse_int(a, v, 1, TUNE_TRIALS_MAX, &n) < 0)
                    return EXIT_USAGE;
                o.trials = (int)n;
            } else if (strcmp(a, "--target") == 0) {
                if (parse_target(v, &o.target) < 0)
                    return EXIT_USAGE;
            } else if (strcmp(a, "--poll-interval") == 0) {
                if (parse_int(a, v, 1, 86400, &n) < 0)
                    return EXIT_USAGE;
                o.poll_interval_s = (int)n;
            } else if (strcmp(a, "--seed") == 0) {
                char *end;
                errno = 0;
                unsigned long long s = strtoull(v, &end, 10);
                if (errno || end == v || *end || v[0] == '-') {
                    fprintf(stderr, "kubefault tune: --seed needs a number (got \"%s\")\n", v);
                    return EXIT_USAGE;
                }
                o.seed = s;
                o.seed_given = 1;
            } else if (strcmp(a, "--time-scale") == 0) {
                if (parse_int(a, v, 1, 1000, &n) < 0)
                    return EXIT_USAGE;
                o.time_scale = (int)n;
            } else if (strcmp(a, "--jobs") == 0) {
                if (parse_int(a, v, 1, TUNE_JOBS_MAX, &n) < 0)
                    return EXIT_USAGE;
                o.jobs = (int)n;
            } else if (strcmp(a, "--json") == 0) {
                json = v;
            } else {
                o.keep_dir = v;
            }
        } else if (!o.file) {
            o.file = a;
        } else {
            fprintf(stderr, "kubefault tune: one scenario at a time (got \"%s\" and \"%s\")\n",
                    o.file, a);
            return EXIT_USAGE;
        }
    }
    if (!o.file || o.ntimeouts == 0) {
        fprintf(stderr, "kubefault tune: %s\n",
                !o.file ? "no scenario given" : "--poll-timeout is required (e.g. 30,60,120,180)");
        usage(stderr);
        return EXIT_USAGE;
    }

    const char *tmp = getenv("TMPDIR");
    tmp = tmp && *tmp ? tmp : "/tmp";
    snprintf(work, sizeof work, "%s/kubefault-tune-XXXXXX", tmp);
    if (!mkdtemp(work)) {
        fprintf(stderr, "kubefault tune: cannot create a directory in %s: %s\n", tmp,
                strerror(errno));
        return 1;
    }
    o.work_dir = work;
    o.progress = isatty(STDERR_FILENO) ? stderr : NULL;
    o.verbose = verbose ? stderr : NULL;
    if (tune_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "kubefault tune: %s\n", err);
        rc = r.nrows && r.interrupted ? 1 : EXIT_USAGE;
        goto out;
    }
    tune_print(stdout, &r);
    fflush(stdout);
    fprintf(stderr, "kubefault tune: %d trials in %.1fs of wall time, %d at once\n",
            r.trials * (int)r.nrows, (double)r.wall_ms / 1000, r.jobs);
    if (json) {
        char *text = tune_json(&r), e[512];
        if (!text || file_write_atomic(json, text, strlen(text), 0644, e, sizeof e) < 0) {
            fprintf(stderr, "kubefault tune: cannot write %s: %s\n", json,
                    text ? e : "out of memory");
            free(text);
            rc = 1;
            goto out;
        }
        free(text);
    }
    rc = tune_recommend(&r) >= 0 ? 0 : 1;
    for (size_t v = 0; v < r.nrows; v++)
        if (r.rows[v].other || r.rows[v].slipped)
            rc = 1;
out:
    tune_result_release(&r);
    run_rmtree(work);
    return rc;
}
