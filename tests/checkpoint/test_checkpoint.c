/* Checkpoint library: checksums, the state registry, atomic write + verify, resume on a
 * different row split, the write policy (every N, every S seconds, force), signals (a flag
 * raised on one rank stops every rank after a checkpoint), damage detection (truncated,
 * zeroed, bit-flipped) with fallback to .prev, both damaged → refused with the files
 * untouched, a leftover .tmp ignored, a different config refused naming the key.
 * Run on 1 and 3 ranks. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sagd/checkpoint.h"
#include "sagd/experiment.h"
#include "testutil.h"

static int rank_, size_;
static char dir_[256];

#define R_ROWS 37
#define R_COLS 3
#define P_LEN 5

/* The state of a toy run: replicated θ, two counters, sharded rows. */
typedef struct {
  double theta[P_LEN];
  uint64_t iter;
  size_t len;
  double *rows; /* this rank's rows */
  size_t row0, nrows;
} toy;

static double cell_(size_t i, size_t j, double salt) {
  return salt * 1000.0 + (double)i * 3.25 + (double)j * 0.125 + 1.0 / (double)(i + j + 7);
}

/* Even split (split = 0) or a lopsided one (split = 1: rank r gets ~ (r+1)^2 shares). */
static void split_(size_t n, int split, int r, int p, size_t *r0, size_t *nr) {
  size_t a, b;
  if (split == 0) {
    a = n * (size_t)r / (size_t)p;
    b = n * (size_t)(r + 1) / (size_t)p;
  } else {
    a = n * (size_t)r * (size_t)r / ((size_t)p * (size_t)p);
    b = n * (size_t)(r + 1) * (size_t)(r + 1) / ((size_t)p * (size_t)p);
  }
  *r0 = a;
  *nr = b - a;
}

static void toy_init_(toy *t, int split, double salt) {
  memset(t, 0, sizeof *t);
  split_(R_ROWS, split, rank_, size_, &t->row0, &t->nrows);
  t->rows = calloc(t->nrows * R_COLS + 1, sizeof(double));
  for (size_t i = 0; i < t->nrows; i++) {
    for (size_t j = 0; j < R_COLS; j++) {
      t->rows[i * R_COLS + j] = cell_(t->row0 + i, j, salt);
    }
  }
  for (int j = 0; j < P_LEN; j++) {
    t->theta[j] = salt + 0.1 * j;
  }
  t->iter = (uint64_t)(salt * 10);
  t->len = (size_t)salt + 3;
}

static void toy_register_(toy *t, sagd_state st) {
  REQUIRE_OK(sagd_state_add(st, "run/theta", t->theta, P_LEN));
  REQUIRE_OK(sagd_state_add_u64(st, "run/iter", &t->iter));
  REQUIRE_OK(sagd_state_add_size(st, "run/len", &t->len));
  REQUIRE_OK(sagd_state_add_rows(st, "chains/x", t->rows, R_ROWS, R_COLS, t->row0, t->nrows));
}

/* toy_init_ and a new state holding t's four entries. */
static sagd_state toy_state_(toy *t, int split, double salt) {
  toy_init_(t, split, salt);
  sagd_state st = NULL;
  REQUIRE_OK(sagd_state_create(&st));
  toy_register_(t, st);
  return st;
}

/* 1 if every value of t is what toy_init_(salt) makes. */
static int toy_is_(const toy *t, double salt) {
  int ok = t->iter == (uint64_t)(salt * 10) && t->len == (size_t)salt + 3;
  for (int j = 0; j < P_LEN; j++) {
    ok &= t->theta[j] == salt + 0.1 * j;
  }
  for (size_t i = 0; i < t->nrows; i++) {
    for (size_t j = 0; j < R_COLS; j++) {
      ok &= t->rows[i * R_COLS + j] == cell_(t->row0 + i, j, salt);
    }
  }
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all;
}

static sagd_config cfg_(const char *every, const char *seconds, const char *extra) {
  sagd_config cfg = NULL;
  REQUIRE_OK(sagd_config_create(sagd_config_keys(), &cfg));
  char a[64];
  snprintf(a, sizeof a, "checkpoint.every=%s", every);
  REQUIRE_OK(sagd_config_set(cfg, a));
  snprintf(a, sizeof a, "checkpoint.seconds=%s", seconds);
  REQUIRE_OK(sagd_config_set(cfg, a));
  if (extra != NULL) {
    REQUIRE_OK(sagd_config_set(cfg, extra));
  }
  return cfg;
}

static sagd_run_info info_(sagd_config cfg, const char *resume) {
  sagd_run_info info;
  memset(&info, 0, sizeof info);
  info.comm = MPI_COMM_WORLD;
  info.rank = rank_;
  info.size = size_;
  info.cfg = cfg;
  info.out_dir = dir_;
  info.quiet = 1;
  info.resume = resume;
  return info;
}

static void path_(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", dir_, name);
}

/* Rank 0 file helpers (every rank waits). */
static long file_size_(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static char *slurp_(const char *p, long *n) {
  FILE *f = fopen(p, "rb");
  if (f == NULL) {
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)*n + 1);
  if (fread(b, 1, (size_t)*n, f) != (size_t)*n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  return b;
}

static void spit_(const char *p, const char *b, long n) {
  FILE *f = fopen(p, "wb");
  if (f == NULL || fwrite(b, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "cannot write %s\n", p);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  fclose(f);
}

static void copy_(const char *from, const char *to) {
  if (rank_ == 0) {
    long n = 0;
    char *b = slurp_(from, &n);
    if (b == NULL) {
      fprintf(stderr, "cannot read %s\n", from);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    spit_(to, b, n);
    free(b);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

/* Damage a file: 't' truncate to half, 'z' overwrite with zeros, 'f' flip one bit of the
 * first occurrence of the 8 bytes of `needle` (a value stored in the sharded rows). */
static void damage_(const char *p, char how, double needle) {
  if (rank_ == 0) {
    long n = 0;
    char *b = slurp_(p, &n);
    if (how == 't') {
      n /= 2;
    } else if (how == 'z') {
      memset(b, 0, (size_t)n);
    } else {
      char pat[8];
      memcpy(pat, &needle, 8);
      long at = -1;
      for (long i = 0; i + 8 <= n && at < 0; i++) {
        if (memcmp(b + i, pat, 8) == 0) {
          at = i;
        }
      }
      if (at < 0) {
        fprintf(stderr, "value %.17g not found in %s\n", needle, p);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      b[at + 3] ^= 0x10;
    }
    spit_(p, b, n);
    free(b);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static int msg_has_(const char *needle) { return strstr(sagd_error_message(), needle) != NULL; }

static void test_checksums_(void) {
  double x[40 * 4];
  for (int i = 0; i < 160; i++) {
    x[i] = 0.37 * i - 5.0 / (i + 1);
  }
  uint64_t whole = sagd_checksum_rows(x, 0, 40, 4);
  /* any split into row ranges adds up to the same value */
  for (size_t cut = 0; cut <= 40; cut += 7) {
    uint64_t parts = sagd_checksum_rows(x, 0, cut, 4) + sagd_checksum_rows(x + cut * 4, cut,
                                                                          40 - cut, 4);
    CHECK(parts == whole);
  }
  /* every single-bit flip is seen (guaranteed: each step is a bijection) */
  int missed = 0;
  for (int w = 0; w < 160; w++) {
    for (int bit = 0; bit < 64; bit++) {
      uint64_t u;
      memcpy(&u, &x[w], 8);
      u ^= (uint64_t)1 << bit;
      double saved = x[w];
      memcpy(&x[w], &u, 8);
      missed += sagd_checksum_rows(x, 0, 40, 4) == whole;
      x[w] = saved;
    }
  }
  CHECK(missed == 0);
  /* two rows swapped: seen (the row index is hashed) */
  double y[8] = {1, 2, 3, 4, 5, 6, 7, 8}, z[8] = {5, 6, 7, 8, 1, 2, 3, 4};
  CHECK(sagd_checksum_rows(y, 0, 2, 4) != sagd_checksum_rows(z, 0, 2, 4));
  /* the same top bit flipped in two words does not cancel */
  double a[2] = {1.5, 2.5}, b2[2] = {-1.5, -2.5};
  CHECK(sagd_checksum_row(0, a, 2) != sagd_checksum_row(0, b2, 2));
}

static void test_registry_errors_(void) {
  sagd_state st = NULL;
  REQUIRE_OK(sagd_state_create(&st));
  double v[2] = {0, 0};
  CHECK(sagd_state_add(st, "/abs", v, 2) == SAGD_ERR_ARG);
  CHECK(sagd_state_add(st, "bad name", v, 2) == SAGD_ERR_ARG);
  REQUIRE_OK(sagd_state_add(st, "a/b", v, 2));
  CHECK(sagd_state_add(st, "a/b", v, 2) == SAGD_ERR_ARG);
  CHECK(sagd_state_add(st, "a/b/c", v, 2) == SAGD_ERR_ARG); /* a/b cannot be a group */
  CHECK(sagd_state_add_rows(st, "r", v, 4, 1, 3, 2) == SAGD_ERR_ARG); /* rows 3..5 of 4 */
  sagd_state_destroy(&st);
  CHECK(st == NULL);
  /* rows that do not tile the array: refused by create on every rank */
  REQUIRE_OK(sagd_state_create(&st));
  REQUIRE_OK(sagd_state_add_rows(st, "r", v, 10, 1, 0, 1)); /* every rank claims row 0 */
  sagd_config cfg = cfg_("0", "0", NULL);
  sagd_run_info info = info_(cfg, NULL);
  sagd_checkpointer cp = NULL;
  int rc = sagd_checkpointer_create(&info, st, &cp);
  CHECK(rc == SAGD_ERR_ARG && cp == NULL);
  sagd_state_destroy(&st);
  sagd_config_destroy(&cfg);
}

/* Write with an even split, resume with a lopsided one (and vice versa): same values. */
static void test_roundtrip_(void) {
  sagd_config cfg = cfg_("0", "0", NULL);
  sagd_run_info info = info_(cfg, NULL);
  toy a;
  sagd_state st = toy_state_(&a, 0, 1.0);
  CHECK(sagd_state_count(st) == 4);
  sagd_checkpointer cp = NULL;
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  int resumed = -1;
  REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0)); /* empty dir: fresh start */
  CHECK(resumed == 0);
  REQUIRE_OK(sagd_checkpointer_tick(cp, 5, "phase one", 0)); /* not due */
  char p[512], prev[512], tmp[512];
  path_(p, sizeof p, "checkpoint.h5");
  path_(prev, sizeof prev, "checkpoint.h5.prev");
  path_(tmp, sizeof tmp, "checkpoint.h5.tmp");
  CHECK(file_size_(p) < 0);
  REQUIRE_OK(sagd_checkpointer_tick(cp, 5, "phase one", 1)); /* forced */
  CHECK(file_size_(p) > 0 && file_size_(tmp) < 0);
  uint64_t nw = 0;
  sagd_checkpointer_stats(cp, &nw, NULL, NULL, NULL);
  CHECK(nw == 1);
  sagd_checkpoint_summary s;
  REQUIRE_OK(sagd_checkpoint_verify(MPI_COMM_WORLD, p, &s));
  CHECK(s.iteration == 5 && strcmp(s.phase, "phase one") == 0 && s.n_ranks == size_ &&
        s.nentries == 4 && strcmp(s.experiment, "em_gamma") == 0);
  sagd_checkpoint_summary_free(&s);
  /* second checkpoint with other values: the first becomes .prev */
  sagd_checkpointer_destroy(&cp);
  sagd_state_destroy(&st);
  free(a.rows);
  st = toy_state_(&a, 0, 2.0);
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  REQUIRE_OK(sagd_checkpointer_write(cp, 9, "phase two"));
  CHECK(file_size_(prev) > 0);
  sagd_checkpointer_destroy(&cp);
  sagd_state_destroy(&st);
  free(a.rows);

  /* resume into fresh buffers with the other split */
  toy b;
  st = toy_state_(&b, 1, 0.0);
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  char phase[64];
  REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, phase, sizeof phase));
  CHECK(resumed == 1 && strcmp(phase, "phase two") == 0);
  CHECK(toy_is_(&b, 2.0));
  sagd_checkpointer_destroy(&cp);
  sagd_state_destroy(&st);
  free(b.rows);
  sagd_config_destroy(&cfg);
}

/* Policy: every N iterations (once per iteration), every S seconds, force. */
static void test_policy_(void) {
  sagd_config cfg = cfg_("3", "0", NULL);
  sagd_run_info info = info_(cfg, "never");
  toy a;
  sagd_state st = toy_state_(&a, 0, 3.0);
  sagd_checkpointer cp = NULL;
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  int resumed = -1;
  REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0)); /* "never": old files go */
  char p[512];
  path_(p, sizeof p, "checkpoint.h5");
  CHECK(resumed == 0 && file_size_(p) < 0);
  for (uint64_t it = 0; it <= 7; it++) {
    REQUIRE_OK(sagd_checkpointer_tick(cp, it, "x", 0));
    REQUIRE_OK(sagd_checkpointer_tick(cp, it, "x", 0)); /* same iteration again: no write */
  }
  uint64_t nw = 0;
  sagd_checkpointer_stats(cp, &nw, NULL, NULL, NULL);
  CHECK(nw == 2); /* iterations 3 and 6 */
  REQUIRE_OK(sagd_checkpointer_tick(cp, 7, "x", 1));
  sagd_checkpointer_stats(cp, &nw, NULL, NULL, NULL);
  CHECK(nw == 3);
  sagd_checkpointer_destroy(&cp);
  sagd_config_destroy(&cfg);
  /* seconds: rank 0's clock decides; after 0.2 s every rank writes */
  cfg = cfg_("0", "0.2", NULL);
  info = info_(cfg, NULL);
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  REQUIRE_OK(sagd_checkpointer_tick(cp, 1, "x", 0));
  sagd_checkpointer_stats(cp, &nw, NULL, NULL, NULL);
  CHECK(nw == 0);
  usleep(250000);
  REQUIRE_OK(sagd_checkpointer_tick(cp, 2, "x", 0));
  sagd_checkpointer_stats(cp, &nw, NULL, NULL, NULL);
  CHECK(nw == 1);
  sagd_checkpointer_destroy(&cp);
  sagd_state_destroy(&st);
  sagd_config_destroy(&cfg);
  free(a.rows);
}

/* A signal on one rank only: every rank writes and gets SAGD_STOPPED. A real raise() too. */
static void test_signal_(void) {
  sagd_config cfg = cfg_("0", "0", NULL);
  sagd_run_info info = info_(cfg, NULL);
  toy a;
  sagd_state st = toy_state_(&a, 0, 4.0);
  sagd_checkpointer cp = NULL;
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  if (rank_ == size_ - 1) {
    sagd_checkpoint_raise(SIGUSR1);
  }
  int rc = sagd_checkpointer_tick(cp, 11, "signalled", 0);
  CHECK(rc == SAGD_STOPPED);
  CHECK(msg_has_("SIGUSR1") && msg_has_("checkpoint.h5"));
  CHECK(sagd_error_exit_status(rc) == 75);
  uint64_t nw = 0;
  sagd_checkpointer_stats(cp, &nw, NULL, NULL, NULL);
  CHECK(nw == 1);
  CHECK(sagd_checkpoint_signal() == 0);
  REQUIRE_OK(sagd_checkpointer_tick(cp, 12, "after", 0)); /* the flag was consumed */
  if (rank_ == 0) {
    raise(SIGTERM); /* the handler catches it: the process lives on */
  }
  rc = sagd_checkpointer_tick(cp, 13, "terminated", 0);
  CHECK(rc == SAGD_STOPPED && msg_has_("SIGTERM"));
  sagd_checkpointer_destroy(&cp);
  sagd_state_destroy(&st);
  sagd_config_destroy(&cfg);
  free(a.rows);
}

/* sagd run's start-up: signals caught before any checkpointer exists are acted on at the first
 * tick (seen in CI: a TERM between the banner and the checkpointer killed a rank). Process-
 * wide from here on, so this runs last. */
static void test_signal_early_(void) {
  sagd_checkpoint_catch_signals();
  sagd_checkpoint_catch_signals(); /* idempotent */
  if (rank_ == 0) {
    raise(SIGUSR1); /* no checkpointer yet: caught, the process lives on */
  }
  CHECK(sagd_checkpoint_signal() == (rank_ == 0 ? SIGUSR1 : 0));
  sagd_config cfg = cfg_("0", "0", NULL);
  sagd_run_info info = info_(cfg, "never");
  toy a;
  sagd_state st = toy_state_(&a, 0, 4.0);
  sagd_checkpointer cp = NULL;
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  int rc = sagd_checkpointer_tick(cp, 1, "early", 0);
  CHECK(rc == SAGD_STOPPED && msg_has_("SIGUSR1"));
  uint64_t nw = 0;
  sagd_checkpointer_stats(cp, &nw, NULL, NULL, NULL);
  CHECK(nw == 1);
  sagd_checkpointer_destroy(&cp);
  raise(SIGTERM); /* still caught after the checkpointer is gone */
  CHECK(sagd_checkpoint_signal() == SIGTERM);
  sagd_checkpoint_raise(0);
  sagd_state_destroy(&st);
  sagd_config_destroy(&cfg);
  free(a.rows);
}

/* Damaged newest → fallback to .prev; both damaged → refused, files unchanged. */
static void test_damage_(void) {
  sagd_config cfg = cfg_("0", "0", NULL);
  sagd_run_info info = info_(cfg, "never");
  char p[512], prev[512], tmp[512], keep[512], keepprev[512];
  path_(p, sizeof p, "checkpoint.h5");
  path_(prev, sizeof prev, "checkpoint.h5.prev");
  path_(tmp, sizeof tmp, "checkpoint.h5.tmp");
  path_(keep, sizeof keep, "good.h5");
  path_(keepprev, sizeof keepprev, "good.h5.prev");
  /* two checkpoints: salt 5 (→ .prev) then salt 6 */
  for (int k = 5; k <= 6; k++) {
    toy a;
    sagd_state st = toy_state_(&a, 0, (double)k);
    sagd_checkpointer cp = NULL;
    info.resume = k == 5 ? "never" : "auto";
    REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
    if (k == 5) {
      int resumed = 0;
      REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
    }
    REQUIRE_OK(sagd_checkpointer_write(cp, (uint64_t)k, "d"));
    sagd_checkpointer_destroy(&cp);
    sagd_state_destroy(&st);
    free(a.rows);
  }
  copy_(p, keep);
  copy_(prev, keepprev);
  info.resume = NULL;
  const char hows[3] = {'t', 'z', 'f'};
  for (int h = 0; h < 3; h++) {
    copy_(keep, p);
    copy_(keepprev, prev);
    /* a value of the sharded rows written by salt 6 (row 20, column 1) */
    damage_(p, hows[h], cell_(20, 1, 6.0));
    int rc = sagd_checkpoint_verify(MPI_COMM_WORLD, p, NULL);
    CHECK(rc == SAGD_ERR_CORRUPT);
    if (hows[h] == 'f') {
      CHECK(msg_has_("chains/x") && msg_has_("checksum"));
    }
    toy b;
    sagd_state st = toy_state_(&b, 1, 0.0);
    sagd_checkpointer cp = NULL;
    REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
    int resumed = 0;
    if (rank_ == 0) {
      fprintf(stderr, "(expected below: a 'falling back' warning, damage '%c')\n", hows[h]);
    }
    REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
    CHECK(resumed == 1 && toy_is_(&b, 5.0)); /* the .prev values */
    sagd_checkpointer_destroy(&cp);
    sagd_state_destroy(&st);
    free(b.rows);
  }
  /* bit flip inside the metadata (the stored config text): caught by /meta/checksum */
  copy_(keep, p);
  if (rank_ == 0) {
    long n = 0;
    char *b = slurp_(p, &n);
    char *at = NULL;
    for (long i = 0; i + 14 < n && at == NULL; i++) {
      if (memcmp(b + i, "progress_every", 14) == 0) {
        at = b + i;
      }
    }
    CHECK(at != NULL);
    if (at != NULL) {
      at[2] ^= 0x01;
    }
    spit_(p, b, n);
    free(b);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(sagd_checkpoint_verify(MPI_COMM_WORLD, p, NULL) == SAGD_ERR_CORRUPT);
  CHECK(msg_has_("metadata"));

  /* both damaged: refused, and both files byte-identical afterwards */
  copy_(keep, p);
  copy_(keepprev, prev);
  damage_(p, 't', 0);
  damage_(prev, 'z', 0);
  long n1 = 0, n2 = 0;
  char *b1 = rank_ == 0 ? slurp_(p, &n1) : NULL, *b2 = rank_ == 0 ? slurp_(prev, &n2) : NULL;
  toy c;
  sagd_state st = toy_state_(&c, 0, 0.0);
  sagd_checkpointer cp = NULL;
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  int resumed = 0;
  int rc = sagd_checkpointer_resume(cp, &resumed, NULL, 0);
  CHECK(rc == SAGD_ERR_CORRUPT && resumed == 0 && sagd_error_exit_status(rc) == 2);
  CHECK(msg_has_("both checkpoints are damaged") && msg_has_("untouched"));
  if (rank_ == 0) {
    long m1 = 0, m2 = 0;
    char *a1 = slurp_(p, &m1), *a2 = slurp_(prev, &m2);
    CHECK(m1 == n1 && m2 == n2 && memcmp(a1, b1, (size_t)n1) == 0 &&
          memcmp(a2, b2, (size_t)n2) == 0);
    free(a1);
    free(a2);
  }
  free(b1);
  free(b2);
  sagd_checkpointer_destroy(&cp);

  /* a leftover .tmp (killed writer) is ignored */
  copy_(keep, p);
  copy_(keepprev, prev);
  if (rank_ == 0) {
    spit_(tmp, "garbage", 7);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
  CHECK(resumed == 1 && toy_is_(&c, 6.0));
  sagd_checkpointer_destroy(&cp);
  sagd_config_destroy(&cfg);

  /* another config: refused naming the key; a [checkpoint] key alone may differ */
  cfg = cfg_("0", "0", "sagd.delta=0.3");
  info = info_(cfg, NULL);
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  rc = sagd_checkpointer_resume(cp, &resumed, NULL, 0);
  CHECK(rc == SAGD_ERR_CONFIG && msg_has_("sagd.delta") && !msg_has_("checkpoint.every"));
  sagd_checkpointer_destroy(&cp);
  sagd_config_destroy(&cfg);
  cfg = cfg_("17", "5", NULL);
  info = info_(cfg, NULL);
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
  CHECK(resumed == 1);
  /* a named file: no fallback */
  info.resume = keepprev;
  REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
  CHECK(resumed == 1 && toy_is_(&c, 5.0));
  sagd_checkpointer_destroy(&cp);
  sagd_state_destroy(&st);
  sagd_config_destroy(&cfg);
  free(c.rows);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (rank_ == 0) {
    snprintf(dir_, sizeof dir_, "%s/sagd_ck_XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir_) == NULL) {
      perror("mkdtemp");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Bcast(dir_, sizeof dir_, MPI_CHAR, 0, MPI_COMM_WORLD);
  test_checksums_();
  test_registry_errors_();
  test_roundtrip_();
  test_policy_();
  test_signal_();
  test_damage_();
  test_signal_early_();
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_ == 0) {
    const char *names[] = {"checkpoint.h5", "checkpoint.h5.prev", "checkpoint.h5.tmp",
                           "good.h5", "good.h5.prev", NULL};
    for (int i = 0; names[i] != NULL; i++) {
      char p[512];
      path_(p, sizeof p, names[i]);
      unlink(p);
    }
    rmdir(dir_);
  }
  int failures = test_failures_, all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  if (all != 0) {
    fprintf(stderr, "[rank %d] %d check(s) failed here, %d on all ranks\n", rank_, failures,
            all);
    return 1;
  }
  return 0;
}
