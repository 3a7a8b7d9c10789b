"""Prints the commands of the README's Quickstart block, one per line (comments dropped):
CI runs exactly what a newcomer is told to run."""

from __future__ import annotations

import sys


def quickstart_commands(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "## Quickstart")
    commands = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("    ") and line.strip():
            commands.append(line.strip().split("  #", 1)[0].strip())
    return commands


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print("\n".join(quickstart_commands(f.read())))
