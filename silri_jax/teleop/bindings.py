"""Which button or key raises which event or plays which role, from config strings.

Every raw input a backend reports has a name with its kind as prefix: ``button:left``
(SpaceMouse, gamepad, evdev buttons) or ``key:s`` (keyboard). A binding is a
comma-separated list of such names, so one config serves every backend (each backend only
ever presses inputs of its own kind):

    bindings.success = "button:1, button:a, key:y"

Bindings name either an event of ``base.EVENTS`` (raised once per press, queued, never
lost; the label events ``label_success``, ``label_failure`` and ``label_undo`` among
them) or a role: ``clutch``, ``gripper_close``, ``gripper_open`` and ``label_hold`` are
held roles (active while a bound input is held), ``gripper_toggle`` acts at each press. An empty
string binds nothing. Nothing here ever reads the terminal (no ``input()``): events come
only from the device the operator already holds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from silri_jax.teleop.base import EVENTS, HOLD_ROLES, ROLES

INPUT_KINDS = ("button", "key")
_NAME = re.compile(r"^(button|key):[A-Za-z0-9_+\-.]+$")


def parse_inputs(spec: str | Iterable[str], field: str = "binding") -> tuple[str, ...]:
    """``"button:a, key:y"`` -> ``("button:a", "key:y")``; names are lower-cased."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for raw in items:
        name = str(raw).strip().lower()
        if not name:
            continue
        if not _NAME.match(name):
            raise ValueError(
                f"{field}={spec!r}: {name!r} is not an input name; use button:<name> or "
                f"key:<name> (comma-separated), e.g. 'button:right, key:s'")
        out.append(name)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Bindings:
    """Input name -> the events it raises and the roles it plays."""

    events: Mapping[str, tuple[str, ...]]
    roles: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object] | None) -> Bindings:
        """From ``{event or role: "button:x, key:y"}`` (the config's ``bindings`` section).

        Unknown names are refused by name, so a typo (``sucess``) cannot silently leave
        an event unbound.
        """
        events: dict[str, list[str]] = {}
        roles: dict[str, list[str]] = {}
        for key, spec in dict(mapping or {}).items():
            if key not in EVENTS and key not in ROLES:
                raise ValueError(f"bindings.{key}: unknown binding; events are {EVENTS}, "
                                 f"roles are {ROLES}")
            target = events if key in EVENTS else roles
            items = spec if isinstance(spec, str) else [str(s) for s in spec]  # type: ignore[attr-defined]
            for name in parse_inputs(items, f"bindings.{key}"):
                target.setdefault(name, []).append(key)
        return cls(events={k: tuple(v) for k, v in events.items()},
                   roles={k: tuple(v) for k, v in roles.items()})

    def events_of(self, name: str) -> tuple[str, ...]:
        """The events a press of input ``name`` raises."""
        return self.events.get(name, ())

    def roles_of(self, name: str) -> tuple[str, ...]:
        """The roles input ``name`` plays."""
        return self.roles.get(name, ())

    def held_roles(self, held: Iterable[str]) -> dict[str, bool]:
        """``{role: active}`` for every hold role, given the raw inputs held now."""
        active = {role: False for role in HOLD_ROLES}
        for name in held:
            for role in self.roles_of(name):
                if role in active:
                    active[role] = True
        return active

    def inputs_for(self, target: str) -> tuple[str, ...]:
        """The inputs bound to an event or role (for messages and help)."""
        found = {n for table in (self.events, self.roles) for n, ts in table.items()
                 if target in ts}
        return tuple(sorted(found))
