#!/usr/bin/env bash
# The race detector over the packages that run engines on several goroutines:
# package paths evaluates with one engine per CPU (workers share the pass
# engine's configuration indexes, resolve.Engine.Worker), and the check driver
# reads the mesh index from those goroutines (mesh.Index.Select builds its
# label index once, under a sync.Once).
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -race -count=1 ./internal/mesh ./internal/paths ./internal/check ./internal/bench
