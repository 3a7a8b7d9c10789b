"""The held-out PR curve as a picture, with the chosen threshold marked."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import numpy as np


def plot_pr_curve(curve: Mapping[str, np.ndarray], chosen: Mapping[str, float],
                  out: str | pathlib.Path, title: str = "") -> pathlib.Path:
    """Left: precision against recall; right: recall and false-positive rate against the
    threshold. The chosen operating point is marked on both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax.plot(curve["recall"], curve["precision"], color="tab:blue", lw=2)
    ax.scatter([chosen["recall"]], [chosen["precision"]], color="tab:red", zorder=3,
               label=f"threshold {chosen['threshold']:.3f}: recall {chosen['recall']:.2f}, "
                     f"FPR {chosen['fpr']:.3f}")
    ax.set_xlabel("recall (held-out positive frames)")
    ax.set_ylabel("precision")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="lower left", fontsize=7)
    order = np.argsort(curve["threshold"])
    thr = np.asarray(curve["threshold"])[order]
    bx.plot(thr, np.asarray(curve["recall"])[order], color="tab:green", label="recall")
    bx.plot(thr, np.asarray(curve["fpr"])[order], color="tab:orange",
            label="false-positive rate")
    bx.axvline(chosen["threshold"], color="tab:red", ls="--", lw=1, label="chosen threshold")
    bx.set_xlabel("threshold on the calibrated probability")
    bx.set_ylim(-0.02, 1.02)
    bx.legend(loc="center left", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = pathlib.Path(out)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
