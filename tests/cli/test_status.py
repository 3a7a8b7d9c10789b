"""The status line: units and progress within the width, in place on a terminal, plain
and de-duplicated lines in a log."""

from __future__ import annotations

import io

from silri_jax import status


def test_formatting_names_units():
    assert status.count(950) == "950" and status.count(12000) == "12k"
    assert status.count(12345) == "12.3k" and status.count(2_500_000) == "2.5M"
    assert status.duration(45) == "45s" and status.duration(185) == "3m05s"
    assert status.duration(3720) == "1h02m" and status.duration(float("nan")) == "?"
    assert status.bar(0.5, 10) == "[#####-----]" and status.bar(2.0, 4) == "[####]"
    assert status.percent(0.853) == "85%" and status.percent(float("nan")) == "--"
    p = status.progress(6000, 12000, rate=40.0)
    assert p.startswith("[####----] 50% 6k/12k steps") and p.endswith("2m30s left")


def test_fit_keeps_leading_parts_within_width():
    parts = ["a" * 40, "b" * 20, "c" * 30, "d"]
    out = status.fit(parts, 80)
    assert out == "a" * 40 + " | " + "b" * 20 and len(out) <= 80
    assert status.fit(["x" * 100], 80) == "x" * 80


def test_plain_mode_prefixes_and_skips_repeats():
    buf = io.StringIO()
    s = status.Status(stream=buf, tty=False, repeat_s=3600)
    s.show("a")
    s.show("a")  # unchanged: not written again
    s.show("b")
    s.waiting("actors", since=0.0)
    s.waiting("actors", since=0.0)  # same wait, new elapsed time: within repeat_s
    s.event("checkpoint 3")
    lines = buf.getvalue().splitlines()
    assert lines[:3] == ["[status] a", "[status] b", lines[2]]
    assert lines[2].startswith("[status] waiting for actors (")
    assert lines[3:] == ["checkpoint 3"]
    assert all(len(x) <= 80 for x in lines)


def test_terminal_mode_rewrites_in_place_and_keeps_events():
    buf = io.StringIO()
    s = status.Status(stream=buf, tty=True, width=20)
    s.show("x" * 50)
    s.event("done")
    s.close()
    out = buf.getvalue()
    assert out.startswith("\r\x1b[2K" + "x" * 20)  # cut to the width
    assert "\r\x1b[2Kdone\n" + "x" * 20 in out  # the event above, the status redrawn
    assert out.endswith("\n")
