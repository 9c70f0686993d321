/* fuzz_scenario.c -- libFuzzer target: scenario files (harness/scenario.c and what it calls: JSON
 * with comments blanked in place, strict syntax, every section's validation, rules with matchers,
 * triggers and fault parameters, the timeline, pod scripts, admission, stages, the gitlab section,
 * the job client's configuration, expectations). What `kubefault check` and `serve` read.
 *
 * Input: the file's text. Checks: a refused file has at least one message; a scenario accepted
 * once is accepted again from the same text (parsing keeps no state between files). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness/diag.h"
#include "harness/scenario.h"
#include "mockapi/base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag d;
    log_set_level(LOG_LEVEL_ERROR);
    diag_init(&d, "fuzz.json");
    struct scenario *s = scenario_parse("fuzz.json", (const char *)data, size, &d);
    if (!s && d.n == 0) {
        fprintf(stderr, "fuzz_scenario: refused without a message\n");
        abort();
    }
    if (s) {
        struct diag again;
        diag_init(&again, "fuzz.json");
        struct scenario *t = scenario_parse("fuzz.json", (const char *)data, size, &again);
        if (!t) {
            fprintf(stderr, "fuzz_scenario: accepted once, refused the second time\n");
            diag_print(&again, stderr);
            abort();
        }
        scenario_free(t);
        diag_release(&again);
    }
    scenario_free(s);
    diag_release(&d);
    return 0;
}
