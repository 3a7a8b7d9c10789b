#!/usr/bin/env bash
# The learner on the training machine, reachable by actors on other machines.
#   SILRI_TOKEN=<secret> launchers/learner.sh 0.0.0.0:50551 [--config=...] [--config.x=...] [--resume]
# Binding a non-loopback address requires the shared token; with SILRI_TLS_CERT and
# SILRI_TLS_KEY (PEM files) the learner serves TLS.
set -euo pipefail
address="${1:?usage: SILRI_TOKEN=... $0 HOST:PORT [flags...]}"; shift
: "${SILRI_TOKEN:?set SILRI_TOKEN to the secret shared with the actors}"
cd "$(dirname "$0")/.."
args=(--config.runtime.address="$address" --config.runtime.token="$SILRI_TOKEN")
[[ -n "${SILRI_TLS_CERT:-}" ]] && args+=(--config.runtime.tls_cert="$SILRI_TLS_CERT"
                                         --config.runtime.tls_key="${SILRI_TLS_KEY:?}")
has_config=0; for a in "$@"; do [[ "$a" == --config=* ]] && has_config=1; done
[[ $has_config == 1 ]] || args=(--config=configs/train.py "${args[@]}")
exec python -m silri_jax.learner "${args[@]}" "$@"
