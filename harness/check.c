/* check.c -- `kubefault check FILE...`: validate scenario files without running them, and the
 * fault-type table that scenarios/README.md embeds */
#include "harness/check.h"

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/scenario.h"

int check_files(int nfiles, char **files, FILE *out, FILE *err)
{
    int rc = 0;

    if (nfiles <= 0) {
        fprintf(err, "usage: kubefault check FILE... (\"-\" reads standard input)\n");
        return 2;
    }
    for (int i = 0; i < nfiles; i++) {
        struct diag d;
        struct scenario *s;

        diag_init(&d, files[i]);
        s = scenario_load(files[i], &d);
        if (s) {
            fprintf(out, "%s: ok (%zu rule%s, %zu timeline entr%s)\n", files[i], s->nrules,
                    s->nrules == 1 ? "" : "s", s->ntimeline, s->ntimeline == 1 ? "y" : "ies");
        } else {
            if (diag_print(&d, err) == 0) /* never silent: a failure always says something */
                fprintf(err, "%s: invalid scenario\n", files[i]);
            rc = 2;
        }
        scenario_free(s);
        diag_release(&d);
    }
    return rc;
}

static const char *layer_name(enum fault_layer l)
{
    switch (l) {
    case FAULT_LAYER_LISTENER:
        return "listener";
    case FAULT_LAYER_HTTP:
        return "http";
    case FAULT_LAYER_WATCH:
        return "watch";
    case FAULT_LAYER_CLUSTER:
        return "cluster";
    case FAULT_LAYER_STREAM:
        return "stream";
    }
    return "?";
}

/* A table cell that renders as the text says: '|' and '*' escaped, '<' and '>' as entities (a
 * "<name>" would vanish as an HTML tag), newlines as <br>, so any summary stays one row. */
static void cell(FILE *out, const char *s)
{
    fputc(' ', out);
    for (; s && *s; s++) {
        if (*s == '|' || *s == '*')
            fprintf(out, "\\%c", *s);
        else if (*s == '<')
            fputs("&lt;", out);
        else if (*s == '>')
            fputs("&gt;", out);
        else if (*s == '\n')
            fputs("<br>", out);
        else if (*s != '\r')
            fputc(*s, out);
    }
    fputs(" |", out);
}

void fault_doc_table(FILE *out)
{
    fputs("| type | layer | what it does | what the client sees |\n", out);
    fputs("|---|---|---|---|\n", out);
    for (size_t i = 0; i < fault_types_count; i++) {
        const struct fault_type *ft = fault_types[i];
        fprintf(out, "| `%s` |", ft->name);
        cell(out, layer_name(ft->layer));
        cell(out, ft->summary);
        cell(out, ft->client_sees);
        fputc('\n', out);
    }
}
