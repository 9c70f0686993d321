/* test_clock.c -- tests mockapi/base/clock.c: RFC 3339 formatting and parsing, monotonic time */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mockapi/base/clock.h"

static void formats_rfc3339(void **state)
{
    (void)state;
    char buf[40];
    assert_string_equal(clock_rfc3339(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    assert_string_equal(clock_rfc3339(1795900530, buf, sizeof buf), "2026-11-28T21:15:30Z");
    assert_string_equal(clock_rfc3339_micro(1795900530123456789LL, buf, sizeof buf),
                        "2026-11-28T21:15:30.123456Z");
}

static void parses_what_it_formats(void **state)
{
    (void)state;
    char buf[40];
    for (int64_t t = 0; t < 4000000000LL; t += 123456789)
        assert_int_equal(clock_parse_rfc3339(clock_rfc3339(t, buf, sizeof buf)), t);
    assert_int_equal(clock_parse_rfc3339("2026-11-28T21:15:30.5Z"), 1795900530);
    assert_int_equal(clock_parse_rfc3339("yesterday"), -1);
    assert_int_equal(clock_parse_rfc3339(""), -1);
}

static void monotonic_never_goes_back(void **state)
{
    (void)state;
    int64_t last = clock_mono_ns();
    for (int i = 0; i < 10000; i++) {
        int64_t now = clock_mono_ns();
        assert_true(now >= last);
        last = now;
    }
    assert_true(clock_wall_ns() > 1600000000LL * 1000000000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_rfc3339),
        cmocka_unit_test(parses_what_it_formats),
        cmocka_unit_test(monotonic_never_goes_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
