"""Repository layout rules that pytest itself does not enforce until a clean clone."""

from __future__ import annotations

import collections
import pathlib

TESTS = pathlib.Path(__file__).resolve().parent


def test_test_module_basenames_are_unique() -> None:
    """Test folders are not packages, so pytest imports each test module by its basename:
    two ``test_x.py`` in different folders collide on a clean checkout ("import file
    mismatch") even when a warm ``__pycache__`` hides it locally."""
    seen: dict[str, list[str]] = collections.defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if "fakes" in path.parts or path.name == "conftest.py":
            continue
        seen[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"rename one of each: {clashes}"
