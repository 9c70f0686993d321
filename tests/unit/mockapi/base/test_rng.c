/* test_rng.c -- tests mockapi/base/rng.c: determinism, ranges, uuid and name formats */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/base/rng.h"

static void same_seed_same_sequence(void **state)
{
    (void)state;
    struct rng a, b, c;
    rng_init(&a, 42);
    rng_init(&b, 42);
    rng_init(&c, 43);
    int differs = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_next(&a);
        assert_int_equal(x, rng_next(&b));
        if (x != rng_next(&c))
            differs = 1;
    }
    assert_true(differs);
}

static void below_stays_in_range_and_covers_it(void **state)
{
    (void)state;
    struct rng r;
    int seen[7] = {0};
    rng_init(&r, 1);
    for (int i = 0; i < 7000; i++) {
        uint64_t v = rng_below(&r, 7);
        assert_true(v < 7);
        seen[v]++;
    }
    for (int i = 0; i < 7; i++)
        assert_true(seen[i] > 800 && seen[i] < 1200); /* roughly uniform */
    for (int i = 0; i < 1000; i++) {
        double d = rng_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
    }
}

static void uuid_is_version_4(void **state)
{
    (void)state;
    struct rng r;
    char u[40], v[40];
    rng_init(&r, 7);
    rng_uuid(&r, u, sizeof u);
    rng_uuid(&r, v, sizeof v);
    assert_int_equal(strlen(u), 36);
    assert_int_equal(u[8], '-');
    assert_int_equal(u[13], '-');
    assert_int_equal(u[14], '4');
    assert_int_equal(u[18], '-');
    assert_non_null(strchr("89ab", u[19]));
    assert_int_equal(u[23], '-');
    assert_string_not_equal(u, v);
}

static void name_suffix_uses_kubernetes_alphabet(void **state)
{
    (void)state;
    struct rng r;
    char s[6];
    rng_init(&r, 9);
    for (int i = 0; i < 200; i++) {
        rng_name_suffix(&r, s, 5);
        assert_int_equal(strlen(s), 5);
        for (int j = 0; j < 5; j++)
            assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", s[j]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_sequence),
        cmocka_unit_test(below_stays_in_range_and_covers_it),
        cmocka_unit_test(uuid_is_version_4),
        cmocka_unit_test(name_suffix_uses_kubernetes_alphabet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
