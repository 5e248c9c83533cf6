/* Elementwise activations as ops tables (see include/sagd/nn.h).
 *
 * softplus and sigmoid need exp (and log1p); on x86-64 glibc >= 2.35 they call glibc's
 * vector math library libmvec (_ZGVeN8v_* with AVX-512, _ZGVdN4v_* with AVX2, chosen at run
 * time; libm.so's linker script pulls libmvec in), else scalar libm. A row's tail shorter
 * than the vector width is padded and goes through the same vector routine, so an element's
 * value never depends on n or on its position: a chain's numbers do not depend on its
 * block. Why: scalar libm costs ~8 ns per exp or log1p on this class of machine, so the
 * 512 softplus of a 100-256-256-100 generator row cost ~9 µs against ~10 µs for its
 * forward + backward GEMMs; with AVX-512 libmvec the whole softplus pass is ~1.2 µs (see
 * `sagd bench langevin`). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
#include "nn/nn_impl.h"
#include "sagd/error.h"
#include "sagd/nn.h"
#include "sagd/registry.h"

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__)
#include <features.h>
#if __GLIBC_PREREQ(2, 35)
#define NN_MVEC 1
#endif
#endif

/* Which exp-based activation a kernel computes. */
#define NN_SOFTPLUS 0
#define NN_SIGMOID 1

#ifdef NN_MVEC
#include <immintrin.h>
/* glibc's libmvec, x86-64 vector function ABI (exported, versioned symbols); the target
 * attributes give the vector registers the ABI passes them in. */
__attribute__((target("avx2,fma"))) __m256d _ZGVdN4v_exp(__m256d x);
__attribute__((target("avx2,fma"))) __m256d _ZGVdN4v_log1p(__m256d x);
__attribute__((target("avx512f"))) __m512d _ZGVeN8v_exp(__m512d x);
__attribute__((target("avx512f"))) __m512d _ZGVeN8v_log1p(__m512d x);
__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_expf(__m256 x);
__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_log1pf(__m256 x);
__attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512 x);
__attribute__((target("avx512f"))) __m512 _ZGVeN16v_log1pf(__m512 x);

/* The exp-based kernels on a rows × n row-major block, element (q, j) taking the argument
 * x = z[q n + j] (+ b[j] if b is given), one vector at a time; a short tail is zero-padded
 * into the same vector code, so every element gets the same arithmetic. With
 * e = exp(-|x|) and s = (x >= 0 ? 1 : e)/(1 + e) = sigmoid(x):
 *   softplus: a = log1p(e) + max(x, 0), d = s;     sigmoid: a = s, d = s·(1 - s).
 * a (may alias z) and d may be NULL (not wanted). The scalar fallback does the same IEEE
 * operations with libm's exp/log1p.
 *
 * The AVX-512 kernels treat the block as one flat array (it is contiguous), in full vectors
 * but the last: element i's bias b[i % n] comes from a period of the bias row, b itself when
 * the lane count divides n, else a tile of lcm(n, lanes) values (bias_period_); only when
 * that tile would exceed NN_TILE values do they go row by row, each row's tail padded. */

/* lcm(n, lanes) for a power-of-two lane count: n itself when the lanes divide it. */
static size_t bias_period_(size_t n, size_t lanes) {
  size_t g = n, w = lanes; /* gcd(n, lanes) */
  while (w != 0) {
    const size_t r = g % w;
    g = w;
    w = r;
  }
  return n / g * lanes;
}

#define NN_TILE 2048

/* 8 elements of the double kernel: x = z (+ b) in the lanes of mask k; a, d may be NULL. */
__attribute__((target("avx512f"))) static inline void exp8_d_(int kind, __mmask8 k, const double *b,
                                                              const double *z, double *a,
                                                              double *d) {
  const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
  __m512d x = _mm512_maskz_loadu_pd(k, z);
  if (b != NULL) {
    x = _mm512_add_pd(x, _mm512_maskz_loadu_pd(k, b));
  }
  const __m512d e = _ZGVeN8v_exp(_mm512_sub_pd(zero, _mm512_abs_pd(x)));
  const __mmask8 ge = _mm512_cmp_pd_mask(x, zero, _CMP_GE_OQ);
  const __m512d s = _mm512_div_pd(_mm512_mask_blend_pd(ge, e, one), _mm512_add_pd(one, e));
  if (kind == NN_SOFTPLUS) {
    if (d != NULL) {
      _mm512_mask_storeu_pd(d, k, s);
    }
    if (a != NULL) {
      _mm512_mask_storeu_pd(a, k, _mm512_add_pd(_ZGVeN8v_log1p(e), _mm512_max_pd(x, zero)));
    }
  } else {
    if (d != NULL) {
      _mm512_mask_storeu_pd(d, k, _mm512_mul_pd(s, _mm512_sub_pd(one, s)));
    }
    if (a != NULL) {
      _mm512_mask_storeu_pd(a, k, s);
    }
  }
}

static inline __mmask8 mask8_(size_t m) {
  return (__mmask8)(m >= 8 ? 0xffu : (1u << m) - 1u);
}

__attribute__((target("avx512f"))) static void exp_kernel_avx512_(int kind, size_t rows,
                                                                   size_t n, const double *b,
                                                                   const double *z, double *a,
                                                                   double *d) {
  const size_t period = bias_period_(n, 8);
  if (b != NULL && period > NN_TILE) {
    for (size_t q = 0; q < rows; q++) {
      const size_t o = q * n;
      for (size_t i = 0; i < n; i += 8) {
        exp8_d_(kind, mask8_(n - i), b + i, z + o + i, a != NULL ? a + o + i : NULL,
                d != NULL ? d + o + i : NULL);
      }
    }
    return;
  }
  double tile[NN_TILE];
  const double *bp = b;
  if (b != NULL && period != n) {
    for (size_t i = 0; i < period; i++) {
      tile[i] = b[i % n];
    }
    bp = tile;
  }
  const size_t total = rows * n;
  for (size_t i = 0, o = 0; i < total; i += 8) { /* o = i mod period */
    exp8_d_(kind, mask8_(total - i), bp != NULL ? bp + o : NULL, z + i, a != NULL ? a + i : NULL,
            d != NULL ? d + i : NULL);
    o = o + 8 == period ? 0 : o + 8;
  }
}

__attribute__((target("avx2,fma"))) static void exp_kernel_avx2_(int kind, size_t rows,
                                                                 size_t n, const double *b,
                                                                 const double *z, double *a,
                                                                 double *d) {
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  const __m256d sign = _mm256_set1_pd(-0.0);
  for (size_t q = 0; q < rows; q++) {
    const size_t o = q * n;
    for (size_t i = 0; i < n; i += 4) {
      const size_t m = n - i < 4 ? n - i : 4;
      const int full = m == 4;
      double zb[4] = {0.0, 0.0, 0.0, 0.0}, bb[4] = {0.0, 0.0, 0.0, 0.0}, ab[4], db[4];
      if (!full) {
        memcpy(zb, z + o + i, m * sizeof(double));
        if (b != NULL) {
          memcpy(bb, b + i, m * sizeof(double));
        }
      }
      __m256d x = _mm256_loadu_pd(full ? z + o + i : zb);
      if (b != NULL) {
        x = _mm256_add_pd(x, _mm256_loadu_pd(full ? b + i : bb));
      }
      const __m256d e = _ZGVdN4v_exp(_mm256_sub_pd(zero, _mm256_andnot_pd(sign, x)));
      const __m256d ge = _mm256_cmp_pd(x, zero, _CMP_GE_OQ);
      const __m256d s = _mm256_div_pd(_mm256_blendv_pd(e, one, ge), _mm256_add_pd(one, e));
      __m256d av = s, dv = s;
      if (kind == NN_SOFTPLUS) {
        if (a != NULL) {
          av = _mm256_add_pd(_ZGVdN4v_log1p(e), _mm256_max_pd(x, zero));
        }
      } else {
        dv = _mm256_mul_pd(s, _mm256_sub_pd(one, s));
      }
      if (full) {
        if (d != NULL) {
          _mm256_storeu_pd(d + o + i, dv);
        }
        if (a != NULL) {
          _mm256_storeu_pd(a + o + i, av);
        }
      } else {
        _mm256_storeu_pd(ab, av);
        _mm256_storeu_pd(db, dv);
        if (d != NULL) {
          memcpy(d + o + i, db, m * sizeof(double));
        }
        if (a != NULL) {
          memcpy(a + o + i, ab, m * sizeof(double));
        }
      }
    }
  }
}
/* 16 elements of the float kernel: x = z + b (lanes of mask k), z ← act(x), d ← act'(x). */
__attribute__((target("avx512f"))) static inline void exp16_f_(int kind, __mmask16 k,
                                                               const float *b, float *zr,
                                                               float *dr) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  const __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(k, zr), _mm512_maskz_loadu_ps(k, b));
  const __m512 e = _ZGVeN16v_expf(_mm512_sub_ps(zero, _mm512_abs_ps(x)));
  const __mmask16 ge = _mm512_cmp_ps_mask(x, zero, _CMP_GE_OQ);
  const __m512 sg = _mm512_div_ps(_mm512_mask_blend_ps(ge, e, one), _mm512_add_ps(one, e));
  if (kind == NN_SOFTPLUS) {
    _mm512_mask_storeu_ps(dr, k, sg);
    _mm512_mask_storeu_ps(zr, k, _mm512_add_ps(_ZGVeN16v_log1pf(e), _mm512_max_ps(x, zero)));
  } else {
    _mm512_mask_storeu_ps(dr, k, _mm512_mul_ps(sg, _mm512_sub_ps(one, sg)));
    _mm512_mask_storeu_ps(zr, k, sg);
  }
}

static inline __mmask16 mask16_(size_t m) {
  return (__mmask16)(m >= 16 ? 0xffffu : (1u << m) - 1u);
}

/* The float versions of the exp-based kernels: the same formulas with expf/log1pf, 16 (AVX-512,
 * flat as above) or 8 (AVX2, row by row) lanes, short tails zero-padded into the same vector
 * code. z is updated in place: z ← act(z + b), d ← act'(z + b). */
__attribute__((target("avx512f"))) static void exp_kernel_f_avx512_(int kind, size_t rows,
                                                                    size_t n, const float *b,
                                                                    float *z, float *d) {
  const size_t period = bias_period_(n, 16);
  if (period > NN_TILE) {
    for (size_t q = 0; q < rows; q++) {
      for (size_t i = 0; i < n; i += 16) {
        exp16_f_(kind, mask16_(n - i), b + i, z + q * n + i, d + q * n + i);
      }
    }
    return;
  }
  float tile[NN_TILE];
  const float *bp = b;
  if (period != n) {
    for (size_t i = 0; i < period; i++) {
      tile[i] = b[i % n];
    }
    bp = tile;
  }
  const size_t total = rows * n;
  for (size_t i = 0, o = 0; i < total; i += 16) { /* o = i mod period */
    exp16_f_(kind, mask16_(total - i), bp + o, z + i, d + i);
    o = o + 16 == period ? 0 : o + 16;
  }
}

__attribute__((target("avx2,fma"))) static void exp_kernel_f_avx2_(int kind, size_t rows,
                                                                  size_t n, const float *b,
                                                                  float *z, float *d) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (size_t q = 0; q < rows; q++) {
    float *zr = z + q * n, *dr = d + q * n;
    for (size_t i = 0; i < n; i += 8) {
      const size_t m = n - i < 8 ? n - i : 8;
      float zb[8] = {0}, bb[8] = {0}, ab[8], db[8];
      memcpy(zb, zr + i, m * sizeof(float));
      memcpy(bb, b + i, m * sizeof(float));
      const __m256 x = _mm256_add_ps(_mm256_loadu_ps(zb), _mm256_loadu_ps(bb));
      const __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(zero, _mm256_andnot_ps(sign, x)));
      const __m256 ge = _mm256_cmp_ps(x, zero, _CMP_GE_OQ);
      const __m256 sg = _mm256_div_ps(_mm256_blendv_ps(e, one, ge), _mm256_add_ps(one, e));
      __m256 av, dv;
      if (kind == NN_SOFTPLUS) {
        av = _mm256_add_ps(_ZGVdN8v_log1pf(e), _mm256_max_ps(x, zero));
        dv = sg;
      } else {
        av = sg;
        dv = _mm256_mul_ps(sg, _mm256_sub_ps(one, sg));
      }
      _mm256_storeu_ps(ab, av);
      _mm256_storeu_ps(db, dv);
      memcpy(zr + i, ab, m * sizeof(float));
      memcpy(dr + i, db, m * sizeof(float));
    }
  }
}
#endif

static void exp_kernel_f_scalar_(int kind, size_t rows, size_t n, const float *b, float *z,
                                 float *d) {
  for (size_t i = 0; i < rows * n; i++) {
    const float x = z[i] + b[i % n];
    const float e = expf(0.0f - fabsf(x));
    const float sg = (x >= 0.0f ? 1.0f : e) / (1.0f + e);
    if (kind == NN_SOFTPLUS) {
      d[i] = sg;
      z[i] = log1pf(e) + (x > 0.0f ? x : 0.0f);
    } else {
      d[i] = sg * (1.0f - sg);
      z[i] = sg;
    }
  }
}

static void exp_kernel_f_(int kind, size_t rows, size_t n, const float *b, float *z, float *d) {
#ifdef NN_MVEC
  switch (sagd_simd()) {
    case SAGD_SIMD_AVX512:
      exp_kernel_f_avx512_(kind, rows, n, b, z, d);
      return;
    case SAGD_SIMD_AVX2:
      exp_kernel_f_avx2_(kind, rows, n, b, z, d);
      return;
    default:
      break;
  }
#endif
  exp_kernel_f_scalar_(kind, rows, n, b, z, d);
}

static void exp_kernel_scalar_(int kind, size_t rows, size_t n, const double *b,
                               const double *z, double *a, double *d) {
  for (size_t i = 0; i < rows * n; i++) {
    const double x = b != NULL ? z[i] + b[i % n] : z[i];
    const double e = exp(0.0 - fabs(x));
    const double s = (x >= 0.0 ? 1.0 : e) / (1.0 + e);
    if (kind == NN_SOFTPLUS) {
      if (d != NULL) {
        d[i] = s;
      }
      if (a != NULL) {
        a[i] = log1p(e) + (x > 0.0 ? x : 0.0);
      }
    } else {
      if (d != NULL) {
        d[i] = s * (1.0 - s);
      }
      if (a != NULL) {
        a[i] = s;
      }
    }
  }
}

static void exp_kernel_(int kind, size_t rows, size_t n, const double *b, const double *z,
                        double *a, double *d) {
#ifdef NN_MVEC
  switch (sagd_simd()) {
    case SAGD_SIMD_AVX512:
      exp_kernel_avx512_(kind, rows, n, b, z, a, d);
      return;
    case SAGD_SIMD_AVX2:
      exp_kernel_avx2_(kind, rows, n, b, z, a, d);
      return;
    default:
      break;
  }
#endif
  exp_kernel_scalar_(kind, rows, n, b, z, a, d);
}

/* ---- identity ------------------------------------------------------------------------ */

static void identity_f_(size_t n, const double *z, double *a) {
  if (a != z) {
    memmove(a, z, n * sizeof(double));
  }
}

static void identity_df_(size_t n, const double *z, const double *a, double *d) {
  (void)z;
  (void)a;
  for (size_t i = 0; i < n; i++) {
    d[i] = 1.0;
  }
}

static void identity_fdf_(size_t n, const double *z, double *a, double *d) {
  identity_f_(n, z, a);
  identity_df_(n, z, a, d);
}

/* ---- relu (derivative 0 at the kink) ------------------------------------------------ */

static void relu_f_(size_t n, const double *z, double *a) {
  for (size_t i = 0; i < n; i++) {
    a[i] = z[i] > 0.0 ? z[i] : 0.0;
  }
}

static void relu_df_(size_t n, const double *z, const double *a, double *d) {
  (void)a;
  for (size_t i = 0; i < n; i++) {
    d[i] = z[i] > 0.0 ? 1.0 : 0.0;
  }
}

static void relu_fdf_(size_t n, const double *z, double *a, double *d) {
  for (size_t i = 0; i < n; i++) {
    const double zi = z[i];
    d[i] = zi > 0.0 ? 1.0 : 0.0;
    a[i] = zi > 0.0 ? zi : 0.0;
  }
}

/* ---- tanh: f' = 1 - a² ---------------------------------------------------------------- */

static void tanh_f_(size_t n, const double *z, double *a) {
  for (size_t i = 0; i < n; i++) {
    a[i] = tanh(z[i]);
  }
}

static void tanh_df_(size_t n, const double *z, const double *a, double *d) {
  (void)z;
  for (size_t i = 0; i < n; i++) {
    d[i] = 1.0 - a[i] * a[i];
  }
}

static void tanh_fdf_(size_t n, const double *z, double *a, double *d) {
  for (size_t i = 0; i < n; i++) {
    const double ai = tanh(z[i]);
    a[i] = ai;
    d[i] = 1.0 - ai * ai;
  }
}

/* ---- softplus and sigmoid (see exp_kernel_) ------------------------------------------ */

/* f, f' and both at once of an exp_kernel_ activation, as the type's three ops. */
#define EXP_KERNEL_OPS_(name, kind)                                                    \
  static void name##_f_(size_t n, const double *z, double *a) {                        \
    exp_kernel_(kind, 1, n, NULL, z, a, NULL);                                         \
  }                                                                                    \
  static void name##_df_(size_t n, const double *z, const double *a, double *d) {      \
    (void)a;                                                                           \
    exp_kernel_(kind, 1, n, NULL, z, NULL, d);                                         \
  }                                                                                    \
  static void name##_fdf_(size_t n, const double *z, double *a, double *d) {           \
    exp_kernel_(kind, 1, n, NULL, z, a, d);                                            \
  }

EXP_KERNEL_OPS_(softplus, NN_SOFTPLUS)
EXP_KERNEL_OPS_(sigmoid, NN_SIGMOID)

static const sagd_activation_type *const activations_[] = {
    &sagd_act_identity, &sagd_act_softplus, &sagd_act_relu, &sagd_act_tanh, &sagd_act_sigmoid,
    NULL};

const sagd_activation_type *const *sagd_activation_list(void) { return activations_; }

const sagd_activation_type *sagd_activation_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(activations_), name);
}

int sagd_nn_bias_fdf_(const sagd_activation_type *act, size_t rows, size_t n, const double *b,
                      double *z, double *d) {
  if (act == &sagd_act_softplus) {
    exp_kernel_(NN_SOFTPLUS, rows, n, b, z, z, d);
    return 1;
  }
  if (act == &sagd_act_sigmoid) {
    exp_kernel_(NN_SIGMOID, rows, n, b, z, z, d);
    return 1;
  }
  return 0;
}

/* The float ops (optional member bias_fdf_f of the type): z <- act(z + b), d <- act'(z + b)
 * on a rows x n block (d is NULL only for identity layers). */
static void add_bias_f_(size_t rows, size_t n, const float *b, float *z) {
  for (size_t q = 0; q < rows; q++) {
    float *zr = z + q * n;
    for (size_t j = 0; j < n; j++) {
      zr[j] += b[j];
    }
  }
}

static void identity_bias_fdf_f_(size_t rows, size_t n, const float *b, float *z, float *d) {
  add_bias_f_(rows, n, b, z);
  if (d != NULL) {
    for (size_t i = 0; i < rows * n; i++) {
      d[i] = 1.0f;
    }
  }
}

static void relu_bias_fdf_f_(size_t rows, size_t n, const float *b, float *z, float *d) {
  add_bias_f_(rows, n, b, z);
  for (size_t i = 0; i < rows * n; i++) {
    d[i] = z[i] > 0.0f ? 1.0f : 0.0f;
    z[i] = z[i] > 0.0f ? z[i] : 0.0f;
  }
}

static void tanh_bias_fdf_f_(size_t rows, size_t n, const float *b, float *z, float *d) {
  add_bias_f_(rows, n, b, z);
  for (size_t i = 0; i < rows * n; i++) {
    const float a = tanhf(z[i]);
    z[i] = a;
    d[i] = 1.0f - a * a;
  }
}

static void softplus_bias_fdf_f_(size_t rows, size_t n, const float *b, float *z, float *d) {
  exp_kernel_f_(NN_SOFTPLUS, rows, n, b, z, d);
}

static void sigmoid_bias_fdf_f_(size_t rows, size_t n, const float *b, float *z, float *d) {
  exp_kernel_f_(NN_SIGMOID, rows, n, b, z, d);
}

void sagd_nn_bias_fdf_float_(const sagd_activation_type *act, size_t rows, size_t n,
                             const float *b, float *z, float *d) {
  if (act->bias_fdf_f != NULL) {
    act->bias_fdf_f(rows, n, b, z, d);
    return;
  }
  /* a type without a float op: the bias in float, then its double ops a chunk at a time */
  add_bias_f_(rows, n, b, z);
  const size_t total = rows * n;
  double zz[256], aa[256], dd[256];
  for (size_t i0 = 0; i0 < total; i0 += 256) {
    const size_t m = total - i0 < 256 ? total - i0 : 256;
    for (size_t i = 0; i < m; i++) {
      zz[i] = (double)z[i0 + i];
    }
    if (act->fdf != NULL) {
      act->fdf(m, zz, aa, dd);
    } else {
      act->f(m, zz, aa);
      act->df(m, zz, aa, dd);
    }
    for (size_t i = 0; i < m; i++) {
      z[i0 + i] = (float)aa[i];
      if (d != NULL) {
        d[i0 + i] = (float)dd[i];
      }
    }
  }
}

const sagd_activation_type sagd_act_identity = {"identity", identity_f_, identity_df_,
                                                identity_fdf_, identity_bias_fdf_f_};
const sagd_activation_type sagd_act_softplus = {"softplus", softplus_f_, softplus_df_,
                                                softplus_fdf_, softplus_bias_fdf_f_};
const sagd_activation_type sagd_act_relu = {"relu", relu_f_, relu_df_, relu_fdf_,
                                            relu_bias_fdf_f_};
const sagd_activation_type sagd_act_tanh = {"tanh", tanh_f_, tanh_df_, tanh_fdf_,
                                            tanh_bias_fdf_f_};
const sagd_activation_type sagd_act_sigmoid = {"sigmoid", sigmoid_f_, sigmoid_df_,
                                               sigmoid_fdf_, sigmoid_bias_fdf_f_};

void sagd_nn_bias_act_(const sagd_activation_type *act, size_t rows, size_t n, const double *b,
                       double *z, double *d) {
  /* The bias and the activation in one pass where a fused kernel exists. */
  if (d != NULL && sagd_nn_bias_fdf_(act, rows, n, b, z, d)) {
    return;
  }
  for (size_t q = 0; q < rows; q++) {
    double *zr = z + q * n;
    for (size_t j = 0; j < n; j++) {
      zr[j] += b[j];
    }
  }
  if (d == NULL) { /* identity: a = z */
    return;
  }
  const size_t m = rows * n;
  if (act->fdf != NULL) {
    act->fdf(m, z, z, d);
  } else {
    /* No fused op: keep z in the derivative buffer, a = f(z) over z, then d = df(z, a)
     * elementwise over the copy. */
    memcpy(d, z, m * sizeof(double));
    act->f(m, d, z);
    act->df(m, d, z, d);
  }
}

int sagd_nn_xavier_(sagd_rng_key key, uint64_t net_id, uint64_t layer, size_t count,
                    double fan_in, double fan_out, double *w) {
  SAGD_CHECK(key.replication < ((uint64_t)1 << 48), SAGD_ERR_ARG,
             "Xavier initialisation: replication = %llu, expected < 2^48",
             (unsigned long long)key.replication);
  sagd_rng_gsl rng = NULL;
  SAGD_CALL(sagd_rng_gsl_create(&rng));
  const double limit = sqrt(6.0 / (fan_in + fan_out));
  sagd_rng_uniforms(rng, key, SAGD_STREAM_NN_INIT, net_id, layer, 0, count, w);
  for (size_t j = 0; j < count; j++) {
    w[j] = (2.0 * w[j] - 1.0) * limit;
  }
  sagd_rng_gsl_destroy(&rng);
  return SAGD_OK;
}
