#!/usr/bin/env bash
# Quickstart: install the package with its test tools (which builds the C++ bridge), then
# run the main job: a learner and an actor as separate processes talking gRPC on loopback,
# training SiLRI on the simulated pick_cube task from state observations. The simulated
# operator is deliberately imperfect (profile "novice": alone it succeeds in about half of
# the episodes); it records the 20 demonstrations (its successful episodes) and intervenes
# during training (configs/train.py:silri_pick_cube_state).
#
#   bash launchers/quickstart.sh [extra --config.<field>=<value> flags]
#
# The actor keeps the replay ratio of 1 update call per env step (runtime.updates_per_env_step),
# so the result does not depend on how fast the machine simulates. The learner's status
# line is shown while it trains. Runs in about 5 minutes on a busy 2-core CPU (plus the
# install) and ends with the learned policy's success beside the operator's own, then one
# JSON line (the saved policy's deterministic evaluation, no operator):
#   {"event": "final_eval", "success_rate": ..., "mean_episode_length": ...,
#    "intervention_rate": ..., "operator_success_rate": ..., "summary_plot": ..., ...}
# Everything goes to runs/quickstart/<date-time>/ (RUN_DIR overrides): summary.png (success,
# intervention rate and lambda against env steps), TensorBoard logs in tb/ (to browse them:
# pip install -e ".[tensorboard]" && tensorboard --logdir runs/quickstart), the final
# policy in policy.npz (silri_jax.sync_train.load_policy reads it; python -m
# silri_jax.actor --eval --policy=... replays it), Orbax checkpoints in checkpoints/, the
# processes' logs in logs/. Set SKIP_INSTALL=1 to reuse an existing installation.
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
  # The [dev] extras are what the README's second command (the tests) needs: pytest, and
  # the build tools the C++ tests configure CMake with.
  echo "installing silri_jax and its test tools (builds the C++ bridge; a few minutes the first time)..."
  "$PYTHON" -m pip install -q -e ".[dev]"
fi

RUN_DIR="${RUN_DIR:-runs/quickstart/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$RUN_DIR"
echo "run directory: $RUN_DIR"
exec "$PYTHON" -m silri_jax.launch \
  --config=configs/train.py:silri_pick_cube_state \
  --num_actors=1 \
  --config.runtime.env_steps=12000 \
  --config.runtime.run_dir="$RUN_DIR" \
  "$@"
