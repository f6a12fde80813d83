"""Chapter 01's study: :math:`\\sigma_{\\min}(\\mathcal J_g(0))` against the width k."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._random import derive_seed
from .._validation import check_int, check_layers
from ..core.activations import get_activation
from ..core.network import TwoLayerDIP
from .cells import keyed, run_cells
from .registry import register

__all__ = ["SIGMA_MIN_PRESETS", "sigma_min_vs_width"]


SIGMA_MIN_PRESETS = {
    "quick": dict(n=5, ks=[10, 30, 100, 300, 1000, 3000, 10000], runs=20),
    "paper": dict(n=5, ks=[int(round(10 ** e)) for e in np.arange(1.0, 6.01, 0.5)], runs=50),
}


@keyed
def sigma_min_vs_width(n: int = 5, ks=(10, 100, 1000), runs: int = 20, layers: str = "W",
                       activation="sigmoid", seed: int = 0, device="cpu", max_batch: int = 2 ** 24,
                       cache: Path | None = None, progress: bool = False) -> dict:
    """:math:`\\sigma_{\\min}(\\mathcal J_g(0))` at initialisation for each width ``k`` in ``ks``.

    Draws ``runs`` networks per width (seeded by ``seed`` and k) and returns
    ``{"ks", "sigma" (len(ks), runs), "C_phi", "C_dphi", "limit"}`` where
    ``limit`` is the wide-network value of :math:`\\sigma_{\\min}^2`:
    :math:`C_{\\phi'}^2` for the hidden layer, :math:`C_\\phi^2 + C_{\\phi'}^2` for both.
    Under A-6 and A-7, :math:`h_0 = W_0u \\sim N(0, I_k)` whatever ``d``, so ``d = 1``
    is used: the law of :math:`\\mathcal J_g(0)\\mathcal J_g(0)^T` is the same and the memory is O(nk).
    Runs are processed in batches of at most ``max_batch`` entries of V. With a
    ``cache`` folder each finished width is saved at once and reused on a rerun.
    """
    check_layers(layers)
    n, runs = check_int("n", n), check_int("runs", runs)
    ks = [check_int("k", k) for k in ks]

    def cell(k):
        per = max(1, min(runs, max_batch // (n * k)))
        sig = []
        for start in range(0, runs, per):
            b = min(per, runs - start)
            net = TwoLayerDIP.init(b, n, k, d=1, activation=activation,
                                   seed=derive_seed(seed, (1009, k), (1, start)), device=device)
            sig.append(net.sigma_min_jacobian(layers=layers).cpu())
        return {"sigma": torch.cat(sig).numpy()}

    cells = run_cells(f"sigma-min-{layers}", ks, cell, cache, progress,
                      params=dict(n=n, runs=runs, activation=str(activation), seed=seed, max_batch=max_batch))
    act = get_activation(activation)
    limit = act.C_dphi ** 2 + (act.C_phi ** 2 if layers == "both" else 0.0)
    return {"ks": np.array(ks), "sigma": np.stack([c["sigma"] for c in cells]), "n": n,
            "C_phi": act.C_phi, "C_dphi": act.C_dphi, "limit": limit, "layers": layers}


@register("sigma-min", study=sigma_min_vs_width, presets=SIGMA_MIN_PRESETS, chapter="01_two_layer_dip",
          doc="sigma_min(J_g(0)) against the width k, hidden layer and both layers "
              "(chapter 'The two-layer DIP network')")
def _sigma_min_experiment(preset, device, seed, cache, progress):
    p = SIGMA_MIN_PRESETS[preset]
    res = {}
    for layers in ("W", "both"):
        r = sigma_min_vs_width(p["n"], p["ks"], p["runs"], layers, seed=seed, device=device,
                               cache=cache, progress=progress)
        res[f"sigma_{layers}"] = r["sigma"]
        res[f"limit_{layers}"] = r["limit"]
    res.update(ks=r["ks"], n=r["n"], C_phi=r["C_phi"], C_dphi=r["C_dphi"])
    return res
