/* secctx.h -- for the unit and integration tests of the job client's container security
 * contexts: compare two securityContext objects with the capability lists taken as sets (the
 * runner builds them from a Go map, so their order is not part of what it sends). Header-only:
 * include it after <cmocka.h> and <cjson/cJSON.h>. */
#ifndef KF_TESTS_SECCTX_H
#define KF_TESTS_SECCTX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int secctx_cmp_str(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->valuestring, (*(cJSON *const *)b)->valuestring);
}

/* Sort capabilities.add and .drop in place. */
static void secctx_sort_caps(cJSON *sc)
{
    cJSON *caps = cJSON_GetObjectItemCaseSensitive(sc, "capabilities");
    static const char *const lists[] = {"add", "drop"};
    for (size_t l = 0; caps && l < 2; l++) {
        cJSON *a = cJSON_GetObjectItemCaseSensitive(caps, lists[l]);
        int n = cJSON_GetArraySize(a);
        if (n < 2)
            continue;
        cJSON *items[16];
        assert_true(n <= 16);
        for (int i = 0; i < n; i++)
            items[i] = cJSON_DetachItemFromArray(a, 0);
        qsort(items, (size_t)n, sizeof items[0], secctx_cmp_str);
        for (int i = 0; i < n; i++)
            cJSON_AddItemToArray(a, items[i]);
    }
}

/* got (borrowed) equals want (JSON text) as securityContexts; what says which one failing. */
static void secctx_assert_equal(const cJSON *got, const char *want, const char *what)
{
    cJSON *g = cJSON_Duplicate(got, 1), *w = cJSON_Parse(want);
    assert_non_null(g);
    assert_non_null(w);
    secctx_sort_caps(g);
    secctx_sort_caps(w);
    if (!cJSON_Compare(g, w, 1)) {
        char *text = cJSON_PrintUnformatted(g), buf[2048];
        snprintf(buf, sizeof buf, "%s", text ? text : "?");
        free(text);
        fail_msg("%s: securityContext\n  got  %s\n  want %s", what, buf, want);
    }
    cJSON_Delete(g);
    cJSON_Delete(w);
}

#endif
