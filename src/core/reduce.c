/* Exact, order-independent sums across MPI ranks (see include/sagd/reduce.h).
 *
 * Representation. Each component is a fixed-point number held in XS_NLIMB int64 limbs;
 * limb j carries a signed "digit" of weight 2^(32 j - SAGD_XSUM_EMIN). Limbs 0..12 cover
 * the bits 2^-256 .. 2^159 that terms may occupy; limbs 13 and 14 are carry room (the
 * canonical value can reach about 2^254 before anything overflows).
 *
 * Adding a double x: frexp gives |x| = M · 2^(e-53) with a 53-bit integer M. Bits of M
 * below 2^-SAGD_XSUM_EMIN are dropped, i.e. each term's magnitude is truncated toward
 * zero before it is added (a per-term rule, so still order-independent). The remaining
 * M · 2^s (s < 32) spans at most three limbs; each gets a non-negative piece < 2^32 with
 * the term's sign. So one add moves any limb by less than 2^32, and after at most 2^30
 * adds since the last normalisation every limb is below 2^62 in magnitude: we normalise
 * (propagate carries) before that bound is reached.
 *
 * Canonical form (after normalise_): limbs 0..N-2 in [0, 2^32), the top limb signed. The
 * value and this form are in one-to-one correspondence, so whatever the order of additions
 * or the split across ranks, the canonical limbs of the same exact sum are identical.
 * MPI_SUM on MPI_INT64_T is exact integer addition, so the global limbs are exact too.
 *
 * Rounding. round_() converts the canonical limbs to the nearest double, ties to even,
 * using the top 64 significant bits plus a sticky bit for everything below: the result is
 * a function of the exact sum only. An exact zero sum gives +0. The result cannot be
 * subnormal (the smallest nonzero sum is 2^-256) and cannot overflow (sums < 2^255). */
#include "sagd/reduce.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"

#define XS_NLIMB ((SAGD_XSUM_EMIN + SAGD_XSUM_EMAX + 31) / 32 + 2)
#define XS_MASK ((uint64_t)0xffffffffu)
#define XS_RADIX ((int64_t)1 << 32)
#define XS_ADDS_BEFORE_NORMALISE ((unsigned long)1 << 30)

struct sagd_xsum_s {
  size_t p;
  int64_t *limb;           /* p * XS_NLIMB, component-major */
  int64_t *scratch;        /* p * XS_NLIMB, for get/allreduce */
  unsigned long n_pending; /* adds since the last normalisation */
};

/* Propagate carries: limbs 0..N-2 into [0, 2^32), the top limb keeps the sign. */
static void normalise_(int64_t *l) {
  for (int j = 0; j < XS_NLIMB - 1; j++) {
    const int64_t lo = (int64_t)((uint64_t)l[j] & XS_MASK);
    const int64_t carry = (l[j] - lo) / XS_RADIX; /* exact: l[j] - lo is a multiple of 2^32 */
    l[j] = lo;
    l[j + 1] += carry;
  }
}

static void normalise_all_(sagd_xsum x) {
  for (size_t i = 0; i < x->p; i++) {
    normalise_(x->limb + i * XS_NLIMB);
  }
  x->n_pending = 0;
}

/* l += x exactly, after truncating |x| to a multiple of 2^-EMIN. x finite, |x| < 2^EMAX. */
static void add1_(int64_t *l, double x) {
  if (x == 0) {
    return;
  }
  int e;
  const double m = frexp(fabs(x), &e);     /* |x| = m 2^e, m in [0.5, 1) */
  uint64_t mant = (uint64_t)ldexp(m, 53);  /* exact: 2^52 <= mant < 2^53 */
  int b = e - 53 + SAGD_XSUM_EMIN;         /* bit index of mant's lowest bit */
  if (b < 0) {
    if (-b >= 53) {
      return;
    }
    mant >>= -b; /* truncate toward zero */
    b = 0;
  }
  const int j = b / 32, s = b % 32;
  const uint64_t d0 = (mant << s) & XS_MASK;
  const uint64_t rest = mant >> (32 - s);
  const uint64_t d1 = rest & XS_MASK, d2 = rest >> 32;
  if (x > 0) {
    l[j] += (int64_t)d0;
    l[j + 1] += (int64_t)d1;
    l[j + 2] += (int64_t)d2;
  } else {
    l[j] -= (int64_t)d0;
    l[j + 1] -= (int64_t)d1;
    l[j + 2] -= (int64_t)d2;
  }
}

static int bitlen32_(uint64_t d) { /* d < 2^32, d > 0 */
  int n = 0;
  while (d != 0) {
    d >>= 1;
    n++;
  }
  return n;
}

/* Nearest double (ties to even) to the canonical limbs c. */
static double round_(const int64_t *c) {
  int64_t t[XS_NLIMB];
  memcpy(t, c, sizeof(t));
  const int neg = t[XS_NLIMB - 1] < 0;
  if (neg) {
    for (int j = 0; j < XS_NLIMB; j++) {
      t[j] = -t[j];
    }
    normalise_(t); /* canonical again, now with a non-negative top limb */
  }
  /* 32-bit digits of the magnitude; the top limb may need two. */
  uint64_t d[XS_NLIMB + 1];
  for (int j = 0; j < XS_NLIMB - 1; j++) {
    d[j] = (uint64_t)t[j];
  }
  d[XS_NLIMB - 1] = (uint64_t)t[XS_NLIMB - 1] & XS_MASK;
  d[XS_NLIMB] = (uint64_t)t[XS_NLIMB - 1] >> 32;
  int h = XS_NLIMB;
  while (h >= 0 && d[h] == 0) {
    h--;
  }
  if (h < 0) {
    return 0.0;
  }
  const int nb = bitlen32_(d[h]); /* 1..32 */
  const int sh = 32 - nb;
  const uint64_t a = (d[h] << 32) | (h >= 1 ? d[h - 1] : 0);
  const uint64_t bl = h >= 2 ? d[h - 2] : 0;
  /* top64: the 64 most significant bits, leading bit at position 63. */
  uint64_t top64 = a << sh;
  int sticky = 0;
  if (sh > 0) {
    top64 |= bl >> (32 - sh);
    sticky = (bl & ((XS_MASK >> sh))) != 0; /* the low 32 - sh bits of bl */
  } else {
    sticky = bl != 0;
  }
  for (int j = h - 3; j >= 0 && !sticky; j--) {
    sticky = d[j] != 0;
  }
  uint64_t mant = top64 >> 11;                  /* 53 bits */
  const uint64_t guard = (top64 >> 10) & 1;
  const int below = (top64 & 0x3ff) != 0 || sticky;
  if (guard && (below || (mant & 1))) {
    mant++;
  }
  /* The leading bit of top64 has weight 2^(32 h + nb - 1 - EMIN); mant's lowest bit has
   * weight 2^52 less. mant may have become 2^53 by rounding: still exact in ldexp. */
  const int exp_lsb = 32 * h + nb - 1 - SAGD_XSUM_EMIN - 52;
  const double r = ldexp((double)mant, exp_lsb);
  return neg ? -r : r;
}

int sagd_xsum_create(size_t p, sagd_xsum *x) {
  SAGD_CHECK(x != NULL, SAGD_ERR_ARG, "xsum output handle is NULL");
  *x = NULL;
  SAGD_CHECK(p >= 1, SAGD_ERR_ARG, "xsum: length p = %zu, expected >= 1", p);
  SAGD_CHECK(p <= SIZE_MAX / XS_NLIMB / sizeof(int64_t), SAGD_ERR_ARG,
             "xsum: length p = %zu is too large", p);
  sagd_xsum n = calloc(1, sizeof(*n));
  SAGD_CHECK(n != NULL, SAGD_ERR_MEM, "cannot allocate xsum");
  n->p = p;
  n->limb = calloc(p * XS_NLIMB, sizeof(int64_t));
  n->scratch = calloc(p * XS_NLIMB, sizeof(int64_t));
  if (n->limb == NULL || n->scratch == NULL) {
    sagd_xsum_destroy(&n);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate %zu exact accumulators", p);
  }
  *x = n;
  return SAGD_OK;
}

void sagd_xsum_destroy(sagd_xsum *x) {
  if (x == NULL || *x == NULL) {
    return;
  }
  free((*x)->limb);
  free((*x)->scratch);
  free(*x);
  *x = NULL;
}

void sagd_xsum_zero(sagd_xsum x) {
  memset(x->limb, 0, x->p * XS_NLIMB * sizeof(int64_t));
  x->n_pending = 0;
}

int sagd_xsum_add(sagd_xsum x, const double *v) {
  /* Validate everything first so a rejected vector leaves the accumulators unchanged. */
  for (size_t i = 0; i < x->p; i++) {
    SAGD_CHECK(isfinite(v[i]), SAGD_ERR_NUMERIC,
               "exact sum: component %zu is %g, expected a finite value", i, v[i]);
    SAGD_CHECK(fabs(v[i]) < ldexp(1.0, SAGD_XSUM_EMAX), SAGD_ERR_NUMERIC,
               "exact sum: component %zu is %.17g, expected |value| < 2^%d", i, v[i],
               SAGD_XSUM_EMAX);
  }
  if (x->n_pending >= XS_ADDS_BEFORE_NORMALISE) {
    normalise_all_(x);
  }
  for (size_t i = 0; i < x->p; i++) {
    add1_(x->limb + i * XS_NLIMB, v[i]);
  }
  x->n_pending++;
  return SAGD_OK;
}

void sagd_xsum_get(sagd_xsum x, double *out) {
  normalise_all_(x); /* changes the representation only, not the value */
  for (size_t i = 0; i < x->p; i++) {
    out[i] = round_(x->limb + i * XS_NLIMB);
  }
}

int sagd_xsum_allreduce(sagd_xsum x, MPI_Comm comm, double *out) {
  normalise_all_(x);
  const size_t total = x->p * XS_NLIMB;
  memcpy(x->scratch, x->limb, total * sizeof(int64_t));
  /* Canonical limbs are < 2^32 and the top limb small, so summing over any realistic
   * number of ranks (< 2^30) cannot overflow int64. Chunked for counts beyond INT_MAX. */
  for (size_t off = 0; off < total;) {
    const size_t chunk = total - off < (size_t)INT_MAX ? total - off : (size_t)INT_MAX;
    SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, x->scratch + off, (int)chunk, MPI_INT64_T,
                                 MPI_SUM, comm));
    off += chunk;
  }
  for (size_t i = 0; i < x->p; i++) {
    int64_t *l = x->scratch + i * XS_NLIMB;
    normalise_(l);
    out[i] = round_(l);
  }
  return SAGD_OK;
}
