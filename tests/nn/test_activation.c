/* Activations (include/sagd/nn.h): values against closed forms, derivatives against central
 * finite differences, the fused op against f and df (bit for bit), softplus/sigmoid
 * stability at extreme arguments, and that an element's value does not depend on n or on its
 * position (the vector-math path pads tails through the same routine). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/nn.h"
#include "testutil.h"

#define NZ 41

/* Reference values by plain libm, written independently of the library's formulas. */
static double ref_f_(const char *name, double z) {
  if (strcmp(name, "identity") == 0) {
    return z;
  }
  if (strcmp(name, "relu") == 0) {
    return z > 0 ? z : 0;
  }
  if (strcmp(name, "tanh") == 0) {
    return tanh(z);
  }
  if (strcmp(name, "sigmoid") == 0) {
    return 1.0 / (1.0 + exp(-z)); /* one-sided form: fine for |z| < 700 */
  }
  /* softplus: log(1 + e^z), with the large-z branch to avoid overflow */
  return z > 30 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static void test_find(void) {
  const char *names[] = {"identity", "softplus", "relu", "tanh", "sigmoid"};
  const sagd_activation_type *acts[] = {&sagd_act_identity, &sagd_act_softplus, &sagd_act_relu,
                                        &sagd_act_tanh, &sagd_act_sigmoid};
  for (size_t i = 0; i < 5; i++) {
    CHECK(sagd_activation_find(names[i]) == acts[i]);
    CHECK(strcmp(acts[i]->name, names[i]) == 0);
    CHECK(acts[i]->f != NULL && acts[i]->df != NULL && acts[i]->fdf != NULL);
  }
  CHECK(sagd_activation_find("gelu") == NULL);
  CHECK(sagd_activation_find(NULL) == NULL);
}

/* Values: relative error <= 4e-15 (libmvec's exp/log1p are within 4 ulp; the reference formula
 * adds a few more roundings). Derivatives: central differences with step h = 1e-5·max(1,|z|)
 * have truncation error ~h²·|f'''| ~ 1e-10 and rounding ~1e-16/h ~ 1e-11; tolerance 1e-8. */
static void test_values_and_derivatives(void) {
  const sagd_activation_type *acts[] = {&sagd_act_identity, &sagd_act_softplus, &sagd_act_relu,
                                        &sagd_act_tanh, &sagd_act_sigmoid};
  double z[NZ], a[NZ], d[NZ], a2[NZ], d2[NZ], zp[NZ], zm[NZ], ap[NZ], am[NZ];
  for (size_t i = 0; i < NZ; i++) {
    z[i] = -12.0 + 24.0 * (double)i / (NZ - 1) + 0.0137; /* never exactly 0 (relu kink) */
  }
  for (size_t k = 0; k < 5; k++) {
    const sagd_activation_type *act = acts[k];
    act->f(NZ, z, a);
    act->df(NZ, z, a, d);
    act->fdf(NZ, z, a2, d2);
    CHECK(memcmp(a, a2, sizeof a) == 0);
    CHECK(memcmp(d, d2, sizeof d) == 0);
    for (size_t i = 0; i < NZ; i++) {
      const double h = 1e-5 * fmax(1.0, fabs(z[i]));
      zp[i] = z[i] + h;
      zm[i] = z[i] - h;
    }
    act->f(NZ, zp, ap);
    act->f(NZ, zm, am);
    double verr = 0, derr = 0;
    for (size_t i = 0; i < NZ; i++) {
      const double r = ref_f_(act->name, z[i]);
      verr = fmax(verr, fabs(a[i] - r) / fmax(fabs(r), DBL_MIN));
      const double fd = (ap[i] - am[i]) / (zp[i] - zm[i]);
      derr = fmax(derr, fabs(d[i] - fd));
    }
    if (verr > 4e-15 || derr > 1e-8) {
      fprintf(stderr, "activation %s: max rel value error %.3g, max derivative error %.3g\n",
              act->name, verr, derr);
    }
    CHECK(verr <= 4e-15);
    CHECK(derr <= 1e-8);
    /* In place: a may alias z. */
    double zz[NZ], dd[NZ];
    memcpy(zz, z, sizeof z);
    act->f(NZ, zz, zz);
    CHECK(memcmp(zz, a, sizeof a) == 0);
    memcpy(zz, z, sizeof z);
    act->fdf(NZ, zz, zz, dd);
    CHECK(memcmp(zz, a, sizeof a) == 0 && memcmp(dd, d, sizeof d) == 0);
  }
  /* Closed forms of the derivatives at 0 and the relu kink convention. */
  double z0 = 0.0, a0, d0;
  sagd_act_softplus.fdf(1, &z0, &a0, &d0);
  CHECK(a0 == log(2.0) && d0 == 0.5);
  sagd_act_sigmoid.fdf(1, &z0, &a0, &d0);
  CHECK(a0 == 0.5 && d0 == 0.25);
  sagd_act_relu.fdf(1, &z0, &a0, &d0);
  CHECK(a0 == 0.0 && d0 == 0.0);
  sagd_act_tanh.fdf(1, &z0, &a0, &d0);
  CHECK(a0 == 0.0 && d0 == 1.0);
}

/* softplus = log1p(exp(-|z|)) + max(z, 0): no overflow, full relative accuracy far left. */
static void test_stability(void) {
  double z[6] = {800.0, -800.0, 40.0, -40.0, 1e-300, -745.0}, a[6], d[6];
  sagd_act_softplus.fdf(6, z, a, d);
  CHECK(a[0] == 800.0 && d[0] == 1.0);
  CHECK(a[1] == 0.0 && d[1] == 0.0);
  CHECK_CLOSE(a[2], 40.0, 1e-14 * 40);
  CHECK_CLOSE(a[3] / exp(-40.0), 1.0, 1e-14); /* log1p(e^-40) = e^-40 (1 - e^-40/2) */
  CHECK_CLOSE(d[3] / exp(-40.0), 1.0, 1e-14);
  CHECK(a[4] == log(2.0));
  CHECK(isfinite(a[5]) && a[5] >= 0.0);
  sagd_act_sigmoid.fdf(6, z, a, d);
  CHECK(a[0] == 1.0 && d[0] == 0.0);
  CHECK(a[1] == 0.0 && d[1] == 0.0);
  CHECK_CLOSE(a[3] / exp(-40.0), 1.0, 1e-14);
  for (size_t i = 0; i < 6; i++) {
    CHECK(isfinite(a[i]) && isfinite(d[i]));
  }
}

/* An element's value is the same whether computed alone, at any offset, or in a long array:
 * what makes a chain's numbers independent of the block it runs in. */
static void test_position_independence(void) {
  enum { N = 1037 };
  double *z = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double));
  double *d = malloc(N * sizeof(double));
  REQUIRE_OK(z && a && d ? SAGD_OK : SAGD_ERR_MEM);
  for (size_t i = 0; i < N; i++) {
    z[i] = 9.0 * sin(0.37 * (double)i + 0.1);
  }
  const sagd_activation_type *acts[] = {&sagd_act_softplus, &sagd_act_sigmoid, &sagd_act_tanh};
  for (size_t k = 0; k < 3; k++) {
    acts[k]->fdf(N, z, a, d);
    size_t bad = 0;
    for (size_t off = 0; off < N; off += 97) {
      for (size_t len = 1; len <= 11 && off + len <= N; len += 5) {
        double aa[11], dd[11];
        acts[k]->fdf(len, z + off, aa, dd);
        bad += memcmp(aa, a + off, len * sizeof(double)) != 0;
        bad += memcmp(dd, d + off, len * sizeof(double)) != 0;
      }
    }
    if (bad) {
      fprintf(stderr, "%s: %zu sub-arrays differ from the long array\n", acts[k]->name, bad);
    }
    CHECK(bad == 0);
  }
  free(z);
  free(a);
  free(d);
}

/* The float block kernel (bias_fdf_f) on rows × n: each element as when its row is passed
 * alone, bit for bit, at widths the lanes divide and not (the vector path treats the block as
 * one flat array with the bias from a tile of it: a wrong tile offset changes values), and
 * close to the double activation of the same float argument. */
static void test_block_kernel_float(void) {
  const size_t widths[] = {1, 5, 16, 50, 100, 256, 300}, nrows = 37;
  const sagd_activation_type *acts[] = {&sagd_act_softplus, &sagd_act_sigmoid, &sagd_act_tanh,
                                        &sagd_act_relu, &sagd_act_identity};
  for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
    const size_t n = widths[w], total = nrows * n;
    float *z = malloc(total * sizeof(float)), *d = malloc(total * sizeof(float));
    float *z1 = malloc(n * sizeof(float)), *d1 = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float)), *z0 = malloc(total * sizeof(float));
    REQUIRE_OK(z && d && z1 && d1 && b && z0 ? SAGD_OK : SAGD_ERR_MEM);
    for (size_t j = 0; j < n; j++) {
      b[j] = (float)(0.5 * cos(0.7 * (double)j));
    }
    for (size_t i = 0; i < total; i++) {
      z0[i] = (float)(6.0 * sin(0.31 * (double)i + 0.2));
    }
    for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
      memcpy(z, z0, total * sizeof(float));
      acts[k]->bias_fdf_f(nrows, n, b, z, d);
      size_t bad = 0;
      double err = 0;
      for (size_t q = 0; q < nrows; q++) {
        memcpy(z1, z0 + q * n, n * sizeof(float));
        acts[k]->bias_fdf_f(1, n, b, z1, d1);
        bad += memcmp(z1, z + q * n, n * sizeof(float)) != 0;
        bad += memcmp(d1, d + q * n, n * sizeof(float)) != 0;
        for (size_t j = 0; j < n; j++) {
          const double x = (double)(z0[q * n + j] + b[j]), r = ref_f_(acts[k]->name, x);
          err = fmax(err, fabs((double)z[q * n + j] - r) / fmax(fabs(r), 1.0));
        }
      }
      if (bad || err > 1e-6) {
        fprintf(stderr, "%s, width %zu: %zu rows differ from the row alone, max error %.3g\n",
                acts[k]->name, n, bad, err);
      }
      CHECK(bad == 0);
      CHECK(err <= 1e-6);
    }
    free(z);
    free(d);
    free(z1);
    free(d1);
    free(b);
    free(z0);
  }
}

/* argv[1], if given, caps the vector path (SAGD_SIMD: avx2, none) so that each path the
 * library may take on some CPU is tested here; set before the first activation call. */
int main(int argc, char **argv) {
  if (argc > 1) {
    setenv("SAGD_SIMD", argv[1], 1);
    printf("SAGD_SIMD=%s\n", argv[1]);
  }
  test_find();
  test_values_and_derivatives();
  test_stability();
  test_position_independence();
  test_block_kernel_float();
  return TEST_EXIT();
}
