"""The ``teleop`` config section: which device, how it is mounted and conditioned, who is
in control, and which button does what.

Each field's comment (the line above it) is its ``--help`` text (``silri_jax/cli.py``
reads it), so every default is documented once, here. Apps put the section at
``config.teleop = teleop_config()`` and hand it to ``make_device`` and
``InterventionGate.from_config``.
"""

from __future__ import annotations

import pathlib

import ml_collections

CONFIG_FILE = pathlib.Path(__file__).resolve()


def teleop_config() -> ml_collections.ConfigDict:
    """The ``teleop`` section with its documented defaults."""
    return _teleop()


def _teleop() -> ml_collections.ConfigDict:
    t = ml_collections.ConfigDict()
    # input backend: spacemouse (hidraw), spacenav (spacenavd), evdev (any joystick),
    # gamepad, keyboard, scripted, replay, none (no device: zero twist, healthy); or
    # "<module>:<factory>" called as factory(cfg) for a device of your own
    t.device = "none"
    # device file (/dev/hidraw3, /dev/input/event5), replay file (.jsonl) or scripted
    # segments (.json) or "<module>:<function of t>"; "" finds the first suitable device
    t.path = ""
    # mounting: the signed device axis each robot twist component (vx vy vz wx wy wz, base
    # frame) takes; device axes are x right, y away from the operator, z up, rx ry rz
    # about them; 0 leaves a component unused. The default suits an operator standing
    # behind the robot, facing along its x axis
    t.axes = "y,-x,z,ry,-rx,rz"
    # +1/-1 per twist component (vx vy vz wx wy wz), multiplied after axes: flips an axis
    # without rewriting axes
    t.signs = (1, 1, 1, 1, 1, 1)
    # deadband as a fraction of full deflection: one value for every axis or six
    # comma-separated values (twist order); inside it the command is 0, outside it is
    # rescaled so it still reaches 1 at full deflection
    t.deadband = "0.1"
    # largest |component| of the conditioned twist, in (0, 1]
    t.clamp = 1.0
    # multiplies vx vy vz after the deadband (then clamped); < 1 for finer control
    t.gain_translation = 1.0
    # multiplies wx wy wz after the deadband (then clamped)
    t.gain_rotation = 1.0
    # first-order low-pass time constant of the twist, seconds; 0 = off
    t.lowpass_s = 0.0
    # seconds of silence after which a device that reports continuously while deflected
    # (SpaceMouse over hidraw) and went silent deflected is unhealthy, its motion zeroed;
    # silence at rest, and silence of on-change devices (evdev, keyboard), is healthy
    t.stale_s = 0.5
    # seconds between attempts to reopen a device that was unplugged or closed
    t.reopen_s = 1.0
    # user gamepad map (JSON, same format as silri_jax/teleop/gamepad_maps.json), tried
    # before the built-in maps; "" = built-in maps only
    t.gamepad_map = ""
    # gamepad map to use by key (xbox, playstation, logitech_directinput, generic, or one
    # of yours); "" = the first whose name pattern matches the device's name
    t.gamepad_controller = ""
    t.intervention = _intervention()
    t.bindings = _bindings()
    t.spacemouse = _spacemouse()
    t.evdev = _evdev()
    t.spacenav = _spacenav()
    t.keyboard = _keyboard()
    return t


def _intervention() -> ml_collections.ConfigDict:
    i = ml_collections.ConfigDict()
    # clutch (hold bindings.clutch to take over), motion (motion_samples samples above
    # deadband start it, as many below end it) or toggle (toggle_event flips it); a gripper
    # command is an intervention in every mode, an unhealthy device ends one
    i.mode = "clutch"
    # the Sample.buttons entry that is the clutch: "clutch" is the role bound in
    # bindings.clutch; a raw input name (button:left) also works
    i.clutch_button = "clutch"
    # consecutive samples above (to start) or below (to end) the deadband in motion mode
    i.motion_samples = 3
    # the event that flips control in toggle mode
    i.toggle_event = "toggle_intervention"
    # |twist component| above which a sample counts as motion (motion mode)
    i.deadband = 0.05
    return i


def _bindings() -> ml_collections.ConfigDict:
    b = ml_collections.ConfigDict()
    # held to take over (clutch mode); comma-separated inputs, any backend's: SpaceMouse
    # left / Pro shift, spacenavd button 0, gamepad LB, joystick trigger, keyboard space
    b.clutch = "button:left, button:b0, button:shift, button:lb, button:trigger, key:space"
    # each press flips the gripper between close and open (a 2-button SpaceMouse's right)
    b.gripper_toggle = ("button:right, button:b1, button:ctrl, button:rb, button:thumb, "
                        "key:g")
    # held to close the gripper (gamepad right trigger)
    b.gripper_close = "button:rt, key:c"
    # held to open the gripper (gamepad left trigger)
    b.gripper_open = "button:lt, key:v"
    # pressed when the episode succeeded (SpaceMouse Pro 1, gamepad A)
    b.success = "button:1, button:a, key:y"
    # pressed when the episode failed (SpaceMouse Pro 2, gamepad B)
    b.failure = "button:2, button:b, key:n"
    # pressed to discard the episode and record it again (SpaceMouse Pro 3, gamepad X)
    b.rerecord = "button:3, button:x, key:r"
    b.update({
        # pressed to go on after a pause, e.g. once the scene is reset (Pro 4, gamepad
        # start); a dict key because continue is a Python keyword
        "continue": "button:4, button:start, key:enter",
    })
    # pressed to stop the run (SpaceMouse Pro Esc, gamepad back)
    b.quit = "button:esc, button:back, key:esc"
    # pressed to flip control in toggle mode (SpaceMouse Pro lock, gamepad Y)
    b.toggle_intervention = "button:lock, button:y, key:t"
    # reward-classifier labels (docs/reward.md, Labelling); they never end the episode.
    # Held: the frames produced while held are success frames (keyboard h; unbound on
    # gamepads and SpaceMice by default: e.g. "button:rstick" or a SpaceMouse Pro
    # "button:5")
    b.label_hold = "key:h"
    # pressed: every frame after this step is a success frame, for the rest of the
    # episode or until label_failure / label_undo (keyboard p, "positive")
    b.label_success = "key:p"
    # pressed: every frame after this step is a failure frame, for the rest of the
    # episode or until label_success / label_undo (keyboard x)
    b.label_failure = "key:x"
    # pressed: takes back the last label press, its frames go back to what they were
    # (keyboard z)
    b.label_undo = "key:z"
    return b


def _spacemouse() -> ml_collections.ConfigDict:
    s = ml_collections.ConfigDict()
    # device table entry (key, name or vendor:product) forcing the model; "" = found from
    # the device's USB ids
    s.model = ""
    # user device table (JSON, same format as silri_jax/teleop/spacemouse_devices.json);
    # "" = built-in table
    s.table = ""
    # hidraw (read /dev/hidraw* directly, Linux) or hidapi (the optional hidapi package)
    s.reader = "hidraw"
    return s


def _evdev() -> ml_collections.ConfigDict:
    e = ml_collections.ConfigDict()
    # the signed evdev axis (x y z rx ry rz throttle hat0x ...) of each device axis x y z
    # rx ry rz; HID devices point y toward the operator and z down, hence the minus signs
    e.axes = "x,-y,-z,rx,-ry,-rz"
    # relative-axis counts at full deflection (6-DoF devices that report REL_* axes)
    e.rel_scale = 350.0
    return e


def _spacenav() -> ml_collections.ConfigDict:
    n = ml_collections.ConfigDict()
    # spacenavd motion counts at full deflection (at the daemon's default sensitivity)
    n.scale = 350.0
    # path of libspnav.so; "" = found by the system's library search
    n.library = ""
    return n


def _keyboard() -> ml_collections.ConfigDict:
    k = ml_collections.ConfigDict()
    # auto (pynput on an X11 desktop, else the terminal), pynput (global hold-to-move) or
    # terminal (raw terminal keys: no key releases, so presses are short impulses)
    k.backend = "auto"
    # key:signed device axis pairs; w pushes away from the operator, e raises
    k.motion = "w:+y, s:-y, d:+x, a:-x, e:+z, q:-z, i:+rx, k:-rx, l:+ry, j:-ry, u:+rz, o:-rz"
    # device-axis value of a pressed motion key, in (0, 1] (before gains)
    k.speed = 1.0
    # seconds a key press moves in the terminal reader (which sees no releases)
    k.impulse_s = 0.15
    return k


def bindings_mapping(cfg: ml_collections.ConfigDict) -> dict[str, str]:
    """The ``bindings`` section as ``{event or role: inputs}``."""
    return {str(k): v for k, v in dict(cfg.get("bindings", {}) or {}).items()}
