/* Every configuration key sagd accepts: the one place they are declared, typed, defaulted
 * and documented (printed by `sagd run --help`). */
#include "sagd/experiment.h"

const sagd_config_key sagd_config_keys[] = {
    /* [run] */
    {"run", "experiment", SAGD_CFG_STRING, "em_gamma", SAGD_CFG_ANY,
     "experiment to run: em_gamma (automated EM, Figure 1), deconv_vae (debiased VAE, "
     "Table 1), em_plugin (automated EM or MLE on a user's model, model.plugin) or mnist_vae "
     "(convolutional VAE on MNIST digits refined by SAGD, Figure 3)", 0},
    {"run", "seed", SAGD_CFG_INT, "1", SAGD_CFG_NONNEGATIVE,
     "random seed (with the replication, keys every random draw)", 0},
    {"run", "replication", SAGD_CFG_INT, "0", SAGD_CFG_NONNEGATIVE,
     "replication number (each replication gets its own data set and chains)", 0},
    {"run", "progress_every", SAGD_CFG_INT, "25", SAGD_CFG_NONNEGATIVE,
     "rank 0 prints a progress line every N updates (0: only phase summaries)", 1},
    {"run", "stall_seconds", SAGD_CFG_REAL, "0", SAGD_CFG_NONNEGATIVE,
     "watchdog: a rank that finishes no iteration for this many seconds ends the job with a "
     "message (a lost or frozen node); must exceed the longest stretch between iterations "
     "(0: off)", 1},
    /* [data] */
    {"data", "n", SAGD_CFG_INT, "100", SAGD_CFG_AT_LEAST_1,
     "number of synthetic observations (mnist_vae: training images used, the first n of "
     "the split)", 0},
    {"data", "a", SAGD_CFG_REAL, "2", SAGD_CFG_ANY, "em_gamma: true a of the generator", 0},
    {"data", "b", SAGD_CFG_REAL, "0.5", SAGD_CFG_ANY, "em_gamma: true b of the generator", 0},
    {"data", "shape_scale", SAGD_CFG_REAL, "10", SAGD_CFG_POSITIVE,
     "em_gamma: S in shape = S*sigmoid(a + b z)", 0},
    {"data", "file", SAGD_CFG_STRING, "", SAGD_CFG_ANY,
     "optional text file of observations (white space/comma separated, # comments); "
     "replaces the synthetic data and sets n (mnist_vae: data/mnist/mnist.h5 from the set-up, "
     "or an IDX images file, plain or .gz)", 0},
    {"data", "test_file", SAGD_CFG_STRING, "", SAGD_CFG_ANY,
     "mnist_vae: IDX file of the test images when data.file is an IDX file (empty with "
     "sagd's HDF5 data.file, which holds both splits)", 0},
    {"data", "test_n", SAGD_CFG_INT, "1000", SAGD_CFG_AT_LEAST_1,
     "mnist_vae: test images scored by the held-out log-likelihood (the first n)", 0},
    {"data", "truth", SAGD_CFG_STRING, "exponential", SAGD_CFG_ANY,
     "deconv_vae: latent truth Z: normal (N(1, 0.5^2)), exponential (mean 2) or mixture "
     "(0.4 N(0, 0.5^2) + 0.6 N(3, 0.5^2)); X = Z + N(0, I)", 0},
    {"data", "dim", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: data dimension p (independent coordinates)", 0},
    /* [model] */
    {"model", "precision", SAGD_CFG_STRING, "double", SAGD_CFG_ANY,
     "deconv_vae, mnist_vae: arithmetic of the networks' forward and backward passes: 'double' or "
     "'single' (float32 GEMMs via cblas_sgemm on a float copy of the parameters; θ, the "
     "optimizer and the reduction stay double)", 0},
    {"model", "theta0", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_gamma, em_plugin: initial theta, one value per coordinate (empty: the model's "
     "default; em_gamma (a, b) = (0, 1))", 0},
    {"model", "lower", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_gamma, em_plugin: lower bounds of the box Theta, one per theta coordinate (empty: "
     "the model's default; em_gamma -20, -20)", 0},
    {"model", "upper", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_gamma, em_plugin: upper bounds of the box Theta (empty: the model's default; "
     "em_gamma 20, 20)", 0},
    {"model", "plugin", SAGD_CFG_STRING, "", SAGD_CFG_ANY,
     "em_plugin: path of the plug-in's shared object (a user's model, see README \"Write "
     "your own model\"); loaded on every rank", 0},
    {"model", "generator", SAGD_CFG_REALS, "1, 10, 1", SAGD_CFG_ANY,
     "deconv_vae: generator layer widths: latent dimension r, hidden widths..., data.dim", 0},
    {"model", "encoder", SAGD_CFG_REALS, "1, 10, 2", SAGD_CFG_ANY,
     "deconv_vae: encoder layer widths: data.dim, hidden widths..., 2r (mean, log-variance)", 0},
    {"model", "generator_layers", SAGD_CFG_STRING,
     "dense 1024 relu; dense 3136 relu; reshape 7x7x64; convt 32 k4 s2 p1 relu; convt 1 k4 s2 p1",
     SAGD_CFG_ANY,
     "mnist_vae: the generator, latent -> one logit per pixel: layers separated by ';' (dense "
     "N act | conv C kK sS pP act | convt C kK sS pP oO act | reshape RxCxCH)", 0},
    {"model", "encoder_layers", SAGD_CFG_STRING,
     "conv 32 k4 s2 p1 relu; conv 64 k4 s2 p1 relu; dense 256 relu; dense 40", SAGD_CFG_ANY,
     "mnist_vae: the encoder, image (rows x cols x 1) -> 2 x model.latent (mean, "
     "log-variance); same syntax as model.generator_layers", 0},
    {"model", "latent", SAGD_CFG_INT, "20", SAGD_CFG_AT_LEAST_1,
     "mnist_vae: latent dimension", 0},
    {"model", "likelihood", SAGD_CFG_STRING, "gaussian", SAGD_CFG_ANY,
     "deconv_vae: p(x | h(u)): gaussian (N(h(u), I): the deconvolution model), bernoulli "
     "(h(u) are logits; every data value must lie in [0, 1]) or gaussian_var (N(mu(u), "
     "diag sigma^2(u)), learned variance: the generator's last width is 2 x data.dim, means "
     "then log-variances; KS and W1 use the means)", 0},
    {"model", "activation", SAGD_CFG_STRING, "softplus", SAGD_CFG_ANY,
     "deconv_vae: hidden-layer activation (softplus, relu, tanh, sigmoid, identity)", 0},
    /* [em] */
    {"em", "msteps", SAGD_CFG_INT, "3", SAGD_CFG_AT_LEAST_1, "number of EM iterations (M-steps)", 0},
    {"em", "updates", SAGD_CFG_INT, "100", SAGD_CFG_AT_LEAST_1,
     "T: SAGD updates per M-step", 0},
    {"em", "result", SAGD_CFG_STRING, "last", SAGD_CFG_ANY,
     "theta_{k+1} after an M-step: 'last' iterate or 'average' of the T iterates", 0},
    {"em", "target", SAGD_CFG_STRING, "frozen", SAGD_CFG_ANY,
     "em_plugin: 'frozen' (automated EM: the chains target p(u | x; theta_k) during M-step "
     "k) or 'follow' (direct MLE: they target p(u | x; theta) at the current theta)", 0},
    /* [plugin] */
    {"plugin", "params", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_plugin: numbers handed to the plug-in's open op (their meaning is the plug-in's)", 0},
    /* [sagd] */
    {"sagd", "sampler", SAGD_CFG_STRING, "underdamped", SAGD_CFG_ANY,
     "Langevin sampler: underdamped (DESIGN/paper scheme), symplectic (kick then drift: "
     "O(delta^2) stationary bias on Gaussian targets) or overdamped", 0},
    {"sagd", "gamma", SAGD_CFG_REAL, "2", SAGD_CFG_POSITIVE,
     "friction of the underdamped and symplectic schemes", 0},
    {"sagd", "chains", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1, "C: chains per data point", 0},
    {"sagd", "schedule", SAGD_CFG_STRING, "em", SAGD_CFG_ANY,
     "schedule of delta_t, K_t, alpha_t: constant, thm3, thm4, em, power (see README)", 0},
    {"sagd", "delta", SAGD_CFG_REAL, "0.1", SAGD_CFG_POSITIVE, "C1: step-size scale delta", 0},
    {"sagd", "K0", SAGD_CFG_INT, "20", SAGD_CFG_NONNEGATIVE,
     "chain-length offset: em K_t = t + K0; constant K_t = K0 (must be >= 1)", 0},
    {"sagd", "c2", SAGD_CFG_REAL, "1", SAGD_CFG_POSITIVE, "C2: chain-length scale (thm3, thm4, power)", 0},
    {"sagd", "c", SAGD_CFG_REAL, "0.25", SAGD_CFG_NONNEGATIVE, "exponent c of thm4 / power", 0},
    {"sagd", "kpow", SAGD_CFG_REAL, "0.5", SAGD_CFG_NONNEGATIVE, "power: chain-length exponent", 0},
    {"sagd", "alpha", SAGD_CFG_REAL, "0.2", SAGD_CFG_POSITIVE, "alpha0: learning-rate scale", 0},
    {"sagd", "apow", SAGD_CFG_REAL, "0", SAGD_CFG_NONNEGATIVE, "power: learning-rate exponent", 0},
    {"sagd", "clock", SAGD_CFG_STRING, "mstep", SAGD_CFG_ANY,
     "em: schedule index t of delta_t, K_t restarts each M-step ('mstep', paper Fig. 1) or "
     "runs over the whole run ('run': delta_t -> 0, K_t -> inf, removes the O(delta) bias)", 0},
    {"sagd", "burnin", SAGD_CFG_INT, "100", SAGD_CFG_NONNEGATIVE,
     "Langevin steps (at delta_1) whenever the target changes", 0},
    {"sagd", "optimizer", SAGD_CFG_STRING, "sgd", SAGD_CFG_ANY,
     "sgd (projected) or adam (projected)", 0},
    {"sagd", "beta1", SAGD_CFG_REAL, "0.9", SAGD_CFG_POSITIVE, "adam beta1", 0},
    {"sagd", "beta2", SAGD_CFG_REAL, "0.999", SAGD_CFG_POSITIVE, "adam beta2", 0},
    {"sagd", "reduction", SAGD_CFG_STRING, "prerounded", SAGD_CFG_ANY,
     "deconv_vae: how the blocks' gradients are summed across ranks, bit-identically for "
     "any number of ranks: 'prerounded' (each term rounded onto a grid set by the previous "
     "update's largest terms, summed as integers: error ~2^-50 of the largest term, 10 "
     "bytes per parameter sent) or 'exact' (a superaccumulator: correctly rounded, ~5x "
     "dearer)", 0},
    {"sagd", "block", SAGD_CFG_INT, "16", SAGD_CFG_AT_LEAST_1,
     "data points per reduction block (changes the bits of the result, not its law)", 0},
    /* [vae], [iwae], [hmc], [metrics]: the deconv_vae experiment */
    {"vae", "methods", SAGD_CFG_STRING, "vae, iwae, hmc, sagd", SAGD_CFG_ANY,
     "deconv_vae: fine-tuning methods, each from the same pre-trained VAE: vae, iwae, hmc, "
     "sagd", 0},
    {"vae", "pretrain_epochs", SAGD_CFG_INT, "5000", SAGD_CFG_NONNEGATIVE,
     "deconv_vae, mnist_vae: VAE pre-training epochs (Adam)", 0},
    {"vae", "pretrain_lr", SAGD_CFG_REAL, "0.01", SAGD_CFG_POSITIVE,
     "deconv_vae, mnist_vae: pre-training learning rate", 0},
    {"vae", "finetune_epochs", SAGD_CFG_INT, "1000", SAGD_CFG_NONNEGATIVE,
     "deconv_vae: fine-tuning epochs per method (mnist_vae: SAGD epochs)", 0},
    {"vae", "refit_epochs", SAGD_CFG_INT, "10", SAGD_CFG_NONNEGATIVE,
     "mnist_vae: epochs of the encoder refit on the ELBO with the SAGD generator frozen (its "
     "proposal for the held-out score)", 0},
    {"vae", "finetune_lr", SAGD_CFG_REAL, "0.001", SAGD_CFG_POSITIVE,
     "deconv_vae: fine-tuning learning rate (every method)", 0},
    {"vae", "batches", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1,
     "deconv_vae, mnist_vae: minibatches per epoch (1 = full batch; each block of sagd.block points is "
     "cut into this many parts)", 0},
    {"vae", "samples", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1,
     "deconv_vae, mnist_vae: reparameterised samples per point in the ELBO", 0},
    {"vae", "estimate", SAGD_CFG_BOOL, "true", SAGD_CFG_ANY,
     "deconv_vae, mnist_vae: time a few iterations of each phase and print the estimated wall time", 0},
    {"iwae", "k", SAGD_CFG_INT, "50", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: importance samples of the IWAE bound", 0},
    {"hmc", "leapfrog", SAGD_CFG_INT, "5", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: leapfrog steps L per HMC transition (step size sagd.delta, sagd.K0 "
     "transitions per update)", 0},
    {"metrics", "samples", SAGD_CFG_INT, "5000", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: generated values h(U) for the KS and W1 distances", 0},
    {"metrics", "nodes", SAGD_CFG_INT, "64", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: Gauss-Hermite nodes of the true log-likelihood (1-D model)", 0},
    {"metrics", "loglik_every", SAGD_CFG_INT, "25", SAGD_CFG_NONNEGATIVE,
     "deconv_vae: trace the true log-likelihood every N iterations (0: only at the end); "
     "mnist_vae: the held-out estimate every N updates (0: at phase ends only)", 0},
    {"metrics", "is_samples", SAGD_CFG_INT, "1000", SAGD_CFG_AT_LEAST_1,
     "mnist_vae: importance samples per test digit of the held-out log-likelihood", 0},
    /* [exact] */
    {"exact", "enabled", SAGD_CFG_BOOL, "true", SAGD_CFG_ANY,
     "em_gamma: also run the exact-gradient (quadrature) EM path and the MLE", 0},
    {"exact", "nodes", SAGD_CFG_INT, "64", SAGD_CFG_AT_LEAST_1,
     "Gauss-Hermite nodes for the exact reference (>= 64)", 0},
    /* [checkpoint] (neutral = 1: they cannot change results and may differ on resume) */
    {"checkpoint", "every", SAGD_CFG_INT, "0", SAGD_CFG_NONNEGATIVE,
     "write DIR/checkpoint.h5 every N iterations (0: off); also at the end of each phase "
     "and on SIGTERM/SIGUSR1", 1},
    {"checkpoint", "seconds", SAGD_CFG_REAL, "600", SAGD_CFG_NONNEGATIVE,
     "write a checkpoint when this many seconds passed since the last one (0: off)", 1},
    {NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL, 0},
};
