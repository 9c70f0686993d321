/* tune.h -- `kubefault tune`: its command line */
#ifndef KF_SRC_TUNE_H
#define KF_SRC_TUNE_H

/** `kubefault tune SCENARIO --poll-timeout 30,60,... [options]`; argv holds what follows "tune".
 *  Exit status: 0 a value meets the target and every trial ran to plan, 1 none does or some trials
 *  ended otherwise, 2 bad usage or an unusable scenario. */
int tune_main(int argc, char **argv);

#endif
