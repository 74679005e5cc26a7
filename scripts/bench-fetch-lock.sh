#!/usr/bin/env bash
# The deploy-side benchmark: `trtctl fetch --lock` of 100 pinned engines from an S3 server on
# loopback, next to `aws s3 sync` (awscli from PyPI, in a venv of its own) of the same objects.
#
#   scripts/bench-fetch-lock.sh                          # awscli venv in ${TMPDIR:-/tmp}/trtctl-awscli
#   FETCH_ENGINE_MIB=2 FETCH_RUNS=1 scripts/bench-fetch-lock.sh   # quicker
#
# Needs python3 with venv and network access to PyPI the first time.
set -euo pipefail

cd "$(dirname "$0")/.."
venv="${AWSCLI_VENV:-${TMPDIR:-/tmp}/trtctl-awscli}"

if [[ ! -x "$venv/bin/aws" ]]; then
    echo "installing awscli into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check awscli
fi
"$venv/bin/aws" --version >&2

AWSCLI="$venv/bin/aws" exec cargo bench --bench fetch_lock "$@"
