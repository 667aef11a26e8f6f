#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, for the tests and for poking at by hand:
# etcd, kube-apiserver (TLS, RBAC, the default admission plugins), kube-controller-manager,
# kube-scheduler and kwok (fake nodes whose pods run: Deployments become Available, Jobs
# complete), all built from Go modules by build.sh. Custom resource definitions given with
# --crds are installed and established before READY.
#
#   integration/controlplane/cluster.sh DIR [--crds DIR_OR_FILE]... [--stages FILE]...
#                                        [--strimzi v1|v1beta2] [--token-webhook URL]
#
# Writes DIR/kubeconfig (context `alpaka-real`, user authenticated by a client certificate in
# group system:masters, the CA the API server's serving certificate is signed by), DIR/*.log,
# then prints `READY DIR/kubeconfig` on stdout and stays in the foreground. DIR/pki/alpaka.crt
# and .key are a second admin identity (CN=alpaka), so a test can tell alpaka's requests from
# its own kubectl's. DIR/audit.log is the API server's audit log of every write by a client
# that is not a control-plane component (one JSON event per line, stage ResponseComplete).
# --token-webhook: bearer tokens are also checked by that TokenReview webhook (how EKS checks
# aws-iam-authenticator tokens). It stops everything
# it started on SIGTERM/SIGINT, or when the process that started it goes away (a test runner
# that panicked or was killed leaves nothing running).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

dir="${1:?usage: cluster.sh DIR [--crds PATH]... [--stages FILE]... [--strimzi v1|v1beta2]}"
shift
crds=()
stages=()
strimzi=""
webhook=""
while [ $# -gt 0 ]; do
  case "$1" in
    --crds) crds+=("$2"); shift 2 ;;
    --stages) stages+=("$2"); shift 2 ;;
    # The Strimzi stand-in (strimzi-standin.yaml) for this API version of kafka.strimzi.io.
    --strimzi) strimzi="$2"; shift 2 ;;
    --token-webhook) webhook="$2"; shift 2 ;;
    *) echo "cluster.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
parent=$PPID

bin="$("$here/build.sh")"
pids=()
# shellcheck disable=SC2329 # called by the EXIT trap
stop() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # Give them a moment to exit cleanly, then make sure.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# die, free_port, start (each server under setpriv --pdeathsig), check_alive, serve.
# shellcheck source=integration/servers.sh
. "$here/../servers.sh"



# --- PKI: one CA; the API server's serving certificate; a client certificate per component.
pki="$dir/pki"
mkdir -p "$pki"
(
  cd "$pki"
  ossl() { openssl "$@" 2>>"$dir/openssl.log"; }
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 \
    -keyout ca.key -out ca.crt -subj "/CN=alpaka-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  sign() { # name subject extensions
    ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$1.key" -out "$1.csr" -subj "$2"
    printf '%s\n' "$3" >"$1.ext"
    ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3 \
      -extfile "$1.ext" -out "$1.crt"
    rm -f "$1.csr" "$1.ext"
  }
  client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
  sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  # The identities kubeadm gives them; RBAC's bootstrap policy binds these names.
  sign admin "/O=system:masters/CN=alpaka-test-admin" "$client"
  sign alpaka "/O=system:masters/CN=alpaka" "$client"
  sign controller-manager "/CN=system:kube-controller-manager" "$client"
  sign scheduler "/CN=system:kube-scheduler" "$client"
  sign kwok "/O=system:masters/CN=kwok" "$client"
  # kwok also serves the kubelet API (pod logs) for its nodes; the API server calls it.
  sign kwok-serving "/CN=kwok" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1"
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
  ossl pkey -in sa.key -pubout -out sa.pub
) || die "making certificates failed (openssl)"

etcd_port=$(free_port)
peer_port=$(free_port)
api_port=$(free_port)
kubelet_port=$(free_port)
server="https://127.0.0.1:$api_port"

kubeconfig() { # file user context
  b64() { base64 -w0 <"$1"; }
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: alpaka-real
  cluster:
    server: $server
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$pki/$2.crt")
    client-key-data: $(b64 "$pki/$2.key")
contexts:
- name: $3
  context: {cluster: alpaka-real, user: $2}
current-context: $3
EOF
  chmod 600 "$1"
}
kubeconfig "$dir/kubeconfig" admin alpaka-real
kubeconfig "$dir/controller-manager.kubeconfig" controller-manager default
kubeconfig "$dir/scheduler.kubeconfig" scheduler default
kubeconfig "$dir/kwok.kubeconfig" kwok default

# Each component dies with this script, even when it is SIGKILLed (util-linux setpriv).

# --- etcd (fsync off: test data, and 2-core machines).
start etcd "$bin/etcd" --name default --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" --unsafe-no-fsync --log-level warn

# --- The audit policy: writes by anyone but the control plane's own components (the first
# matching rule decides; audit.k8s.io/v1 Policy).
cat >"$dir/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: None
  users: [system:kube-controller-manager, system:kube-scheduler, system:apiserver, kwok]
- level: None
  userGroups: [system:serviceaccounts, system:nodes]
- level: None
  verbs: [get, list, watch]
- level: Metadata
EOF
authn=()
if [ -n "$webhook" ]; then
  cat >"$dir/token-webhook.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: webhook
  cluster: {server: "$webhook"}
users:
- name: apiserver
contexts:
- name: webhook
  context: {cluster: webhook, user: apiserver}
current-context: webhook
EOF
  authn=(--authentication-token-webhook-config-file "$dir/token-webhook.kubeconfig"
    --authentication-token-webhook-version v1 --authentication-token-webhook-cache-ttl 10s)
fi

# --- kube-apiserver: flags as kubeadm/envtest set them; default admission plugins left on.
start kube-apiserver "$bin/kube-apiserver" \
  --audit-policy-file "$dir/audit-policy.yaml" --audit-log-path "$dir/audit.log" \
  --audit-log-format json --audit-log-mode blocking \
  "${authn[@]}" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --authorization-mode RBAC \
  --service-cluster-ip-range 10.96.0.0/16 \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --allow-privileged=true --profiling=false --cert-dir "$pki/generated" \
  --kubelet-preferred-address-types InternalIP \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --endpoint-reconciler-type lease

ready=""
for _ in $(seq 1 300); do
  if curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
      "$server/readyz" >/dev/null 2>&1; then
    ready=1
    break
  fi
  check_alive "a component"
  sleep 0.2
done
[ -n "$ready" ] || die "kube-apiserver not ready after 60 s"

# The admin's requests below go through curl (kubectl is not one of the built tools).
api() { # method path [json] (the body from stdin when json is -)
  curl -sS -f --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "@$3"} "$server$2"
}

# --- CRDs, before kwok starts: it maps its stages' resources once, at start-up.
# (Server-side apply would need kubectl: create them, then wait for Established.)
py="${ALPAKA_TEST_PYTHON:-python3}"
crd_files=()
for c in "${crds[@]}"; do
  if [ -d "$c" ]; then
    for f in "$c"/*.yaml; do crd_files+=("$f"); done
  else
    crd_files+=("$c")
  fi
done
names=()
for f in "${crd_files[@]}"; do
  json="$dir/crd.json"
  "$py" -c 'import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], "w"))' "$f" "$json" \
    || die "cannot read $f as YAML with $py (PyYAML is needed: the test venv, ALPAKA_TEST_PYTHON, has it)"
  out="$(api POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions - <"$json" 2>&1)" \
    || die "installing $f failed: $out"
  names+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["name"])' "$json")")
done
for name in "${names[@]}"; do
  ok=""
  for _ in $(seq 1 100); do
    if api GET "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name" \
        | python3 -c 'import json,sys; c=json.load(sys.stdin); sys.exit(0 if any(x["type"]=="Established" and x["status"]=="True" for x in c.get("status",{}).get("conditions",[])) else 1)'; then
      ok=1
      break
    fi
    sleep 0.1
  done
  [ -n "$ok" ] || die "CRD $name not Established"
done

# --- controllers, scheduler, kwok.
start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$dir/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --use-service-account-credentials=true --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port 0 \
  --concurrent-gc-syncs 5 --node-monitor-grace-period 40s
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$dir/scheduler.kubeconfig" \
  --authentication-kubeconfig "$dir/scheduler.kubeconfig" \
  --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1 --secure-port 0

# kwok's own stages (fast node/pod lifecycle) come from the kwok module Go downloaded for the
# build (nothing copied into this repository); ours (--stages) follow, with @CONTROLPLANE@
# standing for this directory (a ClusterLogs' logsFile must be an absolute path).
kwok_dir="$(cd "$here" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
{
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$kwok_dir/kustomize/stage/$f"
    echo "---"
  done
  for f in "${stages[@]}"; do sed "s|@CONTROLPLANE@|$here|g" "$f"; echo "---"; done
  if [ -n "$strimzi" ]; then
    sed "s|@STRIMZI_API@|kafka.strimzi.io/$strimzi|g" "$here/strimzi-standin.yaml"
    if [ "$strimzi" = v1 ]; then echo "---"; cat "$here/strimzi-standin-v1.yaml"; fi
  fi
} >"$dir/kwok.yaml"
start kwok "$bin/kwok" --kubeconfig "$dir/kwok.kubeconfig" --config "$dir/kwok.yaml" \
  --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds 0 --cidr 10.244.0.0/16 \
  --node-ip 127.0.0.1 --node-port "$kubelet_port" --server-address "127.0.0.1:$kubelet_port" \
  --tls-cert-file "$pki/kwok-serving.crt" --tls-private-key-file "$pki/kwok-serving.key"


# --- fake nodes: three, as a k3d cluster's infra and worker agents plus an unlabelled one.
for n in infra worker general; do
  labels="\"kubernetes.io/hostname\":\"kwok-$n\",\"kubernetes.io/os\":\"linux\",\"kubernetes.io/arch\":\"amd64\",\"type\":\"kwok\""
  [ "$n" = general ] || labels="$labels,\"alpaka/node-type\":\"$n\""
  api POST /api/v1/nodes - >/dev/null <<EOF || die "creating node kwok-$n failed"
{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kwok-$n",
  "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
  "labels": {$labels}}, "spec": {}}
EOF
done

# --- ready when every node is Ready and the default ServiceAccount exists (pods need it).
for _ in $(seq 1 300); do
  if api GET /api/v1/nodes | python3 -c 'import json,sys; ns=json.load(sys.stdin)["items"]; sys.exit(0 if len(ns)==3 and all(any(c["type"]=="Ready" and c["status"]=="True" for c in n.get("status",{}).get("conditions",[])) for n in ns) else 1)' \
     && api GET /api/v1/namespaces/default/serviceaccounts/default >/dev/null; then
    echo "READY $dir/kubeconfig"
    serve "a component"
  fi
  check_alive "a component"
  sleep 0.2
done
die "nodes not Ready after 60 s"
