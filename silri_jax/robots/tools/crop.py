"""``crop``: one frame from each of a cell's cameras, with its crop, as PNG files.

The same pictures ``python -m silri_jax.cameras crop`` writes (its ``draw_rectangle`` and
``centre_square``, the rig's ``crop_resize``), taken from a task file's camera entries
the way the robot env opens them: a real cell's cameras as configured; in a rehearsal
(a mujoco robot, or a camera whose backend is mujoco) each camera is rendered from the
simulated scene's camera of the same name with the arm at the cell's reset pose and the
objects placed as at an episode's start (``factory._rehearsal_cameras``). The cropped
picture is resized to the cell's ``image_size``, what the policy sees.

``set_crop`` also writes the crop into the task file's entry for that camera
(``task_file``), after checking that it fits the camera's frame.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any

import ml_collections
import numpy as np

from silri_jax.cameras.base import CameraError
from silri_jax.robots.tools import task_file

Crop = tuple[int, int, int, int]
DEFAULT_REHEARSAL_ROBOT = "sim_franka"


def select(cell: Any, names: Sequence[str]) -> list[str]:
    """The cameras to show: ``names`` (each must be a camera of the cell), else all."""
    known = list(cell.cameras.keys())
    if not known:
        raise ValueError("the cell has no cameras (its cameras section is empty)")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown camera {', '.join(map(repr, unknown))}: the cell's "
                         f"cameras are {', '.join(known)}")
    return list(dict.fromkeys(names)) or known


def is_rehearsal(robot: Any, cell: Any, names: Sequence[str]) -> bool:
    """Whether the pictures come from the simulated scene: the robot is a mujoco one, or
    (no robot given) a chosen camera is a MuJoCo render."""
    if robot is not None:
        return str(robot.backend) == "mujoco"
    return any(str(cell.cameras[n].backend) == "mujoco" for n in names)


@contextlib.contextmanager
def open_cameras(robot: Any, cell: Any, names: Sequence[str]
                 ) -> Iterator[dict[str, tuple[Any, ml_collections.ConfigDict]]]:
    """``{name: (built camera, its config)}`` for the chosen cameras; a rehearsal builds
    the simulated scene they render."""
    from silri_jax.cameras.config import make_camera
    from silri_jax.robots import factory

    kwargs: dict[str, Any] = {}
    if is_rehearsal(robot, cell, names):
        from silri_jax.robots.config import load_robot
        from silri_jax.robots.sim_cell import SimCell

        robot = robot if robot is not None else load_robot(DEFAULT_REHEARSAL_ROBOT)
        scene = SimCell(str(cell.sim_scene), np.asarray(cell.reset_pos_m),
                        np.asarray(cell.reset_quat_wxyz), factory.bridge_settings(robot, cell))
        scene.place_arm()
        scene.reset_scene(np.random.default_rng(0))
        section = factory._rehearsal_cameras(cell)
        kwargs = {"model": scene.model, "data": scene.data, "lock": scene.lock}
    else:
        if robot is not None:
            factory.check_pair(robot, cell)
        section = cell.cameras
    yield {n: (make_camera(n, section[n], **kwargs), section[n]) for n in names}


def grab(camera: Any) -> tuple[np.ndarray, str]:
    """One frame (uint8 HxWx3) and the camera's description."""
    with camera as cam:
        frame = cam.latest()
        if frame is None:
            raise CameraError(f"camera {cam.name!r} delivered no frame")
        return frame.image, cam.describe()


def write_pictures(name: str, image: np.ndarray, crop: Crop, size: int,
                   out_dir: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """``<name>_full.png`` (the crop drawn on the frame) and ``<name>_crop.png`` (what
    the policy sees)."""
    from silri_jax.cameras.__main__ import draw_rectangle
    from silri_jax.cameras.pipeline import crop_resize
    from silri_jax.cameras.png import write_png

    full = write_png(out_dir / f"{name}_full.png", draw_rectangle(image, crop))
    small = write_png(out_dir / f"{name}_crop.png", crop_resize(image, crop, size))
    return full, small


def crop_of(name: str, cfg: Any, image: np.ndarray, override: Crop | None) -> Crop:
    """The crop to show: ``override``, else the configured one, else the largest centred
    square; refused (``CameraError``) when it does not fit the frame."""
    from silri_jax.cameras.__main__ import centre_square
    from silri_jax.cameras.pipeline import check_crop, parse_crop

    h, w = image.shape[:2]
    crop = override or parse_crop(cfg.crop, name) or centre_square(h, w)
    check_crop(name, crop, h, w)
    return crop


def crop_line(name: str, crop: Sequence[int]) -> str:
    """The crop as a line for ``get_config()`` of a task file."""
    return f"c.cameras.{name}.crop = ({', '.join(str(int(v)) for v in crop)})"


def run(robot: Any, cell: Any, names: Sequence[str], out_dir: str | pathlib.Path,
        set_crop: Crop | None = None, task_path: str | None = None) -> list[str]:
    """Writes the pictures of every chosen camera; with ``set_crop`` (one camera) also
    writes the crop into the task file at ``task_path``. Returns the lines to print."""
    chosen = select(cell, names)
    if set_crop is not None and len(chosen) != 1:
        raise ValueError(f"--set writes one camera's crop: name it with --camera (the "
                         f"cell's cameras are {', '.join(chosen)})")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    size = int(cell.image_size)
    lines: list[str] = []
    crops: dict[str, Crop] = {}
    with open_cameras(robot, cell, chosen) as cameras:
        for name, (camera, cfg) in cameras.items():
            image, describe = grab(camera)
            crop = crop_of(name, cfg, image, set_crop)
            full, small = write_pictures(name, image, crop, size, out)
            h, w = image.shape[:2]
            lines.append(f"# {name}: {w}x{h} frame from {describe}; wrote {full} and "
                         f"{small} ({size}x{size})")
            crops[name] = crop
    lines += [crop_line(n, c) for n, c in crops.items()]
    if set_crop is not None and task_path is not None:
        write_crop(task_path, chosen[0], set_crop)
        lines.append(f"# wrote cameras.{chosen[0]}.crop = {tuple(set_crop)} into {task_path}")
    return lines


def write_crop(path: str, camera: str, crop: Crop) -> None:
    """Sets camera ``camera``'s crop in the task file at ``path`` in place."""
    text = "(" + ", ".join(str(int(v)) for v in crop) + ")"

    def edits(task: task_file.TaskFile) -> list[task_file.Edit]:
        return [task.set_camera_field(camera, "crop", text)]

    def check(cell: Any) -> None:
        got = tuple(cell.cameras[camera].crop) if camera in cell.cameras else None
        if got is None or not task_file.same_values(got, crop):
            raise ValueError(f"task file {path}: cameras.{camera}.crop loads as {got}, not "
                             f"the {tuple(crop)} written (is it set again further down?); "
                             "left unchanged")

    task_file.rewrite(path, edits, check)
