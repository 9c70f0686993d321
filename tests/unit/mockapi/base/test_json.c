/* test_json.c -- tests mockapi/base/json.c: getters, get-or-create, replace-or-add, add-or-free */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "mockapi/base/json.h"

/* Asserts that item prints (unformatted) exactly as want: member order counts. */
static void assert_prints(const cJSON *item, const char *want)
{
    char *got = cJSON_PrintUnformatted(item);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);

    assert_non_null(j);
    return j;
}

static void getters(void **state)
{
    cJSON *o = parse("{\"s\":\"x\",\"n\":1,\"S\":\"upper\"}");

    (void)state;
    assert_string_equal(json_str(o, "s"), "x");
    assert_null(json_str(o, "n"));
    assert_null(json_str(o, "missing"));
    assert_string_equal(json_str(o, "S"), "upper"); /* keys compare with case */
    assert_string_equal(json_str_or(o, "s", "def"), "x");
    assert_string_equal(json_str_or(o, "n", "def"), "def");
    assert_string_equal(json_str_or(o, "missing", "def"), "def");
    assert_null(json_str(NULL, "s"));
    cJSON_Delete(o);
}

static void obj_gets_or_creates(void **state)
{
    cJSON *o = parse("{\"m\":{\"a\":1},\"n\":2}");
    cJSON *m = json_obj(o, "m");

    (void)state;
    assert_ptr_equal(m, cJSON_GetObjectItemCaseSensitive(o, "m"));
    assert_non_null(json_obj(o, "new"));
    assert_true(cJSON_IsObject(json_obj(o, "n"))); /* a non-object is replaced */
    assert_prints(o, "{\"m\":{\"a\":1},\"new\":{},\"n\":{}}");
    cJSON_Delete(o);
}

static void set_replaces_or_adds(void **state)
{
    cJSON *o = parse("{\"a\":1}");

    (void)state;
    json_set(o, "a", cJSON_CreateString("x"));
    json_set(o, "b", cJSON_CreateTrue());
    json_set(o, "c", NULL);
    assert_prints(o, "{\"a\":\"x\",\"b\":true}");
    /* A failed set frees v (the sanitizer build would report a leak). */
    json_set(NULL, "a", cJSON_CreateString("lost"));
    json_default_str(o, "a", "no");
    json_default_str(o, "d", "yes");
    assert_prints(o, "{\"a\":\"x\",\"b\":true,\"d\":\"yes\"}");
    cJSON_Delete(o);
}

static void add_returns_the_item(void **state)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr;

    (void)state;
    assert_non_null(o);
    arr = json_add(o, "items", cJSON_CreateArray());
    assert_non_null(arr);
    assert_ptr_equal(arr, cJSON_GetObjectItemCaseSensitive(o, "items"));
    assert_non_null(json_add(o, "n", cJSON_CreateNumber(3)));
    /* No check for an existing key: both stay, as with cJSON_AddItemToObject. */
    assert_non_null(json_add(o, "n", cJSON_CreateNumber(4)));
    assert_prints(o, "{\"items\":[],\"n\":3,\"n\":4}");
    cJSON_Delete(o);
}

static void add_frees_on_failure(void **state)
{
    cJSON *o = cJSON_CreateObject();

    (void)state;
    assert_non_null(o);
    /* A NULL item (a failed cJSON_Create*) passes through as NULL. */
    assert_null(json_add(o, "k", NULL));
    /* cJSON refuses these adds; the item is freed, else the sanitizer build reports a leak. */
    assert_null(json_add(NULL, "k", cJSON_CreateObject()));
    assert_null(json_add(o, NULL, cJSON_CreateString("v")));
    assert_prints(o, "{}");
    cJSON_Delete(o);
}

static void push_appends_in_order(void **state)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *item;

    (void)state;
    assert_non_null(arr);
    item = json_push(arr, cJSON_CreateString("a"));
    assert_non_null(item);
    assert_ptr_equal(item, cJSON_GetArrayItem(arr, 0));
    assert_non_null(json_push(arr, cJSON_CreateNumber(2)));
    assert_non_null(json_push(arr, cJSON_CreateObject()));
    assert_prints(arr, "[\"a\",2,{}]");
    cJSON_Delete(arr);
}

static void push_frees_on_failure(void **state)
{
    cJSON *arr = cJSON_CreateArray();

    (void)state;
    assert_non_null(arr);
    assert_null(json_push(arr, NULL));
    assert_null(json_push(NULL, cJSON_CreateString("lost")));
    assert_prints(arr, "[]");
    cJSON_Delete(arr);
}

/* Numbers from a client: never a cast out of range (UBSan checks this in the sanitizer pass). */
static void int_and_clamp(void **state)
{
    (void)state;
    cJSON *j = parse("{\"i\":42,\"neg\":-7,\"frac\":1.5,\"huge\":1.44e68,\"tiny\":-1e300,"
                     "\"s\":\"42\",\"edge\":9007199254740992}");
    int64_t n = 99;
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "i"), 0, 100, &n), 1);
    assert_int_equal(n, 42);
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "i"), 0, 41, &n), -1);
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "neg"), -10, 10, &n), 1);
    assert_int_equal(n, -7);
    n = 99;
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "frac"), 0, 100, &n), -1);
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "huge"), -JSON_INT_MAX, JSON_INT_MAX, &n), -1);
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "tiny"), -JSON_INT_MAX, JSON_INT_MAX, &n), -1);
    assert_int_equal(n, 99);
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "s"), 0, 100, &n), 0);
    assert_int_equal(json_int(NULL, 0, 100, &n), 0);
    assert_int_equal(json_int(cJSON_GetObjectItem(j, "edge"), 0, JSON_INT_MAX, &n), 1);
    assert_true(n == JSON_INT_MAX);

    assert_true(json_int_clamp(cJSON_GetObjectItem(j, "i"), 0, 100, -1) == 42);
    assert_true(json_int_clamp(cJSON_GetObjectItem(j, "frac"), 0, 100, -1) == 1);
    assert_true(json_int_clamp(cJSON_GetObjectItem(j, "huge"), INT64_MIN, INT64_MAX, -1) ==
                INT64_MAX);
    assert_true(json_int_clamp(cJSON_GetObjectItem(j, "tiny"), INT64_MIN, INT64_MAX, -1) ==
                INT64_MIN);
    assert_true(json_int_clamp(cJSON_GetObjectItem(j, "huge"), 0, 3600, -1) == 3600);
    assert_true(json_int_clamp(cJSON_GetObjectItem(j, "neg"), 0, 3600, -1) == 0);
    assert_true(json_int_clamp(cJSON_GetObjectItem(j, "s"), 0, 3600, -1) == -1);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(getters),
        cmocka_unit_test(obj_gets_or_creates),
        cmocka_unit_test(set_replaces_or_adds),
        cmocka_unit_test(add_returns_the_item),
        cmocka_unit_test(add_frees_on_failure),
        cmocka_unit_test(push_appends_in_order),
        cmocka_unit_test(push_frees_on_failure),
        cmocka_unit_test(int_and_clamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
