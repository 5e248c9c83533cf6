#!/usr/bin/env bash
# Install what sagd needs on Debian 12 (idempotent: installs only what is missing).
# Usage: bash jobs/setup-debian.sh        (as root, or with sudo available)
set -euo pipefail
pkgs=(build-essential cmake pkg-config git
      openmpi-bin libopenmpi-dev libopenblas-dev
      libhdf5-openmpi-dev hdf5-tools
      libgsl-dev librandom123-dev libinih-dev
      python3-numpy python3-scipy python3-h5py python3-matplotlib
      slurm-wlm munge iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup-debian: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# gslcblas must never shadow OpenBLAS: sagd links libgsl alone, after BLAS (see CMakeLists.txt).
