#!/usr/bin/env bash
# Quickstart: install the package (which builds the C++ bridge), then train SiLRI on the
# simulated pick_cube task from state observations with a simulated human operator.
#
#   bash launchers/quickstart.sh [extra --config.<field>=<value> flags]
#
# Runs in about 10-15 minutes on a 2-core CPU and ends with one JSON line:
#   {"event": "final_eval", "success_rate": ..., "mean_episode_length": ...,
#    "intervention_rate": ...}
# TensorBoard logs go to runs/quickstart (tensorboard --logdir runs), the final policy to
# runs/quickstart/policy.npz (silri_jax.sync_train.load_policy reads it).
# Set SKIP_INSTALL=1 to reuse an existing installation.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

if [[ "${SKIP_INSTALL:-0}" != "1" ]]; then
  # Headless rendering libraries for pixel observations (not needed by this state-only
  # run, so a failure here is only reported).
  if command -v apt-get >/dev/null 2>&1 && [[ -f /etc/debian_version ]]; then
    missing=()
    for lib in libEGL.so.1 libOSMesa.so; do
      ldconfig -p 2>/dev/null | grep -q "$lib" || missing+=("$lib")
    done
    if ((${#missing[@]})); then
      SUDO=""
      [[ "$(id -u)" != "0" ]] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
      { $SUDO apt-get update -qq && \
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libegl1 libosmesa6; } \
        >/dev/null 2>&1 || echo "note: could not install libegl1/libosmesa6 (pixels need them)"
    fi
  fi
  echo "installing silri_jax (builds the C++ bridge; a few minutes the first time)..."
  "$PYTHON" -m pip install -q -e .
fi

RUN_DIR="runs/quickstart"
mkdir -p "$RUN_DIR"
exec "$PYTHON" -m silri_jax.sync_train \
  --config=configs/sync_train.py \
  --config.log_dir="$RUN_DIR" \
  --config.save_policy_path="$RUN_DIR/policy.npz" \
  "$@"
