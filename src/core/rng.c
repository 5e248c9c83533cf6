/* Counter-based random numbers: Random123's Philox4x64 behind GSL's gsl_rng interface
 * (see include/sagd/rng.h).
 *
 * Philox key     = {seed, (replication << 16) | stream}
 * Philox counter = {id, t, k, 0}
 * The GSL micro-RNG adapter puts its own draw count in the top 32 bits of the last counter
 * word, so up to 2^32 Philox blocks (4 x 32-bit outputs each) can be drawn between resets
 * and the tuple (seed, replication, stream, id, t, k) alone fixes every draw. */
#include "sagd/rng.h"

#include <stdlib.h>

#include <Random123/philox.h>
#include <Random123/gsl_microrng.h>
#include <gsl/gsl_randist.h>

#include "sagd/error.h"

/* Declares the gsl_rng_type gsl_rng_sagd_philox and sagd_philox_reset(rng, ctr, key). */
GSL_MICRORNG(sagd_philox, philox4x64);

struct sagd_rng_gsl_s {
  gsl_rng *rng;
};

int sagd_rng_gsl_create(sagd_rng_gsl *r) {
  SAGD_CHECK(r != NULL, SAGD_ERR_ARG, "sagd_rng_gsl_create: output pointer must be given");
  *r = calloc(1, sizeof(**r));
  SAGD_CHECK(*r != NULL, SAGD_ERR_MEM, "cannot allocate a counter-based generator");
  (*r)->rng = gsl_rng_alloc(gsl_rng_sagd_philox);
  if ((*r)->rng == NULL) {
    free(*r);
    *r = NULL;
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the GSL state of a counter-based generator");
  }
  /* Never leave the micro-RNG un-reset (its _set makes it abort on first use otherwise). */
  sagd_rng_key zero = {0, 0};
  sagd_rng_gsl_reset(*r, zero, 0, 0, 0, 0);
  return SAGD_OK;
}

int sagd_rng_gsl_for_points(const char *who, size_t i_begin, size_t i_end, const void *x,
                            sagd_rng_gsl *r) {
  SAGD_CHECK(i_begin <= i_end, SAGD_ERR_ARG, "%s: range [%zu, %zu) has begin > end", who,
             i_begin, i_end);
  SAGD_CHECK(x != NULL || i_begin == i_end, SAGD_ERR_ARG, "%s: x is NULL", who);
  SAGD_CALL(sagd_rng_gsl_create(r));
  return SAGD_OK;
}

void sagd_rng_gsl_destroy(sagd_rng_gsl *r) {
  if (r == NULL || *r == NULL) {
    return;
  }
  gsl_rng_free((*r)->rng);
  free(*r);
  *r = NULL;
}

void sagd_rng_gsl_reset(sagd_rng_gsl r, sagd_rng_key key, uint32_t stream, uint64_t id,
                        uint64_t t, uint64_t k) {
  /* Internal invariants: the key word packs replication (48 bits) and stream (16 bits). */
  SAGD_ASSERT(key.replication < SAGD_RNG_MAX_REPLICATION);
  SAGD_ASSERT(stream < ((uint32_t)1 << 16));
  philox4x64_ctr_t c = {{id, t, k, 0}};
  philox4x64_key_t kk = {{key.seed, (key.replication << 16) | (uint64_t)stream}};
  sagd_philox_reset(r->rng, c, kk);
}

gsl_rng *sagd_rng_gsl_get(sagd_rng_gsl r) { return r->rng; }

void sagd_rng_normals(sagd_rng_gsl r, sagd_rng_key key, uint32_t stream, uint64_t id,
                      uint64_t t, uint64_t k, size_t n, double *out) {
  sagd_rng_gsl_reset(r, key, stream, id, t, k);
  for (size_t i = 0; i < n; i++) {
    out[i] = gsl_ran_gaussian_ziggurat(r->rng, 1.0);
  }
}

void sagd_rng_uniforms(sagd_rng_gsl r, sagd_rng_key key, uint32_t stream, uint64_t id,
                       uint64_t t, uint64_t k, size_t n, double *out) {
  sagd_rng_gsl_reset(r, key, stream, id, t, k);
  for (size_t i = 0; i < n; i++) {
    out[i] = gsl_rng_uniform_pos(r->rng);
  }
}
