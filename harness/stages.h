/* stages.h -- the "commands" and "stages" sections at run time: which scripted command answers an
 * exec, and what a GitLab Runner build stage prints and how it ends, as rcs_script programs that
 * the container runtime (mockapi/kube/containers.c) plays. The interpretation of the validated
 * JSON only: no server, no event loop, no clock; the engine calls it from its on_remotecmd and
 * on_stage hooks, the unit tests call it directly. The format is in scenarios/README.md. */
#ifndef KF_STAGES_H
#define KF_STAGES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/hooks.h"

struct scenario;

/** 1 when a "match.command" value (a pattern string, matched by fnmatch(3) against the words
 *  joined by single spaces, or an array of patterns matched word by word, same count) holds for
 *  argv (argc words, borrowed). 0 otherwise. */
int stages_command_matches(const cJSON *command, const char *const *argv, size_t argc);

/** The index of the first "commands" entry of s whose match (command, container, pod, namespace)
 *  holds for an exec of argv into container of pod ns/pod, or -1. */
int stages_command_find(const struct scenario *s, const char *ns, const char *pod,
                        const char *container, const char *const *argv, size_t argc);

/** The program of one "commands" entry (validated JSON, borrowed) appended to out (empty on
 *  entry): its steps in order, echo_stdin from "echoStdin". 0, or -1 when memory ran out (out
 *  then holds part of it: the caller clears it with rcs_script_clear()). */
int stages_command_plan(const cJSON *entry, struct rcs_script *out);

/** The index of the first "stages" entry of s whose stage, container and pod patterns, "when"
 *  predicates (on st->pod) and "runningFor" bounds (min <= st->pod_running_ms < max; never when
 *  it is unknown, -1) hold for st, or -1. Only st's inputs are read. */
int stages_stage_find(const struct scenario *s, const struct hook_stage *st);

/** What one "stages" entry (validated JSON, borrowed) makes the stage do: its plan appended to out
 *  (empty on entry) and *delete_log_ms its "deleteLog" (-1 without). The shorthand becomes: each
 *  "output" line and "\n" on stdout, "duration" spread evenly after the lines (line, wait D/N,
 *  line, wait D/N, ...; D at once without lines), then "exit" (default 0) or, with "hang", no end.
 *  Returns 1 when out is the stage's program, 0 when the entry leaves the stage to its default
 *  (only "deleteLog" given), -1 when memory ran out (the caller clears out). */
int stages_stage_plan(const cJSON *entry, struct rcs_script *out, int64_t *delete_log_ms);

/** The engine's on_remotecmd for "commands": for an exec (not an attach) that a command matches,
 *  rc->script gets its program and rc->has_script is set; the entry's name goes to *name (NULL:
 *  none matched). 1 when a command answers, 0 when none matches, -1 when memory ran out (nothing
 *  set). */
int stages_on_remotecmd(const struct scenario *s, struct hook_remotecmd *rc, const char **name);

/** The engine's on_stage for "stages": HOOK_HANDLED with st->plan filled when an entry gives the
 *  stage's program; HOOK_PASS otherwise (st->delete_log_ms may still be set, by an entry with only
 *  "deleteLog"). *index gets the entry's place, or -1. */
enum hook_verdict stages_on_stage(const struct scenario *s, struct hook_stage *st, int *index);

#endif
