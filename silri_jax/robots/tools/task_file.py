"""Rewrites values of a task file (``configs/tasks/<name>.py``) in place.

A task file is code a person wrote and keeps in version control, so a tool that records a
reset pose or a crop into it must change exactly those values: the file is parsed
(``ast``), the value's byte span replaced, and every other byte (comments, layout, other
fields) kept. The result is loaded and validated as a cell (``load_cell``) from a
temporary file next to the original, and checked to really carry the new values (a field
set again further down would silently win), before it replaces the original; on any
error the original is untouched and the error names what was not found.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import ml_collections

from silri_jax.robots.config import load_cell

# A line this long or longer gets an inserted keyword on a line of its own (ruff's limit).
MAX_LINE = 100


@dataclasses.dataclass(frozen=True)
class Edit:
    """Replace bytes ``[start, end)`` of the file with ``text``."""

    start: int
    end: int
    text: bytes


class TaskFile:
    """One task file's bytes and syntax tree, with byte offsets for its nodes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"task file {self.path}: no such file")
        self.source = self.path.read_bytes()
        try:
            self.tree = ast.parse(self.source, filename=str(self.path))
        except SyntaxError as e:
            raise ValueError(f"task file {self.path}: not valid Python ({e.msg}, line "
                             f"{e.lineno})") from None
        starts, pos = [0], 0
        for line in self.source.splitlines(keepends=True):
            pos += len(line)
            starts.append(pos)
        self._line_starts = starts

    def offset(self, lineno: int, col: int) -> int:
        """Byte offset of (1-based line, UTF-8 byte column), the way ``ast`` counts."""
        return self._line_starts[lineno - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Byte span of a node's source."""
        end_line, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        assert end_line is not None and end_col is not None
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(end_line, end_col))

    def line_of(self, offset: int) -> bytes:
        """The whole line holding byte ``offset`` (without its line break)."""
        start = self.source.rfind(b"\n", 0, offset) + 1
        end = self.source.find(b"\n", offset)
        return self.source[start: len(self.source) if end < 0 else end].rstrip(b"\r")

    # -------------------------------------------------------------- finding values
    def assignments(self, suffix: Sequence[str], depth: int | None = None) -> list[ast.Assign]:
        """Statements ``<name>.<suffix...> = value`` (``depth``: the target's whole dotted
        length, None: any base)."""
        found = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            path = dotted(node.targets[0])
            if path is None or tuple(path[-len(suffix):]) != tuple(suffix):
                continue
            if len(path) <= len(suffix) or (depth is not None and len(path) != depth):
                continue
            found.append(node)
        return found

    def camera_calls(self, name: str) -> list[ast.Call]:
        """``camera_config(...)`` calls that define camera ``name``: the value of keyword
        ``name`` in a ``cameras_section(...)`` call, or of ``<x>.cameras.<name> = ...``."""
        calls = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and call_name(node) == "cameras_section":
                calls += [k.value for k in node.keywords
                          if k.arg == name and isinstance(k.value, ast.Call)
                          and call_name(k.value) == "camera_config"]
        for stmt in self.assignments(("cameras", name)):
            if isinstance(stmt.value, ast.Call) and call_name(stmt.value) == "camera_config":
                calls.append(stmt.value)
        return calls

    # -------------------------------------------------------------- edits
    def replace_value(self, field: str, text: str) -> Edit:
        """The edit that sets the one ``c.<field> = ...`` statement's value to ``text``."""
        found = self.assignments((field,), depth=2)
        if not found:
            raise ValueError(f"task file {self.path}: no line 'c.{field} = ...' to rewrite "
                             f"(add one inside get_config(), e.g. from "
                             "configs/tasks/pick_cube.py)")
        if len(found) > 1:
            lines = ", ".join(str(n.lineno) for n in found)
            raise ValueError(f"task file {self.path}: {field} is set on several lines "
                             f"({lines}); keep one so the tool knows which to rewrite")
        start, end = self.span(found[0].value)
        return Edit(start, end, text.encode())

    def set_camera_field(self, camera: str, field: str, text: str) -> Edit:
        """The edit that sets camera ``camera``'s ``field`` to ``text``: the value of a
        ``c.cameras.<camera>.<field> = ...`` line, else the keyword in the camera's
        ``camera_config(...)`` call (added when absent)."""
        found = self.assignments(("cameras", camera, field))
        if len(found) > 1:
            lines = ", ".join(str(n.lineno) for n in found)
            raise ValueError(f"task file {self.path}: cameras.{camera}.{field} is set on "
                             f"several lines ({lines}); keep one")
        if found:
            start, end = self.span(found[0].value)
            return Edit(start, end, text.encode())
        calls = self.camera_calls(camera)
        if not calls:
            raise ValueError(
                f"task file {self.path}: no entry for camera {camera!r} to write its "
                f"{field} into: expected {camera}=camera_config(...) inside "
                f"cameras_section(...), c.cameras.{camera} = camera_config(...) or "
                f"c.cameras.{camera}.{field} = ...")
        if len(calls) > 1:
            lines = ", ".join(str(c.lineno) for c in calls)
            raise ValueError(f"task file {self.path}: camera {camera!r} is defined on "
                             f"several lines ({lines}); keep one")
        return self._keyword_edit(calls[0], field, text)

    def _keyword_edit(self, call: ast.Call, field: str, text: str) -> Edit:
        """Replaces keyword ``field``'s value in ``call``, or adds ``field=text`` after
        its last argument (on a new line when the line would grow past ``MAX_LINE``)."""
        for kw in call.keywords:
            if kw.arg == field:
                start, end = self.span(kw.value)
                return Edit(start, end, text.encode())
        args: list[ast.AST] = [*call.args, *call.keywords]
        if not args:
            _, end = self.span(call)
            return Edit(end - 1, end - 1, f"{field}={text}".encode())
        last = max(args, key=lambda a: self.span(a)[1])
        _, at = self.span(last)
        line = self.line_of(at)
        added = f", {field}={text}".encode()
        if len(line) + len(added) < MAX_LINE:
            return Edit(at, at, added)
        first = self.line_of(self.offset(last.lineno, 0))  # type: ignore[attr-defined]
        indent = first[: len(first) - len(first.lstrip())]
        if last.lineno == call.lineno:  # type: ignore[attr-defined]
            # every argument on the call's line: line up under the first one
            first_arg = min(args, key=lambda a: self.span(a)[0])
            indent = b" " * first_arg.col_offset  # type: ignore[attr-defined]
        return Edit(at, at, b",\n" + indent + f"{field}={text}".encode())


def dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]`` (None for anything but names and attributes)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def call_name(call: ast.Call) -> str:
    """The called function's last name (``camera_config`` for ``cams.camera_config(...)``)."""
    f = call.func
    if isinstance(f, ast.Attribute):
        return f.attr
    return f.id if isinstance(f, ast.Name) else ""


def apply_edits(source: bytes, edits: Sequence[Edit]) -> bytes:
    """``source`` with every edit made (edits must not overlap)."""
    out = source
    ordered = sorted(edits, key=lambda e: e.start, reverse=True)
    for prev, e in zip(ordered[1:], ordered, strict=False):
        if prev.end > e.start:
            raise ValueError("overlapping task file edits")
    for e in ordered:
        out = out[: e.start] + e.text + out[e.end:]
    return out


def rewrite(path: str | os.PathLike[str], make_edits: Callable[[TaskFile], Sequence[Edit]],
            check: Callable[[ml_collections.ConfigDict], None]) -> pathlib.Path:
    """Makes ``make_edits``' edits to the task file at ``path``, loads the result as a
    cell (validated) and runs ``check`` on it; only then replaces the original (same
    permissions). Any failure leaves the original as it was and raises naming the file."""
    task = TaskFile(path)
    new = apply_edits(task.source, make_edits(task))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{task.path.stem}.", suffix=".py",
                                    dir=task.path.parent)
    tmp = pathlib.Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(new)
        try:
            cell = load_cell(str(tmp))
        except ValueError as e:
            raise ValueError(f"task file {task.path}: after the rewrite it no longer "
                             f"loads: {str(e).replace(str(tmp), 'the rewritten file')}; "
                             "left unchanged") from None
        check(cell)
        shutil.copymode(task.path, tmp)
        os.replace(tmp, task.path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return task.path


def same_values(got: Any, want: Sequence[float], tol: float = 1e-9) -> bool:
    """Whether a loaded tuple field holds ``want`` (the rewrite took effect)."""
    values = tuple(got)
    return len(values) == len(want) and all(
        abs(float(a) - float(b)) <= tol for a, b in zip(values, want, strict=True))
