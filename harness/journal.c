/* journal.c -- the request journal: a bounded ring of entries, open ones found by connection, each
 * written as one JSON line when its answer completes */
#include "harness/journal.h"

#include <stdlib.h>
#include <string.h>

#include "mockapi/base/json.h"

struct open_ref {
    uint64_t conn_id;
    uint64_t seq;
    int gitlab; /* the two servers number connections and requests apart */
    size_t idx;
};

struct journal {
    struct journal_entry *ring;
    size_t cap, head, len; /* head: index of the oldest */
    FILE *jsonl;
    struct open_ref *open; /* entries whose answer is not done, one per connection at most */
    size_t nopen, open_cap;
};

struct journal *journal_new(size_t cap, FILE *jsonl)
{
    struct journal *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->cap = cap ? cap : JOURNAL_DEFAULT_CAP;
    if (!(j->ring = calloc(j->cap, sizeof *j->ring))) {
        free(j);
        return NULL;
    }
    j->jsonl = jsonl;
    return j;
}

void journal_free(struct journal *j)
{
    if (!j)
        return;
    free(j->ring);
    free(j->open);
    free(j);
}

static void forget_open(struct journal *j, size_t i)
{
    j->open[i] = j->open[--j->nopen];
}

struct journal_entry *journal_begin(struct journal *j)
{
    size_t idx;
    if (j->len == j->cap) {
        idx = j->head;
        j->head = (j->head + 1) % j->cap;
        /* an open entry being overwritten is forgotten: its answer will not be recorded */
        for (size_t i = 0; i < j->nopen; i++)
            if (j->open[i].idx == idx) {
                forget_open(j, i);
                break;
            }
    } else {
        idx = (j->head + j->len) % j->cap;
        j->len++;
    }
    struct journal_entry *e = &j->ring[idx];
    memset(e, 0, sizeof *e);
    e->done_ms = -1;
    return e;
}

/* Register e as its connection's open entry (after the caller filled conn_id and seq). */
static void remember_open(struct journal *j, struct journal_entry *e)
{
    for (size_t i = 0; i < j->nopen; i++)
        if (j->open[i].conn_id == e->conn_id && j->open[i].gitlab == e->gitlab) {
            forget_open(j, i);
            break;
        }
    if (j->nopen == j->open_cap) {
        size_t cap = j->open_cap ? j->open_cap * 2 : 64;
        struct open_ref *o = realloc(j->open, cap * sizeof *o);
        if (!o)
            return;
        j->open = o;
        j->open_cap = cap;
    }
    j->open[j->nopen++] = (struct open_ref){e->conn_id, e->seq, e->gitlab, (size_t)(e - j->ring)};
}

static struct journal_entry *open_entry(struct journal *j, int gitlab, uint64_t conn_id)
{
    for (size_t i = 0; i < j->nopen; i++)
        if (j->open[i].conn_id == conn_id && j->open[i].gitlab == gitlab) {
            struct journal_entry *e = &j->ring[j->open[i].idx];
            if (e->seq == j->open[i].seq && e->conn_id == conn_id && e->gitlab == gitlab)
                return e;
            forget_open(j, i);
            return NULL;
        }
    return NULL;
}

struct journal_entry *journal_open_entry(struct journal *j, uint64_t conn_id)
{
    return open_entry(j, 0, conn_id);
}

struct journal_entry *journal_open_gitlab_entry(struct journal *j, uint64_t conn_id)
{
    return open_entry(j, 1, conn_id);
}

struct journal_entry *journal_open_entry_seq(struct journal *j, uint64_t seq)
{
    for (size_t i = 0; i < j->nopen; i++)
        if (j->open[i].seq == seq && !j->open[i].gitlab) {
            struct journal_entry *e = &j->ring[j->open[i].idx];
            return e->seq == seq && !e->gitlab ? e : NULL;
        }
    return NULL;
}

void journal_commit(struct journal *j, struct journal_entry *e)
{
    remember_open(j, e);
}

void journal_end(struct journal *j, struct journal_entry *e, int code, uint64_t bytes, int complete,
                 int64_t done_ms)
{
    e->code = code;
    e->bytes = bytes;
    e->complete = complete;
    e->done_ms = done_ms;
    for (size_t i = 0; i < j->nopen; i++)
        if (j->open[i].conn_id == e->conn_id && j->open[i].seq == e->seq &&
            j->open[i].gitlab == e->gitlab) {
            forget_open(j, i);
            break;
        }
    if (j->jsonl) {
        cJSON *o = journal_entry_json(e, 1);
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        if (text) {
            fprintf(j->jsonl, "%s\n", text);
            fflush(j->jsonl);
        }
        free(text);
        cJSON_Delete(o);
    }
}

size_t journal_count(const struct journal *j)
{
    return j->len;
}

const struct journal_entry *journal_get(const struct journal *j, size_t i)
{
    return i < j->len ? &j->ring[(j->head + i) % j->cap] : NULL;
}

cJSON *journal_entry_json(const struct journal_entry *e, int with_times)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "seq", (double)e->seq);
    if (with_times) {
        cJSON_AddNumberToObject(o, "t_ms", (double)e->t_ms);
        if (e->done_ms >= 0)
            cJSON_AddNumberToObject(o, "done_ms", (double)e->done_ms);
    }
    cJSON_AddNumberToObject(o, "conn", (double)e->conn_id);
    if (e->gitlab)
        cJSON_AddStringToObject(o, "server", "gitlab");
    cJSON_AddStringToObject(o, "method", e->method);
    cJSON_AddStringToObject(o, "path", e->path);
    cJSON_AddStringToObject(o, "verb", e->verb);
    if (e->job > 0)
        cJSON_AddNumberToObject(o, "job", (double)e->job);
    if (e->resource[0])
        cJSON_AddStringToObject(o, "resource", e->resource);
    if (e->namespace_[0])
        cJSON_AddStringToObject(o, "namespace", e->namespace_);
    if (e->name[0])
        cJSON_AddStringToObject(o, "name", e->name);
    if (e->user_agent[0])
        cJSON_AddStringToObject(o, "userAgent", e->user_agent);
    if (e->rules_matched[0])
        cJSON_AddStringToObject(o, "matched", e->rules_matched);
    if (e->rule[0]) {
        cJSON_AddStringToObject(o, "rule", e->rule);
        cJSON_AddStringToObject(o, "fault", e->fault);
    }
    if (e->note[0])
        cJSON_AddStringToObject(o, "note", e->note);
    cJSON_AddNumberToObject(o, "code", e->code);
    cJSON_AddNumberToObject(o, "bytes", (double)e->bytes);
    cJSON_AddBoolToObject(o, "complete", e->complete);
    return o;
}
