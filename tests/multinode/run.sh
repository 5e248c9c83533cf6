#!/usr/bin/env bash
# Two-"node" test (CTest label `multinode`): one study step run across two network namespaces
# with Open MPI over TCP, one rank per node, must give the same bits as a single-node run.
#
#   bash tests/multinode/run.sh [--keep]        (as root; SAGD=build/sagd by default)
#
# Set-up: network namespaces sagdA-PID and sagdB-PID joined by a veth pair with IPv4
# link-local addresses 169.254.77.1/16 and 169.254.77.2/16 (no private-range address is
# used), loopback up in each, and /etc/netns/<ns>/hosts naming the two hosts nodeA and nodeB
# (`ip netns exec` bind-mounts it over /etc/hosts). Each node runs in its own UTS namespace
# (unshare --uts) with its own hostname. mpirun starts in nodeA; its rsh launcher is a small
# agent script that runs the remote orted through `ip netns exec sagdB-PID unshare --uts`
# (no ssh). Open MPI is restricted to TCP: btl tcp,self, with btl_tcp_if_include and
# oob_tcp_if_include set to 169.254.0.0/16, so ranks can only talk over the veth pair.
#
# Checks: the two ranks report hostnames nodeA and nodeB; an em_gamma replication and a small
# deconv_vae replication run through jobs/replicate.sbatch across the two nodes and are
# bit-identical (h5diff, every dataset but the wall-clock ones) to 1-rank single-node runs;
# traffic went over the veth. A node lost mid-run: nodeB SIGKILLed (Open MPI ends the job at
# once) and nodeB frozen by SIGSTOP (sagd's run.stall_seconds watchdog ends it); each time
# the job ends within LOST_LIMIT (60) s and the run resumed on nodeA alone is bit-identical
# to an uninterrupted run. The namespaces, the veth pair and /etc/netns/<ns> are removed
# on exit. Exit 77 (CTest: skipped) when namespaces cannot be created here (not root, no
# iproute2 or unshare).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../slurm/standalone.sh"

[ "$(id -u)" = 0 ] || skip "network namespaces need root"
for c in ip unshare mpirun h5diff h5ls; do command -v "$c" >/dev/null || skip "$c not found"; done
[ -x "$SAGD" ] || { echo "FAIL: no sagd binary at $SAGD" >&2; exit 1; }

NSA=sagdA-$$
NSB=sagdB-$$
VA=sgA$$
VB=sgB$$
IPA=169.254.77.1
IPB=169.254.77.2
TMP=$(mktemp -d /tmp/sagd-multinode.XXXXXX)
chmod 755 "$TMP"
cleanup() {
  set +e
  ip netns pids "$NSA" 2>/dev/null | xargs -r kill 2>/dev/null
  ip netns pids "$NSB" 2>/dev/null | xargs -r kill 2>/dev/null
  ip netns del "$NSA" 2>/dev/null
  ip netns del "$NSB" 2>/dev/null
  ip link del "$VA" 2>/dev/null
  rm -rf "/etc/netns/$NSA" "/etc/netns/$NSB"
  rmdir /etc/netns 2>/dev/null
  if [ "$KEEP" = 1 ] || [ "$FAILS" -ne 0 ]; then echo "runs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'echo interrupted >&2; exit 1' INT TERM

ip netns add "$NSA" 2>"$TMP/ns.err" || skip "cannot create a network namespace: $(cat "$TMP/ns.err")"
ip netns add "$NSB" || skip "cannot create a second network namespace"
ip link add "$VA" type veth peer name "$VB" || skip "cannot create a veth pair"
ip link set "$VA" netns "$NSA" && ip link set "$VB" netns "$NSB" &&
  ip -n "$NSA" addr add "$IPA/16" dev "$VA" && ip -n "$NSB" addr add "$IPB/16" dev "$VB" &&
  ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up &&
  ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up ||
  { fail "cannot configure the veth pair"; exit 1; }
for ns in "$NSA" "$NSB"; do
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1 localhost\n%s nodeA\n%s nodeB\n' "$IPA" "$IPB" > "/etc/netns/$ns/hosts"
done
unshare --uts true 2>/dev/null || skip "unshare --uts is not permitted here"
pass "namespaces $NSA ($IPA, nodeA) and $NSB ($IPB, nodeB) joined by $VA-$VB"

# The rsh agent Open MPI uses to start orted on the other "node": `agent HOST COMMAND...`.
cat > "$TMP/agent.sh" <<EOF
#!/bin/sh
host=\$1; shift
case "\$host" in
  nodeA) ns=$NSA ;;
  nodeB) ns=$NSB ;;
  *) echo "agent: unknown host '\$host'" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c 'hostname "\$0"; exec sh -c "\$1"' "\$host" "\$*"
EOF
chmod 755 "$TMP/agent.sh"
MPIRUN="mpirun --host nodeA:1,nodeB:1 --mca plm_rsh_agent $TMP/agent.sh --mca btl tcp,self --mca btl_tcp_if_include 169.254.0.0/16 --mca oob_tcp_if_include 169.254.0.0/16"
# on_nodeA CMD...: run CMD as host nodeA (in its namespace, with its hostname)
on_nodeA() { timeout 300 ip netns exec "$NSA" unshare --uts sh -c 'hostname nodeA; exec "$@"' sh "$@"; }

hosts=$(on_nodeA $MPIRUN -np 2 hostname 2>&1 | sort | tr '\n' ' ')
[ "$hosts" = "nodeA nodeB " ] && pass "mpirun over the agent places one rank on each node: $hosts" ||
  { fail "ranks ran on '$hosts', expected nodeA nodeB"; exit 1; }

tx0=$(ip netns exec "$NSA" cat "/sys/class/net/$VA/statistics/tx_bytes")

# A small deconv_vae config (the Table 1 experiment at toy size).
cat > "$TMP/deconv-small.ini" <<'EOF'
[run]
experiment = deconv_vae
seed = 3
[data]
n = 120
truth = mixture
[vae]
pretrain_epochs = 150
finetune_epochs = 20
estimate = false
[metrics]
samples = 400
loglik_every = 0
EOF

# name config sets...: the study step across the two nodes (job script, 2 ranks) and on
# one node (1 rank), then compare.
step() {
  local name=$1 cfg=$2; shift 2
  local sets=() s
  for s in "$@"; do sets+=(--set "$s"); done
  if on_nodeA bash "$SRC/jobs/replicate.sbatch" --local --np 2 --mpiexec "$MPIRUN" --sagd "$SAGD" \
       --config "$cfg" --study "$TMP/$name-2nodes" --replication 1 "${sets[@]}" \
       > "$TMP/$name-2nodes.log" 2>&1; then
    pass "$name: replicate.sbatch ran across nodeA and nodeB"
  else
    tail -n 30 "$TMP/$name-2nodes.log"; fail "$name: the two-node run failed"; return
  fi
  "$MPIEXEC" -n 1 "$SAGD" run "$cfg" --out "$TMP/$name-1node" --replication 1 "${sets[@]}" --quiet \
    > "$TMP/$name-1node.log" 2>&1 || { tail "$TMP/$name-1node.log"; fail "$name: single-node run failed"; return; }
  local nr
  nr=$(h5dump -a /meta/n_ranks "$TMP/$name-2nodes/rep-001/result.h5" 2>/dev/null | sed -n 's/.*(0): *//p')
  [ "$nr" = 2 ] && pass "$name: result written by 2 ranks" || fail "$name: n_ranks = '$nr', expected 2"
  same_run "$TMP/$name-2nodes/rep-001/result.h5" "$TMP/$name-1node/result.h5" &&
    pass "$name: two-node result bit-identical to the single-node run" ||
    fail "$name: two-node result differs from the single-node run"
}
step em_gamma "$SRC/data/em_gamma.ini" em.updates=40
step deconv_vae "$TMP/deconv-small.ini"

# A node lost mid-run: a 2-node deconv_vae run, nodeB's processes SIGKILLed after its first
# checkpoints; the job must end (not hang) within LOST_LIMIT seconds with a clear message,
# and the run resumed on nodeA alone must give the bits of an uninterrupted 1-node run.
if [ "${SAGD_MULTINODE_LOST:-1}" = 1 ]; then
  LOST_LIMIT=${LOST_LIMIT:-60}
  sed -e 's/^pretrain_epochs = 150/pretrain_epochs = 3000/' "$TMP/deconv-small.ini" > "$TMP/deconv-lost.ini"
  printf '[checkpoint]\nevery = 100\n' >> "$TMP/deconv-lost.ini"
  on_nodeA $MPIRUN -np 2 "$SAGD" run "$TMP/deconv-lost.ini" --out "$TMP/lost" --replication 1 \
    > "$TMP/lost.log" 2>&1 &
  lost_pid=$!
  for _ in $(seq 1 600); do
    [ -e "$TMP/lost/checkpoint.h5.prev" ] && break
    kill -0 "$lost_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ ! -e "$TMP/lost/checkpoint.h5" ]; then
    fail "lost node: no checkpoint before the kill"; cat "$TMP/lost.log" >&2
  else
    t0=$(date +%s)
    ip netns pids "$NSB" | xargs -r kill -KILL
    wait "$lost_pid"; st=$?
    t1=$(date +%s)
    echo "--- the job's last lines after nodeB was lost (exit $st, $((t1 - t0)) s):"
    tail -n 8 "$TMP/lost.log"
    [ "$st" -ne 0 ] && [ $((t1 - t0)) -le "$LOST_LIMIT" ] &&
      pass "lost node: the job failed (exit $st) $((t1 - t0)) s after nodeB was killed" ||
      fail "lost node: exit $st after $((t1 - t0)) s (limit $LOST_LIMIT s)"
    "$MPIEXEC" -n 1 "$SAGD" run "$TMP/deconv-lost.ini" --out "$TMP/lost" --replication 1 \
      > "$TMP/lost-resume.log" 2>&1 && grep -q "resumed from the checkpoint" "$TMP/lost-resume.log" &&
      pass "lost node: resumed on nodeA alone from the checkpoint $(grep -o "at '[^']*'" "$TMP/lost-resume.log" | head -1)" ||
      { fail "lost node: resume on one node failed"; tail "$TMP/lost-resume.log" >&2; }
    "$MPIEXEC" -n 1 "$SAGD" run "$TMP/deconv-lost.ini" --out "$TMP/lost-ref" --replication 1 --quiet \
      > "$TMP/lost-ref.log" 2>&1 || fail "lost node: the uninterrupted 1-node run failed"
    same_run "$TMP/lost/result.h5" "$TMP/lost-ref/result.h5" &&
      pass "lost node: resumed result bit-identical to an uninterrupted run" ||
      fail "lost node: resumed result differs from an uninterrupted run"
  fi
fi

# A node frozen mid-run (SIGSTOP: no connection resets, so MPI alone would wait forever):
# with run.stall_seconds = 8 the rank on nodeA ends the job with sagd's message; nodeB is
# then killed, and the run resumed on nodeA alone gives the uninterrupted bits.
if [ "${SAGD_MULTINODE_LOST:-1}" = 1 ]; then
  on_nodeA $MPIRUN -np 2 "$SAGD" run "$TMP/deconv-lost.ini" --out "$TMP/frozen" --replication 1 \
    --set run.stall_seconds=8 > "$TMP/frozen.log" 2>&1 &
  frozen_pid=$!
  for _ in $(seq 1 600); do
    [ -e "$TMP/frozen/checkpoint.h5.prev" ] && break
    kill -0 "$frozen_pid" 2>/dev/null || break
    sleep 0.2
  done
  t0=$(date +%s)
  ip netns pids "$NSB" | xargs -r kill -STOP
  # sagd's watchdog fires after 8 s; mpirun may then wait on the frozen node's daemon
  for _ in $(seq 1 $((LOST_LIMIT * 5))); do
    grep -q "run.stall_seconds" "$TMP/frozen.log" && break
    sleep 0.2
  done
  t1=$(date +%s)
  ip netns pids "$NSB" | xargs -r kill -KILL
  wait "$frozen_pid"; st=$?
  echo "--- frozen node: sagd's message ($((t1 - t0)) s after the freeze, exit $st):"
  grep "run.stall_seconds" "$TMP/frozen.log" | head -2
  grep -q "sagd: error (rank 0 on nodeA): no iteration finished for 8 s (run.stall_seconds)" "$TMP/frozen.log" &&
    [ "$st" -ne 0 ] && [ $((t1 - t0)) -le "$LOST_LIMIT" ] &&
    pass "frozen node: rank 0 ended the job $((t1 - t0)) s after the freeze, naming the checkpoint" ||
    fail "frozen node: no watchdog message within $LOST_LIMIT s (exit $st)"
  "$MPIEXEC" -n 1 "$SAGD" run "$TMP/deconv-lost.ini" --out "$TMP/frozen" --replication 1 \
    > "$TMP/frozen-resume.log" 2>&1 && grep -q "resumed from the checkpoint" "$TMP/frozen-resume.log" &&
    same_run "$TMP/frozen/result.h5" "$TMP/lost-ref/result.h5" &&
    pass "frozen node: resumed on one node, bit-identical to an uninterrupted run" ||
    fail "frozen node: resume or comparison failed"
fi

tx1=$(ip netns exec "$NSA" cat "/sys/class/net/$VA/statistics/tx_bytes")
[ $((tx1 - tx0)) -gt 10000 ] && pass "$((tx1 - tx0)) bytes sent over the veth pair" ||
  fail "only $((tx1 - tx0)) bytes went over the veth pair"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
