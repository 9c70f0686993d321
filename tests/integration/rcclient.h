/* rcclient.h -- the exec/attach client the integration tests use: the harness module
 * (harness/rcclient.h), which the reference job client shares; kept under this name so the tests
 * include it as before. */
#ifndef KF_TEST_RCCLIENT_H
#define KF_TEST_RCCLIENT_H

#include "harness/rcclient.h"

#endif
