/* journal.h -- the request journal: every request with its time, verb, path, the rule that matched,
 * the fault applied, the response code and bytes; kept in memory (bounded) and written as JSON
 * lines */
#ifndef KF_JOURNAL_H
#define KF_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/route.h"

#define JOURNAL_DEFAULT_CAP 100000 /**< entries kept in memory; older ones are dropped */

struct journal_entry {
    uint64_t seq;     /**< request number on the server, from 1 */
    uint64_t conn_id; /**< which connection (numbered per server) */
    int gitlab;       /**< 1: a request to the fake GitLab ("server": "gitlab" in JSON), whose
                           seq and conn_id count apart from the kube-apiserver's */
    int64_t job;      /**< GitLab: the job id in the path, 0 when none */
    int64_t t_ms;     /**< since scenario start, when the request was complete */
    char method[12];
    char path[512]; /**< path and query, as sent (cut at 511 bytes) */
    char verb[20];  /**< "get", "create", "exec", "other", ...; GitLab: the endpoint
                         ("jobs/request", "trace", "update", "verify", "other") */
    char resource[64];
    char namespace_[ROUTE_MAX_SEGMENT + 1];
    char name[ROUTE_MAX_SEGMENT + 1];
    char user_agent[128];
    char rule[64];           /**< the rule whose fault fired, "" when none */
    char fault[32];          /**< its fault type */
    char note[160];          /**< what the fault did ("delay 1500ms", "reset after 120 bytes") */
    char rules_matched[256]; /**< every rule that matched, "a(3),b(1)" with their counts */
    int code;                /**< response status, 0 when none was written */
    uint64_t bytes;          /**< bytes written for the response (before faults shaped them) */
    int complete;            /**< 1 when the answer was complete; 0 while open or when cut short */
    int64_t done_ms;         /**< when the answer completed or was cut, -1 while open */
};

struct journal;

/** A journal keeping at most cap entries (0: the default); jsonl (borrowed, may be NULL) receives
 *  each entry as one JSON line when its answer completes. */
struct journal *journal_new(size_t cap, FILE *jsonl);

/** Free. NULL is a no-op. */
void journal_free(struct journal *j);

/** A new entry for a request (the caller fills its fields). Borrowed: valid until journal_end() or
 *  until cap newer entries have been added. */
struct journal_entry *journal_begin(struct journal *j);

/** The caller filled e's conn_id and seq: from now on journal_open_entry() finds it. */
void journal_commit(struct journal *j, struct journal_entry *e);

/** Find the open entry of a kube-apiserver connection (the one request it is being answered), or
 *  NULL. */
struct journal_entry *journal_open_entry(struct journal *j, uint64_t conn_id);

/** The same for a connection to the fake GitLab. */
struct journal_entry *journal_open_gitlab_entry(struct journal *j, uint64_t conn_id);

/** The open entry of kube-apiserver request number seq (struct http_request.seq), or NULL: for
 * hooks that see the request but not its connection (an exec's on_remotecmd). */
struct journal_entry *journal_open_entry_seq(struct journal *j, uint64_t seq);

/** The answer is done (or cut short): record it and write the JSON line. */
void journal_end(struct journal *j, struct journal_entry *e, int code, uint64_t bytes, int complete,
                 int64_t done_ms);

/** Entries in order (oldest first): count, and the i-th. */
size_t journal_count(const struct journal *j);
const struct journal_entry *journal_get(const struct journal *j, size_t i);

/** One entry as a JSON object (caller frees). with_times = 0 leaves out t_ms and done_ms, so two
 *  runs of the same scenario can be compared. */
cJSON *journal_entry_json(const struct journal_entry *e, int with_times);

#endif
