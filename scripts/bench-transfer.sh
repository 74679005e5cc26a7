#!/usr/bin/env bash
# The transfer benchmark: trtctl upload/fetch of a 1 GiB engine against an S3 server on
# loopback, next to `aws s3 cp` (awscli from PyPI, in a venv of its own) against the same server.
#
#   scripts/bench-transfer.sh                 # awscli venv in ${TMPDIR:-/tmp}/trtctl-awscli
#   AWSCLI_VENV=dir scripts/bench-transfer.sh # elsewhere
#   TRANSFER_MIB=256 TRANSFER_RUNS=1 scripts/bench-transfer.sh   # quicker
#
# Needs python3 with venv, network access to PyPI the first time, and ~3 GiB free in $TMPDIR.
set -euo pipefail

cd "$(dirname "$0")/.."
venv="${AWSCLI_VENV:-${TMPDIR:-/tmp}/trtctl-awscli}"

if [[ ! -x "$venv/bin/aws" ]]; then
    echo "installing awscli into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check awscli
fi
"$venv/bin/aws" --version >&2

AWSCLI="$venv/bin/aws" exec cargo bench --bench transfer "$@"
