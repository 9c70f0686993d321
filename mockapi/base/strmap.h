/* strmap.h -- a hash map from strings to pointers, for lookups that must not walk a list (a pod's
 * state by uid among 100k pods) */
#ifndef KF_STRMAP_H
#define KF_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap;

/* The map's string hash, for other tables to share: FNV-1a over the bytes, then a 64-bit mixer so
 * that the low bits a table indexes by depend on every byte. h = STRMAP_HASH_INIT, then
 * strmap_hash_add() for each piece of a key (a separator is a piece too), then strmap_hash_end().
 */
#define STRMAP_HASH_INIT 1469598103934665603ULL

/** h with the bytes of s (up to its NUL) added. */
uint64_t strmap_hash_add(uint64_t h, const char *s);

/** The hash for h once every piece is added. */
uint64_t strmap_hash_end(uint64_t h);

/** A new empty map, or NULL when memory ran out. */
struct strmap *strmap_new(void);

/** Free the map (not the keys or values). NULL is a no-op. */
void strmap_free(struct strmap *m);

/** The value stored under key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/** Store value (non-NULL) under key, replacing any value there. The map borrows key: it must stay
 *  valid and unchanged until it is removed or the map freed (key it by a string inside the value).
 *  0, or -1 when memory ran out (the map is unchanged). */
int strmap_put(struct strmap *m, const char *key, void *value);

/** Remove key; returns the value it had, or NULL when absent. */
void *strmap_remove(struct strmap *m, const char *key);

/** The number of keys. */
size_t strmap_count(const struct strmap *m);

#endif
