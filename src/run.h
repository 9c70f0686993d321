/* run.h -- `kubefault run` and `kubefault list`: their command lines */
#ifndef KF_SRC_RUN_H
#define KF_SRC_RUN_H

/** `kubefault run SCENARIO... [options] [-- COMMAND ARGS...]`; argv holds what follows "run".
 *  Returns the exit status: 0 all passed, 1 some failed, 2 bad usage or an invalid scenario. */
int run_main(int argc, char **argv);

/** `kubefault list [DIR|FILE...] [--json]`; argv holds what follows "list". 0, or 2 for bad
 *  usage. */
int list_main(int argc, char **argv);

#endif
