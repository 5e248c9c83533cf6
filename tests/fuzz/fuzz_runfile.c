/* libFuzzer harness: the run-file readers over mutated run files. The bytes are written to a
 * file and read as a checkpoint (sagd_checkpoint_verify: metadata, manifest, every row's
 * checksum, the summary) and as a result file (sagd_runfile_verify: every dataset and its
 * checksum, the config text against its hash), as `sagd run`, `sagd inspect` and `sagd
 * table` read them. Seeds: a small real checkpoint.h5 and result.h5. Any crash or sanitizer
 * report is a bug (in sagd, or in libhdf5: then guarded or documented); refusals are
 * expected. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sagd/checkpoint.h"
#include "sagd/error.h"
#include "sagd/h5.h"
#include "sagd/runfile.h"

static char path_[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  MPI_Init(argc, argv);
  snprintf(path_, sizeof path_, "/tmp/sagd_fuzz_runfile_%d.h5", (int)getpid());
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *fp = fopen(path_, "wb");
  if (fp == NULL || (size > 0 && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
    abort();
  }
  sagd_checkpoint_summary s = {0};
  (void)sagd_checkpoint_verify(MPI_COMM_SELF, path_, &s);
  sagd_checkpoint_summary_free(&s);
  sagd_error_clear();
  sagd_h5 f = NULL;
  if (sagd_h5_open(MPI_COMM_SELF, path_, 0, &f) == SAGD_OK) {
    size_t nd = 0, nc = 0;
    (void)sagd_runfile_verify(f, &nd, &nc);
    (void)sagd_h5_close(&f);
  }
  sagd_error_clear();
  return 0;
}
