"""Learned-reward inference latency per frame pair (two cameras); one JSON line.

``python benchmarks/reward_inference.py [--backbone small_conv] [--input_size 128]
[--image_size 64] [--iters 500]``

Times ``Classifier.prob(obs)`` as ``LearnedReward`` calls it on every step: the saved
preprocessing (crop and resize of both camera frames, numpy), one jitted forward pass
over a batch of one, and the calibrated sigmoid. The model is freshly initialised and
round-tripped through the model file (latency does not depend on the weights' values).
Reports p50 / p99 / max in ms after ``--warmup`` calls (target: p99 under 5 ms with the
small conv on a CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import jax
import numpy as np

from silri_jax.reward.model import ModelSpec, RewardModel
from silri_jax.reward.model_file import header_of, load_classifier, save_classifier
from silri_jax.reward.preprocessing import Predicate, Preprocessing


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backbone", default="small_conv", choices=("small_conv", "resnet10"))
    p.add_argument("--input_size", type=int, default=128, help="recorded frame size")
    p.add_argument("--image_size", type=int, default=64, help="classifier input size")
    p.add_argument("--iters", type=int, default=500)
    p.add_argument("--warmup", type=int, default=20)
    a = p.parse_args()
    cams = ("front", "wrist")
    prep = Preprocessing(cams, {c: (a.input_size, a.input_size, 3) for c in cams},
                         a.image_size)
    model = RewardModel(ModelSpec(backbone=a.backbone), prep)
    params = model.init(jax.random.PRNGKey(0))
    header = header_of(model, temperature=1.0, threshold=0.5, consecutive=2,
                       predicate=Predicate())
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        clf = load_classifier(save_classifier(os.path.join(d, "m"), params, header))
    frames = [{f"images/{c}": rng.integers(0, 255, (a.input_size, a.input_size, 3),
                                           dtype=np.uint8) for c in cams} for _ in range(8)]
    for i in range(a.warmup):
        clf.prob(frames[i % len(frames)])
    times = []
    for i in range(a.iters):
        t0 = time.perf_counter()
        clf.prob(frames[i % len(frames)])
        times.append(time.perf_counter() - t0)
    ms = 1000.0 * np.asarray(times)
    print(json.dumps({"benchmark": "reward_inference", "backbone": a.backbone,
                      "cameras": len(cams), "input_size": a.input_size,
                      "image_size": a.image_size, "iters": a.iters,
                      "p50_ms": round(float(np.percentile(ms, 50)), 3),
                      "p99_ms": round(float(np.percentile(ms, 99)), 3),
                      "max_ms": round(float(ms.max()), 3),
                      "device": jax.devices()[0].platform,
                      "load_avg_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
