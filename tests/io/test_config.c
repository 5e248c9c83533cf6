/* INI configuration: defaults, overrides, canonical text and hash, diff, and every error
 * class (each must give SAGD_ERR_CONFIG, name the place/key/value, and leave the config
 * unchanged). Uses its own small key table and temporary files under /tmp. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sagd/config.h"
#include "testutil.h"

static const sagd_config_key keys[] = {
    {"run", "name", SAGD_CFG_STRING, "demo", SAGD_CFG_ANY, "name of the run", 0},
    {"run", "seed", SAGD_CFG_INT, "1", SAGD_CFG_NONNEGATIVE, "random seed", 0},
    {"sagd", "delta", SAGD_CFG_REAL, "0.1", SAGD_CFG_POSITIVE, "step size", 0},
    {"sagd", "K0", SAGD_CFG_INT, "20", SAGD_CFG_AT_LEAST_1, "chain length", 0},
    {"sagd", "adam", SAGD_CFG_BOOL, "false", SAGD_CFG_ANY, "use Adam", 0},
    {"model", "theta0", SAGD_CFG_REALS, "0, 1", SAGD_CFG_ANY, "initial theta", 0},
    {"model", "widths", SAGD_CFG_REALS, "", SAGD_CFG_POSITIVE, "hidden widths", 0},
    /* a [run] key after other sections: the canonical text still groups it under [run] */
    {"run", "out", SAGD_CFG_STRING, "", SAGD_CFG_ANY, "output directory", 1},
    {NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL, 0},
};

#define NTMP 64
static char tmp_paths[NTMP][64];
static int ntmp = 0;

/* Write text to a new temporary file; returns its path. */
static const char *tmpfile_with(const char *text) {
  if (ntmp >= NTMP) {
    fprintf(stderr, "too many temporary files\n");
    exit(1);
  }
  char *p = tmp_paths[ntmp++];
  snprintf(p, 64, "/tmp/sagd_test_config_XXXXXX");
  int fd = mkstemp(p);
  if (fd < 0) {
    perror("mkstemp");
    exit(1);
  }
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) {
    perror("write");
    exit(1);
  }
  close(fd);
  return p;
}

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

#define CHECK_MSG(needle)                                                      \
  do {                                                                         \
    if (!contains(sagd_error_message(), (needle))) {                           \
      fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, \
              sagd_error_message(), (needle));                                 \
      test_failures_++;                                                        \
    }                                                                          \
  } while (0)

/* Reading `text` must fail with SAGD_ERR_CONFIG, leave the config unchanged, and give a
 * message containing each of the needles (with "%F" replaced by the file name). */
static void expect_file_error(sagd_config cfg, const char *text, const char *n1, const char *n2,
                              int line) {
  char *before = strdup(sagd_config_text(cfg));
  const char *path = tmpfile_with(text);
  int rc = sagd_config_read_file(cfg, path);
  if (rc != SAGD_ERR_CONFIG) {
    fprintf(stderr, "line %d: expected SAGD_ERR_CONFIG, got %d (%s)\n", line, rc,
            sagd_error_message());
    test_failures_++;
  }
  char where[128];
  snprintf(where, sizeof where, "%s:", path);
  const char *needles[3] = {where, n1, n2};
  for (int i = 0; i < 3; i++) {
    if (needles[i] != NULL && !contains(sagd_error_message(), needles[i])) {
      fprintf(stderr, "line %d: message '%s' lacks '%s'\n", line, sagd_error_message(),
              needles[i]);
      test_failures_++;
    }
  }
  if (strcmp(before, sagd_config_text(cfg)) != 0) {
    fprintf(stderr, "line %d: a failed read changed the config\n", line);
    test_failures_++;
  }
  free(before);
}
#define EXPECT_FILE_ERROR(cfg, text, n1, n2) expect_file_error((cfg), (text), (n1), (n2), __LINE__)

static void expect_set_error(sagd_config cfg, const char *assignment, const char *needle,
                             int line) {
  char *before = strdup(sagd_config_text(cfg));
  int rc = sagd_config_set(cfg, assignment);
  if (rc != SAGD_ERR_CONFIG || !contains(sagd_error_message(), needle)) {
    fprintf(stderr, "line %d: --set '%s': rc %d, message '%s' (wanted '%s')\n", line,
            assignment, rc, sagd_error_message(), needle);
    test_failures_++;
  }
  if (strcmp(before, sagd_config_text(cfg)) != 0) {
    fprintf(stderr, "line %d: a failed --set changed the config\n", line);
    test_failures_++;
  }
  free(before);
}
#define EXPECT_SET_ERROR(cfg, a, needle) expect_set_error((cfg), (a), (needle), __LINE__)

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ULL;
  }
  return h;
}

static void test_defaults_and_text(void) {
  sagd_config cfg = NULL;
  REQUIRE_OK(sagd_config_create(keys, &cfg));
  CHECK(strcmp(sagd_config_string(cfg, "run", "name"), "demo") == 0);
  CHECK(strcmp(sagd_config_string(cfg, "run", "out"), "") == 0);
  CHECK(sagd_config_int(cfg, "run", "seed") == 1);
  CHECK(sagd_config_real(cfg, "sagd", "delta") == 0.1);
  CHECK(sagd_config_int(cfg, "sagd", "K0") == 20);
  CHECK(sagd_config_bool(cfg, "sagd", "adam") == 0);
  double th[4] = {9, 9, 9, 9};
  size_t n = 99;
  REQUIRE_OK(sagd_config_reals(cfg, "model", "theta0", th, 2, 4, &n));
  CHECK(n == 2 && th[0] == 0.0 && th[1] == 1.0 && th[2] == 9);
  REQUIRE_OK(sagd_config_reals(cfg, "model", "widths", th, 0, 4, &n));
  CHECK(n == 0);
  /* wrong list length names the key */
  CHECK(sagd_config_reals(cfg, "model", "theta0", th, 3, 3, &n) == SAGD_ERR_CONFIG);
  CHECK_MSG("model.theta0");
  CHECK_MSG("exactly 3");
  CHECK(sagd_config_reals(cfg, "model", "theta0", th, 0, 1, &n) == SAGD_ERR_CONFIG);
  CHECK_MSG("between 0 and 1");

  /* The canonical text, exactly: sections in table order, every key, [run] grouped. */
  const char *expect = "[run]\n"
                       "name = demo\n"
                       "seed = 1\n"
                       "out = \n"
                       "\n"
                       "[sagd]\n"
                       "delta = 0.1\n"
                       "K0 = 20\n"
                       "adam = false\n"
                       "\n"
                       "[model]\n"
                       "theta0 = 0, 1\n"
                       "widths = \n";
  if (strcmp(sagd_config_text(cfg), expect) != 0) {
    fprintf(stderr, "canonical text:\n%s---\nexpected:\n%s---\n", sagd_config_text(cfg), expect);
    test_failures_++;
  }
  CHECK(sagd_config_hash(cfg) == fnv1a(expect));
  /* The text reads back to itself. */
  sagd_config back = NULL;
  REQUIRE_OK(sagd_config_create(keys, &back));
  REQUIRE_OK(sagd_config_set(back, "sagd.delta=3"));
  REQUIRE_OK(sagd_config_read_string(back, sagd_config_text(cfg), "stored config"));
  CHECK(strcmp(sagd_config_text(back), expect) == 0);
  sagd_config_destroy(&back);
  sagd_config_destroy(&cfg);
  CHECK(cfg == NULL);
  sagd_config_destroy(&cfg); /* NULL is fine */
  sagd_config_destroy(NULL);
}

static void test_overrides_and_equivalence(void) {
  /* Same effective values, written differently: ordering, white space, comments, number
   * spellings, bool spellings, a list continued on an indented line, CRLF line ends. */
  const char *a = "[sagd]\n"
                  "delta = 0.05\n"
                  "K0 = 7\n"
                  "adam = true\n"
                  "[model]\n"
                  "theta0 = 2, -0.5, 3\n"
                  "[run]\n"
                  "name = my run\n"
                  "seed = 42\n";
  const char *b2 = "; comment line\r\n"
                   "[run]\r\n"
                   "   name   =   my run   \r\n" /* indented: fine right after [run] */
                   "seed=+42 ; inline comment\r\n"
                   "\r\n"
                   "[model]\r\n"
                   "theta0 = 2.0,-5e-1,\r\n"
                   "         3\r\n"
                   "# comment\r\n"
                   "[sagd]\r\n"
                   "adam = YES\r\n"
                   "K0: 0007\r\n"
                   "delta=5e-2\r\n";
  sagd_config ca = NULL, cb = NULL, def = NULL;
  REQUIRE_OK(sagd_config_create(keys, &ca));
  REQUIRE_OK(sagd_config_create(keys, &cb));
  REQUIRE_OK(sagd_config_create(keys, &def));
  REQUIRE_OK(sagd_config_read_file(ca, tmpfile_with(a)));
  REQUIRE_OK(sagd_config_read_file(cb, tmpfile_with(b2)));
  CHECK(strcmp(sagd_config_string(ca, "run", "name"), "my run") == 0);
  CHECK(sagd_config_int(ca, "run", "seed") == 42);
  CHECK(sagd_config_real(ca, "sagd", "delta") == 0.05);
  CHECK(sagd_config_int(ca, "sagd", "K0") == 7);
  CHECK(sagd_config_bool(ca, "sagd", "adam") == 1);
  double th[3];
  size_t n = 0;
  REQUIRE_OK(sagd_config_reals(cb, "model", "theta0", th, 3, 3, &n));
  CHECK(n == 3 && th[0] == 2 && th[1] == -0.5 && th[2] == 3);
  /* keys the file does not set keep their defaults */
  CHECK(strcmp(sagd_config_string(ca, "run", "out"), "") == 0);
  if (strcmp(sagd_config_text(ca), sagd_config_text(cb)) != 0) {
    fprintf(stderr, "equivalent files differ:\n%s---\n%s---\n", sagd_config_text(ca),
            sagd_config_text(cb));
    test_failures_++;
  }
  CHECK(sagd_config_hash(ca) == sagd_config_hash(cb));
  CHECK(sagd_config_hash(ca) != sagd_config_hash(def));

  /* diff names exactly the differing keys, in table order */
  char buf[256];
  CHECK(sagd_config_diff(ca, cb, buf, sizeof buf) == 0 && buf[0] == '\0');
  REQUIRE_OK(sagd_config_set(cb, "sagd.delta=0.06"));
  REQUIRE_OK(sagd_config_set(cb, "model.theta0 = 2, -0.5"));
  REQUIRE_OK(sagd_config_set(cb, "run.out=/scratch/x"));
  CHECK(sagd_config_real(cb, "sagd", "delta") == 0.06);
  CHECK(strcmp(sagd_config_string(cb, "run", "out"), "/scratch/x") == 0);
  size_t nd = sagd_config_diff(ca, cb, buf, sizeof buf);
  CHECK(nd == 3);
  CHECK(strcmp(buf, "sagd.delta, model.theta0, run.out") == 0);
  CHECK(sagd_config_hash(ca) != sagd_config_hash(cb));
  /* a small buffer is truncated, the count is still right */
  char small[8];
  CHECK(sagd_config_diff(ca, cb, small, sizeof small) == 3 && strlen(small) < sizeof small);
  CHECK(sagd_config_diff(ca, def, NULL, 0) == 6);
  /* run.out is marked neutral (cannot change results): the results' diff skips it */
  CHECK(sagd_config_diff_results(ca, cb, buf, sizeof buf) == 2);
  CHECK(strcmp(buf, "sagd.delta, model.theta0") == 0);
  sagd_config like = NULL;
  REQUIRE_OK(sagd_config_create_like(ca, &like));
  CHECK(sagd_config_diff(like, def, NULL, 0) == 0); /* the defaults of the same table */
  sagd_config_destroy(&like);

  /* A later file overrides an earlier one key by key. */
  REQUIRE_OK(sagd_config_read_string(ca, "[sagd]\nK0 = 9\n", "second"));
  CHECK(sagd_config_int(ca, "sagd", "K0") == 9);
  CHECK(sagd_config_real(ca, "sagd", "delta") == 0.05);
  sagd_config_destroy(&ca);
  sagd_config_destroy(&cb);
  sagd_config_destroy(&def);
}

static void test_long_list(void) {
  /* A list too long for one INI line: the canonical text wraps it on indented lines, no
   * line exceeds inih's limit, and it reads back to the same values. */
  char assign[4096] = "model.theta0=";
  for (int i = 0; i < 80; i++) {
    char e[32];
    snprintf(e, sizeof e, "%s%.17g", i > 0 ? "," : "", 1.0 / (i + 3));
    strcat(assign, e);
  }
  sagd_config cfg = NULL, back = NULL;
  REQUIRE_OK(sagd_config_create(keys, &cfg));
  REQUIRE_OK(sagd_config_set(cfg, assign));
  double v[80];
  size_t n = 0;
  REQUIRE_OK(sagd_config_reals(cfg, "model", "theta0", v, 80, 80, &n));
  for (int i = 0; i < 80; i++) {
    CHECK(v[i] == 1.0 / (i + 3));
  }
  const char *text = sagd_config_text(cfg);
  size_t longest = 0, cur = 0;
  for (const char *p = text; *p; p++) {
    cur = *p == '\n' ? 0 : cur + 1;
    longest = cur > longest ? cur : longest;
  }
  CHECK(longest <= 100);
  REQUIRE_OK(sagd_config_create(keys, &back));
  REQUIRE_OK(sagd_config_read_string(back, text, "stored"));
  CHECK(strcmp(sagd_config_text(back), text) == 0);
  REQUIRE_OK(sagd_config_reals(back, "model", "theta0", v, 80, 80, &n));
  for (int i = 0; i < 80; i++) {
    CHECK(v[i] == 1.0 / (i + 3));
  }
  sagd_config_destroy(&cfg);
  sagd_config_destroy(&back);
}

static void test_file_errors(void) {
  sagd_config cfg = NULL;
  REQUIRE_OK(sagd_config_create(keys, &cfg));
  /* a non-default state, so "unchanged" is not just "defaults" */
  REQUIRE_OK(sagd_config_set(cfg, "sagd.delta=0.25"));

  /* missing file */
  char *before = strdup(sagd_config_text(cfg));
  CHECK(sagd_config_read_file(cfg, "/tmp/sagd_no_such_dir/x.ini") == SAGD_ERR_CONFIG);
  CHECK_MSG("cannot read config '/tmp/sagd_no_such_dir/x.ini': No such file or directory");
  CHECK(sagd_config_read_file(cfg, "/tmp") == SAGD_ERR_CONFIG); /* a directory */
  CHECK_MSG("cannot read config '/tmp'");
  CHECK(strcmp(before, sagd_config_text(cfg)) == 0);
  free(before);

  /* syntax errors (inih's first error line) */
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 1\nthis is not ini\n", ":3: syntax error",
                    "this is not ini");
  EXPECT_FILE_ERROR(cfg, "[sagd\ndelta = 1\n", ":1: syntax error", "[sagd");
  /* unknown section, with or without keys */
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 = 3\n[foo]\nx = 1\n", ":3: unknown section [foo]",
                    "known sections: run, sagd, model");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 = 3\n[foo]\n", ":3: unknown section [foo]", NULL);
  /* key outside any section */
  EXPECT_FILE_ERROR(cfg, "delta = 1\n", ":1: key 'delta' comes before any [section]", NULL);
  /* unknown key: suggestion within edit distance 2, and the section it belongs to */
  EXPECT_FILE_ERROR(cfg, "[sagd]\n\n\n\ndeltaa = 0.1\n",
                    ":5: unknown key 'deltaa' in section [sagd] (did you mean 'delta'?)",
                    "known keys: delta, K0, adam");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nseed = 3\n", ":2: unknown key 'seed' in section [sagd]",
                    "'seed' is a key of section [run]");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nzzzzzzzz = 3\n", "unknown key 'zzzzzzzz'", "known keys:");
  /* wrong types */
  EXPECT_FILE_ERROR(cfg, "[sagd]\n\n\n\n\n\nK0 = abc\n", ":7: sagd.K0 = 'abc'",
                    "expected an integer");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 = 12x\n", "sagd.K0 = '12x'", "expected an integer");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 = 2.5\n", "sagd.K0 = '2.5'", "expected an integer");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 =\n", "sagd.K0 = ''", "expected an integer");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 = 99999999999999999999\n", "sagd.K0 = '99999999999999999999'",
                    "expected an integer in [");
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = fast\n", ":2: sagd.delta = 'fast'",
                    "expected a real number");
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 0.1x\n", "sagd.delta = '0.1x'", "expected a real number");
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = inf\n", "sagd.delta = 'inf'", "finite");
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = nan\n", "sagd.delta = 'nan'", "finite");
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 1e999\n", "sagd.delta = '1e999'", "finite");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nadam = maybe\n", "sagd.adam = 'maybe'", "expected true or false");
  EXPECT_FILE_ERROR(cfg, "[model]\ntheta0 = 1, x\n", "model.theta0 = '1, x'",
                    "expected a comma-separated list of real numbers");
  EXPECT_FILE_ERROR(cfg, "[model]\ntheta0 = 1,,2\n", "model.theta0 = '1,,2'", "element 2 is empty");
  EXPECT_FILE_ERROR(cfg, "[model]\ntheta0 = 1, 2,\n", "model.theta0", "element 3 is empty");
  /* constraints */
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = -0.1\n", ":2: sagd.delta = '-0.1'",
                    "expected a value > 0");
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 0\n", "sagd.delta = '0'", "expected a value > 0");
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 = 0\n", "sagd.K0 = '0'", "expected a value >= 1");
  EXPECT_FILE_ERROR(cfg, "[run]\nseed = -1\n", "run.seed = '-1'", "expected a value >= 0");
  EXPECT_FILE_ERROR(cfg, "[model]\nwidths = 10, -3\n", "model.widths = '10, -3'",
                    "every element > 0 (element 2 is -3)");
  /* duplicate key */
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 1\nK0 = 3\ndelta = 2\n",
                    ":4: sagd.delta is set twice (first at line 2)", NULL);
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 1\n[run]\nseed = 2\n[sagd]\ndelta = 1\n",
                    ":6: sagd.delta is set twice (first at line 2)", NULL);
  /* an indented line continues the previous value: only lists may do that */
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 1\n  K0 = 5\n", ":3: indented line 'K0 = 5'",
                    "continues the value of sagd.delta");
  /* over-long line */
  {
    char longline[400] = "[run]\nname = ";
    memset(longline + strlen(longline), 'x', 300);
    strcat(longline, "\n");
    EXPECT_FILE_ERROR(cfg, longline, ":2: line is 307 characters long", "at most");
  }
  /* errors after valid lines: nothing is applied */
  EXPECT_FILE_ERROR(cfg, "[sagd]\ndelta = 0.5\nK0 = 4\nadam = on\n[run]\nseed = x\n",
                    ":6: run.seed = 'x'", NULL);
  CHECK(sagd_config_real(cfg, "sagd", "delta") == 0.25 && sagd_config_int(cfg, "sagd", "K0") == 20);
  /* the first error by line is reported, whatever its kind */
  EXPECT_FILE_ERROR(cfg, "[sagd]\nK0 = x\ndelta = 1\nnot ini\n", ":2: sagd.K0 = 'x'", NULL);
  EXPECT_FILE_ERROR(cfg, "[sagd]\nnot ini\nK0 = x\n", ":2: syntax error", NULL);
  /* a string with an origin */
  CHECK(sagd_config_read_string(cfg, "[sagd]\nK0 = -2\n", "run.h5:/meta/config") ==
        SAGD_ERR_CONFIG);
  CHECK_MSG("run.h5:/meta/config:2: sagd.K0 = '-2': expected a value >= 1");
  CHECK(sagd_config_real(cfg, "sagd", "delta") == 0.25);
  sagd_config_destroy(&cfg);
}

static void test_set_errors(void) {
  sagd_config cfg = NULL;
  REQUIRE_OK(sagd_config_create(keys, &cfg));
  REQUIRE_OK(sagd_config_set(cfg, "sagd.K0=5"));
  CHECK(sagd_config_int(cfg, "sagd", "K0") == 5);
  REQUIRE_OK(sagd_config_set(cfg, " sagd.adam = off "));
  CHECK(sagd_config_bool(cfg, "sagd", "adam") == 0);
  EXPECT_SET_ERROR(cfg, "sagd.delta=-1", "--set sagd.delta=-1: expected a value > 0");
  EXPECT_SET_ERROR(cfg, "sagd.K0=abc", "--set sagd.K0=abc: expected an integer");
  EXPECT_SET_ERROR(cfg, "sagd.delta", "--set 'sagd.delta': expected section.key=value");
  EXPECT_SET_ERROR(cfg, "delta=1", "--set 'delta=1': expected section.key=value");
  EXPECT_SET_ERROR(cfg, "sagd.deltaa=1", "unknown key 'deltaa' in section [sagd] (did you mean 'delta'?)");
  EXPECT_SET_ERROR(cfg, "sgd.delta=1", "--set sgd.delta=1: unknown section [sgd]; known sections: run, sagd, model");
  EXPECT_SET_ERROR(cfg, "run.name=a ;b", "run.name");
  sagd_config_destroy(&cfg);
}

static void test_table_errors(void) {
  static const sagd_config_key bad_default[] = {
      {"a", "x", SAGD_CFG_INT, "zero", SAGD_CFG_ANY, "", 0},
      {NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL, 0}};
  static const sagd_config_key dup[] = {{"a", "x", SAGD_CFG_INT, "0", SAGD_CFG_ANY, "", 0},
                                        {"a", "x", SAGD_CFG_INT, "1", SAGD_CFG_ANY, "", 0},
                                        {NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL, 0}};
  static const sagd_config_key bad_cons[] = {
      {"a", "x", SAGD_CFG_REAL, "0", SAGD_CFG_POSITIVE, "", 0},
      {NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL, 0}};
  sagd_config cfg = NULL;
  CHECK(sagd_config_create(bad_default, &cfg) == SAGD_ERR_INTERNAL && cfg == NULL);
  CHECK_MSG("a.x = 'zero'");
  CHECK(sagd_config_create(dup, &cfg) == SAGD_ERR_INTERNAL && cfg == NULL);
  CHECK_MSG("a.x is declared twice");
  CHECK(sagd_config_create(bad_cons, &cfg) == SAGD_ERR_INTERNAL && cfg == NULL);
  CHECK_MSG("expected a value > 0");
}

static void test_print_keys(void) {
  char path[] = "/tmp/sagd_test_keys_XXXXXX";
  int fd = mkstemp(path);
  FILE *fp = fd >= 0 ? fdopen(fd, "w+") : NULL;
  if (fp == NULL) {
    perror("temporary file");
    exit(1);
  }
  sagd_config_print_keys(keys, fp);
  fflush(fp);
  rewind(fp);
  char text[4096] = "";
  size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = '\0';
  fclose(fp);
  unlink(path);
  CHECK(contains(text, "[run]\n"));
  /* names padded to the longest, "model.theta0" (12 characters) */
  CHECK(contains(text, "  sagd.delta    (real > 0, default 0.1)  step size\n"));
  CHECK(contains(text, "  run.seed      (integer >= 0, default 1)  random seed\n"));
  CHECK(contains(text, "  run.out       (string, default \"\")  output directory\n"));
  CHECK(contains(text, "  model.theta0  (list of reals, default 0, 1)  initial theta\n"));
  CHECK(contains(text, "  model.widths  (list of reals > 0, default empty)  hidden widths\n"));
  /* every key is listed once, grouped: run.out comes right after run.seed */
  CHECK(strstr(text, "run.out") < strstr(text, "[sagd]"));
}

/* Asking for an undeclared key is a programming error: the process aborts. */
static void test_undeclared_aborts(void) {
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    sagd_config cfg = NULL;
    if (sagd_config_create(keys, &cfg) != 0) {
      _exit(3);
    }
    (void)sagd_config_real(cfg, "sagd", "nope");
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    sagd_config cfg = NULL;
    if (sagd_config_create(keys, &cfg) != 0) {
      _exit(3);
    }
    (void)sagd_config_int(cfg, "sagd", "delta"); /* declared, but a real */
    _exit(0);
  }
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void) {
  test_defaults_and_text();
  test_overrides_and_equivalence();
  test_long_list();
  test_file_errors();
  test_set_errors();
  test_table_errors();
  test_print_keys();
  test_undeclared_aborts();
  for (int i = 0; i < ntmp; i++) {
    unlink(tmp_paths[i]);
  }
  return TEST_EXIT();
}
