/* The checkpointer: atomic collective checkpoint files, resume with fallback to the
 * previous checkpoint, and the signal flag (see include/sagd/checkpoint.h).
 *
 * Every decision that could differ between ranks (a signal arrived on one rank only, a
 * checksum failed on one rank's rows, rank 0's clock says the time is up) is agreed on
 * with an allreduce before anyone acts on it, so all ranks always take the same branch. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint_impl.h"
#include "sagd/error.h"
#include "sagd/watchdog.h"
#include "sagd/h5.h"
#include "sagd/runfile.h"

static volatile sig_atomic_t ck_signal_ = 0;

static void ck_handler_(int sig) { ck_signal_ = sig; }

int sagd_checkpoint_signal(void) { return (int)ck_signal_; }

void sagd_checkpoint_raise(int sig) { ck_signal_ = sig; }

static int catching_ = 0; /* the flag handler is installed for the whole process */

void sagd_checkpoint_catch_signals(void) {
  if (catching_) {
    return;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = ck_handler_;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  catching_ = 1;
}

static const char *signame_(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "a signal";
}

struct sagd_checkpointer_s {
  const sagd_run_info *info;
  MPI_Comm comm;
  int rank, size;
  sagd_state st;
  uint64_t every;
  double seconds;
  double t_create, wall_base, t_last;
  uint64_t last_every;
  int have_last_every;
  int delay_ms;
  int newest_damaged; /* resumed from .prev: do not keep the damaged newest as .prev */
  uint64_t *sums;
  sagd_checkpoint_entry *ents;
  double *pack; /* st->rep_total: the replicated row */
  char path[PATH_MAX], prev[PATH_MAX], tmp[PATH_MAX];
  struct sigaction old_term, old_usr1;
  int installed;
  uint64_t nwritten;
  double bytes, wsec, rsec;
  double stall; /* run.stall_seconds (0: no watchdog) */
};

/* Every rank registered the same names/kinds/shapes; sharded rows tile their arrays. */
static int check_registry_(sagd_checkpointer cp) {
  sagd_state st = cp->st;
  uint64_t h = 0, mine[2], mx[2], mn[2];
  for (size_t i = 0; i < st->n; i++) {
    const ck_entry *e = &st->e[i];
    char line[CK_NAME_MAX + 64];
    snprintf(line, sizeof line, "%s %c %zu %zu\n", e->name, e->kind, e->rows, e->cols);
    h = sagd_checksum_bytes(line, strlen(line), h);
  }
  mine[0] = h;
  mine[1] = st->n;
  SAGD_CHECK_MPI(MPI_Allreduce(mine, mx, 2, MPI_UINT64_T, MPI_MAX, cp->comm));
  SAGD_CHECK_MPI(MPI_Allreduce(mine, mn, 2, MPI_UINT64_T, MPI_MIN, cp->comm));
  SAGD_CHECK(mx[0] == mn[0] && mx[1] == mn[1], SAGD_ERR_ARG,
             "the ranks registered different checkpoint states (%" PRIu64 " entries here; "
             "between %" PRIu64 " and %" PRIu64 " on the ranks): every rank must register the "
             "same names, kinds and shapes", mine[1], mn[1], mx[1]);
  unsigned long long *all = calloc(2 * (size_t)cp->size, sizeof *all);
  SAGD_CHECK(all != NULL, SAGD_ERR_MEM, "cannot allocate %d row ranges", cp->size);
  int rc = SAGD_OK;
  for (size_t i = 0; i < st->n && rc == SAGD_OK; i++) {
    const ck_entry *e = &st->e[i];
    if (e->kind != 'S') {
      continue;
    }
    unsigned long long r[2] = {e->row0, e->nrows};
    int mpierr = MPI_Allgather(r, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG,
                               cp->comm);
    if (mpierr != MPI_SUCCESS) {
      rc = sagd_error_mpi(mpierr, "MPI_Allgather", __FILE__, __LINE__, __func__);
      break;
    }
    /* the ranges, in rank order, must be contiguous from 0 to rows (ranks own ascending
     * shards); empty ranges are allowed anywhere */
    unsigned long long next = 0;
    for (int q = 0; q < cp->size; q++) {
      if (all[2 * q + 1] == 0) {
        continue;
      }
      if (all[2 * q] != next) {
        rc = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                            "state '%s': rank %d registered rows from %llu, expected %llu "
                            "(the ranks' rows must tile [0, %zu) in rank order)",
                            e->name, q, all[2 * q], next, e->rows);
        break;
      }
      next += all[2 * q + 1];
    }
    if (rc == SAGD_OK && next != e->rows) {
      rc = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                          "state '%s': the ranks registered %llu of its %zu rows", e->name,
                          next, e->rows);
    }
  }
  free(all);
  return rc;
}

int sagd_checkpointer_create(const sagd_run_info *info, sagd_state st, sagd_checkpointer *out) {
  SAGD_CHECK(info != NULL && st != NULL && out != NULL, SAGD_ERR_ARG,
             "sagd_checkpointer_create: NULL argument");
  *out = NULL;
  int64_t every = sagd_config_int(info->cfg, "checkpoint", "every");
  double seconds = sagd_config_real(info->cfg, "checkpoint", "seconds");
  SAGD_CHECK(every >= 0, SAGD_ERR_CONFIG, "checkpoint.every = %lld: expected >= 0 (0 = off)",
             (long long)every);
  SAGD_CHECK(seconds >= 0, SAGD_ERR_CONFIG, "checkpoint.seconds = %g: expected >= 0 (0 = off)",
             seconds);
  const double stall = sagd_config_real(info->cfg, "run", "stall_seconds");
  SAGD_CHECK(isfinite(stall) && stall >= 0, SAGD_ERR_CONFIG,
             "run.stall_seconds = %g: expected >= 0 seconds (0 = no watchdog)", stall);
  sagd_checkpointer cp = calloc(1, sizeof *cp);
  SAGD_CHECK(cp != NULL, SAGD_ERR_MEM, "cannot allocate a checkpointer");
  cp->info = info;
  cp->comm = info->comm;
  cp->rank = info->rank;
  cp->size = info->size;
  cp->st = st;
  cp->every = (uint64_t)every;
  cp->seconds = seconds;
  cp->stall = stall;
  cp->t_create = ck_now();
  cp->t_last = cp->t_create;
  const char *d = getenv("SAGD_CHECKPOINT_DELAY_MS"); /* tests: widen the write window */
  cp->delay_ms = d != NULL ? atoi(d) : 0;
  int rc = SAGD_OK;
  SAGD_TRY(rc, fail, sagd_runfile_path(info->out_dir, CK_NAME, "", cp->path, sizeof cp->path));
  SAGD_TRY(rc, fail,
           sagd_runfile_path(info->out_dir, CK_NAME, ".prev", cp->prev, sizeof cp->prev));
  SAGD_TRY(rc, fail, sagd_runfile_path(info->out_dir, CK_NAME, ".tmp", cp->tmp, sizeof cp->tmp));
  cp->sums = calloc(st->n > 0 ? st->n : 1, sizeof *cp->sums);
  cp->ents = calloc(st->n > 0 ? st->n : 1, sizeof *cp->ents);
  cp->pack = calloc(st->rep_total > 0 ? st->rep_total : 1, sizeof *cp->pack);
  if (cp->sums == NULL || cp->ents == NULL || cp->pack == NULL) {
    rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                        "cannot allocate checksums for %zu state entries", st->n);
    goto fail;
  }
  SAGD_TRY(rc, fail, check_registry_(cp));
  if (!catching_) { /* a library caller: catch for this checkpointer's lifetime only */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ck_handler_;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, &cp->old_term);
    sigaction(SIGUSR1, &sa, &cp->old_usr1);
    cp->installed = 1;
  }
  *out = cp;
  return SAGD_OK;
fail:
  sagd_checkpointer_destroy(&cp);
  return rc;
}

void sagd_checkpointer_destroy(sagd_checkpointer *cp) {
  if (cp == NULL || *cp == NULL) {
    return;
  }
  if ((*cp)->stall > 0) {
    sagd_watchdog_stop();
  }
  if ((*cp)->installed) {
    sigaction(SIGTERM, &(*cp)->old_term, NULL);
    sigaction(SIGUSR1, &(*cp)->old_usr1, NULL);
  }
  free((*cp)->sums);
  free((*cp)->ents);
  free((*cp)->pack);
  free(*cp);
  *cp = NULL;
}

double sagd_checkpointer_wall(sagd_checkpointer cp) {
  return cp->wall_base + (ck_now() - cp->t_create);
}

void sagd_checkpointer_stats(sagd_checkpointer cp, uint64_t *written, double *bytes,
                             double *write_seconds, double *read_seconds) {
  if (written != NULL) {
    *written = cp->nwritten;
  }
  if (bytes != NULL) {
    *bytes = cp->bytes;
  }
  if (write_seconds != NULL) {
    *write_seconds = cp->wsec;
  }
  if (read_seconds != NULL) {
    *read_seconds = cp->rsec;
  }
}

/* ---- writing ---- */

/* Partial checksums of this rank's share: sharded rows, and (rank 0) the replicated
 * entries, packed into cp->pack on the way. */
static int local_sums_(sagd_checkpointer cp) {
  sagd_state st = cp->st;
  for (size_t i = 0; i < st->n; i++) {
    const ck_entry *e = &st->e[i];
    uint64_t s = 0;
    if (e->kind == 'S') {
      s = sagd_checksum_rows(e->buf, e->row0, e->nrows, e->cols);
    } else if (cp->rank == 0) {
      double *dst = cp->pack + e->offset;
      if (e->kind == 'C') {
        SAGD_CALL(ck_counter_get(e, dst));
      } else if (e->cols > 0) {
        memcpy(dst, e->buf, e->cols * sizeof(double));
      }
      s = sagd_checksum_row(0, dst, e->cols);
    }
    cp->sums[i] = s;
  }
  return SAGD_OK;
}

/* Everything up to the closed, fsync'ed DIR/checkpoint.h5.tmp. */
static int write_tmp_(sagd_checkpointer cp, sagd_checkpoint_summary *s, const char *manifest) {
  const sagd_run_info *info = cp->info;
  sagd_h5 f = NULL;
  SAGD_CALL(sagd_runfile_begin(info, CK_NAME, &f));
  int rc = SAGD_OK;
  char ck[32], wall[64];
  snprintf(wall, sizeof wall, "%.6f", s->wall_seconds);
  s->wall_seconds = strtod(wall, NULL); /* exactly what the file will say */
  sagd_state st = cp->st;
  SAGD_TRY(rc, done, sagd_h5_read_attr_string(f, "/meta", "created", &s->created));
  snprintf(ck, sizeof ck, "%016" PRIx64, ck_meta_checksum(s, manifest));
  SAGD_TRY(rc, done, sagd_h5_attr_string(f, "/meta", "kind", "checkpoint"));
  SAGD_TRY(rc, done, sagd_h5_attr_string(f, "/meta", "phase", s->phase));
  SAGD_TRY(rc, done, sagd_h5_attr_int(f, "/meta", "iteration", (int64_t)s->iteration));
  SAGD_TRY(rc, done, sagd_h5_attr_string(f, "/meta", "wall_seconds", wall));
  SAGD_TRY(rc, done, sagd_h5_attr_string(f, "/meta", "manifest", manifest));
  SAGD_TRY(rc, done, sagd_h5_attr_string(f, "/meta", "checksum", ck));
  /* rank 0 writes the packed replicated row */
  SAGD_TRY(rc, done, sagd_h5_write_rows(f, "/state/replicated", 1, st->rep_total, 0,
                                        cp->rank == 0 ? 1 : 0, cp->pack));
  for (size_t i = 0; i < st->n; i++) {
    const ck_entry *e = &st->e[i];
    if (e->kind == 'S') {
      char dp[CK_NAME_MAX + 16];
      ck_dset_path(e->name, dp, sizeof dp);
      SAGD_TRY(rc, done, sagd_h5_write_rows(f, dp, e->rows, e->cols, e->row0, e->nrows, e->buf));
    }
  }
  if (cp->delay_ms > 0) {
    usleep((useconds_t)cp->delay_ms * 1000u);
  }
done:
  if (rc != SAGD_OK) {
    sagd_h5_close(&f);
    return rc;
  }
  SAGD_CALL(sagd_runfile_finish(info, CK_NAME, &f));
  return SAGD_OK;
}

/* The reopened file must hold exactly what was meant: same manifest, every checksum. */
static int verify_tmp_(sagd_checkpointer cp, const char *manifest) {
  sagd_checkpoint_summary s;
  SAGD_CALL(sagd_checkpoint_verify(cp->comm, cp->tmp, &s));
  size_t n = s.nentries;
  int same = n == cp->st->n;
  for (size_t i = 0; same && i < n; i++) {
    same = s.entries[i].checksum == cp->ents[i].checksum &&
           strcmp(s.entries[i].name, cp->ents[i].name) == 0;
  }
  sagd_checkpoint_summary_free(&s);
  (void)manifest;
  SAGD_CHECK(same, SAGD_ERR_IO, "checkpoint '%s' read back differs from what was written",
             cp->tmp);
  return SAGD_OK;
}

/* The watchdog's message: who stalled, and where the work is kept. */
static void stall_message_(sagd_checkpointer cp, const char *label) {
  char host[256] = "?", kept[PATH_MAX + 320], msg[PATH_MAX + 1024];
  gethostname(host, sizeof host - 1);
  if (cp->nwritten > 0 || access(cp->path, F_OK) == 0) {
    snprintf(kept, sizeof kept, "the work up to the checkpoint '%s'%s%s%s is kept", cp->path,
             label != NULL ? " (" : "", label != NULL ? label : "", label != NULL ? ")" : "");
  } else {
    snprintf(kept, sizeof kept, "no checkpoint was written yet");
  }
  snprintf(msg, sizeof msg,
           "sagd: error (rank %d on %s): no iteration finished for %g s (run.stall_seconds): "
           "another rank or node stopped responding (a node lost or frozen, a network "
           "partition?), so this job ends; %s: run the same command again to resume, on the "
           "nodes that remain",
           cp->rank, host, cp->stall, kept);
  sagd_watchdog_message(msg);
}

int sagd_checkpointer_write(sagd_checkpointer cp, uint64_t iteration, const char *phase) {
  double t0 = ck_now();
  sagd_state st = cp->st;
  SAGD_CALL(local_sums_(cp));
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, cp->sums, (int)st->n, MPI_UINT64_T, MPI_SUM,
                               cp->comm));
  double bytes = 0;
  for (size_t i = 0; i < st->n; i++) {
    sagd_checkpoint_entry *e = &cp->ents[i];
    snprintf(e->name, sizeof e->name, "%s", st->e[i].name);
    e->kind = st->e[i].kind;
    e->rows = st->e[i].rows;
    e->cols = st->e[i].cols;
    e->offset = st->e[i].kind == 'S' ? 0 : st->e[i].offset;
    e->checksum = cp->sums[i];
    bytes += 8.0 * (double)e->rows * (double)e->cols;
  }
  char *manifest = ck_manifest_text(cp->ents, st->n);
  SAGD_CHECK(manifest != NULL, SAGD_ERR_MEM, "cannot allocate the checkpoint manifest");

  /* Replicated metadata must be identical on every rank: rank 0's phase and clock. */
  char ph[256];
  snprintf(ph, sizeof ph, "%s", phase != NULL ? phase : "");
  double wall = sagd_checkpointer_wall(cp);
  int rc = SAGD_OK;
  int mpierr = MPI_Bcast(ph, (int)sizeof ph, MPI_CHAR, 0, cp->comm);
  if (mpierr == MPI_SUCCESS) {
    mpierr = MPI_Bcast(&wall, 1, MPI_DOUBLE, 0, cp->comm);
  }
  if (mpierr != MPI_SUCCESS) {
    free(manifest);
    return sagd_error_mpi(mpierr, "MPI_Bcast", __FILE__, __LINE__, __func__);
  }
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sagd_config_hash(cp->info->cfg));
  char sv[64];
#ifdef SAGD_VERSION
  snprintf(sv, sizeof sv, "%s", SAGD_VERSION);
#else
  snprintf(sv, sizeof sv, "unknown");
#endif
  sagd_checkpoint_summary s;
  memset(&s, 0, sizeof s);
  s.format_version = SAGD_FORMAT_VERSION;
  s.experiment = (char *)sagd_config_string(cp->info->cfg, "run", "experiment");
  s.config = (char *)sagd_config_text(cp->info->cfg);
  s.config_hash = hash;
  s.n_ranks = cp->size;
  s.phase = ph;
  s.iteration = iteration;
  s.wall_seconds = wall;
  s.sagd_version = sv;
  rc = write_tmp_(cp, &s, manifest);
  free(s.created);
  if (rc == SAGD_OK) {
    rc = verify_tmp_(cp, manifest);
  }
  free(manifest);
  /* The checkpoint counts only if every rank succeeded. */
  int ok = rc == SAGD_OK, all_ok = 0;
  SAGD_CHECK_MPI(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, cp->comm));
  if (!ok) {
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  SAGD_CHECK(all_ok, SAGD_ERR_IO, "checkpoint '%s' was not completed: another rank failed "
             "(see its message); the previous checkpoint is kept", cp->tmp);
  SAGD_CALL(sagd_runfile_publish(cp->info, CK_NAME, !cp->newest_damaged));
  cp->newest_damaged = 0;
  cp->nwritten++;
  cp->bytes += bytes;
  cp->wsec += ck_now() - t0;
  if (cp->rank == 0) {
    cp->t_last = ck_now();
  }
  if (cp->stall > 0) {
    stall_message_(cp, phase);
    sagd_watchdog_kick();
  }
  return SAGD_OK;
}

int sagd_checkpointer_tick(sagd_checkpointer cp, uint64_t iteration, const char *phase,
                           int force) {
  sagd_watchdog_kick(); /* an iteration boundary: progress */
  int flags[2] = {(int)ck_signal_, 0};
  if (cp->rank == 0 && cp->seconds > 0 && ck_now() - cp->t_last >= cp->seconds) {
    flags[1] = 1; /* rank 0's clock decides for everyone */
  }
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, cp->comm));
  int every_due = cp->every > 0 && iteration > 0 && iteration % cp->every == 0 &&
                  !(cp->have_last_every && cp->last_every == iteration);
  if (!(force || flags[0] || flags[1] || every_due)) {
    return SAGD_OK;
  }
  SAGD_CALL(sagd_checkpointer_write(cp, iteration, phase));
  if (every_due) {
    cp->last_every = iteration;
    cp->have_last_every = 1;
  }
  if (flags[0] != 0) {
    ck_signal_ = 0;
    SAGD_FAIL(SAGD_STOPPED, "stopped by %s at iteration %" PRIu64 " (%s): checkpoint written "
              "to '%s'; run the same command again to resume (exit status 75)",
              signame_(flags[0]), iteration, phase != NULL ? phase : "", cp->path);
  }
  return SAGD_OK;
}

/* ---- reading ---- */

/* Read the registered entries from an open checkpoint, checking every checksum. */
static int load_data_(sagd_checkpointer cp, sagd_h5 f, const char *path,
                      const sagd_checkpoint_summary *s) {
  sagd_state st = cp->st;
  /* shapes first: an incompatible file is refused before anything is read */
  for (size_t i = 0; i < st->n; i++) {
    const ck_entry *e = &st->e[i];
    const sagd_checkpoint_entry *m = NULL;
    for (size_t j = 0; j < s->nentries && m == NULL; j++) {
      if (strcmp(s->entries[j].name, e->name) == 0) {
        m = &s->entries[j];
      }
    }
    SAGD_CHECK(m != NULL, SAGD_ERR_CORRUPT,
               "checkpoint '%s' has no '%s': it was written by another version of this "
               "experiment", path, e->name);
    SAGD_CHECK(m->kind == e->kind && m->rows == e->rows && m->cols == e->cols &&
                   (e->kind == 'S' || m->offset == e->offset),
               SAGD_ERR_CORRUPT,
               "checkpoint '%s' holds '%s' as %c[%zu x %zu]; this run expects %c[%zu x %zu]",
               path, e->name, m->kind, m->rows, m->cols, e->kind, e->rows, e->cols);
    cp->ents[i] = *m;
  }
  size_t total = 0;
  SAGD_CALL(ck_manifest_replicated(s, path, &total));
  SAGD_CHECK(total == st->rep_total, SAGD_ERR_CORRUPT,
             "checkpoint '%s' holds %zu replicated values; this run expects %zu", path, total,
             st->rep_total);
  /* every rank reads the replicated row and checks each entry's slice itself */
  int bad_local = 0;
  int rc = sagd_h5_read_rows(f, "/state/replicated", 0, 1, total, cp->pack);
  for (size_t i = 0; i < st->n && rc == SAGD_OK; i++) {
    const ck_entry *e = &st->e[i];
    cp->sums[i] = 0;
    if (e->kind == 'S') {
      char dp[CK_NAME_MAX + 16];
      ck_dset_path(e->name, dp, sizeof dp);
      rc = sagd_h5_read_rows(f, dp, e->row0, e->nrows, e->cols, e->buf);
      if (rc == SAGD_OK) {
        cp->sums[i] = sagd_checksum_rows(e->buf, e->row0, e->nrows, e->cols);
      }
      continue;
    }
    const double *src = cp->pack + e->offset;
    int bad = sagd_checksum_row(0, src, e->cols) != cp->ents[i].checksum;
    if (e->kind == 'C') {
      double d = src[0];
      bad |= !(d >= 0 && d <= 9007199254740992.0 && d == (double)(uint64_t)d);
      if (!bad) {
        ck_counter_set(e, d);
      }
    } else if (!bad && e->cols > 0) {
      memcpy(e->buf, src, e->cols * sizeof(double));
    }
    bad_local |= bad;
  }
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    SAGD_FAIL(rc == SAGD_ERR_MEM ? rc : SAGD_ERR_CORRUPT, "checkpoint '%s' is damaged: %s",
              path, msg);
  }
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, cp->sums, (int)st->n, MPI_UINT64_T, MPI_SUM,
                               cp->comm));
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &bad_local, 1, MPI_INT, MPI_MAX, cp->comm));
  SAGD_CHECK(!bad_local, SAGD_ERR_CORRUPT,
             "checkpoint '%s': a replicated state entry fails its checksum: the file is "
             "damaged",
             path);
  for (size_t i = 0; i < st->n; i++) {
    SAGD_CHECK(st->e[i].kind != 'S' || cp->sums[i] == cp->ents[i].checksum, SAGD_ERR_CORRUPT,
               "checkpoint '%s': dataset /state/%s fails its checksum (stored %016" PRIx64
               ", computed %016" PRIx64 "): the file is damaged",
               path, st->e[i].name, cp->ents[i].checksum, cp->sums[i]);
  }
  return SAGD_OK;
}

/* Try one file: SAGD_OK (loaded), SAGD_ERR_CONFIG (wrong config: no fallback), or another
 * code (damaged or incompatible) with the message recorded. */
static int load_(sagd_checkpointer cp, const char *path, sagd_checkpoint_summary *s) {
  sagd_h5 f = NULL;
  char *manifest = NULL;
  SAGD_CALL(ck_open_meta(cp->comm, path, &f, s, &manifest));
  free(manifest);
  int rc = sagd_checkpoint_same_config(cp->info->cfg, s->config, path);
  if (rc == SAGD_OK) {
    rc = load_data_(cp, f, path, s);
  }
  int rc2 = sagd_h5_close(&f);
  if (rc != SAGD_OK) {
    sagd_checkpoint_summary_free(s);
    return rc;
  }
  if (rc2 != SAGD_OK) {
    sagd_checkpoint_summary_free(s);
    return rc2;
  }
  return SAGD_OK;
}

static void remove_old_(sagd_checkpointer cp) {
  char result[PATH_MAX];
  if (cp->rank != 0 ||
      sagd_runfile_path(cp->info->out_dir, "result.h5", "", result, sizeof result) != 0) {
    sagd_error_clear();
    return;
  }
  const char *paths[4] = {cp->path, cp->prev, cp->tmp, result};
  for (int i = 0; i < 4; i++) {
    if (unlink(paths[i]) == 0 && !cp->info->quiet) {
      printf("starting over: removed '%s'\n", paths[i]);
    }
  }
  fflush(stdout);
}

static int resume_body_(sagd_checkpointer cp, int *resumed, char *phase, size_t cap);

int sagd_checkpointer_resume(sagd_checkpointer cp, int *resumed, char *phase, size_t cap) {
  char label[256] = "";
  SAGD_CALL(resume_body_(cp, resumed, label, sizeof label));
  if (phase != NULL && cap > 0) {
    snprintf(phase, cap, "%s", label);
  }
  if (cp->stall > 0) { /* armed from here on: every tick is progress */
    SAGD_CALL(sagd_watchdog_start(cp->stall, "sagd: stalled"));
    stall_message_(cp, *resumed ? label : NULL);
  }
  return SAGD_OK;
}

static int resume_body_(sagd_checkpointer cp, int *resumed, char *phase, size_t cap) {
  *resumed = 0;
  if (phase != NULL && cap > 0) {
    phase[0] = '\0';
  }
  const char *mode = cp->info->resume != NULL ? cp->info->resume : "auto";
  if (strcmp(mode, "never") == 0) {
    remove_old_(cp);
    SAGD_CHECK_MPI(MPI_Barrier(cp->comm));
    return SAGD_OK;
  }
  double t0 = ck_now();
  sagd_checkpoint_summary s;
  memset(&s, 0, sizeof s);
  const char *used = NULL;
  int rc;
  if (strcmp(mode, "auto") != 0) { /* a named file: no fallback */
    const char *paths[1] = {mode};
    int ex = 0;
    SAGD_CALL(ck_exists_bcast(cp->comm, 1, paths, &ex));
    SAGD_CHECK(ex, SAGD_ERR_ARG, "--resume '%s': no such file", mode);
    rc = load_(cp, mode, &s);
    if (rc != SAGD_OK) {
      char msg[2048];
      snprintf(msg, sizeof msg, "%s", sagd_error_message());
      SAGD_FAIL(rc, "cannot resume from '%s': %s", mode, msg);
    }
    used = mode;
  } else {
    const char *paths[3] = {cp->path, cp->prev, cp->tmp};
    int ex[3] = {0, 0, 0};
    SAGD_CALL(ck_exists_bcast(cp->comm, 3, paths, ex));
    if (ex[2] && cp->rank == 0) {
      fprintf(stderr, "sagd: note: ignoring '%s', left by an interrupted checkpoint write\n",
              cp->tmp);
    }
    if (!ex[0] && !ex[1]) {
      return SAGD_OK; /* nothing to resume: a fresh start */
    }
    char why[2048] = "";
    rc = SAGD_ERR_CORRUPT;
    if (ex[0]) {
      rc = load_(cp, cp->path, &s);
      SAGD_CALL(rc == SAGD_ERR_CONFIG ? rc : SAGD_OK);
      if (rc == SAGD_OK) {
        used = cp->path;
      } else {
        snprintf(why, sizeof why, "%s", sagd_error_message());
        sagd_error_clear();
      }
    } else {
      snprintf(why, sizeof why, "'%s' is missing", cp->path);
    }
    if (used == NULL) {
      SAGD_CHECK(ex[1], SAGD_ERR_CORRUPT,
                 "cannot resume: %s, and there is no '%s' to fall back to; nothing was "
                 "changed (start over with --resume never --force)", why, cp->prev);
      if (cp->rank == 0) {
        fprintf(stderr, "sagd: warning: %s; falling back to the previous checkpoint '%s'\n",
                why, cp->prev);
      }
      rc = load_(cp, cp->prev, &s);
      if (rc == SAGD_ERR_CONFIG) {
        return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
      }
      if (rc != SAGD_OK) {
        char why2[2048];
        snprintf(why2, sizeof why2, "%s", sagd_error_message());
        SAGD_FAIL(SAGD_ERR_CORRUPT, "cannot resume: both checkpoints are damaged: %s; and %s. "
                  "Both files were left untouched (start over with --resume never --force, "
                  "or name a good checkpoint with --resume FILE)", why, why2);
      }
      used = cp->prev;
      cp->newest_damaged = ex[0];
    }
  }
  *resumed = 1;
  cp->wall_base = s.wall_seconds;
  cp->t_create = ck_now();
  cp->rsec += cp->t_create - t0;
  if (phase != NULL && cap > 0) {
    snprintf(phase, cap, "%s", s.phase);
  }
  if (cp->rank == 0 && !cp->info->quiet) {
    printf("resuming from '%s': %s, iteration %" PRIu64 ", written by %" PRId64
           " rank(s) at %s (%.3g MB read in %.3gs)\n",
           used, s.phase, s.iteration, s.n_ranks, s.created, s.bytes / 1e6,
           cp->rsec);
    fflush(stdout);
  }
  sagd_checkpoint_summary_free(&s);
  return SAGD_OK;
}
