"""Whether a learner checkpoint can be resumed by this learner, and if not, why.

A checkpoint records the checkpoint format, the config hash (agent and task, what
learner and actors must agree on) and the whole config. Refusing with "another config"
alone sends a user hunting for a change they did not make when the real cause is a newer
silri_jax (a changed format or config schema); so the refusal names the fields that
differ, or says that none do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_MAX_LISTED = 8


def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, Mapping):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_leaves(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: tree}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def config_differences(stored: Mapping[str, Any], current: Mapping[str, Any],
                       sections: tuple[str, ...] = ("agent", "task")) -> list[str]:
    """``"section.field: <checkpoint> (checkpoint) vs <now> (now)"`` for every field of
    ``sections`` that differs (a field only one side has shows as ``<absent>``)."""
    diffs = []
    for section in sections:
        a = _leaves(stored.get(section, {}), f"{section}.")
        b = _leaves(current.get(section, {}), f"{section}.")
        for key in sorted(set(a) | set(b)):
            va = _canonical(a[key]) if key in a else "<absent>"
            vb = _canonical(b[key]) if key in b else "<absent>"
            if va != vb:
                diffs.append(f"{key}: {va} (checkpoint) vs {vb} (now)")
    return diffs


def refusal(step: int, meta: Mapping[str, Any], format_version: int, config_hash: str,
            config: Mapping[str, Any]) -> str | None:
    """The one message that refuses to resume checkpoint ``step``, or None when it can be
    resumed (same format, same config hash)."""
    theirs = meta.get("format_version")
    if theirs != format_version:
        return (f"checkpoint {step} has checkpoint format {theirs}, this silri_jax reads "
                f"format {format_version}: resume it with the silri_jax that wrote it, or "
                f"start a new run (another runtime.run_dir)")
    if meta.get("config_hash") == config_hash:
        return None
    head = (f"checkpoint {step} was written under config hash {meta.get('config_hash')}, "
            f"this config's is {config_hash}")
    stored = meta.get("config")
    if not isinstance(stored, Mapping):
        return (f"{head}, and the checkpoint does not record its config: "
                f"start a new run (another runtime.run_dir)")
    diffs = config_differences(stored, config)
    if not diffs:
        return (f"{head}, but every agent and task field is the same: the checkpoint was "
                f"written by a silri_jax whose config schema differed, and cannot be "
                f"resumed by this one (start a new run, another runtime.run_dir)")
    shown = "; ".join(diffs[:_MAX_LISTED])
    more = f"; and {len(diffs) - _MAX_LISTED} more" if len(diffs) > _MAX_LISTED else ""
    return (f"{head}: the agent and task fields differ ({shown}{more}); resume with the "
            f"checkpoint's values, or start a new run (another runtime.run_dir)")
