"""Pretrained image-backbone weights from a local file the user names (never downloaded).

Format: a NumPy ``.npz`` whose keys are the '/'-joined parameter paths of the backbone
module (e.g. ``stem_conv/kernel``, ``stage_1/conv1/kernel``, ``stage_1/norm1/scale``),
each a float array of exactly the module's shape. ``save_backbone_params`` writes that
format; ``python -m silri_jax.networks.pretrained --backbone resnet10 --out w.npz``
writes a seeded initialisation, handy for checking the round trip.
Loading checks every name and shape against the module and names what differs.
"""

from __future__ import annotations

import argparse
import pathlib
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.traverse_util import flatten_dict, unflatten_dict


def _template(backbone: nn.Module, image_size: int = 128) -> Mapping[str, Any]:
    shapes = jax.eval_shape(
        backbone.init, jax.random.PRNGKey(0), jnp.zeros((1, image_size, image_size, 3), jnp.uint8)
    )
    return shapes["params"]


def save_backbone_params(params: Mapping[str, Any], path: pathlib.Path) -> None:
    flat = {"/".join(k): np.asarray(v) for k, v in flatten_dict(dict(params)).items()}
    path = pathlib.Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **flat)
    tmp.replace(path)


def load_backbone_params(path: pathlib.Path, backbone: nn.Module) -> dict[str, Any]:
    """Reads ``path`` and checks it against ``backbone``'s parameter names and shapes."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained backbone file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            flat = {k: np.asarray(f[k]) for k in f.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable .npz of backbone weights: {e}") from e
    expected = {"/".join(k): v for k, v in flatten_dict(dict(_template(backbone))).items()}
    missing = sorted(set(expected) - set(flat))
    extra = sorted(set(flat) - set(expected))
    wrong = sorted(
        f"{k}: file {flat[k].shape}, model {tuple(expected[k].shape)}"
        for k in set(flat) & set(expected)
        if tuple(flat[k].shape) != tuple(expected[k].shape)
    )
    if missing or extra or wrong:
        raise ValueError(
            f"{path} does not match the {type(backbone).__name__} backbone: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}, wrong shapes {wrong[:5]}"
        )
    return unflatten_dict(
        {tuple(k.split("/")): jnp.asarray(v, expected[k].dtype) for k, v in flat.items()}
    )


def main() -> None:
    from silri_jax.networks.encoders import make_backbone

    p = argparse.ArgumentParser(description="write a seeded backbone init in the .npz format")
    p.add_argument("--backbone", default="resnet10")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    backbone = make_backbone(a.backbone)
    params = backbone.init(jax.random.PRNGKey(a.seed), jnp.zeros((1, 128, 128, 3), jnp.uint8))
    save_backbone_params(params["params"], pathlib.Path(a.out))


if __name__ == "__main__":
    main()
