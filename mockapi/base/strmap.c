/* strmap.c -- a hash map from borrowed strings to pointers: open addressing with linear probing,
 * at most half full, and deletion by shifting the following run back (no tombstones, so lookups
 * stay short however many keys come and go). Each slot keeps its key's hash, so growing never
 * rehashes a string and a probe compares strings only when the hashes agree. Hand-written: none of
 * the libraries kubefault builds on exports one (libevent's is internal). */
#include "mockapi/base/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STRMAP_MIN_SLOTS 16

struct slot {
    uint64_t hash;
    const char *key; /* NULL: empty */
    void *value;
};

struct strmap {
    struct slot *slots;
    size_t nslots; /* a power of two */
    size_t count;
};

/* FNV-1a, then a 64-bit finaliser (MurmurHash3's fmix64) so the low bits used as the index depend
 * on every byte */
uint64_t strmap_hash_add(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

uint64_t strmap_hash_end(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_of(const char *s)
{
    return strmap_hash_end(strmap_hash_add(STRMAP_HASH_INIT, s));
}

struct strmap *strmap_new(void)
{
    struct strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->slots = calloc(STRMAP_MIN_SLOTS, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->nslots = STRMAP_MIN_SLOTS;
    return m;
}

void strmap_free(struct strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(const struct strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->nslots - 1;
    size_t i = h & mask;
    while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
        i = (i + 1) & mask;
    return i;
}

static int grow(struct strmap *m)
{
    size_t n = m->nslots * 2;
    struct slot *s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < m->nslots; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = m->slots[i].hash & (n - 1);
        while (s[j].key)
            j = (j + 1) & (n - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->nslots = n;
    return 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    return m->slots[probe(m, key, hash_of(key))].value;
}

int strmap_put(struct strmap *m, const char *key, void *value)
{
    uint64_t h = hash_of(key);
    size_t i = probe(m, key, h);
    if (m->slots[i].key) {
        m->slots[i].key = key; /* the new value's own copy of the key */
        m->slots[i].value = value;
        return 0;
    }
    if (2 * (m->count + 1) > m->nslots) {
        if (grow(m) < 0)
            return -1;
        i = probe(m, key, h);
    }
    m->slots[i] = (struct slot){h, key, value};
    m->count++;
    return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
    size_t mask = m->nslots - 1;
    size_t i = probe(m, key, hash_of(key));
    if (!m->slots[i].key)
        return NULL;
    void *value = m->slots[i].value;
    /* Close the gap: move back every later slot of the run whose home is not between the gap and
     * it (cyclically), so each key stays reachable from its home without tombstones. */
    size_t gap = i;
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - gap) & mask)) {
            m->slots[gap] = m->slots[j];
            gap = j;
        }
    }
    m->slots[gap] = (struct slot){0, NULL, NULL};
    m->count--;
    return value;
}

size_t strmap_count(const struct strmap *m)
{
    return m->count;
}
