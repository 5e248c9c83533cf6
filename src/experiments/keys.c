/* Every configuration key sagd accepts: the one place they are declared, typed, defaulted
 * and documented (printed by `sagd run --help`). */
#include "sagd/experiment.h"

const sagd_config_key sagd_config_keys[] = {
    /* [run] */
    {"run", "experiment", SAGD_CFG_STRING, "em_gamma", SAGD_CFG_ANY,
     "experiment to run: em_gamma"},
    {"run", "seed", SAGD_CFG_INT, "1", SAGD_CFG_NONNEGATIVE,
     "random seed (with the replication, keys every random draw)"},
    {"run", "replication", SAGD_CFG_INT, "0", SAGD_CFG_NONNEGATIVE,
     "replication number (each replication gets its own data set and chains)"},
    {"run", "progress_every", SAGD_CFG_INT, "25", SAGD_CFG_NONNEGATIVE,
     "rank 0 prints a progress line every N updates (0: only phase summaries)"},
    /* [data] */
    {"data", "n", SAGD_CFG_INT, "100", SAGD_CFG_AT_LEAST_1,
     "number of synthetic observations"},
    {"data", "a", SAGD_CFG_REAL, "2", SAGD_CFG_ANY, "em_gamma: true a of the generator"},
    {"data", "b", SAGD_CFG_REAL, "0.5", SAGD_CFG_ANY, "em_gamma: true b of the generator"},
    {"data", "shape_scale", SAGD_CFG_REAL, "10", SAGD_CFG_POSITIVE,
     "em_gamma: S in shape = S*sigmoid(a + b z)"},
    {"data", "file", SAGD_CFG_STRING, "", SAGD_CFG_ANY,
     "optional text file of observations (white space/comma separated, # comments); "
     "replaces the synthetic data and sets n"},
    /* [model] */
    {"model", "theta0", SAGD_CFG_REALS, "0, 1", SAGD_CFG_ANY, "initial theta, e.g. (a, b)"},
    {"model", "lower", SAGD_CFG_REALS, "-20, -20", SAGD_CFG_ANY,
     "lower bounds of the box Theta (one per theta coordinate)"},
    {"model", "upper", SAGD_CFG_REALS, "20, 20", SAGD_CFG_ANY,
     "upper bounds of the box Theta (one per theta coordinate)"},
    /* [em] */
    {"em", "msteps", SAGD_CFG_INT, "3", SAGD_CFG_AT_LEAST_1, "number of EM iterations (M-steps)"},
    {"em", "updates", SAGD_CFG_INT, "100", SAGD_CFG_AT_LEAST_1,
     "T: SAGD updates per M-step"},
    {"em", "result", SAGD_CFG_STRING, "last", SAGD_CFG_ANY,
     "theta_{k+1} after an M-step: 'last' iterate or 'average' of the T iterates"},
    /* [sagd] */
    {"sagd", "sampler", SAGD_CFG_STRING, "underdamped", SAGD_CFG_ANY,
     "Langevin sampler: underdamped or overdamped"},
    {"sagd", "gamma", SAGD_CFG_REAL, "2", SAGD_CFG_POSITIVE, "friction of underdamped Langevin"},
    {"sagd", "chains", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1, "C: chains per data point"},
    {"sagd", "schedule", SAGD_CFG_STRING, "em", SAGD_CFG_ANY,
     "schedule of delta_t, K_t, alpha_t: constant, thm3, thm4, em, power (see README)"},
    {"sagd", "delta", SAGD_CFG_REAL, "0.1", SAGD_CFG_POSITIVE, "C1: step-size scale delta"},
    {"sagd", "K0", SAGD_CFG_INT, "20", SAGD_CFG_NONNEGATIVE,
     "chain-length offset: em K_t = t + K0; constant K_t = K0 (must be >= 1)"},
    {"sagd", "c2", SAGD_CFG_REAL, "1", SAGD_CFG_POSITIVE, "C2: chain-length scale (thm3, thm4, power)"},
    {"sagd", "c", SAGD_CFG_REAL, "0.25", SAGD_CFG_NONNEGATIVE, "exponent c of thm4 / power"},
    {"sagd", "kpow", SAGD_CFG_REAL, "0.5", SAGD_CFG_NONNEGATIVE, "power: chain-length exponent"},
    {"sagd", "alpha", SAGD_CFG_REAL, "0.2", SAGD_CFG_POSITIVE, "alpha0: learning-rate scale"},
    {"sagd", "apow", SAGD_CFG_REAL, "0", SAGD_CFG_NONNEGATIVE, "power: learning-rate exponent"},
    {"sagd", "burnin", SAGD_CFG_INT, "100", SAGD_CFG_NONNEGATIVE,
     "Langevin steps (at delta_1) whenever the target changes"},
    {"sagd", "optimizer", SAGD_CFG_STRING, "sgd", SAGD_CFG_ANY,
     "sgd (projected) or adam (projected)"},
    {"sagd", "beta1", SAGD_CFG_REAL, "0.9", SAGD_CFG_POSITIVE, "adam beta1"},
    {"sagd", "beta2", SAGD_CFG_REAL, "0.999", SAGD_CFG_POSITIVE, "adam beta2"},
    {"sagd", "block", SAGD_CFG_INT, "16", SAGD_CFG_AT_LEAST_1,
     "data points per reduction block (changes the bits of the result, not its law)"},
    /* [exact] */
    {"exact", "enabled", SAGD_CFG_BOOL, "true", SAGD_CFG_ANY,
     "em_gamma: also run the exact-gradient (quadrature) EM path and the MLE"},
    {"exact", "nodes", SAGD_CFG_INT, "64", SAGD_CFG_AT_LEAST_1,
     "Gauss-Hermite nodes for the exact reference (>= 64)"},
    {NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL},
};
