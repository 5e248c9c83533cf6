/* The cells one finished run contributes to `sagd table` (see table.h). */
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/table.h"

struct sagd_table_cells_s {
  sagd_table_cell *cell;
  size_t n, cap;
};

int sagd_table_cells_create(sagd_table_cells *t) {
  SAGD_ASSERT(t != NULL);
  *t = calloc(1, sizeof **t);
  SAGD_CHECK(*t != NULL, SAGD_ERR_MEM, "cannot allocate a table");
  return SAGD_OK;
}

static void cell_free_(sagd_table_cell *c) {
  free((char *)c->setting);
  free((char *)c->metric);
  free((char *)c->metric_label);
  free((char *)c->method);
  free((char *)c->method_label);
  free((double *)c->values);
}

void sagd_table_cells_destroy(sagd_table_cells *t) {
  if (t == NULL || *t == NULL) {
    return;
  }
  for (size_t i = 0; i < (*t)->n; i++) {
    cell_free_(&(*t)->cell[i]);
  }
  free((*t)->cell);
  free(*t);
  *t = NULL;
}

int sagd_table_cells_add(sagd_table_cells t, const sagd_table_cell *c) {
  SAGD_ASSERT(t != NULL && c != NULL && c->setting != NULL && c->metric != NULL &&
              c->method != NULL && c->values != NULL && c->n >= 1);
  if (t->n == t->cap) {
    const size_t cap = t->cap ? 2 * t->cap : 16;
    sagd_table_cell *nc = realloc(t->cell, cap * sizeof *nc);
    SAGD_CHECK(nc != NULL, SAGD_ERR_MEM, "cannot grow a table to %zu cells", cap);
    t->cell = nc;
    t->cap = cap;
  }
  sagd_table_cell d = *c;
  d.setting = strdup(c->setting);
  d.metric = strdup(c->metric);
  d.metric_label = strdup(c->metric_label ? c->metric_label : c->metric);
  d.method = strdup(c->method);
  d.method_label = strdup(c->method_label ? c->method_label : c->method);
  double *v = malloc(c->n * sizeof *v);
  if (v != NULL) {
    memcpy(v, c->values, c->n * sizeof *v);
  }
  d.values = v;
  if (d.setting == NULL || d.metric == NULL || d.metric_label == NULL || d.method == NULL ||
      d.method_label == NULL || v == NULL) {
    cell_free_(&d);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot copy table cell %s / %s / %s", c->setting, c->metric,
              c->method);
  }
  t->cell[t->n++] = d;
  return SAGD_OK;
}

size_t sagd_table_cells_count(const struct sagd_table_cells_s *t) { return t->n; }

const sagd_table_cell *sagd_table_cells_get(const struct sagd_table_cells_s *t, size_t i) {
  SAGD_ASSERT(i < t->n);
  return &t->cell[i];
}

int sagd_table_read_values(sagd_h5 f, const char *path, double **v, size_t *n) {
  int nd = 0;
  size_t dims[4] = {0, 0, 0, 0};
  *v = NULL;
  SAGD_CALL(sagd_h5_read(f, path, 4, &nd, dims, v));
  size_t k = 1;
  for (int d = 0; d < nd; d++) {
    k *= dims[d];
  }
  if (nd > 1) {
    free(*v);
    *v = NULL;
    SAGD_FAIL(SAGD_ERR_CORRUPT, "%s has %d dimensions: expected a scalar or a vector", path,
              nd);
  }
  *n = k;
  return SAGD_OK;
}

int sagd_table_read_fixed(sagd_h5 f, const char *path, double *out, size_t want) {
  double *v = NULL;
  size_t n = 0;
  SAGD_CALL(sagd_table_read_values(f, path, &v, &n));
  if (n != want) {
    free(v);
    SAGD_FAIL(SAGD_ERR_CORRUPT, "%s has %zu values: expected %zu", path, n, want);
  }
  memcpy(out, v, want * sizeof *out);
  free(v);
  return SAGD_OK;
}
