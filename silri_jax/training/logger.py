"""TensorBoard scalars and the terminal status of a trainer, in one object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from silri_jax.status import Status


class Logger:
    """TensorBoard scalars plus the terminal status (``silri_jax.status.Status``: in place
    on a terminal, plain lines in a log)."""

    def __init__(self, log_dir: str, quiet: bool = False) -> None:
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(log_dir)
        self.quiet = quiet
        self.line = Status(quiet=quiet)

    def scalars(self, prefix: str, values: Mapping[str, Any], step: int) -> None:
        for k, v in values.items():
            self.writer.add_scalar(f"{prefix}/{k}", float(v), step)

    def status(self, line: str, final: bool = False, key: str | None = None) -> None:
        """``final``: a line that stays (an event); else the changing status line."""
        if final:
            self.line.event(line)
        else:
            self.line.show(line, key=key)

    def close(self) -> None:
        self.line.close()
        self.writer.flush()
        self.writer.close()
