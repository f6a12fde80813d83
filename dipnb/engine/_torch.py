"""The torch backend of :mod:`dipnb.engine` (any device, any activation)."""
from __future__ import annotations

import math

import torch

from ._common import SweepResult, dense, gammas


def run_chunk(jobs, steps, tol, check_every):
    """Stack the runs of equal (n, k); train each stack with masks and compaction."""
    groups = {}
    for j, job in enumerate(jobs):
        groups.setdefault((job.net.n, job.net.k, job.net.activation.name), []).append(j)
    results = [None] * len(jobs)
    peak = 0
    for idx in groups.values():
        part = [jobs[j] for j in idx]
        m_max = max(job.problem.A.m for job in part)
        h = torch.cat([job.net.h0 for job in part])
        V = torch.cat([job.net.V0 for job in part])
        A = torch.cat([torch.nn.functional.pad(dense(job), (0, 0, 0, m_max - job.problem.A.m)) for job in part])
        y = torch.cat([torch.nn.functional.pad(job.problem.y, (0, m_max - job.problem.A.m)) for job in part])
        xbar = torch.cat([job.problem.x_bar for job in part])
        c = torch.cat([gammas(job) * job.net.u_norm2 for job in part]) / math.sqrt(V.shape[-1])
        peak = max(peak, sum(t.numel() * t.element_size() for t in (h, V, A, y, xbar)))
        loss, stop, err = _torch_descend(h, V, A, y, xbar, c, part[0].net.activation, steps, tol, check_every)
        start = 0
        for j, job in zip(idx, part):
            sl = slice(start, start + job.net.runs)
            start += job.net.runs
            results[j] = SweepResult(loss[sl], stop[sl], loss[sl] <= tol, err[sl])
    return results, peak


def _torch_descend(h, V, A, y, xbar, c, act, steps, tol, check_every):
    R, dev, dt = h.shape[0], h.device, h.dtype
    sqrtk = math.sqrt(V.shape[-1])
    ids = torch.arange(R, device=dev)              # global index of each row still in the stack
    loss_out = torch.full((R,), math.nan, dtype=dt, device=dev)
    err_out = torch.full((R,), math.nan, dtype=dt, device=dev)
    stop_out = torch.full((R,), steps, dtype=torch.long, device=dev)
    # the same records in the stack's row order: updated in place each step, written out
    # to the *_out tensors (by ids) only when the stack is compacted and at the end
    loss_r, err_r, stop_r = loss_out.clone(), err_out.clone(), stop_out.clone()
    active = torch.ones(R, dtype=torch.bool, device=dev)
    sigmoid = act.name == "sigmoid"
    s = act.phi(h)
    tau = 0
    while True:
        if tau > 0 and tau % check_every == 0:      # one host sync per check_every steps
            n_active = int(active.sum())
            if n_active == 0:
                break
            if n_active <= active.numel() // 2:    # compact: drop the finished runs
                loss_out[ids], err_out[ids], stop_out[ids] = loss_r, err_r, stop_r
                keep = active.nonzero().flatten()
                ids, h, V, A, y, xbar, c, s, active, loss_r, err_r, stop_r = (
                    t[keep] for t in (ids, h, V, A, y, xbar, c, s, active, loss_r, err_r, stop_r))
        x = torch.einsum("rnk,rk->rn", V, s) / sqrtk
        res = torch.einsum("rmn,rn->rm", A, x) - y
        f = 0.5 * (res * res).sum(1)
        stopping = active & (~torch.isfinite(f) | (f <= tol) | (tau == steps))
        loss_r = torch.where(stopping, f, loss_r)
        err_r = torch.where(stopping, (x - xbar).norm(dim=1), err_r)
        stop_r = stop_r.masked_fill(stopping, tau)
        active = active & ~stopping
        if tau == steps:
            break
        r = torch.einsum("rmn,rm->rn", A, res)
        g = torch.einsum("rnk,rn->rk", V, r)
        dphi = s * (1 - s) if sigmoid else act.dphi(h)
        h = h - torch.where(active, c, torch.zeros_like(c))[:, None] * dphi * g
        s = act.phi(h)
        tau += 1
    loss_out[ids], err_out[ids], stop_out[ids] = loss_r, err_r, stop_r
    return loss_out.cpu().numpy(), stop_out.cpu().numpy(), err_out.cpu().numpy()
