/* rng.h -- the seeded random generator (splitmix64 seeding a xoshiro256**): same seed, same
 * sequence */
#ifndef KF_RNG_H
#define KF_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/** Seed the generator; the same seed always gives the same sequence. */
void rng_init(struct rng *r, uint64_t seed);

/** Next 64 random bits. */
uint64_t rng_next(struct rng *r);

/** Uniform integer in [0, bound) (bound > 0), without modulo bias. */
uint64_t rng_below(struct rng *r, uint64_t bound);

/** Uniform double in [0, 1). */
double rng_double(struct rng *r);

/** A random RFC 4122 version-4 UUID string into buf (>= 37 bytes). Returns buf. */
char *rng_uuid(struct rng *r, char *buf, size_t len);

/** n characters from Kubernetes' generateName alphabet ("bcdfghjklmnpqrstvwxz2456789") plus NUL. */
char *rng_name_suffix(struct rng *r, char *buf, size_t n);

#endif
