"""Conditioning (mounting, deadband with rescale, gains, clamp, low-pass) and the
staleness rule, checked as properties over random sweeps."""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.teleop.conditioning import (
    Conditioner,
    StalenessRule,
    apply_mounting,
    deadband,
    parse_axes,
    parse_deadband,
)

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- deadband
@pytest.mark.parametrize("d", [0.0, 0.05, 0.1, 0.3, 0.9])
def test_deadband_zero_inside_rescaled_outside_and_spans_unit_range(d):
    x = RNG.uniform(-1.0, 1.0, 20000)
    y = deadband(x, d)
    inside = np.abs(x) <= d
    assert np.all(y[inside] == 0.0)
    # outside: same sign, |y| = (|x| - d) / (1 - d)
    np.testing.assert_allclose(np.abs(y[~inside]), (np.abs(x[~inside]) - d) / (1 - d))
    assert np.all(np.sign(y[~inside]) == np.sign(x[~inside]))
    # full deflection still reaches full command, and the map is monotone and continuous
    np.testing.assert_allclose(deadband(np.array([-1.0, 1.0]), d), [-1.0, 1.0])
    order = np.argsort(x)
    assert np.all(np.diff(y[order]) >= -1e-12)
    eps = 1e-9
    assert abs(deadband(np.array([d + eps]), d)[0]) < 1e-6


def test_deadband_per_axis_and_its_parsing():
    d = parse_deadband("0, 0.1, 0.2, 0.3, 0.4, 0.5")
    np.testing.assert_allclose(d, [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(parse_deadband(0.2), [0.2] * 6)
    np.testing.assert_allclose(parse_deadband("0.2"), [0.2] * 6)
    y = deadband(np.full(6, 0.35), d)
    assert np.all(y[:4] > 0) and np.all(y[4:] == 0)
    for bad in ("1.0", "0.1,0.2", "-0.1", "x", (0.1,) * 7):
        with pytest.raises(ValueError, match="deadband="):
            parse_deadband(bad)


def test_clamp_and_gains_keep_the_twist_in_range():
    c = Conditioner(axes="x,y,z,rx,ry,rz", deadband=0.1, clamp=0.8, gain_translation=3.0,
                    gain_rotation=0.5)
    for _ in range(2000):
        x = RNG.uniform(-1.5, 1.5, 6)  # devices may report beyond their nominal scale
        y = c.shape(x)
        assert np.all(np.abs(y) <= 0.8 + 1e-12)
        expected = deadband(np.clip(x, -np.inf, np.inf), 0.1) * [3, 3, 3, 0.5, 0.5, 0.5]
        np.testing.assert_allclose(y, np.clip(expected, -0.8, 0.8))
    with pytest.raises(ValueError, match="clamp"):
        Conditioner(clamp=1.5)
    with pytest.raises(ValueError, match="gain_rotation"):
        Conditioner(gain_rotation=float("nan"))


# ----------------------------------------------------------------------------- mounting
def test_axes_string_permutes_and_signs_device_axes():
    source, sign = parse_axes("y,-x,z,ry,-rx,rz")
    device = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    np.testing.assert_allclose(apply_mounting(device, source, sign),
                               [0.2, -0.1, 0.3, 0.5, -0.4, 0.6])
    # 0 leaves a component unused; signs flip after the permutation
    source, sign = parse_axes("x, y, z, 0, 0, -rz", signs=(1, -1, 1, 1, 1, -1))
    np.testing.assert_allclose(apply_mounting(device, source, sign),
                               [0.1, -0.2, 0.3, 0.0, 0.0, 0.6])


def test_permutation_list_is_the_same_mounting_as_the_string():
    perm = [1, 0, 2, 4, 3, 5]
    signs = [1, -1, 1, 1, -1, 1]
    a = parse_axes(perm, signs)
    b = parse_axes("y,-x,z,ry,-rx,rz")
    for _ in range(100):
        x = RNG.uniform(-1, 1, 6)
        np.testing.assert_allclose(apply_mounting(x, *a), apply_mounting(x, *b))


def test_mounting_is_a_signed_permutation_it_preserves_magnitudes():
    source, sign = parse_axes("-rz,ry,x,-z,y,-rx")
    for _ in range(200):
        x = RNG.uniform(-1, 1, 6)
        y = apply_mounting(x, source, sign)
        np.testing.assert_allclose(np.sort(np.abs(y)), np.sort(np.abs(x)))


@pytest.mark.parametrize(("spec", "msg"), [("x,y,z", "needs 6"), ("x,y,z,rx,ry,q", "'q'"),
                                           ([0, 1, 2, 3, 4, 9], "indices")])
def test_bad_axes_are_refused_by_name(spec, msg):
    with pytest.raises(ValueError, match=msg):
        parse_axes(spec)
    with pytest.raises(ValueError, match="signs="):
        parse_axes("x,y,z,rx,ry,rz", signs=(1, 1, 1, 1, 1, 2))


# ----------------------------------------------------------------------------- low-pass
def test_lowpass_first_order_step_response_uses_sample_times():
    tau = 0.2
    c = Conditioner(lowpass_s=tau)
    step = np.array([1.0, 0, 0, 0, 0, 0])
    assert c(step, 0.0)[0] == 0.0  # starts from rest
    t, ys = 0.0, []
    dts = RNG.uniform(0.001, 0.05, 200)  # irregular polling
    for dt in dts:
        t += dt
        ys.append(c(step, t)[0])
    np.testing.assert_allclose(ys[-1], 1 - np.exp(-t / tau), rtol=1e-9)
    assert np.all(np.diff(ys) > 0) and ys[-1] < 1.0
    # a repeated time changes nothing; reset goes back to rest
    assert c(step, t)[0] == ys[-1]
    c.reset(t)
    assert c(step, t)[0] == 0.0


def test_lowpass_off_passes_the_shaped_twist_through():
    c = Conditioner(lowpass_s=0.0, deadband=0.1)
    x = RNG.uniform(-1, 1, 6)
    np.testing.assert_allclose(c(x, 5.0), c.shape(x))


# ----------------------------------------------------------------------------- staleness
def check(rule: StalenessRule, **kw):
    args = {"device": "dev", "now": 10.0, "last_report": 10.0, "deflected": False}
    return rule.check(**{**args, **kw})


def test_continuous_device_silent_at_rest_is_healthy():
    h = check(StalenessRule(0.5, continuous=True), last_report=0.0, deflected=False)
    assert h.healthy and not h.zero_motion


def test_continuous_device_silent_while_deflected_is_stale_after_the_timeout():
    rule = StalenessRule(0.5, continuous=True)
    fresh = check(rule, last_report=9.6, deflected=True)
    assert fresh.healthy and not fresh.zero_motion
    stale = check(rule, last_report=9.38, deflected=True)
    assert not stale.healthy and stale.zero_motion
    assert stale.problem.startswith("no report for 0.62 s from dev while it was deflected")


def test_on_change_device_held_still_while_deflected_is_never_stale():
    h = check(StalenessRule(0.5, continuous=False), last_report=0.0, deflected=True)
    assert h.healthy and not h.zero_motion


def test_gone_device_is_unhealthy_at_once_for_every_kind():
    for continuous in (True, False):
        h = check(StalenessRule(0.5, continuous), gone="dev is gone: ENODEV")
        assert not h.healthy and h.zero_motion and "ENODEV" in h.problem


def test_link_lost_zeroes_motion_at_once_and_is_unhealthy_after_the_timeout():
    rule = StalenessRule(0.5, continuous=False)
    brief = check(rule, link_lost_since=9.8)
    assert brief.healthy and brief.zero_motion
    long = check(rule, link_lost_since=9.0)
    assert not long.healthy and "link lost for 1.00 s" in long.problem


def test_stale_s_zero_turns_the_silence_rule_off():
    h = check(StalenessRule(0.0, continuous=True), last_report=0.0, deflected=True)
    assert h.healthy
