"""Replaying recorded input (bug reports, regression tests) and recording it.

A replay file is JSON Lines, one record per line, in time order:

- sample lines, as ``Recorder`` writes them from any device:
  ``{"t": 0.01, "twist": [6 values], "gripper": 1, "buttons": {"clutch": true},
  "events": ["success"]}`` (optional ``healthy``, ``problem``, ``t_device``); the twist
  is the conditioned robot-frame command and is replayed as is;
- or raw SpaceMouse reports: ``{"t": 0.01, "device": "<table entry>", "report": "<hex>"}``,
  decoded through the real decoder (``spacemouse.decode_report``) and then conditioned and
  bound like a live device (so a recorded report sequence reproduces a decoding or
  conditioning bug exactly).

Lines with a ``header`` key carry metadata and are skipped; one file holds one kind of line.
``t`` is seconds from the start of the recording. ``poll(now)`` gives the state at
``t = now - t0`` (``t0`` given, or the first poll's ``now``): the latest line at or before
``t``, with the events of every line passed since the previous poll, so replay is
deterministic in ``now`` and loses no event even when polled slower than recorded.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from silri_jax.teleop.base import Device, DeviceError, Sample
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.conditioning import Conditioner, StalenessRule
from silri_jax.teleop.pipeline import Pipeline, RawInput
from silri_jax.teleop.scripted import sample_from_dict
from silri_jax.teleop.spacemouse import (
    DeviceEntry,
    SpaceMouseState,
    decode_report,
    find_entry,
    load_table,
)

FORMAT = "silri_jax.teleop.replay"


def read_lines(path: str | os.PathLike) -> tuple[str, list[dict[str, Any]]]:
    """(kind, records) of a replay file; kind is "samples" or "reports"."""
    records: list[dict[str, Any]] = []
    kinds = set()
    try:
        text = pathlib.Path(path).read_text()
    except OSError as e:
        raise DeviceError(f"replay file {path}: {e.strerror or e}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DeviceError(f"replay file {path}, line {n}: not JSON ({e.msg})") from None
        if not isinstance(rec, dict):
            raise DeviceError(f"replay file {path}, line {n}: must be a JSON object")
        if "header" in rec:
            continue
        if not isinstance(rec.get("t"), int | float):
            raise DeviceError(f"replay file {path}, line {n}: needs a number 't' (seconds)")
        kind = "reports" if "report" in rec else "samples"
        if kind == "reports":
            try:
                rec["_bytes"] = bytes.fromhex(str(rec["report"]))
            except ValueError:
                raise DeviceError(f"replay file {path}, line {n}: 'report' is not hex"
                                  ) from None
            if not rec.get("device"):
                raise DeviceError(f"replay file {path}, line {n}: a report line needs "
                                  "'device' (a SpaceMouse table entry)")
        kinds.add(kind)
        records.append(rec)
    if len(kinds) > 1:
        raise DeviceError(f"replay file {path} mixes sample lines and report lines; "
                          "one file holds one kind")
    records.sort(key=lambda r: float(r["t"]))
    return (kinds.pop() if kinds else "samples"), records


class ReplayDevice(Device):
    """Replays a JSONL file (see the module docstring); deterministic given ``now``."""

    def __init__(self, path: str | os.PathLike, *, conditioner: Conditioner | None = None,
                 bindings: Bindings | None = None, stale_s: float = 0.5,
                 t0: float | None = None, table: str | os.PathLike | None = None,
                 **_: Any) -> None:
        self.path = str(path)
        self.name = f"replay:{pathlib.Path(path).name}"
        self.kind, self.records = read_lines(path)
        self.t0 = t0
        self._next = 0
        self._current: Mapping[str, Any] = {}
        self._pending: list[str] = []
        self._table = load_table(table)
        self._entries: dict[str, DeviceEntry] = {}
        self._state = SpaceMouseState()
        # raw reports come from a SpaceMouse: it reports continuously while deflected
        self.pipeline = Pipeline(self.name, conditioner, StalenessRule(stale_s, True),
                                 bindings)

    @property
    def finished(self) -> bool:
        """Whether every line has been replayed."""
        return self._next >= len(self.records)

    def _entry(self, name: str) -> DeviceEntry:
        if name not in self._entries:
            self._entries[name] = find_entry(name, self._table)
        return self._entries[name]

    def poll(self, now: float | None = None) -> Sample:
        now = time.monotonic() if now is None else float(now)
        if self.t0 is None:
            self.t0 = now
            self.pipeline.raw.mark_back(now)
        t = now - self.t0
        while self._next < len(self.records) and float(self.records[self._next]["t"]) <= t:
            rec = self.records[self._next]
            self._next += 1
            if self.kind == "reports":
                entry = self._entry(str(rec["device"]))
                self._state = decode_report(entry, rec["_bytes"], self._state)
                self.pipeline.raw.report(self.t0 + float(rec["t"]),
                                         axes=self._state.axes(entry),
                                         held=self._state.held(entry),
                                         t_device=float(rec["t"]))
            else:
                self._current = rec
                self._pending.extend(rec.get("events", ()))
        if self.kind == "reports":
            return self.pipeline.sample(now)
        events, self._pending = self._pending, []
        if not self._current:
            return sample_from_dict({}, device=self.name, now=now, t=t, events=events)
        rec_t = float(self._current["t"])
        sample = sample_from_dict(self._current, device=self.name, now=self.t0 + rec_t,
                                  t=rec_t, events=events)
        return sample

    def rewind(self, t0: float | None = None) -> None:
        """Starts the replay over (at ``t0``, or at the next poll)."""
        self.t0, self._next, self._current, self._pending = t0, 0, {}, []
        self._state = SpaceMouseState()
        self.pipeline.raw = RawInput(self.pipeline.raw.bindings)
        self.pipeline.conditioner.reset()


class Recorder:
    """Writes a replay file from any device's samples (or a SpaceMouse's raw reports)."""

    def __init__(self, path: str | os.PathLike, *, device: str = "",
                 t0: float | None = None) -> None:
        self.path = str(path)
        self.t0 = t0
        self.lines = 0
        self._lock = threading.Lock()
        self._f: TextIO | None = open(self.path, "w")  # (closed in close())
        header = {"format": FORMAT, "version": 1, "device": device,
                  "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
        self._f.write(json.dumps({"header": header}) + "\n")

    def _t(self, t_host: float) -> float:
        if self.t0 is None:
            self.t0 = t_host
        return round(t_host - self.t0, 6)

    def write(self, sample: Sample, t: float | None = None) -> None:
        """One sample line, at ``t`` (default: the sample's host time since the first)."""
        line = {"t": self._t(sample.t_host) if t is None else round(float(t), 6),
                **sample.to_json()}
        self._write(line)

    def write_report(self, report: bytes, t_host: float, device: str) -> None:
        """One raw report line (``device`` is the SpaceMouse table entry's key)."""
        self._write({"t": self._t(t_host), "device": device, "report": bytes(report).hex()})

    def _write(self, line: Mapping[str, Any]) -> None:
        with self._lock:
            if self._f is None:
                raise ValueError(f"recorder {self.path} is closed")
            self._f.write(json.dumps(line) + "\n")
            self._f.flush()
            self.lines += 1

    def close(self) -> None:
        with self._lock:
            f, self._f = self._f, None
        if f is not None:
            f.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record(device: Device, path: str | os.PathLike, seconds: float, *,
           rate_hz: float = 100.0, raw: bool = False,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> int:
    """Records ``seconds`` of ``device`` into ``path``; returns the lines written.

    Samples are polled at ``rate_hz``; with ``raw=True`` a SpaceMouse's reports are
    written instead, as they arrive (replayable through the decoder).
    """
    if raw and not (hasattr(device, "add_raw_listener") and hasattr(device, "entry")):
        raise DeviceError(f"{device.name} has no raw reports to record; record samples")
    with Recorder(path, device=device.name) as rec:
        if raw:
            key = device.entry.key  # type: ignore[attr-defined]
            device.add_raw_listener(  # type: ignore[attr-defined]
                lambda report, t: rec.write_report(report, t, key))
        start = clock()
        if raw:
            rec.t0 = start
        period = 1.0 / rate_hz
        while (now := clock()) - start < seconds:
            sample = device.poll(now)
            if not raw:
                rec.write(sample, t=now - start)
            sleep(max(0.0, period - (clock() - now)))
        return rec.lines
