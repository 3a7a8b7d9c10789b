"""Scripted experts: what a competent operator wants to do, from privileged sim state.

Each expert is reactive (a function of the current state, no plan to fall out of), so it
can take over at any moment, from wherever a policy left the arm. It returns a desired TCP
displacement in metres and a gripper command; ``normalise`` turns that into the env's
action units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from silri_jax import specs

ExpertOutput = tuple[np.ndarray, int]


def pick_cube(s: Mapping[str, Any]) -> ExpertOutput:
    ee, cube, half = s["ee_pos"], s["cube_pos"], s["cube_half"]
    width = s["gripper_width"]
    grasp = cube + np.array([0.0, 0.0, 0.003])
    dist = np.linalg.norm(ee - grasp)
    holding = s["gripper_closing"] and 2 * half - 0.01 < width < 2 * half + 0.004 and dist < 0.03
    if holding:
        target = np.array([cube[0], cube[1], s["lift_z"] + 0.05])
        return target - ee, specs.GRIPPER_CLOSE
    if s["gripper_closing"]:
        if dist < 0.015 and width > 2 * half - 0.01:
            return np.zeros(3), specs.GRIPPER_CLOSE  # still closing on the cube: hold still
        return np.array([0.0, 0.0, 0.02]), specs.GRIPPER_OPEN  # missed: open and back off
    xy_err = grasp[:2] - ee[:2]
    hover = grasp[2] + 0.06
    if np.linalg.norm(xy_err) > 0.008:
        z = max(ee[2], hover) if np.linalg.norm(xy_err) > 0.03 else hover
        return np.array([xy_err[0], xy_err[1], z - ee[2]]), specs.GRIPPER_OPEN
    if dist < 0.006:
        return grasp - ee, specs.GRIPPER_CLOSE
    return grasp - ee, specs.GRIPPER_OPEN


def insert_peg(s: Mapping[str, Any]) -> ExpertOutput:
    bottom, hole = s["peg_bottom"], s["hole_top"]
    xy_err = hole[:2] - bottom[:2]
    dist_xy = float(np.linalg.norm(xy_err))
    above = bottom[2] > hole[2] - 0.002
    speed = float(np.linalg.norm(s["ee_vel"][:3]))
    tol = 1.2 * s["tolerance"]
    if dist_xy > 0.01:
        # Far: travel at a safe height, never lower than the hole's rim plus a margin.
        hover = max(hole[2] + 0.015, min(bottom[2], hole[2] + 0.04))
        return np.array([xy_err[0], xy_err[1], hover - bottom[2]]), specs.GRIPPER_STAY
    if above:
        # Close: descend slowly while correcting; back off to just above the rim whenever
        # the error exceeds what the clearance forgives.
        if dist_xy > tol or speed > 0.05:
            dz = np.clip(hole[2] + 0.004 - bottom[2], -0.002, 0.004)
        else:
            dz = -0.002
        return np.array([0.8 * xy_err[0], 0.8 * xy_err[1], dz]), specs.GRIPPER_STAY
    goal_z = hole[2] - s["insert_depth"] - 0.01
    return np.array([0.8 * xy_err[0], 0.8 * xy_err[1], goal_z - bottom[2]]), specs.GRIPPER_STAY


def open_drawer(s: Mapping[str, Any]) -> ExpertOutput:
    ee, handle = s["ee_pos"], s["handle_pos"]
    width = s["gripper_width"]
    grasp = handle + np.array([0.0, 0.0, -0.004])
    dist = np.linalg.norm(ee - grasp)
    holding = s["gripper_closing"] and 0.006 < width < 0.02 and dist < 0.03
    if holding:
        return np.array([-0.05, grasp[1] - ee[1], grasp[2] - ee[2]]), specs.GRIPPER_CLOSE
    if s["gripper_closing"]:
        if dist < 0.015 and width >= 0.02:
            return np.zeros(3), specs.GRIPPER_CLOSE
        return np.array([0.0, 0.0, 0.02]), specs.GRIPPER_OPEN
    xy_err = grasp[:2] - ee[:2]
    hover = grasp[2] + 0.07
    if np.linalg.norm(xy_err) > 0.008:
        z = max(ee[2], hover) if np.linalg.norm(xy_err) > 0.03 else hover
        return np.array([xy_err[0], xy_err[1], z - ee[2]]), specs.GRIPPER_OPEN
    if dist < 0.006:
        return grasp - ee, specs.GRIPPER_CLOSE
    return grasp - ee, specs.GRIPPER_OPEN


EXPERTS: dict[str, Callable[[Mapping[str, Any]], ExpertOutput]] = {
    "pick_cube": pick_cube,
    "insert_peg": insert_peg,
    "open_drawer": open_drawer,
}


def normalise(displacement: np.ndarray, s: Mapping[str, Any]) -> np.ndarray:
    """Metres to normalised action units, saturating at the action bounds."""
    a = np.zeros(3 if s["action_mode"] == "xyz" else 4 if s["action_mode"] == "xyz_yaw" else 6)
    a[:3] = np.clip(displacement / s["action_scale_pos"], -1.0, 1.0)
    return a


def expert_action(s: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    """The expert's normalised continuous action and gripper command for this state."""
    if s["task"] not in EXPERTS:
        raise ValueError(f"no scripted expert for task {s['task']!r}")
    disp, g = EXPERTS[s["task"]](s)
    return normalise(disp, s), g
