#!/usr/bin/env bash
# promtool check rules ops/prometheus/alerts.yml, then promtool test rules on its unit tests.
# promtool comes from the Debian package `prometheus` (scripts/deps); without it this test fails.
# Usage: prometheus_rules.sh SOURCE_DIR
set -euo pipefail
source_dir="$1"
if ! command -v promtool >/dev/null 2>&1; then
  echo "FAIL: promtool is not installed (Debian package prometheus; scripts/deps installs it)" >&2
  exit 1
fi
cd "$source_dir/ops/prometheus"
promtool check rules alerts.yml
promtool test rules alerts_test.yml
