/* The state registry: what a run registers to be checkpointed (see
 * include/sagd/checkpoint.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint_impl.h"
#include "sagd/error.h"
#include "sagd/h5.h"
#include "sagd/runfile.h"

int sagd_state_create(sagd_state *st) {
  SAGD_CHECK(st != NULL, SAGD_ERR_ARG, "sagd_state_create: NULL output handle");
  *st = calloc(1, sizeof **st);
  SAGD_CHECK(*st != NULL, SAGD_ERR_MEM, "cannot allocate a state registry");
  return SAGD_OK;
}

void sagd_state_destroy(sagd_state *st) {
  if (st == NULL || *st == NULL) {
    return;
  }
  free((*st)->e);
  free(*st);
  *st = NULL;
}

int ck_name_ok(const char *s) {
  size_t n = s != NULL ? strlen(s) : 0;
  if (n == 0 || n >= CK_NAME_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//")) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.' || c == '/')) {
      return 0;
    }
  }
  return 1;
}

static int add_entry_(sagd_state st, const char *name, ck_entry **out) {
  SAGD_CHECK(st != NULL, SAGD_ERR_ARG, "state registry is NULL");
  SAGD_CHECK(ck_name_ok(name), SAGD_ERR_ARG,
             "state name '%s': expected a relative path of letters, digits, '_', '-', '.', "
             "'/' shorter than %d characters", name != NULL ? name : "(null)", CK_NAME_MAX);
  for (size_t i = 0; i < st->n; i++) {
    SAGD_CHECK(strcmp(st->e[i].name, name) != 0, SAGD_ERR_ARG,
               "state name '%s' is registered twice", name);
    /* "a" and "a/b" cannot both be datasets (one would have to be a group) */
    size_t la = strlen(st->e[i].name), lb = strlen(name);
    const char *shorter = la < lb ? st->e[i].name : name, *longer = la < lb ? name : st->e[i].name;
    size_t ls = la < lb ? la : lb;
    SAGD_CHECK(!(strncmp(shorter, longer, ls) == 0 && longer[ls] == '/'), SAGD_ERR_ARG,
               "state names '%s' and '%s' clash: one would be a group of the other",
               shorter, longer);
  }
  if (st->n == st->cap) {
    size_t cap = st->cap ? 2 * st->cap : 32;
    ck_entry *e = realloc(st->e, cap * sizeof *e);
    SAGD_CHECK(e != NULL, SAGD_ERR_MEM, "cannot grow the state registry to %zu entries", cap);
    st->e = e;
    st->cap = cap;
  }
  ck_entry *e = &st->e[st->n++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  *out = e;
  return SAGD_OK;
}

int sagd_state_add(sagd_state st, const char *name, double *buf, size_t len) {
  SAGD_CHECK(len == 0 || buf != NULL, SAGD_ERR_ARG, "state '%s': NULL buffer for %zu doubles",
             name, len);
  ck_entry *e = NULL;
  SAGD_CALL(add_entry_(st, name, &e));
  e->kind = 'R';
  e->buf = buf;
  e->rows = 1;
  e->cols = len;
  e->nrows = 1;
  e->offset = st->rep_total;
  st->rep_total += len;
  return SAGD_OK;
}

/* A counter: one replicated slot, stored through either a uint64_t or a size_t. */
static int add_counter_(sagd_state st, const char *name, uint64_t *u64, size_t *sz) {
  SAGD_CHECK(u64 != NULL || sz != NULL, SAGD_ERR_ARG, "state '%s': NULL counter", name);
  ck_entry *e = NULL;
  SAGD_CALL(add_entry_(st, name, &e));
  e->kind = 'C';
  e->u64 = u64;
  e->sz = sz;
  e->rows = e->cols = e->nrows = 1;
  e->offset = st->rep_total++;
  return SAGD_OK;
}

int sagd_state_add_u64(sagd_state st, const char *name, uint64_t *v) {
  return add_counter_(st, name, v, NULL);
}

int sagd_state_add_size(sagd_state st, const char *name, size_t *v) {
  return add_counter_(st, name, NULL, v);
}

int sagd_state_add_rows(sagd_state st, const char *name, double *buf, size_t global_rows,
                        size_t cols, size_t row0, size_t nrows) {
  SAGD_CHECK(row0 <= global_rows && nrows <= global_rows - row0, SAGD_ERR_ARG,
             "state '%s': rows [%zu, %zu) are outside [0, %zu)", name, row0, row0 + nrows,
             global_rows);
  SAGD_CHECK(nrows == 0 || cols == 0 || buf != NULL, SAGD_ERR_ARG,
             "state '%s': NULL buffer for %zu rows", name, nrows);
  ck_entry *e = NULL;
  SAGD_CALL(add_entry_(st, name, &e));
  e->kind = 'S';
  e->buf = buf;
  e->rows = global_rows;
  e->cols = cols;
  e->row0 = row0;
  e->nrows = nrows;
  return SAGD_OK;
}

size_t sagd_state_count(sagd_state st) { return st != NULL ? st->n : 0; }

size_t sagd_state_local_bytes(sagd_state st) {
  size_t b = 0;
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    b += st->e[i].nrows * st->e[i].cols * sizeof(double);
  }
  return b;
}

/* A counter's value as a double (exact up to 2^53) and back. */
int ck_counter_get(const ck_entry *e, double *d) {
  uint64_t v = e->u64 != NULL ? *e->u64 : (uint64_t)*e->sz;
  SAGD_CHECK(v <= ((uint64_t)1 << 53), SAGD_ERR_ARG,
             "state counter '%s' = %" PRIu64 " exceeds 2^53 and cannot be stored exactly",
             e->name, v);
  *d = (double)v;
  return SAGD_OK;
}

void ck_counter_set(const ck_entry *e, double d) {
  if (e->u64 != NULL) {
    *e->u64 = (uint64_t)d;
  } else {
    *e->sz = (size_t)d;
  }
}
