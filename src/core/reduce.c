/* Exact, order-independent sums across MPI ranks (see include/sagd/reduce.h).
 *
 * Representation. Each component is a fixed-point number held in XS_NLIMB int64 limbs;
 * limb j carries a signed "digit" of weight 2^(32 j - SAGD_XSUM_EMIN). Limbs 0..12 cover
 * the bits 2^-256 .. 2^159 that terms may occupy; limbs 13 and 14 are carry room (the
 * canonical value can reach about 2^254 before anything overflows).
 *
 * Layout and cost. Limbs are stored limb-major (limb j of every component is one array of
 * p int64), and the accumulator remembers the range [lo, hi] of limbs any add has touched.
 * Gradients span a few dozen binades, so an add streams through ~6 of the 15 limb arrays,
 * and zeroing, normalising and the allreduce (which sends only the ranks' common range,
 * agreed by a 2-int allreduce first) cost ~6 limbs per component, not 15. None of this
 * changes a result: the sum is exact, so its rounding is a function of the terms alone.
 *
 * Adding a double x: its bits give |x| = M · 2^(E-1075) with a 53-bit integer M. Bits of M
 * below 2^-SAGD_XSUM_EMIN are dropped, i.e. each term's magnitude is truncated toward
 * zero before it is added (a per-term rule, so still order-independent). The remaining
 * M · 2^s (s < 32) spans at most three limbs; each gets a non-negative piece < 2^32 with
 * the term's sign. So one add moves any limb by less than 2^32, and after at most 2^30
 * adds since the last normalisation every limb is below 2^62 in magnitude: we normalise
 * (propagate carries) before that bound is reached.
 *
 * Normalising (propagating carries over the touched limbs) leaves every limb below the top
 * one in [0, 2^32) and the value unchanged. Limbs are then small enough that MPI_SUM on
 * MPI_INT64_T over any realistic number of ranks cannot overflow, and integer addition is
 * exact: the global limbs hold the exact sum whatever the order of additions or the split
 * across ranks.
 *
 * Rounding. round_one_() converts a window of limbs to the nearest double, ties to even, using
 * the top 64 significant bits plus a sticky bit for everything below: the result is a
 * function of the exact sum only. An exact zero sum gives +0. The result cannot be
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
#define XS_FRAC ((((uint64_t)1) << 52) - 1)

struct sagd_xsum_s {
  size_t p;
  int64_t *limb;           /* XS_NLIMB * p, limb-major: limb j of component i at [j p + i] */
  int64_t *scratch;        /* the same size, for allreduce */
  int lo, hi;              /* limbs outside [lo, hi] are zero everywhere (lo > hi: all zero) */
  unsigned long n_pending; /* adds since the last normalisation */
  size_t bytes;            /* payload of the last allreduce */
};

size_t sagd_xsum_bytes(sagd_xsum x) { return x->bytes; }

/* Propagate carries in limbs lo..top of every component (limb-major): limbs lo..top-1 into
 * [0, 2^32), limb top takes the carry and keeps the sign. Value unchanged. */
static void normalise_range_(int64_t *limb, size_t p, int lo, int top) {
  for (int j = lo; j < top; j++) {
    int64_t *a = limb + (size_t)j * p, *b = a + p;
    for (size_t i = 0; i < p; i++) {
      const int64_t low = (int64_t)((uint64_t)a[i] & XS_MASK);
      b[i] += (a[i] - low) / XS_RADIX; /* exact: a[i] - low is a multiple of 2^32 */
      a[i] = low;
    }
  }
}

/* Normalise the touched range, with the limb above it as carry room (hi grows by one, up to
 * the top limb), so every limb stays far from overflow. */
static void normalise_touched_(sagd_xsum x) {
  if (x->lo <= x->hi) {
    const int top = x->hi + 1 < XS_NLIMB ? x->hi + 1 : XS_NLIMB - 1;
    normalise_range_(x->limb, x->p, x->lo, top);
    x->hi = top;
  }
  x->n_pending = 0;
}

/* Nearest double (ties to even) to component i of the limb-major window l: the sum over
 * k < n of l[k p + i] 2^(32 (lo + k) - EMIN), for normalised limbs (all but the top one in
 * [0, 2^32), the top one signed: the value's sign) whose sum is below 2^254 in magnitude.
 * Branch-light (signs, magnitudes and the position of the leading digit vary from one
 * component to the next): the magnitude's 32-bit digits go to D[2..n+2] (D[0], D[1] are zero
 * padding, so the three digits from the leading one down always exist) and bit k of nz marks
 * D[k] != 0. The 64 most significant bits plus a sticky bit for everything below decide. */
static inline double round_one_(const int64_t *l, size_t p, size_t i, int lo, int n) {
  uint64_t D[XS_NLIMB + 3];
  const int64_t t = l[(size_t)(n - 1) * p + i]; /* the top limb: the value's sign */
  const int64_t s = t >> 63;                     /* 0, or -1 for a negative value */
  D[0] = D[1] = 0;
  uint64_t nz = 0;
  int64_t c = 0; /* 0, or -1 while negating */
  for (int k = 0; k < n - 1; k++) {
    const int64_t v = ((l[(size_t)k * p + i] ^ s) - s) + c; /* +-digit + carry */
    D[k + 2] = (uint64_t)v & XS_MASK;
    c = (v - (int64_t)D[k + 2]) / XS_RADIX; /* exact: a multiple of 2^32 */
    nz |= (uint64_t)(D[k + 2] != 0) << (k + 2);
  }
  const uint64_t top = (uint64_t)(((t ^ s) - s) + c); /* in [0, 2^63) */
  D[n + 1] = top & XS_MASK;
  D[n + 2] = top >> 32;
  nz |= (uint64_t)(D[n + 1] != 0) << (n + 1) | (uint64_t)(D[n + 2] != 0) << (n + 2);
  if (nz == 0) {
    return 0.0; /* an exact zero is +0 */
  }
  const int h = 63 - __builtin_clzll(nz);        /* the leading digit, h >= 2 */
  const int nb = 64 - __builtin_clzll(D[h]);      /* its bits: 1..32 */
  const int sh = 32 - nb;                          /* 0..31 */
  const uint64_t a = (D[h] << 32) | D[h - 1], b = D[h - 2];
  const uint64_t top64 = (a << sh) | (b >> (32 - sh)); /* leading bit at position 63 */
  const uint64_t sticky = ((b & (XS_MASK >> sh)) != 0) /* b's low 32 - sh bits */ |
                          ((nz & ((((uint64_t)1) << (h - 2)) - 1)) != 0);
  uint64_t mant = top64 >> 11; /* 53 bits */
  const uint64_t guard = (top64 >> 10) & 1, below = ((top64 & 0x3ff) != 0) | sticky;
  mant += guard & (below | (mant & 1));
  /* The leading bit of top64 has weight 2^(32 (lo + h - 2) + nb - 1 - EMIN); mant's lowest
   * bit 2^52 less. Rounding may carry mant to 2^53: then 2^52, one binade up. */
  const uint64_t up = mant >> 53;
  mant >>= up;
  const int exp_lsb = 32 * (lo + h - 2) + nb - 1 - SAGD_XSUM_EMIN - 52 + (int)up;
  /* 2^-256 <= result < 2^255: always a normal double, built from its fields. */
  const uint64_t bits = ((uint64_t)s << 63) | ((uint64_t)(exp_lsb + 52 + 1023) << 52) |
                        (mant & XS_FRAC);
  double r;
  memcpy(&r, &bits, sizeof r);
  return r;
}

/* out[i] = the rounded value of limbs lo..hi of component i of the limb-major array l,
 * normalised over lo..hi (normalise_range_). */
static void round_all_(const int64_t *l, size_t p, int lo, int hi, double *out) {
  if (lo > hi) {
    for (size_t i = 0; i < p; i++) {
      out[i] = 0.0;
    }
    return;
  }
  for (size_t i = 0; i < p; i++) {
    out[i] = round_one_(l, p, i, lo, hi - lo + 1);
  }
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
  n->lo = XS_NLIMB;
  n->hi = -1;
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
  if (x->lo <= x->hi) {
    memset(x->limb + (size_t)x->lo * x->p, 0,
           (size_t)(x->hi - x->lo + 1) * x->p * sizeof(int64_t));
  }
  x->lo = XS_NLIMB;
  x->hi = -1;
  x->n_pending = 0;
}

/* acc[i] += v (finite, |v| < 2^EMAX) into the limb-major array l of p components; the limbs
 * touched are j .. j+2 with j reported through jmin/jmax. */
static inline void add_one_(int64_t *l, size_t p, size_t i, double v, int *jmin, int *jmax) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  const int e = (int)((u >> 52) & 0x7ff);
  if (e == 0) {
    return; /* zero or subnormal: below 2^-EMIN, truncated to zero */
  }
  uint64_t mant = (u & XS_FRAC) | ((uint64_t)1 << 52); /* |v| = mant 2^(e - 1075) */
  int b = e - 1075 + SAGD_XSUM_EMIN;                    /* bit index of mant's lowest bit */
  if (b < 0) {
    if (b <= -53) {
      return;
    }
    mant >>= -b; /* truncate toward zero */
    b = 0;
  }
  const int j = b >> 5, s = b & 31;
  const uint64_t rest = mant >> (32 - s);
  const int64_t neg = -(int64_t)(u >> 63); /* 0 or -1: (d ^ neg) - neg is d or -d */
  const int64_t d0 = (int64_t)((mant << s) & XS_MASK), d1 = (int64_t)(rest & XS_MASK),
                d2 = (int64_t)(rest >> 32);
  int64_t *c = l + (size_t)j * p + i;
  c[0] += (d0 ^ neg) - neg;
  c[p] += (d1 ^ neg) - neg;
  c[2 * p] += (d2 ^ neg) - neg;
  *jmin = j < *jmin ? j : *jmin;
  *jmax = j > *jmax ? j : *jmax;
}

/* Widen the touched range by the limbs jmin .. jmax + 2 an add reported (none if jmax < 0). */
static void touch_(sagd_xsum x, int jmin, int jmax) {
  if (jmax >= 0) {
    x->lo = jmin < x->lo ? jmin : x->lo;
    x->hi = jmax + 2 > x->hi ? jmax + 2 : x->hi;
  }
  x->n_pending++;
}

int sagd_xsum_add_at(sagd_xsum x, size_t i, double v) {
  SAGD_CHECK(i < x->p, SAGD_ERR_ARG, "exact sum: component %zu, expected < %zu", i, x->p);
  SAGD_CHECK(isfinite(v), SAGD_ERR_NUMERIC,
             "exact sum: component %zu is %g, expected a finite value", i, v);
  SAGD_CHECK(fabs(v) < ldexp(1.0, SAGD_XSUM_EMAX), SAGD_ERR_NUMERIC,
             "exact sum: component %zu is %.17g, expected |value| < 2^%d", i, v,
             SAGD_XSUM_EMAX);
  if (x->n_pending >= XS_ADDS_BEFORE_NORMALISE) {
    normalise_touched_(x);
  }
  int jmin = XS_NLIMB, jmax = -1;
  add_one_(x->limb, x->p, i, v, &jmin, &jmax);
  touch_(x, jmin, jmax);
  return SAGD_OK;
}

int sagd_xsum_add(sagd_xsum x, const double *v) {
  const size_t p = x->p;
  /* Validate everything first so a rejected vector leaves the accumulators unchanged.
   * Biased exponent E: 0x7ff is inf/nan; |v| >= 2^EMAX iff E >= 1023 + EMAX. */
  unsigned emax_seen = 0;
  for (size_t i = 0; i < p; i++) {
    uint64_t u;
    memcpy(&u, &v[i], sizeof u);
    const unsigned e = (unsigned)(u >> 52) & 0x7ffu;
    emax_seen = e > emax_seen ? e : emax_seen;
  }
  if (emax_seen >= 1023u + SAGD_XSUM_EMAX) {
    for (size_t i = 0; i < p; i++) {
      SAGD_CHECK(isfinite(v[i]), SAGD_ERR_NUMERIC,
                 "exact sum: component %zu is %g, expected a finite value", i, v[i]);
      SAGD_CHECK(fabs(v[i]) < ldexp(1.0, SAGD_XSUM_EMAX), SAGD_ERR_NUMERIC,
                 "exact sum: component %zu is %.17g, expected |value| < 2^%d", i, v[i],
                 SAGD_XSUM_EMAX);
    }
  }
  if (x->n_pending >= XS_ADDS_BEFORE_NORMALISE) {
    normalise_touched_(x);
  }
  int jmin = XS_NLIMB, jmax = -1;
  for (size_t i = 0; i < p; i++) {
    add_one_(x->limb, p, i, v[i], &jmin, &jmax);
  }
  touch_(x, jmin, jmax);
  return SAGD_OK;
}

void sagd_xsum_get(sagd_xsum x, double *out) {
  normalise_touched_(x); /* changes the representation only, not the value */
  round_all_(x->limb + (x->lo <= x->hi ? (size_t)x->lo * x->p : 0), x->p, x->lo, x->hi, out);
}

void sagd_xsum_zero_subset(sagd_xsum x, const size_t *idx, size_t m) {
  if (x->lo <= x->hi) {
    for (int j = x->lo; j <= x->hi; j++) {
      int64_t *l = x->limb + (size_t)j * x->p;
      for (size_t k = 0; k < m; k++) {
        l[idx[k]] = 0;
      }
    }
  }
  x->lo = XS_NLIMB;
  x->hi = -1;
  x->n_pending = 0;
}

/* **Collective**: out[k] = the rounded global sum of component idx[k] (idx NULL: of
 * component k), k < m. Only the ranks' common range of limbs is sent, compacted to the m
 * components. */
static int allreduce_window_(sagd_xsum x, MPI_Comm comm, const size_t *idx, size_t m,
                             double *out) {
  normalise_touched_(x);
  int range[2] = {-x->lo, x->hi}, g[2];
  SAGD_CHECK_MPI(MPI_Allreduce(range, g, 2, MPI_INT, MPI_MAX, comm));
  const int lo = -g[0], hi = g[1];
  x->bytes = sizeof range + (lo > hi ? 0 : (size_t)(hi - lo + 1) * m * sizeof(int64_t));
  if (lo > hi || m == 0) {
    for (size_t k = 0; k < m; k++) {
      out[k] = 0.0; /* zero everywhere */
    }
    return SAGD_OK;
  }
  /* Limbs outside this rank's [x->lo, x->hi] are zero, so the copy is the whole value. */
  const size_t total = (size_t)(hi - lo + 1) * m;
  if (idx == NULL) {
    memcpy(x->scratch, x->limb + (size_t)lo * x->p, total * sizeof(int64_t));
  } else {
    for (int j = lo; j <= hi; j++) {
      const int64_t *l = x->limb + (size_t)j * x->p;
      int64_t *d = x->scratch + (size_t)(j - lo) * m;
      for (size_t k = 0; k < m; k++) {
        d[k] = l[idx[k]];
      }
    }
  }
  /* Normalised limbs are < 2^32 and the top one small, so summing over any realistic
   * number of ranks (< 2^30) cannot overflow int64. Chunked for counts beyond INT_MAX. */
  for (size_t off = 0; off < total;) {
    const size_t chunk = total - off < (size_t)INT_MAX ? total - off : (size_t)INT_MAX;
    SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, x->scratch + off, (int)chunk, MPI_INT64_T,
                                 MPI_SUM, comm));
    off += chunk;
  }
  normalise_range_(x->scratch, m, 0, hi - lo); /* the window of the global sum */
  round_all_(x->scratch, m, lo, hi, out);
  return SAGD_OK;
}

int sagd_xsum_allreduce_subset(sagd_xsum x, MPI_Comm comm, const size_t *idx, size_t m,
                               double *out) {
  SAGD_CHECK(m <= x->p, SAGD_ERR_ARG, "exact sum: subset of %zu components, expected <= %zu", m,
             x->p);
  SAGD_CALL(allreduce_window_(x, comm, idx, m, out));
  return SAGD_OK;
}

int sagd_xsum_allreduce(sagd_xsum x, MPI_Comm comm, double *out) {
  SAGD_CALL(allreduce_window_(x, comm, NULL, x->p, out));
  return SAGD_OK;
}
