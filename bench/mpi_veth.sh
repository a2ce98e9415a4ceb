#!/bin/sh
# Distributed training over TCP between two "machines" on one host (issue 15):
# two network namespaces joined by a veth pair, mpirun with the TCP transport
# only (--mca btl tcp,self: no shared memory between the ranks' transports).
# mpirun runs in kn_ns1 (10.77.0.1); the daemon for the second host is started
# in kn_ns2 (10.77.0.2) by a launch agent that replaces ssh with
# `ip netns exec`. Run as root from the package root after `make install`:
#   sh bench/mpi_veth.sh [script.R]     (default: a short data-parallel fit)
set -e
LIB=${LIB:-$(pwd)/_build/lib}
WORK=$(mktemp -d /tmp/kn_veth.XXXXXX)
cleanup() {
  ip netns del kn_ns1 2>/dev/null || true
  ip netns del kn_ns2 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cleanup_only_ns() { ip netns del kn_ns1 2>/dev/null || true; ip netns del kn_ns2 2>/dev/null || true; }
cleanup_only_ns

ip netns add kn_ns1
ip netns add kn_ns2
ip link add kn_veth1 type veth peer name kn_veth2
ip link set kn_veth1 netns kn_ns1
ip link set kn_veth2 netns kn_ns2
ip -n kn_ns1 addr add 10.77.0.1/24 dev kn_veth1
ip -n kn_ns2 addr add 10.77.0.2/24 dev kn_veth2
for ns in kn_ns1 kn_ns2; do
  ip -n $ns link set lo up
done
ip -n kn_ns1 link set kn_veth1 up
ip -n kn_ns2 link set kn_veth2 up
echo "== addresses: kn_ns1 $(ip -n kn_ns1 -4 -o addr show dev kn_veth1 | awk '{print $4}'), kn_ns2 $(ip -n kn_ns2 -4 -o addr show dev kn_veth2 | awk '{print $4}')"

# "ssh" to a host = run the command in that host's namespace
cat > "$WORK/agent.sh" <<'EOF'
#!/bin/sh
host=$1; shift
case "$host" in
  10.77.0.1) ns=kn_ns1; name=kn-host1 ;;
  10.77.0.2) ns=kn_ns2; name=kn-host2 ;;
  *) echo "agent: unknown host $host" >&2; exit 1 ;;
esac
# own UTS namespace too: each "machine" has its own host name
exec ip netns exec $ns unshare --uts sh -c "hostname $name; $*"
EOF
chmod +x "$WORK/agent.sh"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$WORK/hosts"

SCRIPT=${1:-$WORK/train.R}
if [ -z "$1" ]; then
  cat > "$WORK/train.R" <<'EOF'
suppressMessages(library(kerasnative))
info <- distribute_init(timeout = 30)
addr <- system("ip -4 -o addr show | awk '/10.77/ {print $2, $4}'", intern = TRUE)
cat(sprintf("rank %d of %d on host %s, interface %s (pid %d)\n", info$rank, info$size, Sys.info()[["nodename"]],
            paste(addr, collapse = ","), Sys.getpid()))
set.seed(1)
x <- matrix(rnorm(4000), ncol = 4); y <- x %*% c(1, -2, 0.5, 1)
m <- keras_model_sequential() %>% layer_dense(16, activation = "relu", input_shape = 4) %>% layer_dense(1)
m %>% compile(loss = "mse", optimizer = "adam")
h <- fit(m, x, y, batch_size = 50, epochs = 3, verbose = 0)
w <- unlist(get_weights(m))
sums <- distribute_allreduce(c(sum(w), 1))
if (info$rank == 0) {
  cat(sprintf("epoch losses: %s\n", paste(sprintf("%.4f", h$metrics$loss), collapse = " ")))
  cat(sprintf("weights checksum rank 0 = %.10g, mean over ranks = %.10g (equal: %s)\n",
              sum(w), sums[1] / sums[2], sum(w) == sums[1] / sums[2]))
}
EOF
fi

echo "== mpirun over TCP (btl tcp,self) between kn_ns1 and kn_ns2"
ip netns exec kn_ns1 unshare --uts env R_LIBS="$LIB" sh -c 'hostname kn-host1; exec "$@"' sh mpirun --allow-run-as-root -np 2 --hostfile "$WORK/hosts" \
  --mca plm_rsh_agent "$WORK/agent.sh" --mca btl tcp,self \
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  --mca btl_base_verbose 0 -x R_LIBS Rscript "$SCRIPT"
echo "== done"
