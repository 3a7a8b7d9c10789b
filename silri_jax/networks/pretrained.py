"""Pretrained image-backbone weights from a local file the user names (never downloaded).

Format: a NumPy ``.npz`` whose keys are the '/'-joined parameter paths of the backbone
module (e.g. ``stem_conv/kernel``, ``stage_1/conv1/kernel``, ``stage_1/norm1/scale``),
each a float array of exactly the module's shape. ``save_backbone_params`` writes that
format. Loading checks every name and shape against the module and names what differs.

HIL-SERL publishes its ResNet-10 weights as a pickled flax parameter dict
(``conv_init``, ``norm_init``, ``ResNetBlock_<i>/{Conv_0,MyGroupNorm_0,Conv_1,
MyGroupNorm_1,conv_proj,norm_proj}``). Convert such a file once, offline:

    python -m silri_jax.networks.pretrained --from_hilserl resnet10_params.pkl --out resnet10.npz

The converter unpickles with an allow-list (numpy arrays, dicts, flax FrozenDicts only),
so a file that tries to build anything else is refused rather than executed.
``--backbone resnet10 --out w.npz`` without ``--from_hilserl`` writes a seeded
initialisation in the same format.
"""

from __future__ import annotations

import argparse
import io
import pathlib
import pickle
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
    return check_backbone_params(flat, backbone, str(path))


def check_backbone_params(
    flat: Mapping[str, Any], backbone: nn.Module, source: str
) -> dict[str, Any]:
    """``flat`` ("a/b/kernel" -> array) checked against ``backbone``'s names and shapes and
    returned as its nested parameter tree; a mismatch names ``source`` and what differs."""
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
            f"{source} does not match the {type(backbone).__name__} backbone: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}, wrong shapes {wrong[:5]}"
        )
    return unflatten_dict(
        {tuple(k.split("/")): jnp.asarray(v, expected[k].dtype) for k, v in flat.items()}
    )


HILSERL_RENAMES = {
    "conv_init": "stem_conv",
    "norm_init": "stem_norm",
    "Conv_0": "conv1",
    "MyGroupNorm_0": "norm1",
    "Conv_1": "conv2",
    "MyGroupNorm_1": "norm2",
    "conv_proj": "proj",
    "norm_proj": "proj_norm",
}
_SAFE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("collections", "OrderedDict"),
    ("flax.core.frozen_dict", "FrozenDict"),
    ("builtins", "dict"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _SAFE_GLOBALS:
            raise ValueError(
                f"refusing to unpickle {module}.{name}: only numpy arrays and dicts are allowed"
            )
        return super().find_class(module, name)


def _rename_hilserl(key: str) -> str:
    if key.startswith("ResNetBlock_"):
        return "stage_" + key.removeprefix("ResNetBlock_")
    return HILSERL_RENAMES.get(key, key)


def convert_hilserl_resnet10(src: pathlib.Path, dst: pathlib.Path) -> dict[str, Any]:
    """HIL-SERL's pickled ResNet-10 params -> this project's ``.npz`` (checked on load)."""
    src = pathlib.Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"HIL-SERL parameter file not found: {src}")
    tree = _ArrayOnlyUnpickler(io.BytesIO(src.read_bytes())).load()
    if isinstance(tree, Mapping) and "params" in tree and len(tree) == 1:
        tree = tree["params"]
    if not isinstance(tree, Mapping):
        raise ValueError(f"{src} does not hold a parameter dict (got {type(tree).__name__})")
    flat = flatten_dict(_plain(tree))
    renamed = {"/".join(_rename_hilserl(k) for k in path): np.asarray(v)
               for path, v in flat.items()}
    from silri_jax.networks.encoders import ResNet10

    # checked before anything is written: a mismatch leaves no half-valid file at dst
    params = check_backbone_params(renamed, ResNet10(), str(src))
    save_backbone_params(params, pathlib.Path(dst))
    return params


def _plain(tree: Any) -> Any:
    if isinstance(tree, Mapping):
        return {str(k): _plain(v) for k, v in tree.items()}
    return tree


def main() -> None:
    from silri_jax.networks.encoders import make_backbone

    p = argparse.ArgumentParser(description="write backbone weights in the .npz format")
    p.add_argument("--backbone", default="resnet10")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--from_hilserl", default="", help="HIL-SERL resnet10 .pkl to convert")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if a.from_hilserl:
        convert_hilserl_resnet10(pathlib.Path(a.from_hilserl), pathlib.Path(a.out))
        return
    backbone = make_backbone(a.backbone)
    params = backbone.init(jax.random.PRNGKey(a.seed), jnp.zeros((1, 128, 128, 3), jnp.uint8))
    save_backbone_params(params["params"], pathlib.Path(a.out))


if __name__ == "__main__":
    main()
