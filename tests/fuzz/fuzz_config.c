/* libFuzzer harness: the configuration reader over arbitrary bytes. The first byte picks the
 * entry point: even, the bytes are INI text (sagd_config_read_string, as a config file or the
 * config stored in a run file); odd, every line is a `--set section.key=value` assignment
 * (sagd_config_set). A config that reads is then printed, hashed and compared with the
 * defaults, and every key read back by its type, as the experiments do. Any crash, sanitizer
 * report or leak is a bug; errors are expected and ignored. */
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/config.h"
#include "sagd/error.h"
#include "sagd/experiment.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  MPI_Init(argc, argv);
  return 0;
}

static void read_back_(sagd_config cfg) {
  for (const sagd_config_key *k = sagd_config_keys(); k->section != NULL; k++) {
    switch (k->type) {
    case SAGD_CFG_INT:
      (void)sagd_config_int(cfg, k->section, k->key);
      break;
    case SAGD_CFG_REAL:
      (void)sagd_config_real(cfg, k->section, k->key);
      break;
    case SAGD_CFG_BOOL:
      (void)sagd_config_bool(cfg, k->section, k->key);
      break;
    case SAGD_CFG_REALS: {
      double v[64];
      size_t n = sagd_config_reals_len(cfg, k->section, k->key);
      if (n <= 64) {
        (void)sagd_config_reals(cfg, k->section, k->key, v, 0, 64, &n);
      }
      break;
    }
    default:
      (void)strlen(sagd_config_string(cfg, k->section, k->key));
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  char *text = malloc(size);
  if (text == NULL) {
    return 0;
  }
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  sagd_config cfg = NULL, def = NULL;
  if (sagd_config_create(sagd_config_keys(), &cfg) != SAGD_OK ||
      sagd_config_create(sagd_config_keys(), &def) != SAGD_OK) {
    abort();
  }
  int rc = SAGD_OK;
  if ((data[0] & 1) == 0) {
    rc = sagd_config_read_string(cfg, text, "fuzz");
  } else {
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL && rc == SAGD_OK;
         line = strtok_r(NULL, "\n", &save)) {
      rc = sagd_config_set(cfg, line);
    }
  }
  if (rc == SAGD_OK) {
    char diff[512];
    (void)sagd_config_text(cfg);
    (void)sagd_config_hash(cfg);
    (void)sagd_config_diff(cfg, def, diff, sizeof diff);
    (void)sagd_config_diff_results(cfg, def, diff, sizeof diff);
    read_back_(cfg);
    /* the printed config reads back to the same configuration */
    sagd_config again = NULL;
    if (sagd_config_create_like(cfg, &again) != SAGD_OK ||
        sagd_config_read_string(again, sagd_config_text(cfg), "fuzz text") != SAGD_OK ||
        sagd_config_hash(again) != sagd_config_hash(cfg)) {
      abort();
    }
    sagd_config_destroy(&again);
  }
  sagd_error_clear();
  sagd_config_destroy(&cfg);
  sagd_config_destroy(&def);
  free(text);
  return 0;
}
