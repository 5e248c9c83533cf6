/* `sagd run CONFIG.ini [options]`: read and validate the configuration, check the output
 * directory, run the experiment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sagd/config.h"
#include "sagd/error.h"
#include "sagd/experiment.h"
#include "sagd/runfile.h"

static void run_usage_(FILE *out) {
  fprintf(out,
          "usage: mpiexec -n N sagd run CONFIG.ini [--out DIR] [--set section.key=value ...]\n"
          "                             [--seed S] [--replication R] [--quiet]\n"
          "\n"
          "Runs the experiment named by run.experiment in CONFIG.ini and writes\n"
          "DIR/result.h5 (atomically: DIR/result.h5.tmp, then rename).\n"
          "\n"
          "options:\n"
          "  --out DIR           run directory (default: out/<config name>-r<replication>)\n"
          "  --set S.K=V         override configuration key K of section [S] (repeatable)\n"
          "  --seed S            same as --set run.seed=S\n"
          "  --replication R     same as --set run.replication=R\n"
          "  --quiet             no progress lines (errors are still printed)\n"
          "  --help              this text\n"
          "\n"
          "Bad input (unreadable config, unknown section or key, wrong type, out-of-range\n"
          "value, bad data, unwritable DIR) is reported naming the key and value, with exit\n"
          "status 2 and nothing written.\n"
          "\n"
          "configuration keys (section.key (type, default): meaning):\n");
  sagd_config_print_keys(sagd_config_keys, out);
}

int sagd_cli_run(MPI_Comm comm, int argc, char **argv) {
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  const char *config_path = NULL, *out = NULL;
  int quiet = 0;
  sagd_config cfg = NULL;
  SAGD_CALL(sagd_config_create(sagd_config_keys, &cfg));

  /* Options are applied after the file, in command-line order; collect them first. */
  const char **sets = calloc((size_t)argc + 1, sizeof(char *));
  SAGD_CHECK(sets != NULL, SAGD_ERR_MEM, "cannot allocate option list");
  size_t nsets = 0;
  char buf[2][64];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      if (rank == 0) {
        run_usage_(stdout);
      }
      free(sets);
      sagd_config_destroy(&cfg);
      return SAGD_OK;
    } else if (strcmp(a, "--quiet") == 0) {
      quiet = 1;
    } else if (strcmp(a, "--out") == 0 || strcmp(a, "--set") == 0 || strcmp(a, "--seed") == 0 ||
               strcmp(a, "--replication") == 0) {
      SAGD_CHECK(i + 1 < argc, SAGD_ERR_ARG, "option %s needs a value (see sagd run --help)", a);
      const char *v = argv[++i];
      if (strcmp(a, "--out") == 0) {
        out = v;
      } else if (strcmp(a, "--set") == 0) {
        sets[nsets++] = v;
      } else {
        unsigned long long u;
        SAGD_CALL(sagd_cli_parse_u64(a, v, &u));
        int which = strcmp(a, "--seed") == 0 ? 0 : 1;
        snprintf(buf[which], sizeof buf[which], "run.%s=%llu", which ? "replication" : "seed",
                 u);
        sets[nsets++] = buf[which];
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      SAGD_FAIL(SAGD_ERR_ARG, "unknown option '%s' (see sagd run --help)", a);
    } else {
      SAGD_CHECK(config_path == NULL, SAGD_ERR_ARG,
                 "unexpected argument '%s': the config is already '%s'", a, config_path);
      config_path = a;
    }
  }
  SAGD_CHECK(config_path != NULL, SAGD_ERR_ARG,
             "missing CONFIG.ini: usage: sagd run CONFIG.ini [options] (see sagd run --help)");
  SAGD_CALL(sagd_config_read_file(cfg, config_path));
  for (size_t i = 0; i < nsets; i++) {
    SAGD_CALL(sagd_config_set(cfg, sets[i]));
  }
  free(sets);

  const char *ename = sagd_config_string(cfg, "run", "experiment");
  const sagd_experiment_type *exp = sagd_experiment_find(ename);
  if (exp == NULL) {
    char known[256] = "";
    const sagd_experiment_type *const *list = sagd_experiment_list();
    for (size_t i = 0; list[i] != NULL; i++) {
      size_t len = strlen(known);
      snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", list[i]->name);
    }
    SAGD_FAIL(SAGD_ERR_CONFIG, "run.experiment = '%s': expected one of %s", ename, known);
  }

  sagd_run_info info;
  memset(&info, 0, sizeof info);
  info.comm = comm;
  info.rank = rank;
  info.size = size;
  info.cfg = cfg;
  info.quiet = quiet;
  info.key.seed = (uint64_t)sagd_config_int(cfg, "run", "seed");
  info.key.replication = (uint64_t)sagd_config_int(cfg, "run", "replication");
  char default_out[1024];
  if (out == NULL) {
    const char *base = strrchr(config_path, '/');
    base = base ? base + 1 : config_path;
    size_t len = strcspn(base, ".");
    snprintf(default_out, sizeof default_out, "out/%.*s-r%llu", (int)len, base,
             (unsigned long long)info.key.replication);
    out = default_out;
  }
  info.out_dir = out;
  SAGD_CALL(sagd_runfile_check_output(comm, out));
  SAGD_CALL(exp->run(&info));
  sagd_config_destroy(&cfg);
  return SAGD_OK;
}
