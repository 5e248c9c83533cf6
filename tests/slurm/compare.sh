# shellcheck shell=bash
# Bit-for-bit comparison of two sagd run files (sourced by the slurm and multinode tests).
#
# same_run A.h5 B.h5: every dataset of A except the wall-clock ones (*/seconds) and /meta
# (creation time, rank count) must exist in B and be identical, bit for bit (h5diff without
# tolerance), and B must hold no dataset that A lacks. Prints what differs; returns 1 then.
same_run() {
  local a=$1 b=$2 n=0 bad=0 d
  local la lb
  la=$(h5ls -r "$a" 2>/dev/null | awk '$2 == "Dataset" {print $1}' | grep -v -e '/seconds$' -e '^/meta' | sort)
  lb=$(h5ls -r "$b" 2>/dev/null | awk '$2 == "Dataset" {print $1}' | grep -v -e '/seconds$' -e '^/meta' | sort)
  if [ -z "$la" ]; then echo "same_run: no datasets in $a" >&2; return 1; fi
  if [ "$la" != "$lb" ]; then
    echo "same_run: $a and $b hold different datasets:" >&2
    diff <(echo "$la") <(echo "$lb") | head -10 >&2
    return 1
  fi
  for d in $la; do
    n=$((n + 1))
    if ! h5diff -q "$a" "$b" "$d" "$d" >/dev/null 2>&1; then
      echo "same_run: $d differs:" >&2
      h5diff -r "$a" "$b" "$d" "$d" 2>&1 | head -6 >&2
      bad=$((bad + 1))
    fi
  done
  echo "same_run: $n datasets compared bit for bit, $bad differ ($a vs $b)"
  [ "$bad" = 0 ]
}
