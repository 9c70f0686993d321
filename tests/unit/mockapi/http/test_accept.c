/* test_accept.c -- tests mockapi/http/accept.c: media ranges, parameters, case, spaces, caps */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mockapi/http/accept.h"

/* The parameters of a Table request and of an aggregated discovery request, as their callers
 * (table_wanted, discovery_wants_aggregated) ask for them. */
static const char *const table[][2] = {{"as", "Table"}, {"v", "v1"}, {"g", "meta.k8s.io"}};
static const char *const aggregated[][2] = {
    {"g", "apidiscovery.k8s.io"}, {"v", "v2"}, {"as", "APIGroupDiscoveryList"}};

#define NTABLE (sizeof(table) / sizeof(table[0]))
#define NAGG (sizeof(aggregated) / sizeof(aggregated[0]))

static int wants_table(const char *accept)
{
    return accept_has_json_with(accept, table, NTABLE);
}

static void matches_one_range_with_every_parameter(void **state)
{
    (void)state;
    assert_int_equal(wants_table("application/json;as=Table;v=v1;g=meta.k8s.io"), 1);
    /* Order does not matter, other parameters are let through. */
    assert_int_equal(wants_table("application/json;g=meta.k8s.io;v=v1;as=Table"), 1);
    assert_int_equal(wants_table("application/json;q=0.9;as=Table;x=y;v=v1;g=meta.k8s.io"), 1);
    /* kubectl get's Accept: the first of three ranges. */
    assert_int_equal(wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/"
                                 "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"),
                     1);
    /* The matching range may come last. */
    assert_int_equal(wants_table("application/json, application/json;as=Table;v=v1;g=meta.k8s.io"),
                     1);
    assert_int_equal(accept_has_json_with("application/json;g=apidiscovery.k8s.io;v=v2;"
                                          "as=APIGroupDiscoveryList,application/json",
                                          aggregated, NAGG),
                     1);
}

static void parameters_must_share_one_range(void **state)
{
    (void)state;
    assert_int_equal(wants_table("application/json;as=Table,application/json;v=v1;g=meta.k8s.io"),
                     0);
    assert_int_equal(wants_table("application/json;as=Table;v=v1"), 0);
    assert_int_equal(wants_table("application/json"), 0);
    /* Values compare whole: no prefix, no longer value. */
    assert_int_equal(wants_table("application/json;as=Table;v=v1beta1;g=meta.k8s.io"), 0);
    assert_int_equal(wants_table("application/json;as=Tables;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(wants_table("application/json;as=Tab;v=v1;g=meta.k8s.io"), 0);
    /* A parameter without '=' is skipped, not taken as a match. */
    assert_int_equal(wants_table("application/json;as;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(wants_table("application/json;as;v=v1,application/json;as=Table;v=v1;"
                                 "g=meta.k8s.io"),
                     1);
    /* A repeated parameter still counts once. */
    assert_int_equal(wants_table("application/json;as=Table;as=Table;v=v1"), 0);
}

static void only_application_json(void **state)
{
    (void)state;
    assert_int_equal(wants_table("application/yaml;as=Table;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(wants_table("application/json-patch+json;as=Table;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(wants_table("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io"),
                     0);
    assert_int_equal(wants_table("*/*;as=Table;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(wants_table("application/*;as=Table;v=v1;g=meta.k8s.io"), 0);
}

static void case_and_white_space(void **state)
{
    (void)state;
    /* Type and parameter names ignore case; values do not. */
    assert_int_equal(wants_table("Application/JSON;AS=Table;V=v1;G=meta.k8s.io"), 1);
    assert_int_equal(wants_table("application/json;as=table;v=v1;g=meta.k8s.io"), 0);
    assert_int_equal(wants_table("application/json;as=Table;v=V1;g=meta.k8s.io"), 0);
    /* Spaces and tabs around the type, names and values. */
    assert_int_equal(wants_table(" application/json ; as = Table ;\tv=v1\t; g=meta.k8s.io "), 1);
    assert_int_equal(wants_table("text/plain,\tapplication/json;as=Table;v=v1;g=meta.k8s.io"), 1);
    /* Quoted values are compared as they stand. */
    assert_int_equal(wants_table("application/json;as=\"Table\";v=v1;g=meta.k8s.io"), 0);
}

static void empty_and_odd_headers(void **state)
{
    (void)state;
    assert_int_equal(wants_table(NULL), 0);
    assert_int_equal(wants_table(""), 0);
    assert_int_equal(wants_table(",,,"), 0);
    assert_int_equal(wants_table(";;;"), 0);
    assert_int_equal(wants_table("application/json;;;"), 0);
    assert_int_equal(wants_table("application/json;=;=Table"), 0);
}

static void number_of_parameters(void **state)
{
    static const char *const many[ACCEPT_WANT_MAX + 1][2] = {{"a", "1"}};

    (void)state;
    /* No parameters wanted: any application/json range. */
    assert_int_equal(accept_has_json_with("text/html, application/json", NULL, 0), 1);
    assert_int_equal(accept_has_json_with("application/json;v=v1", NULL, 0), 1);
    assert_int_equal(accept_has_json_with("text/html, */*", NULL, 0), 0);
    assert_int_equal(accept_has_json_with(NULL, NULL, 0), 0);
    /* Past the cap nothing matches, rather than overflowing the bit set. */
    assert_int_equal(accept_has_json_with("application/json;a=1", many, 1), 1);
    assert_int_equal(accept_has_json_with("application/json;a=1", many, ACCEPT_WANT_MAX + 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_one_range_with_every_parameter),
        cmocka_unit_test(parameters_must_share_one_range),
        cmocka_unit_test(only_application_json),
        cmocka_unit_test(case_and_white_space),
        cmocka_unit_test(empty_and_odd_headers),
        cmocka_unit_test(number_of_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
