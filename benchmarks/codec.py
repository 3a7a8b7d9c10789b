"""What the wire codec costs per batch of transitions: encode (an actor's send, or a
learner that would log a batch by encoding it again) and parse + decode (the learner's
ingest). Prints one JSON line:

    python benchmarks/codec.py --obs pixels --batch 32

Transitions are shaped like ``pick_cube``'s (see ``actor_spool.py``) and form one
episode, so consecutive transitions share frames as an actor's stream does
(``share_frames``). ``encode_ms`` and ``decode_ms`` are medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time

import numpy as np
from actor_spool import make_spec, transitions

from silri_jax.transport import codec


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--obs", choices=("state", "pixels"), default="pixels")
    p.add_argument("--image_size", type=int, default=128)
    p.add_argument("--batch", type=int, default=32, help="transitions per message")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    spec = make_spec(args.obs, args.image_size)
    rows = transitions(spec, args.batch)
    for prev, row in itertools.pairwise(rows):  # one episode: frames carry over
        prev["next_observations"] = row["observations"]
    data = codec.stack_transitions(spec, rows)
    raw = codec.encode_batch(spec, "bench", 1, data, share_frames=True)
    encode = median_ms(lambda: codec.encode_batch(spec, "bench", 1, data, share_frames=True),
                       args.repeats)
    decode = median_ms(lambda: codec.decode_batch(spec, codec.parse_batch(raw)), args.repeats)
    print(json.dumps({
        "benchmark": "codec", "obs": args.obs,
        "image_size": args.image_size if args.obs == "pixels" else None,
        "batch": args.batch, "encode_ms": round(encode, 3), "decode_ms": round(decode, 3),
        "bytes_per_transition": round(len(raw) / args.batch),
        "machine": platform.machine(),
    }))


if __name__ == "__main__":
    main()
