"""Who is in control: the intervention state machine over a device's samples.

Three ways for the operator to take over, chosen by ``mode``:

- ``clutch`` (the default): intervening while the clutch button is held. Nothing the hand
  does by accident moves the arm, and letting go hands control back at once.
- ``motion``: ``motion_samples`` consecutive samples with any twist component above
  ``deadband`` start a takeover; as many consecutive samples at or below it end it. For
  devices without a spare button; the count filters out a single bump.
- ``toggle``: each ``toggle_event`` (``toggle_intervention`` by default) flips control.
  For terminal keyboards, which cannot hold a clutch.

In every mode a gripper command (``gripper != STAY``) makes that sample an intervention
(the gripper is the human's), in ``motion`` mode it also counts as motion. An unhealthy
sample ends any intervention at once (a gone device cannot be in control) and resets the
motion count and the toggle. ``segment`` numbers takeovers: it increments at each start
and is -1 until the first one of the episode; ``reset()`` starts a new episode.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from silri_jax import specs
from silri_jax.teleop.base import EVENTS, Sample

MODES = ("clutch", "motion", "toggle")


@dataclasses.dataclass(frozen=True)
class Gate:
    """The gate's decision for one sample."""

    intervening: bool
    segment: int


class InterventionGate:
    """Clutch, motion or toggle takeover (see the module docstring)."""

    def __init__(self, mode: str = "clutch", clutch_button: str = "clutch",
                 motion_samples: int = 3, toggle_event: str = "toggle_intervention",
                 deadband: float = 0.05) -> None:
        if mode not in MODES:
            raise ValueError(f"intervention.mode={mode!r}: must be one of {MODES}")
        if int(motion_samples) < 1:
            raise ValueError(f"intervention.motion_samples={motion_samples!r}: must be >= 1")
        if toggle_event not in EVENTS:
            raise ValueError(f"intervention.toggle_event={toggle_event!r}: must be one of "
                             f"{EVENTS}")
        if not 0.0 <= float(deadband) < 1.0:
            raise ValueError(f"intervention.deadband={deadband!r}: must be in [0, 1)")
        if not clutch_button:
            raise ValueError("intervention.clutch_button is empty: name a button of "
                             "Sample.buttons ('clutch' is the role bound in bindings.clutch)")
        self.mode = mode
        self.clutch_button = clutch_button
        self.motion_samples = int(motion_samples)
        self.toggle_event = toggle_event
        self.deadband = float(deadband)
        self.reset()

    @classmethod
    def from_config(cls, cfg: Any) -> InterventionGate:
        """From the teleop config (its ``intervention`` section, or that section itself)."""
        section = cfg.intervention if "intervention" in cfg else cfg
        get = section.get
        return cls(mode=get("mode", "clutch"), clutch_button=get("clutch_button", "clutch"),
                   motion_samples=get("motion_samples", 3),
                   toggle_event=get("toggle_event", "toggle_intervention"),
                   deadband=get("deadband", 0.05))

    def reset(self) -> None:
        """A new episode: not intervening, counts cleared, segment back to -1."""
        self.intervening = False
        self.segment = -1
        self._toggled = False
        self._above = 0
        self._below = 0

    def update(self, sample: Sample) -> Gate:
        """The decision for ``sample`` (call once per sample, in order)."""
        if not sample.healthy:
            self._toggled = False
            self._above = self._below = 0
            self.intervening = False
            return Gate(False, self.segment)
        gripper = sample.gripper != specs.GRIPPER_STAY
        if self.mode == "clutch":
            active = bool(sample.buttons.get(self.clutch_button, False)) or gripper
        elif self.mode == "toggle":
            for event in sample.events:
                if event == self.toggle_event:
                    self._toggled = not self._toggled
            active = self._toggled or gripper
        else:
            moving = gripper or bool(np.max(np.abs(sample.twist)) > self.deadband)
            if moving:
                self._above, self._below = self._above + 1, 0
            else:
                self._above, self._below = 0, self._below + 1
            if self.intervening:
                active = not (self._below >= self.motion_samples)
            else:
                active = gripper or self._above >= self.motion_samples
        if active and not self.intervening:
            self.segment += 1
        self.intervening = active
        return Gate(active, self.segment)
