/* `sagd run CONFIG.ini [options]`: read and validate the configuration, check the output
 * directory, run the experiment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <sys/stat.h>

#include "sagd/checkpoint.h"
#include "sagd/config.h"
#include "sagd/error.h"
#include "sagd/experiment.h"
#include "sagd/registry.h"
#include "sagd/runfile.h"

static void run_usage_(FILE *out) {
  fprintf(out,
          "usage: mpiexec -n N sagd run CONFIG.ini [--out DIR] [--set section.key=value ...]\n"
          "                             [--seed S] [--replication R] [--quiet]\n"
          "                             [--resume auto|never|FILE] [--force]\n"
          "\n"
          "Runs the experiment named by run.experiment in CONFIG.ini and writes\n"
          "DIR/result.h5 (atomically: DIR/result.h5.tmp, then rename). On the way it writes\n"
          "DIR/checkpoint.h5 (see [checkpoint] below) and, when DIR already holds one for the\n"
          "same configuration, continues from it: the result is bit-identical to a run that\n"
          "was never interrupted, on any number of ranks.\n"
          "\n"
          "options:\n"
          "  --out DIR           run directory (default: out/<config name>-r<replication>)\n"
          "  --set S.K=V         override configuration key K of section [S] (repeatable);\n"
          "                      a key the experiment does not read is refused (exit 2)\n"
          "  --set-if-read S.K=V the same, applied only if the experiment reads the key\n"
          "                      (study-wide overrides for runs of several experiments)\n"
          "  --seed S            same as --set run.seed=S\n"
          "  --replication R     same as --set run.replication=R\n"
          "  --quiet             no progress lines (errors are still printed)\n"
          "  --resume auto       (default) continue from DIR/checkpoint.h5 if DIR holds one\n"
          "                      for this config (a damaged one: from checkpoint.h5.prev);\n"
          "                      if DIR/result.h5 is complete, say so and do nothing\n"
          "  --resume never      start over; refused if DIR holds a checkpoint or a result,\n"
          "                      unless --force\n"
          "  --resume FILE       continue from the checkpoint FILE (no fallback)\n"
          "  --force             start over even if DIR holds a result or checkpoints (they\n"
          "                      are removed); with --resume FILE: run even if complete\n"
          "  --help              this text\n"
          "\n"
          "Bad input (unreadable config, unknown section or key, wrong type, out-of-range\n"
          "value, bad data, unwritable DIR) is reported naming the key and value, with exit\n"
          "status 2 and nothing written. A checkpoint of another configuration is refused\n"
          "naming the differing keys (exit 2). SIGTERM or SIGUSR1 makes every rank write a\n"
          "checkpoint at the next iteration and exit with status 75: run the same command\n"
          "again to continue.\n"
          "\n"
          "configuration keys (section.key (type, default): meaning):\n");
  sagd_config_print_keys(sagd_config_keys(), out);
}

/* --resume/--force → info->resume ("auto", "never" or a file), or "done" when DIR/result.h5
 * is already the complete result of this config. Refuses to discard files without --force. */
static int start_mode_(sagd_run_info *info, const char *resume, int force) {
  if (force && (strcmp(resume, "auto") == 0 || strcmp(resume, "never") == 0)) {
    info->resume = "never"; /* start over: the experiment's checkpointer removes old files */
    return SAGD_OK;
  }
  if (strcmp(resume, "never") == 0) {
    const char *names[3] = {"checkpoint.h5", "checkpoint.h5.prev", "result.h5"};
    char found[1100] = "";
    if (info->rank == 0) {
      for (int i = 0; i < 3 && found[0] == '\0'; i++) {
        char path[1100];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", info->out_dir, names[i]);
        if (stat(path, &st) == 0) {
          snprintf(found, sizeof found, "%s", path);
        }
      }
    }
    SAGD_CHECK_MPI(MPI_Bcast(found, (int)sizeof found, MPI_CHAR, 0, info->comm));
    SAGD_CHECK(found[0] == '\0', SAGD_ERR_OUTPUT,
               "--resume never would discard '%s': add --force to start over, or use another "
               "--out", found);
    info->resume = "never";
    return SAGD_OK;
  }
  if (strcmp(resume, "auto") == 0) {
    int complete = 0;
    SAGD_CALL(sagd_result_complete(info, &complete));
    if (complete) {
      if (info->rank == 0) {
        printf("%s/result.h5 is complete for this configuration: nothing to do (--force runs "
               "it again)\n", info->out_dir);
        fflush(stdout);
      }
      info->resume = "done";
      return SAGD_OK;
    }
    info->resume = "auto";
    return SAGD_OK;
  }
  info->resume = resume; /* a named checkpoint file */
  return SAGD_OK;
}

/* Check that every key given a value is read by a run of exp with cfg (its own keys and the
 * chosen types'), and restrict cfg's getters to those keys. */
static int check_reads_(sagd_config cfg, const sagd_experiment_type *exp) {
  const char **reads = NULL;
  SAGD_CALL(sagd_experiment_reads(exp, cfg, &reads));
  const int rc = sagd_config_check_reads(cfg, reads, exp->name, sagd_config_readers);
  free(reads);
  return rc;
}

/* A --set-if-read assignment: checked like --set (on a scratch config), applied only when the
 * experiment reads its key; *applied says which. */
static int set_if_read_(sagd_config cfg, const sagd_experiment_type *exp, const char *a,
                        int *applied) {
  /* on a scratch config: checked as --set checks it, and the key it assigns tested the way
   * an experiment's keys are (sagd_config_check_reads), without parsing it again here */
  static const char *const experiment_key[] = {"run.experiment", NULL};
  sagd_config scratch = NULL;
  SAGD_CALL(sagd_config_create_like(cfg, &scratch));
  int rc = sagd_config_set(scratch, a);
  if (rc != SAGD_OK) { /* "--set S.K=V: why" as --set says it, named as this option */
    sagd_config_destroy(&scratch);
    char why[1024];
    const char *m = sagd_error_message();
    snprintf(why, sizeof why, "%s", strncmp(m, "--set ", 6) == 0 ? m + 6 : m);
    SAGD_FAIL(rc, "--set-if-read %s", why);
  }
  const int is_experiment =
      sagd_config_check_reads(scratch, experiment_key, "run.experiment", NULL) == SAGD_OK;
  /* the scratch config holds only this key: the types cfg chooses decide what exp reads */
  const char **reads = NULL;
  rc = is_experiment ? SAGD_OK : sagd_experiment_reads(exp, cfg, &reads);
  *applied = reads != NULL && sagd_config_check_reads(scratch, reads, exp->name, NULL) == SAGD_OK;
  free(reads);
  sagd_error_clear();
  sagd_config_destroy(&scratch);
  SAGD_CALL(rc);
  SAGD_CHECK(!is_experiment, SAGD_ERR_CONFIG,
             "--set-if-read %s: run.experiment chooses the experiment: give it with --set", a);
  if (*applied) {
    SAGD_CALL(sagd_config_set(cfg, a));
  }
  return SAGD_OK;
}

int sagd_cli_load_config(sagd_config cfg, const char *config_path, const sagd_cli_set *sets,
                         size_t nsets, const sagd_experiment_type **exp) {
  SAGD_CALL(sagd_config_read_file(cfg, config_path));
  for (size_t i = 0; i < nsets; i++) {
    if (!sets[i].if_read) {
      SAGD_CALL(sagd_config_set(cfg, sets[i].text));
    }
  }
  const char *ename = sagd_config_string(cfg, "run", "experiment");
  *exp = sagd_experiment_find(ename);
  char known[256];
  SAGD_CHECK(*exp != NULL, SAGD_ERR_CONFIG, "run.experiment = '%s': expected one of %s", ename,
             sagd_registry_names(SAGD_REGISTRY(sagd_experiment_list()), known, sizeof known));
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (size_t i = 0; i < nsets; i++) {
    int applied = 0;
    if (sets[i].if_read) {
      SAGD_CALL(set_if_read_(cfg, *exp, sets[i].text, &applied));
      if (!applied && rank == 0) {
        fprintf(stderr, "sagd: note: --set-if-read %s: not applied, %s does not read it\n",
                sets[i].text, (*exp)->name);
      }
    }
  }
  /* a key the experiment does not read would be ignored silently: bad input */
  SAGD_CALL(check_reads_(cfg, *exp));
  return SAGD_OK;
}

int sagd_cli_run_info(MPI_Comm comm, sagd_config cfg, int quiet, sagd_run_info *info) {
  memset(info, 0, sizeof *info);
  info->comm = comm;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &info->rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &info->size));
  info->cfg = cfg;
  info->quiet = quiet;
  info->key.seed = (uint64_t)sagd_config_int(cfg, "run", "seed");
  info->key.replication = (uint64_t)sagd_config_int(cfg, "run", "replication");
  SAGD_CHECK(info->key.replication < SAGD_RNG_MAX_REPLICATION, SAGD_ERR_CONFIG,
             "run.replication = %llu: expected a number below 2^48 = %llu (the random "
             "streams' key holds 48 bits of it)",
             (unsigned long long)info->key.replication,
             (unsigned long long)SAGD_RNG_MAX_REPLICATION);
  return SAGD_OK;
}

static int run_body_(sagd_config *cfgp, sagd_cli_set **setsp, MPI_Comm comm, int argc,
                     char **argv) {
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  const char *config_path = NULL, *out = NULL, *resume = "auto";
  int quiet = 0, force = 0;
  SAGD_CALL(sagd_config_create(sagd_config_keys(), cfgp));
  sagd_config cfg = *cfgp;

  /* Options are applied after the file, in command-line order; collect them first. */
  sagd_cli_set *sets = calloc((size_t)argc + 1, sizeof *sets);
  SAGD_CHECK(sets != NULL, SAGD_ERR_MEM, "cannot allocate option list");
  *setsp = sets;
  size_t nsets = 0;
  char buf[2][64];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      if (rank == 0) {
        run_usage_(stdout);
      }
      return SAGD_OK;
    } else if (strcmp(a, "--quiet") == 0) {
      quiet = 1;
    } else if (strcmp(a, "--force") == 0) {
      force = 1;
    } else if (strcmp(a, "--resume") == 0) {
      SAGD_CHECK(i + 1 < argc && argv[i + 1][0] != '\0', SAGD_ERR_ARG,
                 "option --resume needs a value: auto, never or a checkpoint file");
      resume = argv[++i];
    } else if (strcmp(a, "--out") == 0 || strcmp(a, "--set") == 0 || strcmp(a, "--seed") == 0 ||
               strcmp(a, "--replication") == 0 || strcmp(a, "--set-if-read") == 0) {
      SAGD_CHECK(i + 1 < argc, SAGD_ERR_ARG, "option %s needs a value (see sagd run --help)", a);
      const char *v = argv[++i];
      if (strcmp(a, "--out") == 0) {
        out = v;
      } else if (strcmp(a, "--set") == 0 || strcmp(a, "--set-if-read") == 0) {
        sets[nsets].text = v;
        sets[nsets++].if_read = strcmp(a, "--set-if-read") == 0;
      } else {
        unsigned long long u;
        SAGD_CALL(sagd_cli_parse_u64(a, v, &u));
        int which = strcmp(a, "--seed") == 0 ? 0 : 1;
        snprintf(buf[which], sizeof buf[which], "run.%s=%llu", which ? "replication" : "seed",
                 u);
        sets[nsets].text = buf[which];
        sets[nsets++].if_read = 0;
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
  const sagd_experiment_type *exp = NULL;
  SAGD_CALL(sagd_cli_load_config(cfg, config_path, sets, nsets, &exp));

  sagd_run_info info;
  SAGD_CALL(sagd_cli_run_info(comm, cfg, quiet, &info));
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
  int blas_threads = 1;
  SAGD_CALL(sagd_cli_blas_threads(comm, &blas_threads));
  SAGD_CALL(sagd_runfile_check_output(comm, out));
  SAGD_CALL(start_mode_(&info, resume, force));
  if (info.resume != NULL && strcmp(info.resume, "done") == 0) {
    return SAGD_OK;
  }
  SAGD_CALL(exp->run(&info));
  return SAGD_OK;
}

int sagd_cli_run(MPI_Comm comm, int argc, char **argv) {
  /* From here on SIGTERM/SIGUSR1 only raise the checkpoint flag: a signal that arrives while
   * the run starts up is acted on at the first checkpointer tick instead of killing a rank. */
  sagd_checkpoint_catch_signals();
  /* everything the body allocates is released here, whichever way it returns */
  sagd_config cfg = NULL;
  sagd_cli_set *sets = NULL;
  int rc = run_body_(&cfg, &sets, comm, argc, argv);
  free(sets);
  sagd_config_destroy(&cfg);
  return rc;
}
