/* table.h -- meta.k8s.io/v1 Table renderings of objects, with kube-apiserver's printer columns */
#ifndef KF_TABLE_H
#define KF_TABLE_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct kinds_info;

/** Content-Type of a Table answer (kube-wire.md section 3). */
#define TABLE_CONTENT_TYPE "application/json;as=Table;v=v1;g=meta.k8s.io"

/** Buffer size that holds any table_duration() text ("<invalid>", "7y364d", ...). */
#define TABLE_DURATION_SIZE 24

/**
 * 1 when one media range of the Accept header (borrowed, may be NULL) is application/json with
 * as=Table, v=v1 and g=meta.k8s.io, as kubectl get sends; else 0 (answer the plain object).
 */
int table_wanted(const char *accept);

/**
 * A Table for a list: columnDefinitions of k's kube-apiserver printer (name, type, format,
 * description, priority), one row per element of items (borrowed JSON array of objects; NULL is
 * an empty list) with its cells and an object that is the item's PartialObjectMetadata, and
 * metadata.resourceVersion = list_rv (borrowed; NULL leaves it out). now_epoch (seconds) dates
 * the AGE columns. With wide the priority-1 columns and cells are included: kube-apiserver always
 * renders wide and kubectl drops those columns itself unless -o wide, so a server should pass 1.
 * Kinds without a printer get NAME and AGE. Caller frees with cJSON_Delete(); NULL when k is NULL
 * or out of memory.
 */
cJSON *table_from_list(const struct kinds_info *k, const cJSON *items, const char *list_rv,
                       long long now_epoch, int wide);

/**
 * The same Table with the single row of obj (borrowed), as for a GET of one object or one watch
 * event. metadata.resourceVersion is rv (borrowed) or, when rv is NULL, the object's own.
 * Caller frees with cJSON_Delete(); NULL when k or obj is NULL or out of memory.
 */
cJSON *table_from_object(const struct kinds_info *k, const cJSON *obj, const char *rv,
                         long long now_epoch, int wide);

/**
 * seconds as k8s.io/apimachinery duration.HumanDuration writes it: "0s" for -1, "<invalid>"
 * below that, then "59s", "119s", "2m", "3m2s", "10m", "179m", "3h", "7h59m", "8h", "47h", "2d",
 * "7d23h", "8d", "729d", "2y", "2y15d", "8y". Written into buf (len >= TABLE_DURATION_SIZE)
 * and returned.
 */
const char *table_duration(long long seconds, char *buf, size_t len);

#endif
