#!/usr/bin/env bash
# The HTML report in a real browser (issue 6): install Debian's chromium when
# missing, then run the tests tagged `chromium`, which open the bundled
# example's `matrix -o html` headless, check the DOM (nodes, edges, the red
# /blog/ edge, the trace shown on a click), take a screenshot (its path is
# printed), render a report of hostile names without running any of them, and
# time the 1,000-service report.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends chromium >/dev/null || {
    apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
fi
chromium --version

go vet -tags chromium ./internal/report/html/...
go test -tags chromium -count=1 -v ./internal/report/html/... 2>&1 |
  grep -v '^=== RUN'
