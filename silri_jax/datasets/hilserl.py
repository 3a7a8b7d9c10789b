"""HIL-SERL demonstration pickles -> project episodes, without running pickled code.

HIL-SERL's ``record_demos.py`` pickles a list of transition dicts with the keys
``observations``, ``actions``, ``next_observations``, ``rewards``, ``masks``, ``dones``
and ``infos`` (and ``grasp_penalty`` on gripper tasks). Observations are dicts
``{"state": [1, d], "<camera>": [1, H, W, 3]}`` (a leading axis of 1 from its chunking
wrapper, dropped here).

Loading. A pickle can name any importable callable and have it run while loading, so
:class:`SafeUnpickler` resolves only the globals that rebuild numpy arrays, dtypes and
scalars and a few inert builtins; anything else (``os.system``, ``subprocess.Popen``,
``builtins.eval``...) is refused with an error naming it.

Mapping. Transitions are chained into episodes: one ends where ``dones`` is set, or where
the next transition's observation is not this one's next observation. ``terminated`` is
``dones`` unless ``infos`` says the step was a time-limit truncation. A step was driven by
a human when its ``infos`` holds ``intervene_action`` (HIL-SERL's intervention wrapper);
without any such key the flags stay unknown (None). The gripper: HIL-SERL keeps it as the
last action value (-1 close, 0 stay, 1 open); when every last value is one of those three
it becomes the project's discrete command (0 open, 1 stay, 2 close) and the continuous
action loses that column (``gripper=True``/``False`` forces the choice).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from silri_jax.datasets.episodes import DatasetEpisode
from silri_jax.datasets.errors import DatasetError, where
from silri_jax.specs import (
    IMAGE_PREFIX,
    STATE_KEY,
    ActionSpec,
    ArraySpec,
    EnvSpec,
    ObservationSpec,
)

ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how protocol-2 pickles carry bytes (numpy arrays' data)
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "slice"),
    ("builtins", "bytearray"),
})
_TRUNCATION_KEYS = ("TimeLimit.truncated", "truncated", "truncation")


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle names a global outside the allow-list."""


class SafeUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS or (
                module in ("numpy", "numpy.dtypes") and name.endswith("DType")):
            return super().find_class(module, name)
        raise RefusedGlobal(
            f"refusing to load the global {module}.{name}: only numpy arrays, dtypes, "
            "scalars and plain containers are allowed")


def safe_load(path: str | Path) -> Any:
    """The object in a pickle file, through :class:`SafeUnpickler`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise where(path, f"cannot read: {e.strerror or e}") from None
    try:
        return SafeUnpickler(io.BytesIO(data)).load()
    except RefusedGlobal as e:
        raise where(path, str(e)) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as e:
        raise where(path, f"not a readable pickle ({type(e).__name__}: {e}); truncated or "
                          "not a HIL-SERL demo file") from None


def _obs(o: Any, path: Path, i: int) -> dict[str, np.ndarray]:
    if not isinstance(o, Mapping):
        raise where(path, f"transition {i}: observations are a {type(o).__name__}, expected "
                          "a dict like {'state': ..., '<camera>': ...}")
    out = {}
    for key, value in o.items():
        arr = np.asarray(value)
        if arr.ndim >= 2 and arr.shape[0] == 1 and (arr.ndim == 4 or key == STATE_KEY
                                                    or arr.dtype != np.uint8):
            arr = arr[0]  # HIL-SERL's chunking wrapper adds an axis of 1
        if arr.dtype == np.uint8 and arr.ndim == 3:
            out[IMAGE_PREFIX + str(key)] = arr
        else:
            out[STATE_KEY if key == STATE_KEY else str(key)] = arr.astype(np.float32).reshape(-1)
    return out


def _same(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _truncated(info: Any) -> bool:
    return isinstance(info, Mapping) and any(bool(info.get(k, False)) for k in _TRUNCATION_KEYS)


def episodes_from_transitions(
    transitions: Sequence[Mapping[str, Any]], path: Path, gripper: bool | None = None
) -> tuple[EnvSpec, list[DatasetEpisode]]:
    """Chains HIL-SERL transition dicts into project episodes (see the module docstring)."""
    need = ("observations", "actions", "next_observations", "rewards")
    rows = []
    for i, tr in enumerate(transitions):
        if not isinstance(tr, Mapping):
            raise where(path, f"item {i} is a {type(tr).__name__}, expected a transition dict")
        missing = [k for k in need if k not in tr]
        if missing:
            raise where(path, f"transition {i} lacks {missing}")
        done = bool(np.asarray(tr.get("dones", 1.0 - np.asarray(tr.get("masks", 1.0)))).any())
        info = tr.get("infos", {})
        rows.append({
            "obs": _obs(tr["observations"], path, i),
            "next": _obs(tr["next_observations"], path, i),
            "action": np.asarray(tr["actions"], np.float32).reshape(-1),
            "reward": float(np.asarray(tr["rewards"]).reshape(-1)[0]),
            "done": done,
            "truncated": _truncated(info),
            "human": isinstance(info, Mapping) and "intervene_action" in info,
            "has_info": isinstance(info, Mapping) and len(info) > 0,
        })
    if not rows:
        raise where(path, "holds no transitions")
    dims = {len(r["action"]) for r in rows}
    if len(dims) != 1:
        raise where(path, f"actions of different lengths {sorted(dims)}")
    last = np.array([r["action"][-1] for r in rows])
    if gripper is None:
        gripper = rows[0]["action"].size >= 2 and bool(np.all(np.isin(last, (-1.0, 0.0, 1.0))))
    flags_known = any(r["human"] for r in rows)
    segments: list[list[dict[str, Any]]] = [[]]
    for i, r in enumerate(rows):
        segments[-1].append(r)
        ends = r["done"] or i + 1 == len(rows) or not _same(r["next"], rows[i + 1]["obs"])
        if ends and i + 1 < len(rows):
            segments.append([])
    episodes = []
    for seg in segments:
        keys = seg[0]["obs"].keys()
        obs = {k: np.stack([r["obs"][k] for r in seg] + [seg[-1]["next"][k]]) for k in keys}
        actions = np.stack([r["action"] for r in seg])
        grip = None
        if gripper:
            grip = (1 - np.rint(actions[:, -1])).clip(0, 2).astype(np.int32)
            actions = actions[:, :-1]
        done = np.array([r["done"] for r in seg])
        trunc = np.array([r["truncated"] for r in seg]) & done
        if not done[-1]:
            trunc[-1] = True  # the data stops here without the episode having ended
        episodes.append(DatasetEpisode(
            observations=obs, actions=actions.astype(np.float32),
            rewards=np.array([r["reward"] for r in seg], np.float32),
            terminated=(done & ~trunc).astype(np.uint8), truncated=trunc.astype(np.uint8),
            gripper_actions=grip,
            is_intervention=(np.array([r["human"] for r in seg], np.uint8)
                             if flags_known else None),
        ))
    first = episodes[0].observations
    try:
        spec = EnvSpec(
            ObservationSpec({k: ArraySpec(v.shape[1:], v.dtype.name) for k, v in first.items()}),
            ActionSpec(int(episodes[0].actions.shape[1]), bool(gripper)))
        for i, ep in enumerate(episodes):
            ep.validate(spec, i)
    except ValueError as e:
        raise where(path, f"transitions do not form project episodes: {e}") from None
    return spec, episodes


def load_hilserl(path: str | Path, gripper: bool | None = None
                 ) -> tuple[EnvSpec, list[DatasetEpisode]]:
    """Episodes of a HIL-SERL demo pickle (a list of transition dicts)."""
    path = Path(path)
    data = safe_load(path)
    if isinstance(data, Mapping) and "transitions" in data:
        data = data["transitions"]
    if not isinstance(data, list | tuple):
        raise DatasetError(f"{path}: holds a {type(data).__name__}, expected a list of "
                           "transition dicts (a HIL-SERL demo file)")
    return episodes_from_transitions(data, path, gripper)
