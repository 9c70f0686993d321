/* accept.c -- Accept header matching: is application/json asked for with these parameters */
#include "mockapi/http/accept.h"

#include <string.h>
#include <strings.h>

/* Trims spaces and tabs from both ends of [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* 1 when [s, e) equals the NUL-terminated word, ignoring case when nocase. */
static int span_is(const char *s, const char *e, const char *word, int nocase)
{
    size_t n = (size_t)(e - s);

    if (strlen(word) != n)
        return 0;
    return nocase ? strncasecmp(s, word, n) == 0 : strncmp(s, word, n) == 0;
}

/* Checks one media range [s, e) ("application/json;g=...;v=...;as=..."): 1 when its type is
 * application/json and it carries each of the nwant name=value parameters in want. */
static int range_matches(const char *s, const char *e, const char *const want[][2], size_t nwant)
{
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *te = semi != NULL ? semi : e;
    const char *ts = s;
    unsigned found = 0;

    trim(&ts, &te);
    if (!span_is(ts, te, "application/json", 1))
        return 0;
    while (semi != NULL) {
        const char *ps = semi + 1;
        const char *pe;
        const char *eq;

        semi = memchr(ps, ';', (size_t)(e - ps));
        pe = semi != NULL ? semi : e;
        eq = memchr(ps, '=', (size_t)(pe - ps));
        if (eq == NULL)
            continue;
        for (size_t i = 0; i < nwant; i++) {
            const char *ns = ps, *ne = eq, *vs = eq + 1, *ve = pe;

            trim(&ns, &ne);
            trim(&vs, &ve);
            if (span_is(ns, ne, want[i][0], 1) && span_is(vs, ve, want[i][1], 0))
                found |= 1u << i;
        }
    }
    return found == (1u << nwant) - 1;
}

int accept_has_json_with(const char *accept, const char *const want[][2], size_t nwant)
{
    const char *s = accept;

    /* found is a bit per wanted parameter: keep nwant below the bits of an unsigned. */
    if (accept == NULL || nwant > ACCEPT_WANT_MAX)
        return 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *e = comma != NULL ? comma : s + strlen(s);

        if (range_matches(s, e, want, nwant))
            return 1;
        if (comma == NULL)
            return 0;
        s = comma + 1;
    }
}
