/* test_runnerproto.c -- tests mockapi/stream/runnerproto.c against the byte forms GitLab Runner
 * writes (shells/bash.go, helpers/shell_escape.go, executors/kubernetes,
 * commands/helpers/read_logs.go): shell words and round trips through the runner's three
 * quoters, the detect-shell command, save scripts, cancellation scripts, read-logs commands and
 * records, stage attach lines, legacy stage scripts, rendered echo output and status markers,
 * each with negative and hostile inputs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/stream/runnerproto.h"

/* ---- fixtures: the runner's literal strings ------------------------------------------------- */

/* shells/bash.go BashDetectShellScript, "$@" replaced as bashDetectScript() does */
#define DETECT(ARGS)                                                                               \
    "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash " ARGS "\n"                   \
    "elif [ -x /usr/bin/bash ]; then\n\texec /usr/bin/bash " ARGS "\n"                             \
    "elif [ -x /bin/bash ]; then\n\texec /bin/bash " ARGS "\n"                                     \
    "elif [ -x /usr/local/bin/sh ]; then\n\texec /usr/local/bin/sh " ARGS "\n"                     \
    "elif [ -x /usr/bin/sh ]; then\n\texec /usr/bin/sh " ARGS "\n"                                 \
    "elif [ -x /bin/sh ]; then\n\texec /bin/sh " ARGS "\n"                                         \
    "elif [ -x /busybox/sh ]; then\n\texec /busybox/sh " ARGS "\n"                                 \
    "else\n\techo shell not found\n\texit 1\nfi\n\n"

static const char detect_normal[] = DETECT("");
static const char detect_login[] = DETECT("-l");

/* bashJSONInitializationScript and bashJSONTerminationScript */
static const char json_init[] =
    "start_json=\"{\\\"script\\\": \\\"$0\\\"}\"\necho \"$start_json\"\n";
static const char json_term[] =
    "runner_script_trap() {\n\texit_code=$?\n\tout_json=\"{\\\"command_exit_code\\\": $exit_code, "
    "\\\"script\\\": \\\"$0\\\"}\"\n\n\techo \"\"\n\techo \"$out_json\"\n\texit 0\n}\n\ntrap "
    "runner_script_trap EXIT\n";

/* ContainerSigTermScriptForLinux */
static const char sigterm_all[] =
    "PROCS=$(cd /proc && ls -rvd [0-9]*) &&\nfor P in $PROCS; do\n\tif "
    "[ $$ -ne $P ] && [ $P -ne 1 ]; then\n\t\tkill -TERM $P "
    "2>/dev/null &&\n\t\tATTEMPTS=6 &&\n\t\twhile [ -e /proc/$P ] && "
    "[ $ATTEMPTS -gt 0 ]; do\n\t\t\tsleep 1 && "
    "ATTEMPTS=$((ATTEMPTS-1));\n\t\tdone;\n\tfi;\ndone\n";

/* kubernetes.go stageCancellationScript("step_script") */
static const char cancel_step[] =
    "kill -TERM $(for item in $(for prc in /proc/[0-9]*/cmdline; do (printf \"$prc \"; cat -A "
    "\"$prc\") | sed 's/\\^@/ /g;s|/proc/||;s|/cmdline||'; echo; done | grep -e 'step_script $' "
    "| awk '{print $1}'); do test -f /proc/${item}/task/${item}/children && cat "
    "/proc/${item}/task/${item}/children && echo; done) 2> /dev/null";

#define ANSI_BOLD_GREEN "\x1b[32;1m"
#define ANSI_YELLOW "\x1b[0;33m"
#define ANSI_RESET "\x1b[0;m"
#define ANSI_CLEAR "\x1b[0K"

/* ---- a growable string for building fixtures ------------------------------------------------ */

struct sb {
    char *p;
    size_t n, cap;
};

static void sb_add(struct sb *b, const void *d, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_adds(struct sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_free(struct sb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- the runner's quoters, written from helpers/shell_escape.go's tables ------------------- */

/* ShellEscape: literal [,-./0-9@A-Z_a-z], quote-only " !\"#$%&()*+:;<=>?[]^`{|}~", the escapes
 * \a \b \t \n \v \f \r \' \\, everything else \xHH; $'...' when anything but literals. */
static void shell_escape(struct sb *o, const char *in, size_t n)
{
    if (n == 0) {
        sb_adds(o, "''");
        return;
    }
    struct sb t = {0};
    int esc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        const char *e = NULL;
        switch (c) {
        case '\a':
            e = "\\a";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\v':
            e = "\\v";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\'':
            e = "\\'";
            break;
        case '\\':
            e = "\\\\";
            break;
        }
        if (e) {
            sb_adds(&t, e);
            esc = 1;
        } else if (c &&
                   strchr(",-./0123456789@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
                          c)) {
            sb_add(&t, &c, 1);
        } else if (c && strchr(" !\"#$%&()*+:;<=>?[]^`{|}~", c)) {
            sb_add(&t, &c, 1);
            esc = 1;
        } else {
            char hx[5];
            snprintf(hx, sizeof hx, "\\x%02x", c);
            sb_adds(&t, hx);
            esc = 1;
        }
    }
    if (esc)
        sb_adds(o, "$'");
    if (t.n)
        sb_add(o, t.p, t.n);
    if (esc)
        sb_adds(o, "'");
    sb_free(&t);
}

/* PosixShellEscape: ` " \ $ backslash-escaped, " !#%&()*<=>?[|" force quoting, all else raw. */
static void posix_escape(struct sb *o, const char *in, size_t n)
{
    if (n == 0) {
        sb_adds(o, "''");
        return;
    }
    struct sb t = {0};
    int esc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c && strchr("`\"\\$", c)) {
            char two[2] = {'\\', (char)c};
            sb_add(&t, two, 2);
            esc = 1;
        } else {
            if (c && strchr(" !#%&()*<=>?[|", c))
                esc = 1;
            sb_add(&t, &c, 1);
        }
    }
    if (esc)
        sb_adds(o, "\"");
    sb_add(o, t.p, t.n);
    if (esc)
        sb_adds(o, "\"");
    sb_free(&t);
}

/* ShellEscapeLegacy (helpers/shell_escape_legacy.go processChar, bug for bug: LOWERCASE_Z is 90,
 * so a-z count as "quoted" and force $'...'). */
static void legacy_escape(struct sb *o, const char *in, size_t n)
{
    if (n == 0) {
        sb_adds(o, "''");
        return;
    }
    struct sb t = {0};
    int esc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == 9) {
            sb_adds(&t, "\\t");
            esc = 1;
        } else if (c == 10) {
            sb_adds(&t, "\\n");
            esc = 1;
        } else if (c == 13) {
            sb_adds(&t, "\\r");
            esc = 1;
        } else if (c <= 31 || c >= 127) {
            char hx[5];
            snprintf(hx, sizeof hx, "\\x%02x", c);
            sb_adds(&t, hx);
            esc = 1;
        } else if (c == '\'' || c == '\\') {
            char two[2] = {'\\', (char)c};
            sb_add(&t, two, 2);
            esc = 1;
        } else if ((c >= '0' && c <= '9') || (c >= '@' && c <= 'Z') || c == '_') {
            sb_add(&t, &c, 1);
        } else {
            sb_add(&t, &c, 1);
            esc = 1;
        }
    }
    if (esc)
        sb_adds(o, "$'");
    sb_add(o, t.p, t.n);
    if (esc)
        sb_adds(o, "'");
    sb_free(&t);
}

typedef void (*quoter)(struct sb *o, const char *in, size_t n);

/* BashWriter.Noticef's line */
static void notice(struct sb *body, quoter q, const char *text)
{
    struct sb t = {0};
    sb_adds(&t, ANSI_BOLD_GREEN);
    sb_adds(&t, text);
    sb_adds(&t, ANSI_RESET);
    sb_adds(body, "echo ");
    q(body, t.p, t.n);
    sb_adds(body, "\n");
    sb_free(&t);
}

/* BashWriter.Finish: shebang, TERM trap, JSON init/trap (attach mode), pipefail, eval. */
static void finish(struct sb *out, const char *body, quoter q, int new_eval, int json)
{
    sb_adds(out, "#!/usr/bin/env bash\n\n");
    sb_adds(out, "trap exit 1 TERM\n\n");
    if (json) {
        sb_adds(out, json_init);
        sb_adds(out, json_term);
    }
    sb_adds(out,
            "if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit\n");
    sb_adds(out, "set +o noclobber\n");
    sb_adds(out, new_eval ? ": | (eval " : ": | eval ");
    q(out, body, strlen(body));
    sb_adds(out, new_eval ? ")\n" : "\n");
    sb_adds(out, "exit 0\n");
}

/* ---- 1. words ------------------------------------------------------------------------------- */

static void expect_word(const char *in, const char *want, size_t want_len, size_t want_end)
{
    char *w = NULL;
    size_t wl = 0, end = 0;
    assert_int_equal(rp_unquote_word(in, strlen(in), 0, &end, &w, &wl), 0);
    assert_int_equal(wl, want_len);
    assert_memory_equal(w, want, want_len);
    assert_int_equal(w[wl], '\0');
    assert_int_equal(end, want_end);
    free(w);
}

#define WORD(in, want) expect_word(in, want, sizeof(want) - 1, strlen(in))

static void test_unquote_forms(void **state)
{
    (void)state;
    WORD("plain", "plain");
    WORD("'single $x \\n'", "single $x \\n");
    WORD("\"dq \\\" \\\\ \\$ \\` \\n\"", "dq \" \\ $ ` \\n");
    WORD("\"a\\\nb\"", "ab");
    WORD("a\\ b", "a b");
    WORD("a\\\nb", "ab");
    WORD("'a'\"b\"$'c'd", "abcd");
    WORD("$\"locale\"", "locale");
    WORD("$(date +%s)x", "$(date +%s)x");
    WORD("\"$(echo \")\")\"", "$(echo \")\")");
    WORD("`hostname`", "`hostname`");
    WORD("${A:-}b", "${A:-}b");
    WORD("$HOME/x", "$HOME/x");
    WORD("$", "$");
    /* the word ends at a metacharacter */
    char *w;
    size_t wl, end;
    assert_int_equal(rp_unquote_word("ab;cd", 5, 0, &end, &w, &wl), 0);
    assert_string_equal(w, "ab");
    assert_int_equal(end, 2);
    free(w);
    assert_int_equal(rp_unquote_word("x 'b c' d", 9, 2, &end, &w, &wl), 0);
    assert_string_equal(w, "b c");
    assert_int_equal(end, 7);
    free(w);
    /* the empty word */
    assert_int_equal(rp_unquote_word("''", 2, 0, &end, &w, &wl), 0);
    assert_int_equal(wl, 0);
    free(w);
}

static void test_unquote_ansic_table(void **state)
{
    (void)state;
    WORD("$'\\a\\b\\e\\E\\f\\n\\r\\t\\v'", "\a\b\x1b\x1b\f\n\r\t\v");
    WORD("$'\\\\\\'\\\"\\?'", "\\'\"?");
    WORD("$'\\x41\\x4a\\x4'", "AJ\x04");
    WORD("$'\\x1b[32;1m'", "\x1b[32;1m");
    WORD("$'\\101\\0\\7\\1234'", "A\0\a\x53"
                                 "4");
    WORD("$'\\u00e9\\U0001F600\\u'", "\xc3\xa9\xf0\x9f\x98\x80\\u");
    WORD("$'\\ca\\c?\\cZ'", "\x01\x7f\x1a");
    WORD("$'\\q\\x'", "\\q\\x"); /* unknown escapes and \x without digits keep the backslash */
    WORD("$'\\x'z", "\\xz");     /* truncated \x right before the quote */
    WORD("$'\\x00a'", "\0a");    /* NUL kept (bash would truncate) */
    WORD("$'it\\'s'", "it's");
}

static void test_unquote_errors(void **state)
{
    (void)state;
    static const char *bad[] = {"'abc",  "\"abc", "$'abc",  "$'abc\\'", "$(echo",
                                "`echo", "${x",   "\"$(\"", "\"`\"",    "a'b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *w = (char *)1;
        size_t wl, end;
        assert_int_equal(rp_unquote_word(bad[i], strlen(bad[i]), 0, &end, &w, &wl), -1);
        assert_null(w);
    }
    char *w;
    size_t wl, end;
    assert_int_equal(rp_unquote_word(";x", 2, 0, &end, &w, &wl), -1); /* not at a word */
    assert_int_equal(rp_unquote_word("x", 1, 1, &end, &w, &wl), -1);  /* past the end */
    assert_int_equal(rp_unquote_word("", 0, 0, &end, &w, &wl), -1);
    /* nesting past the cap */
    struct sb deep = {0};
    for (int i = 0; i < 200; i++)
        sb_adds(&deep, "\"$(");
    assert_int_equal(rp_unquote_word(deep.p, deep.n, 0, &end, &w, &wl), -1);
    sb_free(&deep);
    /* a NUL byte is an ordinary character */
    assert_int_equal(rp_unquote_word("a\0b c", 5, 0, &end, &w, &wl), 0);
    assert_int_equal(wl, 3);
    assert_memory_equal(w, "a\0b", 3);
    free(w);
}

/* ---- round trips through the runner's quoters --------------------------------------------- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void roundtrip(quoter q, const char *in, size_t n)
{
    struct sb o = {0};
    q(&o, in, n);
    char *w = NULL;
    size_t wl = 0, end = 0;
    assert_int_equal(rp_unquote_word(o.p, o.n, 0, &end, &w, &wl), 0);
    assert_int_equal(end, o.n);
    assert_int_equal(wl, n);
    assert_memory_equal(w, in, n);
    free(w);
    sb_free(&o);
}

static void test_roundtrip_shell_escape(void **state)
{
    (void)state;
    char one[1];
    for (int c = 0; c < 256; c++) {
        one[0] = (char)c;
        roundtrip(shell_escape, one, 1);
        roundtrip(legacy_escape, one, 1);
    }
    uint32_t seed = 42;
    char buf[96];
    for (int it = 0; it < 3000; it++) {
        size_t n = lcg(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)(lcg(&seed) & 0xff);
        roundtrip(shell_escape, buf, n);
        roundtrip(legacy_escape, buf, n);
    }
    /* a whole stage script, as Finish quotes it */
    const char *script = "echo $'\\x1b[32;1m$ make test\\x1b[0;m'\nmake test\n";
    roundtrip(shell_escape, script, strlen(script));
    roundtrip(shell_escape, detect_normal, strlen(detect_normal));
}

static void test_roundtrip_posix_escape(void **state)
{
    (void)state;
    /* PosixShellEscape round-trips whenever it quotes (a space forces that here) */
    uint32_t seed = 7;
    char buf[80];
    for (int it = 0; it < 3000; it++) {
        size_t n = 1 + lcg(&seed) % (sizeof buf - 1);
        buf[0] = ' ';
        for (size_t i = 1; i < n; i++)
            buf[i] = (char)(lcg(&seed) & 0xff);
        roundtrip(posix_escape, buf, n);
    }
    roundtrip(posix_escape, detect_login, strlen(detect_login));
    /* ...but leaves words it thinks safe bare, and ' ; newline are not in its table */
    struct sb o = {0};
    posix_escape(&o, "it's", 4);
    assert_string_equal(o.p, "it's");
    char *w;
    size_t wl, end;
    assert_int_equal(rp_unquote_word(o.p, o.n, 0, &end, &w, &wl), -1);
    sb_free(&o);
    posix_escape(&o, "a;b", 3);
    assert_string_equal(o.p, "a;b");
    assert_int_equal(rp_unquote_word(o.p, o.n, 0, &end, &w, &wl), 0);
    assert_string_equal(w, "a"); /* bash reads "a" then ";" */
    free(w);
    sb_free(&o);
}

/* ---- split ---------------------------------------------------------------------------------- */

static void expect_tokens(const char *in, const char *const *want, size_t nwant)
{
    struct rp_tokens t;
    assert_int_equal(rp_split(in, strlen(in), &t), 0);
    if (t.n != nwant) {
        for (size_t i = 0; i < t.n; i++)
            print_message("  token %zu: [%s]\n", i, t.v[i].text);
    }
    assert_int_equal(t.n, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(t.v[i].text, want[i]);
    rp_tokens_release(&t);
}

static void test_split_operators(void **state)
{
    (void)state;
    static const char *w1[] = {"a", "|",  "b", "||", "c", "&",   "d", "&&",   "e", ";", "f", ">",
                               "g", ">>", "h", "<",  "i", "<<<", "j", "2>&1", "(", "k", ")", "\n"};
    expect_tokens("a|b||c&d&&e;f>g>>h<i<<<j 2>&1 (k)\n", w1, sizeof w1 / sizeof w1[0]);
    static const char *w2[] = {"x", ">&2", "y", "2>", "/dev/null", "z",  "&>", "f",   "|&",
                               "q", ";;",  "r", "<>", "s",         ">|", "t",  "1>&-"};
    expect_tokens("x >&2 y 2>/dev/null z &>f |& q ;; r <> s >| t 1>&-", w2,
                  sizeof w2 / sizeof w2[0]);
    /* the attach line of a build stage: one word for the sh -c script */
    static const char *w3[] = {"sh", "-c",
                               "(/scripts-1-2/detect_shell_script /scripts-1-2/step_script 2>&1 | "
                               "tee -a /logs-1-2/output.log) &",
                               "\n"};
    expect_tokens("sh -c '(/scripts-1-2/detect_shell_script /scripts-1-2/step_script 2>&1 | tee "
                  "-a /logs-1-2/output.log) &'\n",
                  w3, 4);

    struct rp_tokens t;
    assert_int_equal(rp_split("cmd 2>&1 >>log", 14, &t), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.v[1].type, RP_TOK_OP);
    assert_int_equal(t.v[1].op, RP_OP_GREATAND);
    assert_int_equal(t.v[1].fd, 2);
    assert_int_equal(t.v[1].dup, 1);
    assert_int_equal(t.v[2].op, RP_OP_DGREAT);
    assert_int_equal(t.v[2].fd, -1);
    assert_int_equal(t.v[3].type, RP_TOK_WORD);
    assert_int_equal(t.v[3].start, 11);
    assert_int_equal(t.v[3].end, 14);
    rp_tokens_release(&t);
    assert_int_equal(rp_split("'x' y", 5, &t), 0);
    assert_int_equal(t.v[0].quoted, 1);
    assert_int_equal(t.v[1].quoted, 0);
    rp_tokens_release(&t);
}

static void test_split_comments_heredocs(void **state)
{
    (void)state;
    static const char *w2[] = {"\n", "\n", "a", "b#c", "\n", "d"};
    expect_tokens("#!/usr/bin/env bash\n\na b#c # comment\nd", w2, 6);
    static const char *w3[] = {"a", "bc"}; /* backslash-newline vanishes, inside a word too */
    expect_tokens("a \\\n b\\\nc", w3, 2);
    struct rp_tokens t;
    const char *hd = "cat << EOF > /tmp/f\nline 1\n$x 'q'\nEOF\necho done\n";
    assert_int_equal(rp_split(hd, strlen(hd), &t), 0);
    assert_int_equal(t.n, 10);
    assert_int_equal(t.v[2].type, RP_TOK_WORD); /* the delimiter */
    assert_string_equal(t.v[2].text, "EOF");
    assert_int_equal(t.v[5].type, RP_TOK_NEWLINE);
    assert_int_equal(t.v[6].type, RP_TOK_HEREDOC);
    assert_string_equal(t.v[6].text, "line 1\n$x 'q'\n");
    assert_string_equal(t.v[7].text, "echo");
    rp_tokens_release(&t);
    const char *hd2 = "cat <<-'END'\n\t\tindented\n\tEND\n";
    assert_int_equal(rp_split(hd2, strlen(hd2), &t), 0);
    assert_int_equal(t.n, 5);
    assert_string_equal(t.v[4].text, "indented\n");
    rp_tokens_release(&t);
    const char *hd3 = "cat <<EOF\nno end";
    assert_int_equal(rp_split(hd3, strlen(hd3), &t), 0);
    assert_string_equal(t.v[t.n - 1].text, "no end");
    rp_tokens_release(&t);
    /* errors */
    assert_int_equal(rp_split("echo 'x", 7, &t), -1);
    assert_null(t.v);
    assert_int_equal(rp_split("cat <<", 6, &t), -1);
    assert_int_equal(rp_split("cat << ;", 8, &t), -1);
    struct sb many = {0};
    for (int i = 0; i < 9; i++)
        sb_adds(&many, "cat <<E ");
    sb_adds(&many, "\n");
    assert_int_equal(rp_split(many.p, many.n, &t), -1);
    sb_free(&many);
}

static void test_split_token_cap(void **state)
{
    (void)state;
    size_t n = 2 * (RP_MAX_TOKENS + 10);
    char *s = malloc(n);
    assert_non_null(s);
    for (size_t i = 0; i < n; i += 2) {
        s[i] = 'a';
        s[i + 1] = ' ';
    }
    struct rp_tokens t;
    assert_int_equal(rp_split(s, n, &t), -1);
    assert_int_equal(rp_split(s, 2 * 1000, &t), 0);
    assert_int_equal(t.n, 1000);
    rp_tokens_release(&t);
    free(s);
    rp_tokens_release(NULL);
}

/* ---- 2. detect shell ------------------------------------------------------------------------ */

static void test_detect_shell(void **state)
{
    (void)state;
    const char *a1[] = {"sh", "-c", detect_normal};
    const char *a2[] = {"sh", "-c", detect_login};
    assert_int_equal(rp_is_detect_shell(a1, 3), RP_SHELL_NORMAL);
    assert_int_equal(rp_is_detect_shell(a2, 3), RP_SHELL_LOGIN);
    struct sb probe = {0};
    sb_adds(&probe, ">'/builds/.gitlab-startup-marker'; ");
    sb_adds(&probe, detect_normal);
    const char *a3[] = {"sh", "-c", probe.p};
    assert_int_equal(rp_is_detect_shell(a3, 3), RP_SHELL_NORMAL);
    sb_free(&probe);
    /* negatives */
    const char *n1[] = {"sh", "-c"};
    const char *n2[] = {"bash", "-c", detect_normal};
    const char *n3[] = {"sh", "-x", detect_normal};
    const char *n4[] = {"sh", "-c", "exit 3"};
    const char *n5[] = {"sh", "-c",
                        "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash \n"};
    const char *n6[] = {"sh", "-c", ""};
    const char *n7[] = {"sh", "-c", ">'unterminated; if"};
    const char *n8[] = {"sh", "-c", detect_normal, "extra"};
    const char *n9[] = {"sh", NULL, detect_normal};
    assert_int_equal(rp_is_detect_shell(n1, 2), 0);
    assert_int_equal(rp_is_detect_shell(n2, 3), 0);
    assert_int_equal(rp_is_detect_shell(n3, 3), 0);
    assert_int_equal(rp_is_detect_shell(n4, 3), 0);
    assert_int_equal(rp_is_detect_shell(n5, 3), 0);
    assert_int_equal(rp_is_detect_shell(n6, 3), 0);
    assert_int_equal(rp_is_detect_shell(n7, 3), 0);
    assert_int_equal(rp_is_detect_shell(n8, 4), 0);
    assert_int_equal(rp_is_detect_shell(n9, 3), 0);
    assert_int_equal(rp_is_detect_shell(NULL, 0), 0);
    /* a truncated script: no closing fi */
    char cut[sizeof detect_normal];
    memcpy(cut, detect_normal, sizeof detect_normal);
    cut[sizeof detect_normal - 5] = '\0';
    const char *n10[] = {"sh", "-c", cut};
    assert_int_equal(rp_is_detect_shell(n10, 3), 0);
}

/* ---- 3. save scripts ------------------------------------------------------------------------ */

/* generateSaveScript: "touch P\nchmod 777 P\necho WORD > P\n" */
static void save_script(struct sb *o, const char *path, const char *script, quoter q)
{
    sb_adds(o, "touch ");
    sb_adds(o, path);
    sb_adds(o, "\nchmod 777 ");
    sb_adds(o, path);
    sb_adds(o, "\necho ");
    q(o, script, strlen(script));
    sb_adds(o, " > ");
    sb_adds(o, path);
    sb_adds(o, "\n");
}

static void check_saved(const char *text, size_t len, const char *path, const char *content)
{
    struct rp_files f;
    assert_int_equal(rp_save_script(text, len, &f), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.unknown, 0);
    assert_int_equal(f.failed, 0);
    assert_int_equal(f.commands, 3);
    const struct rp_file *fl = rp_files_get(&f, path);
    assert_non_null(fl);
    assert_int_equal(fl->mode, 0777);
    assert_int_equal(fl->len, strlen(content) + 1);
    assert_memory_equal(fl->data, content, strlen(content));
    assert_int_equal(fl->data[fl->len - 1], '\n'); /* echo's newline */
    rp_files_release(&f);
}

static void test_save_script_runner_forms(void **state)
{
    (void)state;
    quoter qs[] = {shell_escape, posix_escape, legacy_escape};
    struct sb stage = {0};
    finish(&stage, "echo $'\\x1b[32;1m$ make test\\x1b[0;m'\nmake test\n", shell_escape, 0, 1);
    for (size_t i = 0; i < 3; i++) {
        struct sb o = {0};
        save_script(&o, "/scripts-7-99/detect_shell_script", detect_normal, qs[i]);
        check_saved(o.p, o.n, "/scripts-7-99/detect_shell_script", detect_normal);
        sb_free(&o);
        save_script(&o, "/scripts-7-99/step_script", stage.p, qs[i]);
        check_saved(o.p, o.n, "/scripts-7-99/step_script", stage.p);
        sb_free(&o);
    }
    sb_free(&stage);
}

static void test_save_script_tmp_mv(void **state)
{
    (void)state;
    struct sb o = {0};
    save_script(&o, "/scripts-1-2/get_sources.tmp", "echo hi\n", shell_escape);
    sb_adds(&o, "mv /scripts-1-2/get_sources.tmp /scripts-1-2/get_sources\n");
    struct rp_files f;
    assert_int_equal(rp_save_script(o.p, o.n, &f), 0);
    assert_int_equal(f.n, 1);
    assert_null(rp_files_get(&f, "/scripts-1-2/get_sources.tmp"));
    const struct rp_file *fl = rp_files_get(&f, "/scripts-1-2/get_sources");
    assert_non_null(fl);
    assert_string_equal(fl->data, "echo hi\n\n");
    assert_int_equal(fl->mode, 0777);
    assert_int_equal(f.commands, 4);
    rp_files_release(&f);
    sb_free(&o);
    /* mv -f over an existing file, and into a directory */
    const char *t = "printf '%s' a > x; printf '%s' b > y; mv -f x y; mv y /dir/\n";
    assert_int_equal(rp_save_script(t, strlen(t), &f), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].path, "/dir/y");
    assert_string_equal(f.v[0].data, "a");
    rp_files_release(&f);
}

static void test_save_script_commands(void **state)
{
    (void)state;
    const char *t = "mkdir -p \"/builds/g/p.tmp\"\n"
                    "printf '%s' $'secret\\nvalue' > \"/builds/g/p.tmp/FILE_VAR\"\n"
                    "export FILE_VAR=\"/builds/g/p.tmp/FILE_VAR\"\n"
                    "A=1 B=2\n"
                    "echo -n one > f; echo two >> f; echo -e 'a\\tb\\c never' >> f\n"
                    "printf '%s=%d;' k 7 j 8 > g\n"
                    "printf '%-4s|%04d|%x|%5.1f|%%\\n' ab 42 255 2.25 >> g\n"
                    "chmod u+x,g-r f\n"
                    ": > empty\n"
                    "> alsoempty\n"
                    "echo gone > /dev/null\n"
                    "cat <<EOF > h\nline $NOT_EXPANDED\nEOF\n"
                    "cp h h2\n"
                    "touch t1 t2; rm t1; rm -f nothere\n"
                    "whoami\n"
                    "mv missing elsewhere\n"
                    "chmod 9z h\n"
                    "rm alsoreallymissing\n";
    struct rp_files f;
    assert_int_equal(rp_save_script(t, strlen(t), &f), 0);
    const struct rp_file *v = rp_files_get(&f, "/builds/g/p.tmp/FILE_VAR");
    assert_non_null(v);
    assert_string_equal(v->data, "secret\nvalue");
    v = rp_files_get(&f, "f");
    assert_non_null(v);
    assert_string_equal(v->data, "onetwo\na\tb");
    assert_int_equal(v->mode, 0704);
    v = rp_files_get(&f, "g");
    assert_non_null(v);
    assert_string_equal(v->data, "k=7;j=8;ab  |0042|ff|  2.2|%\n");
    assert_non_null(rp_files_get(&f, "empty"));
    assert_int_equal(rp_files_get(&f, "empty")->len, 0);
    assert_non_null(rp_files_get(&f, "alsoempty"));
    assert_null(rp_files_get(&f, "/dev/null"));
    assert_string_equal(rp_files_get(&f, "h")->data, "line $NOT_EXPANDED\n");
    assert_string_equal(rp_files_get(&f, "h2")->data, "line $NOT_EXPANDED\n");
    assert_null(rp_files_get(&f, "t1"));
    assert_non_null(rp_files_get(&f, "t2"));
    assert_int_equal(f.unknown, 2); /* export, whoami */
    assert_int_equal(f.failed, 3);  /* mv missing, chmod 9z, rm without -f */
    rp_files_release(&f);
    rp_files_release(NULL);
    assert_null(rp_files_get(NULL, "x"));
}

/* The escape dialects as bash 5 prints them (each checked against bash itself). */
static void test_echo_printf_dialects(void **state)
{
    (void)state;
    static const struct {
        const char *cmd;
        const char *want;
        size_t len;
    } cases[] = {
        {"echo -e '\\101\\0101\\x41' > o", "\\101AA\n", 7},     /* echo -e: only \0NNN */
        {"printf '%b\\n' '\\101\\0101' > o", "AA\n", 3},        /* %b: both */
        {"printf '\\101\\cA\\n' > o", "A\\cA\n", 5},            /* format: \c kept */
        {"echo $'\\101\\cA' > o", "A\x01\n", 3},                /* $'...': \cX */
        {"echo -e 'a\\\"b\\c' tail > o", "a\\\"b", 4},          /* \" kept, \c stops */
        {"printf '%c|%3c|%c\\n' abc '' > o", "a|  \0|\0\n", 8}, /* NUL for empty/missing */
        {"printf '%d %u %x\\n' 18446744073709551615 -1 -1 > o",
         "9223372036854775807 18446744073709551615 ffffffffffffffff\n", 58},
        {"printf '%d %.1f %.*s|\\n' \"'A\" \"'B\" -0 abc > o", "65 66.0 |\n", 10},
        {"echo -n -e -x > o", "-x", 2}, /* -x is no option */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rp_files f;
        assert_int_equal(rp_save_script(cases[i].cmd, strlen(cases[i].cmd), &f), 0);
        const struct rp_file *o = rp_files_get(&f, "o");
        assert_non_null(o);
        if (o->len != cases[i].len || memcmp(o->data, cases[i].want, o->len) != 0)
            print_message("case %zu: got %zu bytes [%s]\n", i, o->len, o->data);
        assert_int_equal(o->len, cases[i].len);
        assert_memory_equal(o->data, cases[i].want, cases[i].len);
        rp_files_release(&f);
    }
}

static void test_save_script_hostile(void **state)
{
    (void)state;
    struct rp_files f;
    assert_int_equal(rp_save_script("echo 'x > f", 11, &f), -1);
    assert_int_equal(f.n, 0);
    assert_null(f.v);
    assert_int_equal(rp_save_script("echo x >", 8, &f), -1);
    /* more files than the cap */
    struct sb o = {0};
    for (int i = 0; i <= RP_MAX_FILES; i++) {
        char line[32];
        snprintf(line, sizeof line, "touch f%d\n", i);
        sb_adds(&o, line);
    }
    assert_int_equal(rp_save_script(o.p, o.n, &f), -1);
    sb_free(&o);
    /* output over the cap: a huge field width, and format reuse */
    const char *big = "printf '%16777217s' x > f\n";
    assert_int_equal(rp_save_script(big, strlen(big), &f), -1);
    const char *huge = "printf '%999999999999s' x > f\n";
    assert_int_equal(rp_save_script(huge, strlen(huge), &f), -1);
    /* NUL bytes and odd paths are not fatal */
    const char nul[] = "echo a\0b > $'p\\x00q'\necho ok > r\n";
    assert_int_equal(rp_save_script(nul, sizeof nul - 1, &f), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].path, "r");
    assert_int_equal(f.failed, 1);
    rp_files_release(&f);
}

static void test_cancel_script(void **state)
{
    (void)state;
    char stage[RP_NAME_MAX];
    assert_int_equal(rp_is_cancel_script(cancel_step, strlen(cancel_step), stage, sizeof stage),
                     RP_CANCEL_STAGE);
    assert_string_equal(stage, "step_script");
    char tiny[5];
    assert_int_equal(rp_is_cancel_script(cancel_step, strlen(cancel_step), tiny, sizeof tiny),
                     RP_CANCEL_STAGE);
    assert_string_equal(tiny, "step");
    assert_int_equal(rp_is_cancel_script(cancel_step, strlen(cancel_step), NULL, 0),
                     RP_CANCEL_STAGE);
    assert_int_equal(rp_is_cancel_script(sigterm_all, strlen(sigterm_all), stage, sizeof stage),
                     RP_CANCEL_ALL);
    assert_string_equal(stage, "");
    assert_int_equal(rp_is_cancel_script("kill -9 1", 9, stage, sizeof stage), 0);
    assert_int_equal(rp_is_cancel_script("echo kill -TERM $(", 18, NULL, 0), 0);
    assert_int_equal(rp_is_cancel_script("kill -TERM $(", 13, NULL, 0), 0);
    assert_int_equal(rp_is_cancel_script("", 0, NULL, 0), 0);
    assert_int_equal(rp_is_cancel_script(NULL, 0, NULL, 0), 0);
    /* a truncated cancel script still names nothing when the quote is cut */
    size_t cut = (size_t)(strstr(cancel_step, "grep -e '") - cancel_step) + 12;
    assert_int_equal(rp_is_cancel_script(cancel_step, cut, stage, sizeof stage), RP_CANCEL_STAGE);
    assert_string_equal(stage, "");
}

/* ---- 4. read-logs ------------------------------------------------------------------------- */

static void test_parse_read_logs(void **state)
{
    (void)state;
    struct rp_read_logs rl;
    const char *a1[] = {"gitlab-runner-helper", "read-logs", "--path",
                        "/logs-1-2/output.log", "--offset",  "1234",
                        "--wait-file-timeout",  "1m0s"};
    assert_int_equal(rp_parse_read_logs(a1, 8, &rl), 0);
    assert_string_equal(rl.path, "/logs-1-2/output.log");
    assert_int_equal(rl.offset, 1234);
    assert_int_equal(rl.wait_file_timeout, 60000000000LL);
    const char *a2[] = {"/usr/bin/gitlab-runner-helper",
                        "read-logs",
                        "--path=/x",
                        "-offset=0x10",
                        "-wait-file-timeout",
                        "500ms",
                        "--",
                        "--bogus"};
    assert_int_equal(rp_parse_read_logs(a2, 8, &rl), 0);
    assert_string_equal(rl.path, "/x");
    assert_int_equal(rl.offset, 16);
    assert_int_equal(rl.wait_file_timeout, 500000000);
    const char *a3[] = {"gitlab-runner", "read-logs"};
    assert_int_equal(rp_parse_read_logs(a3, 2, &rl), 0);
    assert_string_equal(rl.path, "");
    assert_int_equal(rl.offset, 0);
    assert_int_equal(rl.wait_file_timeout, 1000000000);
    const char *a4[] = {"gitlab-runner-helper", "read-logs", "--offset", "010",
                        "positional",           "--path",    "/ignored"};
    assert_int_equal(rp_parse_read_logs(a4, 7, &rl), 0);
    assert_int_equal(rl.offset, 8); /* Go base 0: leading 0 is octal */
    assert_string_equal(rl.path, "");
    /* negatives */
    const char *n1[] = {"gitlab-runner-helper", "read-log"};
    const char *n2[] = {"gitlab-runner-helper", "read-logs", "--nope", "1"};
    const char *n3[] = {"gitlab-runner-helper", "read-logs", "--offset"};
    const char *n4[] = {"gitlab-runner-helper", "read-logs", "--offset", "12x"};
    const char *n5[] = {"gitlab-runner-helper", "read-logs", "--wait-file-timeout", "60"};
    const char *n6[] = {"gitlab-runner-helper", "read-logs", "--help"};
    const char *n7[] = {"cat", "read-logs"};
    const char *n8[] = {"gitlab-runner-helper", "read-logs", "---path", "x"};
    const char *n9[] = {"gitlab-runner-helper", "read-logs", "--offset", "9223372036854775808"};
    const char *n10[] = {"gitlab-runner-helper"};
    assert_int_equal(rp_parse_read_logs(n1, 2, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n2, 4, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n3, 3, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n4, 4, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n5, 4, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n6, 3, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n7, 2, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n8, 4, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n9, 4, &rl), -1);
    assert_int_equal(rp_parse_read_logs(n10, 1, &rl), -1);
    /* a path longer than the result holds */
    char longp[RP_PATH_MAX + 8];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    const char *n11[] = {"gitlab-runner-helper", "read-logs", "--path", longp};
    assert_int_equal(rp_parse_read_logs(n11, 4, &rl), -1);
}

static void expect_dur(const char *s, int64_t want)
{
    int64_t ns = -12345;
    assert_int_equal(rp_parse_duration(s, strlen(s), &ns), 0);
    assert_int_equal(ns, want);
}

static void test_duration(void **state)
{
    (void)state;
    expect_dur("1m0s", 60000000000LL);
    expect_dur("500ms", 500000000LL);
    expect_dur("1h2m3.5s", 3723500000000LL);
    expect_dur(".5s", 500000000LL);
    expect_dur("1.s", 1000000000LL);
    expect_dur("0", 0);
    expect_dur("-1.5h", -5400000000000LL);
    expect_dur("+2us", 2000);
    expect_dur("3\xc2\xb5s", 3000);
    expect_dur("3\xce\xbcs", 3000);
    expect_dur("1ns", 1);
    expect_dur("2562047h", 2562047LL * 3600000000000LL);
    expect_dur("9223372036854775807ns", INT64_MAX);
    expect_dur("-9223372036854775808ns", INT64_MIN);
    static const char *bad[] = {"",
                                "1",
                                "s",
                                ".",
                                "1x",
                                "-",
                                "1s2",
                                "..5s",
                                "1h ",
                                "2562048h",
                                "9223372036854775808ns",
                                "1.5.5s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns;
        assert_int_equal(rp_parse_duration(bad[i], strlen(bad[i]), &ns), -1);
    }
}

/* ---- 5. stage lines ------------------------------------------------------------------------- */

static void expect_stage(const char *line, const char *script, const char *stage, const char *dir,
                         const char *log, int helper)
{
    struct rp_stage_line sl;
    assert_int_equal(rp_parse_stage_line(line, strlen(line), &sl), 0);
    assert_string_equal(sl.script, script);
    assert_string_equal(sl.stage, stage);
    assert_string_equal(sl.scripts_dir, dir);
    assert_string_equal(sl.log, log);
    assert_int_equal(sl.helper, helper);
}

static void test_stage_lines(void **state)
{
    (void)state;
    /* strings.Join(getContainerInfo(...), " ") + "\n" for each runner form */
    expect_stage("sh -c '(/scripts-1-2/detect_shell_script /scripts-1-2/step_script 2>&1 | tee -a "
                 "/logs-1-2/output.log) &'\n",
                 "/scripts-1-2/step_script", "step_script", "/scripts-1-2", "/logs-1-2/output.log",
                 0);
    expect_stage("sh -c '((/scripts-37474587-5556589047/detect_shell_script "
                 "/scripts-37474587-5556589047/prepare_script; ec=$?; if [ $ec -ne 0 ]; then echo "
                 "\"{\\\"command_exit_code\\\": $ec, \\\"script\\\": "
                 "\\\"/scripts-37474587-5556589047/prepare_script\\\"}\"; fi) 2>&1 | tee -a "
                 "/logs-37474587-5556589047/output.log) &'\n",
                 "/scripts-37474587-5556589047/prepare_script", "prepare_script",
                 "/scripts-37474587-5556589047", "/logs-37474587-5556589047/output.log", 0);
    expect_stage("sh /scripts-1-2/detect_shell_script /scripts-1-2/after_script 2>&1 | tee -a "
                 "/logs-1-2/output.log\n",
                 "/scripts-1-2/after_script", "after_script", "/scripts-1-2",
                 "/logs-1-2/output.log", 0);
    expect_stage("gitlab-runner-build <<< /scripts-1-2/get_sources 2>&1 | tee -a "
                 "/logs-1-2/output.log\n",
                 "/scripts-1-2/get_sources", "get_sources", "/scripts-1-2", "/logs-1-2/output.log",
                 1);
    expect_stage("gitlab-runner-build <<< /scripts-1-2/archive_cache_on_failure 2>&1 | tee -a "
                 "/logs-1-2/output.log",
                 "/scripts-1-2/archive_cache_on_failure", "archive_cache_on_failure",
                 "/scripts-1-2", "/logs-1-2/output.log", 1);
    expect_stage("gitlab-runner-build <<< /x/scripts-1-2/upload_artifacts_on_success 2>&1 | tee -a "
                 "/x/logs-1-2/output.log\n",
                 "/x/scripts-1-2/upload_artifacts_on_success", "upload_artifacts_on_success",
                 "/x/scripts-1-2", "/x/logs-1-2/output.log", 1);
    expect_stage("/scripts-1-2/terminate_with_json_script /scripts-1-2/step_script.ps1 2>&1 | %{ "
                 "\"$_\" } | Out-File -Append -Encoding UTF8 /logs-1-2/output.log\n",
                 "/scripts-1-2/step_script.ps1", "step_script.ps1", "/scripts-1-2",
                 "/logs-1-2/output.log", 0);
    expect_stage("sh /scripts-1-2/detect_shell_script /scripts-1-2/step_script\n",
                 "/scripts-1-2/step_script", "step_script", "/scripts-1-2", "", 0);
    /* negatives */
    static const char *bad[] = {"echo hi\n",
                                "sh -c 'exit 3'\n",
                                "gitlab-runner-build /scripts-1-2/get_sources\n",
                                "sh -c '(/s/detect_shell_script /s/step_script\n",
                                "/s/detect_shell_script\n",
                                "/s/detect_shell_script /s/\n",
                                "",
                                "\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rp_stage_line sl;
        assert_int_equal(rp_parse_stage_line(bad[i], strlen(bad[i]), &sl), -1);
        assert_string_equal(sl.stage, "");
    }
    /* a 1 MiB line: one huge path does not fit; a huge junk line is not a stage */
    size_t n = 1 << 20;
    char *big = malloc(n + 64);
    assert_non_null(big);
    memcpy(big, "sh /s/detect_shell_script /", 27);
    memset(big + 27, 'a', n);
    struct rp_stage_line sl;
    assert_int_equal(rp_parse_stage_line(big, n + 27, &sl), -1);
    memset(big, ';', n);
    assert_int_equal(rp_parse_stage_line(big, n, &sl), -1);
    free(big);
}

/* ---- 6 and 7. stage scripts ---------------------------------------------------------------- */

static void build_stage(struct sb *out, const char *stage, quoter q, int new_eval)
{
    struct sb b = {0};
    if (strcmp(stage, "prepare_script") == 0) {
        sb_adds(&b, "echo \"Running on $(hostname) via runner-abc123...\"\n");
    } else if (strcmp(stage, "get_sources") == 0) {
        sb_adds(&b, "export CI_JOB_ID=42\nexport GIT_LFS_SKIP_SMUDGE=1\n");
        notice(&b, q, "$ echo pre-clone");
        sb_adds(&b, "echo pre-clone\n");
        notice(&b, q, "Fetching changes with git depth set to 20...");
        sb_adds(&b, "mkdir -p /builds/g/p.tmp/git-template\n");
        notice(&b, q, "Created fresh repository.");
    } else if (strcmp(stage, "restore_cache") == 0) {
        sb_adds(&b, "export CI_JOB_ID=42\ncd /builds/g/p\n");
        sb_adds(&b, "if /usr/bin/gitlab-runner-helper --version >/dev/null 2>&1; then\n");
        sb_adds(&b, "  ");
        notice(&b, q, "Checking cache for default-1...");
        sb_adds(&b, "  if /usr/bin/gitlab-runner-helper cache-extractor --file ../../cache.zip; "
                    "then\n  ");
        notice(&b, q, "Successfully extracted cache");
        sb_adds(&b, "  else\n  echo $'\\x1b[0;33mFailed to extract cache\\x1b[0;m'\n  fi\n");
        sb_adds(&b, "else\n  echo $'\\x1b[0;33mMissing /usr/bin/gitlab-runner-helper. Extracting "
                    "cache is disabled.\\x1b[0;m'\nfi\n");
    } else if (strcmp(stage, "download_artifacts") == 0) {
        sb_adds(&b, "cd /builds/g/p\n");
        notice(&b, q, "Downloading artifacts for build (17)...");
    } else if (strcmp(stage, "step_script") == 0) {
        sb_adds(&b, "export CI_JOB_ID=42\ncd /builds/g/p\n");
        notice(&b, q, "$ echo Fetching changes");
        sb_adds(&b, "echo Fetching changes\n");
    } else if (strcmp(stage, "after_script") == 0) {
        sb_adds(&b, "cd /builds/g/p\n");
        notice(&b, q, "Running after script...");
        notice(&b, q, "$ echo bye");
        sb_adds(&b, "echo bye\n");
    } else if (strcmp(stage, "archive_cache") == 0) {
        sb_adds(&b, "cd /builds/g/p\nif gitlab-runner-helper --version >/dev/null 2>&1; then\n");
        notice(&b, q, "Creating cache default-1...");
        sb_adds(&b, "fi\n");
    } else if (strcmp(stage, "upload_artifacts_on_success") == 0) {
        sb_adds(&b, "cd /builds/g/p\nif gitlab-runner-helper --version >/dev/null 2>&1; then\n");
        notice(&b, q, "Uploading artifacts...");
        sb_adds(&b, "gitlab-runner-helper artifacts-uploader --url https://gitlab.example.com/ "
                    "--token tok --id 42 --path out/\nfi\n");
    } else if (strcmp(stage, "cleanup_file_variables") == 0) {
        sb_adds(&b,
                "rm -f /builds/g/p.tmp/gitlab_runner_env\nrm -f /builds/g/p.tmp/masking.db\n"
                "if [ -d \"/builds/g/p/.git/modules\" ]; then\n  find \"/builds/g/p/.git/modules\" "
                "-name \"index.lock\" -type f -exec rm -f {} +\nfi\n");
    }
    finish(out, b.p ? b.p : "", q, new_eval, 0);
    sb_free(&b);
}

static void test_legacy_stage(void **state)
{
    (void)state;
    static const char *stages[] = {
        "prepare_script",        "get_sources",  "restore_cache", "download_artifacts",
        "step_script",           "after_script", "archive_cache", "upload_artifacts_on_success",
        "cleanup_file_variables"};
    quoter qs[] = {shell_escape, posix_escape, legacy_escape};
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
        for (size_t k = 0; k < 3; k++)
            for (int ne = 0; ne < 2; ne++) {
                struct sb s = {0};
                build_stage(&s, stages[i], qs[k], ne);
                const char *got = rp_legacy_stage(s.p, s.n);
                if (!got || strcmp(got, stages[i]) != 0)
                    print_message("stage %s quoter %zu new_eval %d: got %s\n", stages[i], k, ne,
                                  got ? got : "NULL");
                assert_non_null(got);
                assert_string_equal(got, stages[i]);
                sb_free(&s);
            }
    /* negatives: no eval body, an unterminated body, garbage */
    assert_null(rp_legacy_stage("echo hello\n", 11));
    assert_null(rp_legacy_stage(": | eval $'echo", 15));
    assert_null(rp_legacy_stage("", 0));
    assert_null(rp_legacy_stage(NULL, 0));
    /* an empty body is a (user) step */
    assert_string_equal(rp_legacy_stage(": | eval ''\n", 12), "step_script");
}

struct lines {
    char text[16][256];
    size_t len[16];
    int n;
    int stop_after;
};

static int on_line(void *arg, const char *line, size_t len)
{
    struct lines *l = arg;
    assert_true(l->n < 16);
    assert_true(len < sizeof l->text[0]);
    memcpy(l->text[l->n], line, len);
    l->text[l->n][len] = '\0';
    l->len[l->n] = len;
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static void test_echo_lines(void **state)
{
    (void)state;
    struct sb b = {0};
    /* BashWriter.SectionStart / SectionEnd (newest form, with options) around a user command */
    sb_adds(&b, "export CI_JOB_ID=42\ncd \"/builds/g/p\"\n");
    sb_adds(&b, "printf '%b\\n' section_start:$(date +%s):section_script_step_0"
                "[hide_duration=true,collapsed=true]\r" ANSI_CLEAR);
    shell_escape(&b, ANSI_BOLD_GREEN "$ make\\ntest" ANSI_RESET,
                 strlen(ANSI_BOLD_GREEN "$ make\\ntest" ANSI_RESET));
    sb_adds(&b, "\nmake test\n");
    sb_adds(&b, "printf '%b\\n' section_end:$(date +%s):section_script_step_0\r" ANSI_CLEAR "\n");
    /* the oldest SectionStart: echo -e with backquotes */
    sb_adds(&b, "echo -e " ANSI_CLEAR "section_start:`date +%s`:section_x\r" ANSI_CLEAR "$'go'\n");
    notice(&b, shell_escape, "$ echo \"hi $USER\"");
    sb_adds(&b, "echo \"hi $USER\" `hostname`\n");
    sb_adds(&b, "false || echo never\n");
    sb_adds(&b, "echo hidden > out.txt; echo piped | cat\n");
    sb_adds(&b, "if true; then echo yes; elif x; then echo no1; else echo no2; fi\n");
    sb_adds(&b, "for i in 1 2; do echo loop; done\n");
    sb_adds(&b, "f() { echo in-func; }\n");
    sb_adds(&b, "case $x in a) echo case;; esac\n");
    sb_adds(&b, "(echo sub) && { echo brace; }\n");
    sb_adds(&b, "echo -n no-newline");
    struct sb s = {0};
    finish(&s, b.p, shell_escape, 1, 1);
    struct rp_render r = {1700000000, "runner-pod-xyz"};
    struct lines l;
    memset(&l, 0, sizeof l);
    assert_int_equal(rp_script_echo_lines(s.p, s.n, &r, on_line, &l), 10);
    assert_string_equal(
        l.text[0], "section_start:1700000000:section_script_step_0"
                   "[hide_duration=true,collapsed=true]\r" ANSI_CLEAR ANSI_BOLD_GREEN "$ make");
    assert_string_equal(l.text[1], "test" ANSI_RESET); /* %b expands the \n of the command text */
    assert_string_equal(l.text[2], "section_end:1700000000:section_script_step_0\r" ANSI_CLEAR);
    assert_string_equal(l.text[3],
                        ANSI_CLEAR "section_start:1700000000:section_x\r" ANSI_CLEAR "go");
    assert_string_equal(l.text[4], ANSI_BOLD_GREEN "$ echo \"hi $USER\"" ANSI_RESET);
    assert_string_equal(l.text[5], "hi  runner-pod-xyz");
    assert_string_equal(l.text[6], "yes");
    assert_string_equal(l.text[7], "sub");
    assert_string_equal(l.text[8], "brace");
    assert_string_equal(l.text[9], "no-newline");
    /* the callback can stop the walk */
    memset(&l, 0, sizeof l);
    l.stop_after = 2;
    assert_int_equal(rp_script_echo_lines(s.p, s.n, &r, on_line, &l), 2);
    assert_int_equal(l.n, 2);
    sb_free(&s);
    sb_free(&b);
    /* the prepare stage's hostname line, and no render context */
    struct sb p = {0};
    build_stage(&p, "prepare_script", shell_escape, 0);
    memset(&l, 0, sizeof l);
    assert_int_equal(rp_script_echo_lines(p.p, p.n, &r, on_line, &l), 1);
    assert_string_equal(l.text[0], "Running on runner-pod-xyz via runner-abc123...");
    memset(&l, 0, sizeof l);
    assert_int_equal(rp_script_echo_lines(p.p, p.n, NULL, on_line, &l), 1);
    assert_string_equal(l.text[0], "Running on  via runner-abc123...");
    sb_free(&p);
    /* without an eval wrapper the text itself is walked */
    memset(&l, 0, sizeof l);
    assert_int_equal(rp_script_echo_lines("echo a\necho b\n", 14, &r, on_line, &l), 2);
    /* errors */
    assert_int_equal(rp_script_echo_lines("echo 'a", 7, &r, on_line, &l), -1);
    assert_int_equal(rp_script_echo_lines("echo a", 6, &r, NULL, NULL), -1);
    struct sb deep = {0};
    for (int i = 0; i < RP_MAX_NEST + 1; i++)
        sb_adds(&deep, "{ ");
    assert_int_equal(rp_script_echo_lines(deep.p, deep.n, &r, on_line, &l), -1);
    sb_free(&deep);
}

/* ---- 8. markers and records ---------------------------------------------------------------- */

static void test_markers(void **state)
{
    (void)state;
    char buf[128];
    static const char start[] = "{\"script\": \"/scripts-1-2/step_script\"}";
    static const char exit1[] =
        "{\"command_exit_code\": 1, \"script\": \"/scripts-1-2/step_script\"}";
    assert_int_equal(rp_marker_start("/scripts-1-2/step_script", buf, sizeof buf),
                     sizeof start - 1);
    assert_string_equal(buf, start);
    assert_int_equal(rp_marker_exit(1, "/scripts-1-2/step_script", buf, sizeof buf),
                     sizeof exit1 - 1);
    assert_string_equal(buf, exit1);
    struct rp_status st;
    assert_int_equal(rp_is_status_marker(buf, strlen(buf), &st), 1);
    assert_int_equal(st.has_exit_code, 1);
    assert_int_equal(st.exit_code, 1);
    assert_int_equal(st.has_script, 1);
    assert_string_equal(st.script, "/scripts-1-2/step_script");
    assert_int_equal(rp_marker_start("/x", buf, 10), -1);
    assert_int_equal(rp_marker_exit(0, "/x", buf, 20), -1);
    assert_int_equal(rp_marker_start(NULL, buf, sizeof buf), -1);
}

static int marker(const char *s, struct rp_status *st)
{
    return rp_is_status_marker(s, strlen(s), st);
}

static void test_status_marker(void **state)
{
    (void)state;
    struct rp_status st;
    assert_int_equal(marker("{\"script\": \"/scripts-1-2/get_sources\"}\n", &st), 1);
    assert_int_equal(st.has_exit_code, 0);
    assert_string_equal(st.script, "/scripts-1-2/get_sources");
    assert_int_equal(marker("{\"command_exit_code\": 137}", &st), 1);
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(st.has_script, 0);
    assert_int_equal(
        marker(" \t{ \"Command_Exit_Code\" : -1 , \"SCRIPT\":\"a\\u00e9\\/b\" } \r\n", &st), 1);
    assert_int_equal(st.exit_code, -1);
    assert_string_equal(st.script, "a\xc3\xa9/b");
    assert_int_equal(
        marker("{\"scr\\u0069pt\": \"x\", \"other\": [1, {\"a\": null}], \"n\": 1.5e3}", &st), 1);
    assert_string_equal(st.script, "x");
    assert_int_equal(marker("{\"script\": null, \"script\": \"late\"}", &st), 1);
    assert_string_equal(st.script, "late");
    assert_int_equal(marker("{\"command_exit_code\": 9223372036854775807}", &st), 1);
    assert_int_equal(st.exit_code, INT64_MAX);
    assert_int_equal(marker("{\"command_exit_code\": 0}", NULL), 1);
    /* negatives */
    static const char *bad[] = {
        "",
        "hello",
        "{}",
        "[]",
        "null",
        "\"script\"",
        "{\"script\": null}",
        "{\"script\": \"x\", \"script\": null}",
        "{\"command_exit_code\": 1.5}",
        "{\"command_exit_code\": 1e2}",
        "{\"command_exit_code\": \"1\"}",
        "{\"command_exit_code\": true}",
        "{\"command_exit_code\": 9223372036854775808}",
        "{\"command_exit_code\": 01}",
        "{\"command_exit_code\": -}",
        "{\"command_exit_code\": [0]}",
        "{\"script\": 5}",
        "{\"script\": {\"a\": 1}}",
        "{\"script\": \"x\"} trailing",
        "{\"script\": \"x\",}",
        "{\"script\" \"x\"}",
        "{\"script\": \"x\"",
        "{\"script\": \"a\tb\"}",
        "{\"script\": \"\\x\"}",
        "{\"script\": \"\\u12\"}",
        "{'script': 'x'}",
        "{\"script\": tru}",
        "{\"s\\u0063ript\": 1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (marker(bad[i], &st) != 0)
            print_message("unexpected marker: %s\n", bad[i]);
        assert_int_equal(marker(bad[i], &st), 0);
    }
    /* a NUL byte in the middle */
    assert_int_equal(rp_is_status_marker("{\"script\": \"a\"}\0x", 17, &st), 0);
    /* nesting: fine within Go's limit, refused past it */
    struct sb d = {0};
    sb_adds(&d, "{\"script\": \"s\", \"deep\": ");
    for (int i = 0; i < RP_JSON_MAX_DEPTH - 2; i++)
        sb_adds(&d, "[");
    for (int i = 0; i < RP_JSON_MAX_DEPTH - 2; i++)
        sb_adds(&d, "]");
    sb_adds(&d, "}");
    assert_int_equal(rp_is_status_marker(d.p, d.n, &st), 1);
    sb_free(&d);
    sb_adds(&d, "{\"script\": \"s\", \"deep\": ");
    for (int i = 0; i < RP_JSON_MAX_DEPTH; i++)
        sb_adds(&d, "[");
    for (int i = 0; i < RP_JSON_MAX_DEPTH; i++)
        sb_adds(&d, "]");
    sb_adds(&d, "}");
    assert_int_equal(rp_is_status_marker(d.p, d.n, &st), 0);
    sb_free(&d);
    /* a 1 MiB string value and 1 MiB of brackets */
    size_t n = 1 << 20;
    char *big = malloc(n + 32);
    assert_non_null(big);
    memcpy(big, "{\"script\": \"", 12);
    memset(big + 12, 'z', n);
    memcpy(big + 12 + n, "\"}", 2);
    assert_int_equal(rp_is_status_marker(big, n + 14, &st), 1);
    assert_int_equal(st.script_truncated, 1);
    assert_int_equal(strlen(st.script), RP_PATH_MAX - 1);
    memset(big, '[', n);
    assert_int_equal(rp_is_status_marker(big, n, &st), 0);
    free(big);
}

static void test_read_logs_records(void **state)
{
    (void)state;
    struct rp_records r;
    static const char l1[] = "{\"script\": \"/s/x\"}\n", l2[] = "hello\n", l3[] = "\n",
                      l4[] = "{\"command_exit_code\": 0, \"script\": \"/s/x\"}\n", l5[] = "part";
    struct sb file = {0}, want = {0};
    sb_adds(&file, l1);
    sb_adds(&file, l2);
    sb_adds(&file, l3);
    sb_adds(&file, l4);
    sb_adds(&file, l5);
    size_t fl = file.n, o1 = strlen(l1), o2 = o1 + strlen(l2), o3 = o2 + 1, o4 = o3 + strlen(l4);
    char num[32];
    snprintf(num, sizeof num, "%zu ", o1);
    sb_adds(&want, num);
    sb_adds(&want, l1);
    snprintf(num, sizeof num, "%zu ", o2);
    sb_adds(&want, num);
    sb_adds(&want, l2);
    snprintf(num, sizeof num, "%zu ", o3);
    sb_adds(&want, num);
    sb_adds(&want, l3);
    snprintf(num, sizeof num, "%zu ", o4);
    sb_adds(&want, num);
    sb_adds(&want, l4);
    assert_int_equal(rp_read_logs_records(file.p, fl, 0, 0, &r), 0);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.consumed, o4);
    assert_int_equal(r.len, want.n);
    assert_string_equal(r.data, want.p);
    assert_string_equal(r.data, "19 {\"script\": \"/s/x\"}\n25 hello\n26 \n69 "
                                "{\"command_exit_code\": 0, \"script\": \"/s/x\"}\n");
    rp_records_release(&r);
    /* resume from an offset; the partial line goes out only with flush, newline added */
    assert_int_equal(rp_read_logs_records(file.p, fl, o1, 1, &r), 0);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.consumed, fl - o1);
    snprintf(num, sizeof num, "\n%zu part\n", fl);
    assert_non_null(strstr(r.data, num));
    rp_records_release(&r);
    assert_int_equal(rp_read_logs_records(file.p, fl, o4, 0, &r), 0);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.consumed, 0);
    assert_string_equal(r.data, "");
    rp_records_release(&r);
    assert_int_equal(rp_read_logs_records(file.p, fl, 1000, 1, &r), 0); /* past the end */
    assert_int_equal(r.consumed, 0);
    rp_records_release(&r);
    sb_free(&file);
    sb_free(&want);
    /* the 16 KiB reader buffer: a 16384-byte line plus newline gives two records */
    size_t big = RP_READ_LOGS_BUFFER * 3;
    char *f = malloc(big);
    assert_non_null(f);
    memset(f, 'a', big);
    f[RP_READ_LOGS_BUFFER] = '\n';
    assert_int_equal(rp_read_logs_records(f, RP_READ_LOGS_BUFFER + 1, 0, 0, &r), 0);
    assert_int_equal(r.count, 2);
    assert_memory_equal(r.data, "16384 aaa", 9);
    assert_int_equal(r.data[6 + RP_READ_LOGS_BUFFER], '\n');
    assert_string_equal(r.data + 7 + RP_READ_LOGS_BUFFER, "16385 \n");
    rp_records_release(&r);
    f[RP_READ_LOGS_BUFFER] = 'a';
    f[RP_READ_LOGS_BUFFER - 1] = '\n'; /* 16383 + newline fits one buffer */
    assert_int_equal(rp_read_logs_records(f, RP_READ_LOGS_BUFFER, 0, 0, &r), 0);
    assert_int_equal(r.count, 1);
    rp_records_release(&r);
    /* a 40000-byte line with no newline: two full pieces, the rest held (or flushed) */
    memset(f, 'b', big);
    assert_int_equal(rp_read_logs_records(f, 40000, 0, 0, &r), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.consumed, 2 * RP_READ_LOGS_BUFFER);
    assert_int_equal(r.len, 2 * (6 + RP_READ_LOGS_BUFFER + 1));
    rp_records_release(&r);
    assert_int_equal(rp_read_logs_records(f, 40000, 0, 1, &r), 0);
    assert_int_equal(r.count, 3);
    assert_int_equal(r.consumed, 40000);
    assert_non_null(strstr(r.data, "\n40000 b"));
    rp_records_release(&r);
    free(f);
    /* NUL bytes pass through */
    assert_int_equal(rp_read_logs_records("a\0b\n", 4, 0, 0, &r), 0);
    assert_int_equal(r.len, 6);
    assert_memory_equal(r.data, "4 a\0b\n", 6);
    rp_records_release(&r);
    /* at most RP_READ_LOGS_CHUNK bytes a call */
    size_t many = 3u << 20;
    char *m = malloc(many);
    assert_non_null(m);
    memset(m, '\n', many);
    assert_int_equal(rp_read_logs_records(m, many, 0, 0, &r), 0);
    assert_int_equal(r.consumed, RP_READ_LOGS_CHUNK);
    assert_int_equal(r.count, RP_READ_LOGS_CHUNK);
    rp_records_release(&r);
    free(m);
    /* offsets past int64 */
    assert_int_equal(rp_read_logs_records("x", 1, (uint64_t)INT64_MAX + 1, 1, &r), -1);
    assert_null(r.data);
    assert_int_equal(rp_read_logs_records(NULL, 0, 0, 1, &r), 0);
    assert_int_equal(r.len, 0);
    rp_records_release(&r);
    rp_records_release(NULL);
}

/* ---- hostile input everywhere ---------------------------------------------------------------- */

static void feed_all(const char *s, size_t n)
{
    struct rp_tokens t;
    if (rp_split(s, n, &t) == 0)
        rp_tokens_release(&t);
    char *w;
    size_t wl, end;
    if (n && rp_unquote_word(s, n, 0, &end, &w, &wl) == 0) {
        assert_true(end <= n);
        free(w);
    }
    struct rp_files f;
    if (rp_save_script(s, n, &f) == 0)
        rp_files_release(&f);
    struct rp_stage_line sl;
    (void)rp_parse_stage_line(s, n, &sl);
    (void)rp_legacy_stage(s, n);
    struct lines l;
    memset(&l, 0, sizeof l);
    l.stop_after = 16;
    struct rp_render r = {1, "h"};
    (void)rp_script_echo_lines(s, n, &r, on_line, &l);
    (void)rp_is_cancel_script(s, n, NULL, 0);
    struct rp_status st;
    (void)rp_is_status_marker(s, n, &st);
    struct rp_records rec;
    if (rp_read_logs_records(s, n, 0, 1, &rec) == 0)
        rp_records_release(&rec);
    int64_t ns;
    (void)rp_parse_duration(s, n, &ns);
}

static void test_hostile(void **state)
{
    (void)state;
    /* random bytes drawn from the shell's special characters */
    static const char alphabet[] = "ab $'\"\\`(){}|&;<>\n\t#=-0x1%*?[]:\0!~^";
    uint32_t seed = 99;
    char buf[200];
    for (int it = 0; it < 4000; it++) {
        size_t n = lcg(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = alphabet[lcg(&seed) % (sizeof alphabet - 1)];
        feed_all(buf, n);
    }
    /* 1 MiB inputs: one long word, a long unterminated quote, many short lines, deep $( */
    size_t n = 1 << 20;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    feed_all(big, n);
    big[0] = '\'';
    feed_all(big, n);
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 8 == 7) ? '\n' : "echo a;"[i % 8 % 7];
    feed_all(big, n);
    for (size_t i = 0; i + 1 < n; i += 2) {
        big[i] = '$';
        big[i + 1] = '(';
    }
    feed_all(big, n);
    memset(big, '{', n);
    feed_all(big, n);
    memset(big, 0, n);
    feed_all(big, n);
    free(big);
    /* truncated escapes at the very end */
    static const char *cut[] = {"$'\\x",     "$'\\u",        "$'\\c",        "$'\\", "echo -e \\",
                                "printf '%", "printf '%*.*", "printf '\\x'", "\"\\", "a\\"};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
        feed_all(cut[i], strlen(cut[i]));
    /* oversized inputs are refused, not read */
    struct rp_tokens t;
    assert_int_equal(rp_split("x", (size_t)RP_MAX_INPUT + 1, &t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unquote_forms),
        cmocka_unit_test(test_unquote_ansic_table),
        cmocka_unit_test(test_unquote_errors),
        cmocka_unit_test(test_roundtrip_shell_escape),
        cmocka_unit_test(test_roundtrip_posix_escape),
        cmocka_unit_test(test_split_operators),
        cmocka_unit_test(test_split_comments_heredocs),
        cmocka_unit_test(test_split_token_cap),
        cmocka_unit_test(test_detect_shell),
        cmocka_unit_test(test_save_script_runner_forms),
        cmocka_unit_test(test_save_script_tmp_mv),
        cmocka_unit_test(test_save_script_commands),
        cmocka_unit_test(test_echo_printf_dialects),
        cmocka_unit_test(test_save_script_hostile),
        cmocka_unit_test(test_cancel_script),
        cmocka_unit_test(test_parse_read_logs),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_stage_lines),
        cmocka_unit_test(test_legacy_stage),
        cmocka_unit_test(test_echo_lines),
        cmocka_unit_test(test_markers),
        cmocka_unit_test(test_status_marker),
        cmocka_unit_test(test_read_logs_records),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
