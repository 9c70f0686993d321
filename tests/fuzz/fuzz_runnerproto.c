/* fuzz_runnerproto.c -- libFuzzer target: GitLab Runner's protocol inside containers
 * (mockapi/stream/runnerproto.c), what reaches the simulated containers on an exec's command line
 * and stdin: shell words and tokens, save scripts (the interpreter of touch, chmod, echo, printf,
 * cat, mv, cp, rm with redirections and here-documents), stage attach lines, legacy stage scripts
 * and their rendered output, cancellation scripts, read-logs commands and durations, status
 * markers and read-logs records.
 *
 * Input: byte 0 picks the function (mod 12), byte 1 a parameter; the rest is the text (for the
 * argv functions, words separated by NUL bytes). Checks: the results stay within the documented
 * caps and buffers are NUL-terminated where the header says so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi/stream/runnerproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RP_MAX_ARGS 64

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_runnerproto: %s\n", what);
        abort();
    }
}

static void split(const char *s, size_t n)
{
    struct rp_tokens t = {0};
    if (rp_split(s, n, &t) == 0) {
        check(t.n <= RP_MAX_TOKENS, "more tokens than RP_MAX_TOKENS");
        for (size_t i = 0; i < t.n; i++)
            check(t.v[i].text && t.v[i].text[t.v[i].len] == '\0' && t.v[i].start <= t.v[i].end &&
                      t.v[i].end <= n,
                  "a token with a bad span or no terminator");
    } else {
        check(t.n == 0 && t.v == NULL, "a failed split left tokens");
    }
    rp_tokens_release(&t);
}

static void unquote(const char *s, size_t n, uint8_t param)
{
    size_t pos = n ? param % n : 0, end = 0, len = 0;
    char *out = NULL;
    if (rp_unquote_word(s, n, pos, &end, &out, &len) == 0) {
        check(out && out[len] == '\0' && end > pos && end <= n, "a word with a bad end");
        free(out);
    } else {
        check(out == NULL, "a failed unquote left a word");
    }
}

static void save_script(const char *s, size_t n)
{
    struct rp_files f = {0};
    if (rp_save_script(s, n, &f) == 0) {
        check(f.n <= RP_MAX_FILES, "more files than RP_MAX_FILES");
        for (size_t i = 0; i < f.n; i++) {
            check(f.v[i].data[f.v[i].len] == '\0', "file data without a terminator");
            check(f.v[i].len <= RP_MAX_OUTPUT, "a file past RP_MAX_OUTPUT");
            check(rp_files_get(&f, f.v[i].path) != NULL, "a file not found by its path");
        }
    }
    rp_files_release(&f);
}

struct lines {
    size_t n, bytes;
};

static int on_line(void *arg, const char *line, size_t len)
{
    struct lines *l = arg;
    (void)line;
    l->n++;
    l->bytes += len;
    return 0;
}

static void echo_lines(const char *s, size_t n)
{
    struct rp_render r = {1700000000, "fz-host"};
    struct lines l = {0, 0};
    int rc = rp_script_echo_lines(s, n, &r, on_line, &l);
    check(rc < 0 || (size_t)rc == l.n, "a line count other than the lines passed");
    check(l.bytes <= RP_MAX_OUTPUT, "output past RP_MAX_OUTPUT");
}

static void stage_line(const char *s, size_t n)
{
    struct rp_stage_line st;
    if (rp_parse_stage_line(s, n, &st) == 0)
        check(memchr(st.script, '\0', sizeof st.script) &&
                  memchr(st.stage, '\0', sizeof st.stage) && memchr(st.log, '\0', sizeof st.log),
              "a stage line field without a terminator");
}

static void status_marker(const char *s, size_t n)
{
    struct rp_status st;
    if (rp_is_status_marker(s, n, &st))
        check(st.has_exit_code || st.has_script, "a marker with neither key");
}

static void records(const char *s, size_t n, uint8_t param)
{
    struct rp_records r = {0};
    uint64_t offset = param & 0x80 ? (uint64_t)(param & 0x3f) * 997u : (uint64_t)(param & 0x3f);
    if (rp_read_logs_records(s, n, offset, param & 0x40 ? 1 : 0, &r) == 0) {
        check(r.data == NULL || r.data[r.len] == '\0', "records without a terminator");
        check(r.consumed <= RP_READ_LOGS_CHUNK && (offset > n || r.consumed <= n - offset),
              "records consumed past the file");
    }
    rp_records_release(&r);
}

static void cancel(const char *s, size_t n, uint8_t param)
{
    char stage[RP_NAME_MAX];
    size_t size = (size_t)(param % 16) + 1; /* small buffers: truncation */
    if (rp_is_cancel_script(s, n, stage, size) == RP_CANCEL_STAGE)
        check(memchr(stage, '\0', size) != NULL, "a stage name without a terminator");
}

static void duration(const char *s, size_t n)
{
    int64_t ns;
    (void)rp_parse_duration(s, n, &ns);
}

/* Words separated by NUL bytes, as an argv. */
static size_t words(char *s, size_t n, const char **argv)
{
    size_t argc = 0, at = 0;
    while (at <= n && argc < FZ_RP_MAX_ARGS) {
        argv[argc++] = s + at;
        at += strlen(s + at) + 1;
    }
    return argc;
}

static void read_logs(char *s, size_t n)
{
    const char *argv[FZ_RP_MAX_ARGS];
    size_t argc = words(s, n, argv);
    struct rp_read_logs r;
    if (rp_parse_read_logs(argv, argc, &r) == 0)
        check(memchr(r.path, '\0', sizeof r.path) != NULL, "a path without a terminator");
}

static void detect_shell(char *s, size_t n)
{
    const char *argv[FZ_RP_MAX_ARGS];
    size_t argc = words(s, n, argv);
    int rc = rp_is_detect_shell(argv, argc);
    check(rc == 0 || rc == RP_SHELL_NORMAL || rc == RP_SHELL_LOGIN, "an unknown shell kind");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = size - 2;
    /* an exact copy, so ASan sees a read past the text; the argv functions get a NUL after it */
    char *s = malloc(n + (data[0] % 12 >= 10));
    if (!s)
        abort();
    memcpy(s, data + 2, n);
    if (data[0] % 12 >= 10)
        s[n] = '\0';
    switch (data[0] % 12) {
    case 0:
        split(s, n);
        break;
    case 1:
        unquote(s, n, data[1]);
        break;
    case 2:
        save_script(s, n);
        break;
    case 3:
        (void)rp_legacy_stage(s, n);
        break;
    case 4:
        echo_lines(s, n);
        break;
    case 5:
        stage_line(s, n);
        break;
    case 6:
        status_marker(s, n);
        break;
    case 7:
        records(s, n, data[1]);
        break;
    case 8:
        cancel(s, n, data[1]);
        break;
    case 9:
        duration(s, n);
        break;
    case 10:
        read_logs(s, n);
        break;
    default:
        detect_shell(s, n);
        break;
    }
    free(s);
    return 0;
}
