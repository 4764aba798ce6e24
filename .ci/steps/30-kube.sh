#!/usr/bin/env bash
# Live cluster mode (issue 7): build a real kube-apiserver, etcd and kubectl
# from the separate tools/kube module, cache them outside the repo keyed by
# Kubernetes version, then run the tests tagged `kubeapiserver`, which start
# etcd and kube-apiserver on 127.0.0.1 and run meshdoctor --kube against them.
#
#   .ci/steps/30-kube.sh            build (if not cached) and test
#   .ci/steps/30-kube.sh build      build only (start it early: ~5 min cold)
set -euo pipefail
cd "$(dirname "$0")/../.."

KUBE_VERSION=v1.37.2
# The version is also pinned in tools/kube/go.mod; refuse to cache a mismatch.
grep -qE "^\s*k8s.io/kubernetes ${KUBE_VERSION}( |$)" tools/kube/go.mod || {
  echo "30-kube.sh: tools/kube/go.mod does not pin k8s.io/kubernetes ${KUBE_VERSION}" >&2; exit 1; }

CACHE="${MESHDOCTOR_KUBE_CACHE:-$HOME/.cache/meshdoctor/kube-${KUBE_VERSION}}"
mkdir -p "$CACHE"

build() {
  local name=$1 pkg=$2
  if [ -x "$CACHE/$name" ]; then
    echo "cached: $CACHE/$name"
    return
  fi
  echo "building $name from $pkg"
  local start=$SECONDS
  # Build into a temporary name so an interrupted build never looks cached.
  (cd tools/kube && go build -mod=readonly -trimpath -ldflags=-s -o "$CACHE/.$name.tmp" "$pkg")
  mv "$CACHE/.$name.tmp" "$CACHE/$name"
  echo "built $name in $((SECONDS - start)) s"
}

build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kubectl k8s.io/kubernetes/cmd/kubectl

if [ "${1:-}" = build ]; then
  exit 0
fi

export MESHDOCTOR_KUBE_BIN="$CACHE"
go vet -tags kubeapiserver ./internal/kube/...
go test -tags kubeapiserver -count=1 -timeout 15m -v -run . ./internal/kube/... 2>&1 | tee "$CACHE/last-test.log" | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|live_test.go:' || true
# tee hides go test's status: read it back from the log.
grep -qE '^(FAIL|panic)' "$CACHE/last-test.log" && { cat "$CACHE/last-test.log" | tail -80; exit 1; }
grep -qE '^ok ' "$CACHE/last-test.log"
