/* registry.c -- the fault registry: every type listed in the faults_*.def files, in one const table
 * that also feeds `kubefault faults`, the scenario validator's "known:" lists and the docs */
#include <stdio.h>
#include <string.h>

#include "harness/fault.h"

#define FAULT(id) extern const struct fault_type fault_type_##id;
#include "harness/faults/faults_http.def"
#include "harness/faults/faults_net.def"
#include "harness/faults/faults_watch.def"
#include "harness/faults/faults_stream.def"
#include "harness/faults/faults_gitlab.def"
#undef FAULT

const struct fault_type *const fault_types[] = {
#define FAULT(id) &fault_type_##id,
#include "harness/faults/faults_http.def"
#include "harness/faults/faults_net.def"
#include "harness/faults/faults_watch.def"
#include "harness/faults/faults_stream.def"
#include "harness/faults/faults_gitlab.def"
#undef FAULT
    NULL,
};

const size_t fault_types_count = sizeof fault_types / sizeof fault_types[0] - 1;

const struct fault_type *fault_type_find(const char *name)
{
    for (size_t i = 0; i < fault_types_count; i++)
        if (strcmp(fault_types[i]->name, name) == 0)
            return fault_types[i];
    return NULL;
}

char *fault_type_names(char *buf, size_t len)
{
    size_t n = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < fault_types_count && n < len; i++) {
        int w = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", fault_types[i]->name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return buf;
}
