/* job.h -- `kubefault job`: run one job with the reference job client */
#ifndef KF_SRC_JOB_H
#define KF_SRC_JOB_H

/** The `kubefault job` command; argv are the words after "job". Exit status: 0 the job
 *  succeeded, 1 it failed (the reason on stderr), 2 bad usage or configuration. */
int job_main(int argc, char **argv);

#endif
