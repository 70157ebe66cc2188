#!/usr/bin/env bash
# The run command: brings the local stack up from Debian packages (no Docker needed) and says where each
# part listens. Stop it with scripts/infra.sh down.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/infra.sh up
dotnet build ZeroDiskServices.sln -c Release -nologo -v q
echo
echo "Stack is up. Stop it with: scripts/infra.sh down"
