/* Networks from a text description (sagd_mlp_create_spec, include/sagd/nn.h): the layers are
 * parsed, the image shape is followed from layer to layer, and the network is built by
 * sagd_nn_create_ (mlp.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_impl.h"
#include "sagd/conv.h"
#include "sagd/error.h"
#include "sagd/nn.h"
#include "sagd/registry.h"

#define SPEC_MAX_LAYERS 64
#define SPEC_MAX_TOKENS 12

typedef struct {
  size_t rows, cols, ch;
} shape_;

static size_t shape_size_(shape_ s) { return s.rows * s.cols * s.ch; }

/* a positive integer, or 0 */
static size_t num_(const char *t) {
  if (t == NULL || !isdigit((unsigned char)t[0])) {
    return 0;
  }
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(t, &end, 10);
  if (errno != 0 || *end != '\0' || v > (1ull << 31)) {
    return 0;
  }
  return (size_t)v;
}

/* "k4" → 4 for prefix 'k'; -1 if t is not of that form */
static long opt_(const char *t, char prefix) {
  if (t[0] != prefix || !isdigit((unsigned char)t[1])) {
    return -1;
  }
  errno = 0;
  char *end = NULL;
  unsigned long v = strtoul(t + 1, &end, 10);
  return (errno != 0 || *end != '\0' || v > 4096) ? -1 : (long)v;
}

int sagd_mlp_create_spec(const char *what, const char *spec, size_t in_rows, size_t in_cols,
                         size_t in_channels, size_t max_batch, sagd_mlp *net) {
  SAGD_CHECK(net != NULL && spec != NULL, SAGD_ERR_ARG,
             "sagd_mlp_create_spec: a description and an output pointer must be given");
  *net = NULL;
  what = what != NULL ? what : "network";
  SAGD_CHECK(in_rows >= 1 && in_cols >= 1 && in_channels >= 1, SAGD_ERR_ARG,
             "%s: input shape %zu x %zu x %zu: expected every size >= 1", what, in_rows, in_cols,
             in_channels);
  int rc = SAGD_OK;
  char *copy = strdup(spec);
  SAGD_CHECK(copy != NULL, SAGD_ERR_MEM, "cannot copy a network description");
  size_t widths[SPEC_MAX_LAYERS + 1];
  const sagd_activation_type *acts[SPEC_MAX_LAYERS];
  sagd_conv_geom geom[SPEC_MAX_LAYERS];
  const sagd_conv_geom *geoms[SPEC_MAX_LAYERS];
  size_t L = 0, layer_no = 0;
  shape_ cur = {in_rows, in_cols, in_channels};
  widths[0] = shape_size_(cur);
  char *save = NULL;
  for (char *item = strtok_r(copy, ";", &save); item != NULL; item = strtok_r(NULL, ";", &save)) {
    layer_no++;
    char *tok[SPEC_MAX_TOKENS];
    size_t nt = 0;
    char *s2 = NULL;
    for (char *t = strtok_r(item, " \t\n", &s2); t != NULL; t = strtok_r(NULL, " \t\n", &s2)) {
      if (nt == SPEC_MAX_TOKENS) {
        SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG, "%s: item %zu has more than %d words", what,
                       layer_no, SPEC_MAX_TOKENS);
      }
      tok[nt++] = t;
    }
    if (nt == 0) {
      SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG,
                     "%s: item %zu is empty: expected a layer (dense N [act] | conv C kK [sS] [pP] "
                     "[act] | convt C kK [sS] [pP] [oO] [act] | reshape RxCxCH)",
                     what, layer_no);
    }
    if (strcmp(tok[0], "reshape") == 0) {
      shape_ s = {0, 0, 0};
      char tail = 0;
      if (nt != 2 || sscanf(tok[1], "%zux%zux%zu%c", &s.rows, &s.cols, &s.ch, &tail) != 3 ||
          s.rows == 0 || s.cols == 0 || s.ch == 0) {
        SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG,
                       "%s: item %zu 'reshape %s': expected reshape RxCxCH (e.g. reshape 7x7x64)",
                       what, layer_no, nt > 1 ? tok[1] : "");
      }
      if (shape_size_(s) != shape_size_(cur)) {
        SAGD_FAIL_GOTO(
            rc, done, SAGD_ERR_CONFIG,
            "%s: item %zu reshape %zux%zux%zu = %zu values of a layer with %zu: expected "
            "the same number",
            what, layer_no, s.rows, s.cols, s.ch, shape_size_(s), shape_size_(cur));
      }
      cur = s;
      continue;
    }
    if (L == SPEC_MAX_LAYERS) {
      SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG, "%s: more than %d layers", what, SPEC_MAX_LAYERS);
    }
    const int dense = strcmp(tok[0], "dense") == 0, conv = strcmp(tok[0], "conv") == 0,
              convt = strcmp(tok[0], "convt") == 0;
    if (!dense && !conv && !convt) {
      SAGD_FAIL_GOTO(
          rc, done, SAGD_ERR_CONFIG,
          "%s: item %zu '%s': unknown layer kind: expected dense, conv, convt or reshape", what,
          layer_no, tok[0]);
    }
    const size_t n = nt > 1 ? num_(tok[1]) : 0;
    if (n == 0) {
      SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG,
                     "%s: item %zu '%s %s': expected the %s (a positive integer)", what, layer_no,
                     tok[0], nt > 1 ? tok[1] : "", dense ? "width" : "number of output channels");
    }
    long k = -1, st = 1, pd = 0, op = 0;
    const sagd_activation_type *act = &sagd_act_identity;
    int have_act = 0;
    for (size_t i = 2; i < nt; i++) {
      long v;
      if (!dense && (v = opt_(tok[i], 'k')) >= 1) {
        k = v;
      } else if (!dense && (v = opt_(tok[i], 's')) >= 1) {
        st = v;
      } else if (!dense && (v = opt_(tok[i], 'p')) >= 0) {
        pd = v;
      } else if (convt && (v = opt_(tok[i], 'o')) >= 0) {
        op = v;
      } else if (!have_act && sagd_activation_find(tok[i]) != NULL) {
        act = sagd_activation_find(tok[i]);
        have_act = 1;
      } else {
        char known[128];
        sagd_registry_names(SAGD_REGISTRY(sagd_activation_list()), known, sizeof known);
        SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG,
                       "%s: item %zu '%s': '%s' is not understood: expected %sone activation (%s)",
                       what, layer_no, tok[0], tok[i],
                       dense  ? ""
                       : conv ? "kK, sS, pP or "
                              : "kK, sS, pP, oO or ",
                       known);
      }
    }
    acts[L] = act;
    geoms[L] = NULL;
    if (dense) {
      cur = (shape_){1, 1, n};
    } else {
      if (k < 1) {
        SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG,
                       "%s: item %zu '%s %zu': the kernel size kK is missing (e.g. k4)", what,
                       layer_no, tok[0], n);
      }
      geom[L] = (sagd_conv_geom){conv ? SAGD_CONV_FORWARD : SAGD_CONV_TRANSPOSED,
                                 cur.rows,
                                 cur.cols,
                                 cur.ch,
                                 n,
                                 (size_t)k,
                                 (size_t)st,
                                 (size_t)pd,
                                 (size_t)op};
      sagd_conv probe = NULL;
      int prc = sagd_conv_create(&geom[L], act, 1, &probe);
      if (prc != SAGD_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", sagd_error_message());
        SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG, "%s: item %zu (%s on %zux%zux%zu): %s", what,
                       layer_no, tok[0], cur.rows, cur.cols, cur.ch, why);
      }
      cur = (shape_){sagd_conv_out_rows(probe), sagd_conv_out_cols(probe), n};
      sagd_conv_destroy(&probe);
      geoms[L] = &geom[L];
    }
    widths[++L] = shape_size_(cur);
  }
  if (L == 0) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CONFIG,
                   "%s = '%s': no layers: expected items separated by ';' (e.g. dense 256 relu; "
                   "dense 40)",
                   what, spec);
  }
  rc = sagd_nn_create_(L, widths, acts, geoms, max_batch, net);
done:
  free(copy);
  return rc == SAGD_OK ? SAGD_OK : sagd_error_trace(rc, __FILE__, __LINE__, __func__);
}

int sagd_mlp_describe(sagd_mlp net, char *buf, size_t cap) {
  SAGD_CHECK(net != NULL && buf != NULL && cap > 0, SAGD_ERR_ARG,
             "sagd_mlp_describe: a network and a buffer must be given");
  size_t used = 0;
  buf[0] = '\0';
#define PUT_(...)                                                                     \
  do {                                                                                \
    int w_ = snprintf(buf + used, used < cap ? cap - used : 0, __VA_ARGS__);          \
    used += w_ > 0 ? (size_t)w_ : 0;                                                  \
  } while (0)
  PUT_("%zu", net->w[0]);
  for (size_t l = 0; l < net->L; l++) {
    sagd_conv c = net->conv[l];
    if (c == NULL) {
      PUT_(" -> dense %zu %s", net->w[l + 1], net->acts[l]->name);
    } else {
      const sagd_conv_geom *g = sagd_conv_geometry(c);
      PUT_(" -> [%zux%zux%zu] %s %zu k%zu s%zu p%zu", g->in_rows, g->in_cols, g->in_channels,
           g->kind == SAGD_CONV_FORWARD ? "conv" : "convt", g->out_channels, g->kernel,
           g->stride, g->pad);
      if (g->out_pad > 0) {
        PUT_(" o%zu", g->out_pad);
      }
      PUT_(" %s [%zux%zux%zu]", net->acts[l]->name, sagd_conv_out_rows(c),
           sagd_conv_out_cols(c), g->out_channels);
    }
  }
  PUT_("; %zu parameters, %.3g M multiply-adds per row", net->nparams,
       sagd_mlp_flops(net, 1, 0) / 2e6);
#undef PUT_
  SAGD_CHECK(used < cap, SAGD_ERR_ARG, "sagd_mlp_describe: the description needs %zu bytes",
             used + 1);
  return SAGD_OK;
}
