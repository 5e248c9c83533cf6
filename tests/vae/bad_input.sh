#!/usr/bin/env bash
# Bad deconv_vae configurations get one clear message naming the key and value, exit
# status 2, and nothing written (the output directory is not even created).
. "$SRC/tests/cli/lib.sh"
cfg="$SRC/data/table1-exp.ini"

expect_bad "unknown method" "'gibbs'" "$cfg" --set vae.methods="vae, gibbs"
expect_bad "method listed twice" "'sagd' is listed twice" "$cfg" --set vae.methods="sagd, vae, sagd"
expect_bad "IWAE k = 0" "iwae.k" "$cfg" --set iwae.k=0
co=(--set vae.methods="vae, iwae, hmc, coupled")
expect_bad "coupled S = 1" "coupled.S = 1: expected at least 2" "$cfg" "${co[@]}" --set coupled.S=1
expect_bad "coupled k > m" "coupled.k = 3, coupled.m = 2: expected k <= m" "$cfg" "${co[@]}" \
  --set coupled.k=3 --set coupled.m=2
expect_bad "coupled tau_max < m" "coupled.tau_max = 2: expected at least coupled.m = 4" "$cfg" \
  "${co[@]}" --set coupled.m=4 --set coupled.tau_max=2
expect_bad "coupled L = 0" "coupled.L" "$cfg" "${co[@]}" --set coupled.L=0
expect_bad "coupled keys without the method" "coupled.S = '5' (read by deconv_vae with coupled" \
  "$cfg" --set coupled.S=5
expect_bad "ald rms_beta = 1" "ald.rms_beta = 1: expected a value in [0, 1)" "$cfg" \
  --set vae.methods="vae, iwae, hmc, ald" --set ald.rms_beta=1
expect_bad "ald step 0" "ald.step" "$cfg" --set vae.methods="vae, iwae, hmc, ald" --set ald.step=0
expect_bad "leapfrog L = 0" "hmc.leapfrog" "$cfg" --set hmc.leapfrog=0
expect_bad "layer width 0" "model.generator[1] = 0" "$cfg" --set model.generator="1, 0, 1"
expect_bad "non-integer width" "model.generator[1] = 10.5" "$cfg" --set model.generator="1, 10.5, 1"
expect_bad "non-numeric width" "model.encoder" "$cfg" --set model.encoder="1, ten, 2"
expect_bad "generator output vs data dimension" "data.dim = 1" "$cfg" --set model.generator="1, 10, 2"
expect_bad "encoder input vs data dimension" "model.encoder: input width 2" "$cfg" --set model.encoder="2, 10, 2"
expect_bad "latent vs encoder output" "model.encoder: output width 2" "$cfg" --set model.generator="2, 10, 1"
expect_bad "encoder output not 2r" "expected 2 x the latent dimension" "$cfg" --set model.encoder="1, 10, 3"
expect_bad "unknown truth" "data.truth = 'gamma'" "$cfg" --set data.truth=gamma
expect_bad "unknown activation" "model.activation = 'swish'" "$cfg" --set model.activation=swish
expect_bad "chain length 0" "sagd.K0" "$cfg" --set sagd.K0=0
expect_bad "unstable friction" "sagd.gamma * sagd.delta" "$cfg" --set sagd.gamma=50
expect_bad "more minibatches than block points" "vae.batches = 200" "$cfg" --set vae.batches=200
expect_bad "too few quadrature nodes" "metrics.nodes" "$cfg" --set metrics.nodes=5
expect_bad "unknown likelihood" "model.likelihood = 'poisson': expected one of gaussian, bernoulli" \
  "$cfg" --set model.likelihood=poisson
expect_bad "bernoulli on real-valued data" "likelihood bernoulli: x[1][0] = 1.09212: expected a value in [0, 1]" \
  "$cfg" --set model.likelihood=bernoulli
expect_bad "iwae.k too large for memory" "network activations 288 TB (model.generator, model.encoder, iwae.k" \
  "$cfg" --set iwae.k=4000000000
expect_bad "data.n too large for memory" "data 6 TB (data.n, data.dim)" "$cfg" --set data.n=500000000000
finish
