"""Random observations shaped like an env spec, for benchmarks that must not render.

Why one helper: every benchmark that feeds the learner, the transport, the spool or the
codec needs frames that are random (so no codec or cache takes a shortcut on constant
data) and typed as the spec says (uint8 images, float32 vectors).
"""

from __future__ import annotations

import numpy as np

from silri_jax.specs import EnvSpec


def random_obs(spec: EnvSpec, n: int | None, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One observation dict (``n`` None) or ``n`` of them stacked on a leading axis: uniform
    uint8 images, standard-normal float32 vectors."""
    lead = () if n is None else (int(n),)
    out: dict[str, np.ndarray] = {}
    for key, s in spec.observation.entries.items():
        shape = (*lead, *s.shape)
        if np.dtype(s.dtype) == np.uint8:
            out[key] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        else:
            out[key] = rng.normal(size=shape).astype(np.float32)
    return out
