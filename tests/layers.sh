#!/usr/bin/env bash
# Layers (DESIGN.md): every #include "folder/..." of a source file points to its own folder or one
# below it. Below proxy/: protocol < config < routing < policy, and relay/ and doctor/ beside proxy/
# without libuv. Inside proxy/: io and telemetry < server < session < worker < admin (a session sees
# its worker only through SessionHost; the console is above the worker it inspects).
# Usage: tests/layers.sh <source dir>. Prints each include that points up and exits 1 if any does.
set -euo pipefail
cd "$1"

declare -A may_use=(
  [protocol]="protocol"
  [config]="config protocol"
  [routing]="routing config protocol"
  [policy]="policy routing config protocol"
  [relay]="relay policy routing config protocol"
  [doctor]="doctor config routing protocol"
  [proxy/io]="proxy/io config protocol"
  [proxy/telemetry]="proxy/telemetry config policy protocol"
  [proxy/server]="proxy/server proxy/io proxy/telemetry relay routing config protocol"
  [proxy/session]="proxy/session proxy/server proxy/io proxy/telemetry relay policy routing config protocol"
  [proxy/worker]="proxy/worker proxy/session proxy/server proxy/io proxy/telemetry relay policy routing config protocol"
  [proxy/admin]="proxy/admin proxy/worker proxy/session proxy/server proxy/io proxy/telemetry relay policy routing config protocol"
)

bad=0
for folder in "${!may_use[@]}"; do
  for file in "$folder"/*.h "$folder"/*.cc; do
    [[ -e "$file" ]] || continue
    while IFS= read -r target; do
      case "$target" in proxy/*) part="${target%/*}" ;; *) part="${target%%/*}" ;; esac
      if [[ " ${may_use[$folder]} " != *" $part "* ]]; then
        echo "$file includes \"$target\": $folder may use only ${may_use[$folder]}"
        bad=1
      fi
    done < <(sed -n 's/^#include "\([a-z_]*\/[a-z_/]*\.h\)".*/\1/p' "$file")
    if [[ "$folder" != proxy/* ]] && grep -q '^#include <uv.h>' "$file"; then
      echo "$file includes <uv.h>: only proxy/ runs event loops"
      bad=1
    fi
  done
done
if ((bad == 0)); then echo "layers: every include points down (${#may_use[@]} folders)"; fi
exit "$bad"
