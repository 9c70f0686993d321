/* check.h -- `kubefault check FILE...`: validate scenario files without running them, and the
 * fault-type table that scenarios/README.md embeds */
#ifndef KF_CHECK_H
#define KF_CHECK_H

#include <stdio.h>

/** Validate each of the nfiles files ("-" reads standard input). For a valid file print
 *  "FILE: ok (N rules, M timeline entries)" to out; for an invalid one print all its errors to
 *  err, one a line, in git's shape. No files is a usage error. Returns 0 when every file is valid,
 *  2 otherwise (bad input or usage). */
int check_files(int nfiles, char **files, FILE *out, FILE *err);

/** Print the fault registry as a Markdown table (type, layer, summary, what the client sees), in
 *  registry order; scenarios/README.md holds exactly this text between its
 *  <!-- fault-types:begin --> and <!-- fault-types:end --> markers (a test compares them). */
void fault_doc_table(FILE *out);

#endif
