#!/usr/bin/env bash
# One actor on the robot (or simulation) machine, streaming to a remote learner.
#   SILRI_TOKEN=<secret> launchers/actor.sh LEARNER_HOST:PORT ACTOR_ID [--config=...] [--config.x=...]
# Use the same --config (agent and task sections) as the learner: the handshake compares
# their hash. With SILRI_TLS_ROOT_CERT (the learner's CA, PEM) the connection uses TLS.
set -euo pipefail
address="${1:?usage: SILRI_TOKEN=... $0 HOST:PORT ACTOR_ID [flags...]}"
actor_id="${2:?usage: SILRI_TOKEN=... $0 HOST:PORT ACTOR_ID [flags...]}"; shift 2
: "${SILRI_TOKEN:?set SILRI_TOKEN to the secret shared with the learner}"
cd "$(dirname "$0")/.."
args=(--config.runtime.address="$address" --config.runtime.token="$SILRI_TOKEN"
      --actor_id="$actor_id")
[[ -n "${SILRI_TLS_ROOT_CERT:-}" ]] && args+=(--config.runtime.tls_root_cert="$SILRI_TLS_ROOT_CERT")
has_config=0; for a in "$@"; do [[ "$a" == --config=* ]] && has_config=1; done
[[ $has_config == 1 ]] || args=(--config=configs/train.py "${args[@]}")
exec python -m silri_jax.actor "${args[@]}" "$@"
