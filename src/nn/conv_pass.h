/* The passes of a convolution layer in one floating-point type, included twice by conv.c:
 * REAL (double or float), SUF (the function-name suffix), GEMM (cblas_dgemm or cblas_sgemm)
 * and BIAS_ACT(act, rows, n, b, z, d) (the type's bias + activation pass) are defined by the
 * includer. See conv.c for the layer's algebra. */

#define CAT2_(a, b) a##b
#define CAT_(a, b) CAT2_(a, b)
#define FN_(name) CAT_(name, SUF)

/* img (per image H × W × C) → col [batch·PH·PW × k·k·C]: row (q, ph, pw) holds the window
 * at (ph·s − p, pw·s − p), (ki, kj, c) row-major, zero outside the image. */
static void FN_(im2col_)(const win_geom_ *g, size_t batch, const REAL *img, REAL *col) {
  const size_t K = g->k * g->k * g->C, isz = g->H * g->W * g->C;
  for (size_t q = 0; q < batch; q++) {
    const REAL *im = img + q * isz;
    for (size_t ph = 0; ph < g->PH; ph++) {
      for (size_t pw = 0; pw < g->PW; pw++) {
        REAL *dst = col + ((q * g->PH + ph) * g->PW + pw) * K;
        for (size_t ki = 0; ki < g->k; ki++) {
          const ptrdiff_t y = (ptrdiff_t)(ph * g->s + ki) - (ptrdiff_t)g->p;
          for (size_t kj = 0; kj < g->k; kj++) {
            const ptrdiff_t x = (ptrdiff_t)(pw * g->s + kj) - (ptrdiff_t)g->p;
            REAL *d = dst + (ki * g->k + kj) * g->C;
            if (y < 0 || x < 0 || y >= (ptrdiff_t)g->H || x >= (ptrdiff_t)g->W) {
              memset(d, 0, g->C * sizeof(REAL));
            } else {
              memcpy(d, im + ((size_t)y * g->W + (size_t)x) * g->C, g->C * sizeof(REAL));
            }
          }
        }
      }
    }
  }
}

/* The adjoint of im2col: img = 0, then every window's values added back to their pixels, in
 * the fixed order (q, ph, pw, ki, kj, c). */
static void FN_(col2im_)(const win_geom_ *g, size_t batch, const REAL *col, REAL *img) {
  const size_t K = g->k * g->k * g->C, isz = g->H * g->W * g->C;
  memset(img, 0, batch * isz * sizeof(REAL));
  for (size_t q = 0; q < batch; q++) {
    REAL *im = img + q * isz;
    for (size_t ph = 0; ph < g->PH; ph++) {
      for (size_t pw = 0; pw < g->PW; pw++) {
        const REAL *src = col + ((q * g->PH + ph) * g->PW + pw) * K;
        for (size_t ki = 0; ki < g->k; ki++) {
          const ptrdiff_t y = (ptrdiff_t)(ph * g->s + ki) - (ptrdiff_t)g->p;
          if (y < 0 || y >= (ptrdiff_t)g->H) {
            continue;
          }
          for (size_t kj = 0; kj < g->k; kj++) {
            const ptrdiff_t x = (ptrdiff_t)(pw * g->s + kj) - (ptrdiff_t)g->p;
            if (x < 0 || x >= (ptrdiff_t)g->W) {
              continue;
            }
            const REAL *s = src + (ki * g->k + kj) * g->C;
            REAL *d = im + ((size_t)y * g->W + (size_t)x) * g->C;
            for (size_t c = 0; c < g->C; c++) {
              d[c] += s[c];
            }
          }
        }
      }
    }
  }
}

/* out = act(layer(in) + b); D = act'(...) (NULL for identity). col: the conv's im2col
 * matrix (kept for backward) or the transposed layer's GEMM output. */
static void FN_(forward_)(const struct sagd_conv_s *c, const REAL *W, const REAL *b,
                          size_t batch, const REAL *in, REAL *out, REAL *col, REAL *D) {
  const win_geom_ *g = &c->win;
  const int K = (int)c->K;
  const size_t cin = c->geom.in_channels, cout = c->geom.out_channels;
  if (c->geom.kind == SAGD_CONV_FORWARD) {
    const int M = (int)(batch * g->PH * g->PW);
    FN_(im2col_)(g, batch, in, col);
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, M, (int)cout, K, (REAL)1, col, K, W, K,
         (REAL)0, out, (int)cout);
  } else {
    const int M = (int)(batch * g->PH * g->PW);
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, (int)cin, (REAL)1, in, (int)cin, W, K,
         (REAL)0, col, K);
    FN_(col2im_)(g, batch, col, out);
  }
  BIAS_ACT(c->act, batch * c->out_pos, cout, b, out, D);
}

/* Backward through the last forward (in: its input, col: its im2col matrix for conv).
 * dZ = dY ⊙ D into dz (or dY itself for identity); gW = dL/dW (GEMM with beta: 0 sets,
 * 1 adds; NULL: not wanted); gb[j] (+)= Σ_rows dZ[., j] in row order, in double (NULL: not
 * wanted); dX (NULL: not wanted). dcol: scratch of col's size. */
static void FN_(backward_)(const struct sagd_conv_s *c, const REAL *W, size_t batch,
                           const REAL *dY, const REAL *D, const REAL *in, const REAL *col,
                           REAL *dz, REAL *dcol, REAL *gW, REAL beta, double *gb,
                           int accumulate, REAL *dX) {
  const win_geom_ *g = &c->win;
  const int K = (int)c->K;
  const size_t cin = c->geom.in_channels, cout = c->geom.out_channels;
  const size_t rows = batch * c->out_pos, n = rows * cout;
  const REAL *dZ = dY;
  if (D != NULL) {
    for (size_t i = 0; i < n; i++) {
      dz[i] = dY[i] * D[i];
    }
    dZ = dz;
  }
  if (gb != NULL) {
    if (!accumulate) {
      memset(gb, 0, cout * sizeof(double));
    }
    for (size_t r = 0; r < rows; r++) {
      const REAL *z = dZ + r * cout;
      for (size_t j = 0; j < cout; j++) {
        gb[j] += (double)z[j];
      }
    }
  }
  const int M = (int)(batch * g->PH * g->PW);
  if (c->geom.kind == SAGD_CONV_FORWARD) {
    if (gW != NULL) {
      GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cout, K, M, (REAL)1, dZ, (int)cout,
           col, K, beta, gW, K);
    }
    if (dX != NULL) {
      GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, (int)cout, (REAL)1, dZ, (int)cout,
           W, K, (REAL)0, dcol, K);
      FN_(col2im_)(g, batch, dcol, dX);
    }
  } else {
    FN_(im2col_)(g, batch, dZ, dcol);
    if (gW != NULL) {
      GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cin, K, M, (REAL)1, in, (int)cin,
           dcol, K, beta, gW, K);
    }
    if (dX != NULL) {
      GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, M, (int)cin, K, (REAL)1, dcol, K, W, K,
           (REAL)0, dX, (int)cin);
    }
  }
}

#undef FN_
#undef CAT_
#undef CAT2_
