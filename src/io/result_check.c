/* Does a run directory's file belong to this configuration: the config comparison of a
 * checkpoint or result, and whether result.h5 is complete (see include/sagd/checkpoint.h). */
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

int sagd_checkpoint_same_config(sagd_config cfg, const char *stored, const char *file) {
  if (strcmp(stored, sagd_config_text(cfg)) == 0) {
    return SAGD_OK;
  }
  sagd_config old = NULL;
  SAGD_CALL(sagd_config_create_like(cfg, &old));
  int rc = sagd_config_read_string(old, stored, file);
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    sagd_config_destroy(&old);
    SAGD_FAIL(SAGD_ERR_CONFIG, "'%s' was written with a configuration this sagd cannot read "
              "(%s); start over with --resume never --force or use another --out", file, msg);
  }
  char kept[4096] = "";
  const size_t nkept = sagd_config_diff_results(cfg, old, kept, sizeof kept);
  sagd_config_destroy(&old);
  SAGD_CHECK(nkept == 0, SAGD_ERR_CONFIG,
             "'%s' belongs to a run with another configuration: %zu key(s) differ: %s "
             "(use the same configuration to resume, another --out, or --force to start over)",
             file, nkept, kept);
  return SAGD_OK;
}

/* Rank 0 stats the paths; every rank learns which exist. */
int ck_exists_bcast(MPI_Comm comm, int n, const char *const *paths, int *ex) {
  int rank;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    for (int i = 0; i < n; i++) {
      struct stat stt;
      ex[i] = stat(paths[i], &stt) == 0;
    }
  }
  SAGD_CHECK_MPI(MPI_Bcast(ex, n, MPI_INT, 0, comm));
  return SAGD_OK;
}

int sagd_result_complete(const sagd_run_info *info, int *complete) {
  *complete = 0;
  char path[PATH_MAX], ck[PATH_MAX], ckp[PATH_MAX];
  SAGD_CALL(sagd_runfile_path(info->out_dir, "result.h5", "", path, sizeof path));
  SAGD_CALL(sagd_runfile_path(info->out_dir, "checkpoint.h5", "", ck, sizeof ck));
  SAGD_CALL(sagd_runfile_path(info->out_dir, "checkpoint.h5", ".prev", ckp, sizeof ckp));
  const char *paths[3] = {path, ck, ckp};
  int ex[3] = {0, 0, 0};
  SAGD_CALL(ck_exists_bcast(info->comm, 3, paths, ex));
  if (!ex[0]) {
    return SAGD_OK;
  }
  /* complete = readable, every checksum verifies, and written by this configuration */
  sagd_h5 f = NULL;
  char *cfgtext = NULL;
  int rc = SAGD_OK;
  SAGD_TRY(rc, read, sagd_h5_open(info->comm, path, 0, &f));
  SAGD_TRY(rc, read, sagd_runfile_verify(f, NULL, NULL));
  SAGD_TRY(rc, read, sagd_h5_read_attr_string(f, "/meta", "config", &cfgtext));
read:
  sagd_h5_close(&f);
  if (rc != SAGD_OK) {
    char why[768];
    snprintf(why, sizeof why, "%s", sagd_error_message());
    SAGD_CHECK(ex[1] || ex[2], SAGD_ERR_CORRUPT,
               "the finished result is damaged (%s) and there is no checkpoint to recompute "
               "it from: --force runs the configuration again from the start",
               why);
    if (info->rank == 0) {
      fprintf(stderr, "sagd: warning: the finished result is damaged (%s): recomputing it "
              "from the checkpoints\n", why);
    }
    sagd_error_clear();
    return SAGD_OK;
  }
  rc = sagd_checkpoint_same_config(info->cfg, cfgtext, path);
  free(cfgtext);
  SAGD_CALL(rc);
  *complete = 1;
  return SAGD_OK;
}
