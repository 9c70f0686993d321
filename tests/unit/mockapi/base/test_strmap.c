/* test_strmap.c -- tests mockapi/base/strmap.c: get, put (new and replacing), remove, growth, and
 * removals in the middle of probe runs checked against a plain array of what was stored */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mockapi/base/rng.h"
#include "mockapi/base/strmap.h"

#define NKEYS 5000

static void put_get_replace_remove(void **state)
{
    (void)state;
    struct strmap *m = strmap_new();
    int a = 1, b = 2;
    char k1[] = "default/p1", k1again[] = "default/p1";
    assert_non_null(m);
    assert_int_equal(strmap_count(m), 0);
    assert_null(strmap_get(m, "default/p1"));
    assert_null(strmap_remove(m, "default/p1"));
    assert_int_equal(strmap_put(m, k1, &a), 0);
    assert_ptr_equal(strmap_get(m, "default/p1"), &a);
    assert_null(strmap_get(m, "default/p2"));
    assert_null(strmap_get(m, ""));
    /* a put under the same key replaces the value (and borrows the new key) */
    assert_int_equal(strmap_put(m, k1again, &b), 0);
    assert_int_equal(strmap_count(m), 1);
    k1[0] = 'X'; /* the first key is no longer the map's */
    assert_ptr_equal(strmap_get(m, "default/p1"), &b);
    assert_ptr_equal(strmap_remove(m, "default/p1"), &b);
    assert_null(strmap_get(m, "default/p1"));
    assert_int_equal(strmap_count(m), 0);
    strmap_free(m);
    strmap_free(NULL);
}

/* Keys come and go at random (a seeded generator): after every step each key answers what the
 * reference array says, so a wrong shift after a removal (a key no longer reachable from its home
 * slot) fails here. */
static void churn_matches_reference(void **state)
{
    (void)state;
    static char keys[NKEYS][16];
    static int present[NKEYS];
    struct strmap *m = strmap_new();
    struct rng r;
    size_t count = 0;
    assert_non_null(m);
    rng_init(&r, 7);
    for (size_t i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof keys[i], "uid-%zu", i);
    for (int step = 0; step < 40000; step++) {
        size_t i = (size_t)rng_below(&r, NKEYS);
        if (present[i]) {
            assert_ptr_equal(strmap_remove(m, keys[i]), &present[i]);
            present[i] = 0;
            count--;
        } else {
            assert_int_equal(strmap_put(m, keys[i], &present[i]), 0);
            present[i] = 1;
            count++;
        }
        assert_int_equal(strmap_count(m), count);
        if (step % 997 == 0)
            for (size_t j = 0; j < NKEYS; j++)
                assert_ptr_equal(strmap_get(m, keys[j]), present[j] ? &present[j] : NULL);
    }
    for (size_t j = 0; j < NKEYS; j++)
        assert_ptr_equal(strmap_get(m, keys[j]), present[j] ? &present[j] : NULL);
    strmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace_remove),
        cmocka_unit_test(churn_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
