"""Training a batched ensemble (see `_nets.py`): Adam(W), a learning-rate schedule, optional early stopping.

By default (``validation_split`` null: automatic), from ``EARLY_STOPPING_BELOW``
(50) training points on, every member trains on all the points for all the
epochs, the learning rate annealed to 1% by the cosine schedule, and keeps its
last weights: a deep ensemble as its authors train one
(Lakshminarayanan et al. 2017: the members differ by their initialisation and
the order of their mini-batches). With a ``validation_split``, each member
keeps a different random part of the training data for validation, so that
together the members learn from every point; training stops once no member's
validation loss has improved for ``patience`` epochs, and every member ends
with the weights of its own best epoch. Why not from 50 points on: at 1,000 points
early stopping ended the training while the learning rate was still high and
took a fifth of each member's data, and the suite's six placement problems
were all more accurate without it (VALIDATION_NOTE below). Below 50 points
the automatic split is 0.2: on the gem5 tables (10 to 30 points) the members
trained to the end fitted the few points and extrapolated wildly. Training is
seeded and runs with torch's deterministic algorithms on one CPU thread (the
fastest for small mini-batches, and the same result on any machine with the
same libraries).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from ._nets import layer_parameters


# The automatic mini-batch (train_batch_size null). Deffe's 256 gives an epoch of 1,000 points only 4 steps, and the
# 1,000 epochs then end before the network has converged: at 1,000 points, batches of 32 took the pooled deep
# ensemble from 3.9% to 3.6% MAPE on GPT-2, 5.7% to 3.9% on BERT, 5.6% to 4.4% on the LSTM, 3.0% to 2.2% on VGG-16
# and 0.14% to 0.09% on ResNet-50 (bench/surrogate.py's suite problems). Below 500 points, where early stopping
# ends the training first, they helped on some problems and hurt on others (ResNet-50 at 250: 0.47% to 0.77%;
# Inception-V3: 1.9% to 0.8%), so the small batches start at 500; at 4,000 points a batch of 128 was as accurate
# as one of 32 (0.02% against 0.03%) in a third of the time.
SMALL_BATCH_FROM = 500
# VALIDATION_NOTE. torch_mlp alone on the suite's split (bench/surrogate.py), validation_split 0.2 -> 0, MAPE at
# 1,000 points: ResNet-50 0.099 -> 0.072%, Inception-V3 0.28 -> 0.23%, GPT-2 3.46 -> 3.40%, BERT 4.02 -> 3.68%,
# LSTM 4.40 -> 3.74%, VGG-16 2.08 -> 1.72%; at 250 better on five of six (BERT 16.2 -> 16.7% worse); at 50 on four
# (GPT-2 25 -> 28%, LSTM 52 -> 66% worse; auto does not rely on the deep ensemble alone there). A tenth kept for
# validation was halfway (LSTM 3.80%, VGG-16 1.94%); 400 or 2,000 epochs instead of 1,000 were worse (LSTM 4.05%,
# 4.26%). Below 50 points early stopping stays: torch_mlp alone on the gem5 kmeans table (10, 20, 30 training
# points, 20 splits each) had MAPE 1,544%, 6,599% and 4,917% without it against 327%, 751% and 563% with it.
EARLY_STOPPING_BELOW = 50
VALIDATION_SMALL = 0.2
STEPS_PER_EPOCH = 32


def batch_size_for(samples: int, configured: int | None = None) -> int:
    """The mini-batch of a training on ``samples`` points: the configured one, else the automatic rule above."""
    if configured is not None:
        return int(configured)
    if samples < SMALL_BATCH_FROM:
        return 256
    return int(min(256, max(32, samples // STEPS_PER_EPOCH)))


def validation_split_for(samples: int, configured: float | None = None) -> float:
    """Each member's validation part: the configured one, else the automatic rule above."""
    if configured is not None:
        return float(configured)
    return VALIDATION_SMALL if samples < EARLY_STOPPING_BELOW else 0.0


@dataclass
class FitSettings:
    epochs: int
    batch_size: int
    learning_rate: float
    schedule: str = "cosine"
    weight_decay: float = 0.0
    patience: int = 50
    validation_split: float = 0.0
    seed: int = 0
    freeze: int = 0          # first weight layers kept fixed (transfer learning)


@contextlib.contextmanager
def torch_settings(threads: int, deterministic: bool = True):
    """Threads and determinism for a block, restored afterwards (they are process-wide)."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if threads and threads != old_threads:
            torch.set_num_threads(threads)
        if deterministic:
            _deterministic(True, False)
        yield
    finally:
        if torch.get_num_threads() != old_threads:
            torch.set_num_threads(old_threads)
        if deterministic:
            _deterministic(old_det, old_warn)


def _deterministic(mode: bool, warn_only: bool) -> None:
    # torch.use_deterministic_algorithms also configures the compiler (torch._inductor), whose import takes
    # about 2 s; eager CPU training needs only the switch itself
    switch = getattr(torch._C, "_set_deterministic_algorithms", None)
    if switch is not None:
        switch(mode, warn_only=warn_only)
    else:  # pragma: no cover - another torch version
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)


def validation_size(n: int, fraction: float) -> int:
    """Points each member validates on: none when there are too few to spare."""
    if fraction <= 0 or n < 5:
        return 0
    return int(min(max(1, round(n * fraction)), n - 2))


def fit_ensemble(net: torch.nn.Module, X: np.ndarray, Z: np.ndarray, st: FitSettings, loss_fn,
                 monitor: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[list[dict], dict]:
    """Train ``net`` in place on features X (n, d) and standardised targets Z (n, c) (NaN = unknown).

    X may also be (views, n, d): the same points seen in several ways (relabellings of interchangeable
    values); every epoch each member sees each training point in a view drawn at random, and
    validates on view 0. Returns the per-epoch history and a summary (epochs run, best validation loss, ...).
    """
    k = net.members
    n = X.shape[-2]
    rng = np.random.default_rng(st.seed)
    with torch.random.fork_rng(devices=[]), torch_settings(1):
        torch.manual_seed(st.seed)              # dropout draws
        Xv = torch.as_tensor(np.ascontiguousarray(X if X.ndim == 3 else X[None], dtype=np.float32))
        n_views = Xv.shape[0]
        Xt = Xv[0]

        def rows_of(idx: np.ndarray) -> torch.Tensor:   # features of (member, row) picks, a view each
            if n_views == 1:
                return Xt[torch.as_tensor(idx)]
            return Xv[torch.as_tensor(rng.integers(n_views, size=idx.shape)), torch.as_tensor(idx)]

        Mt = torch.as_tensor(np.isfinite(Z).astype(np.float32))
        Zt = torch.as_tensor(np.nan_to_num(Z, nan=0.0).astype(np.float32))
        n_val = validation_size(n, st.validation_split)
        orders = np.stack([rng.permutation(n) for _ in range(k)])
        val_idx = torch.as_tensor(orders[:, :n_val])
        train_rows = orders[:, n_val:]
        n_train = train_rows.shape[1]
        batch = max(1, min(st.batch_size, n_train))

        frozen = set()
        for layer in net.weight_layers()[:st.freeze]:
            for p in layer_parameters(layer):
                p.requires_grad_(False)
                frozen.add(id(p))
        params = [p for p in net.parameters() if id(p) not in frozen]
        opt = AdamW(params, weight_decay=st.weight_decay)
        if monitor is not None:
            mX = torch.as_tensor(np.ascontiguousarray(monitor[0], dtype=np.float32))
            mM = torch.as_tensor(np.isfinite(monitor[1]).astype(np.float32)).expand(k, -1, -1)
            mZ = torch.as_tensor(np.nan_to_num(monitor[1], nan=0.0).astype(np.float32)).expand(k, -1, -1)

        # dropout is the only layer that behaves differently in training: without it, no mode switches
        modal = any(getattr(mod, "dropout", 0) for mod in net.modules())
        whole = None
        if batch >= n_train:
            idx = torch.as_tensor(train_rows)
            whole = (Xt[idx] if n_views == 1 else None, Zt[idx], Mt[idx])
        val = (Xt[val_idx], Zt[val_idx], Mt[val_idx]) if n_val else None
        best = torch.full((k,), math.inf)
        best_epoch = torch.zeros(k, dtype=torch.long)
        best_state = {name: p.detach().clone() for name, p in net.named_parameters()}
        since = torch.zeros(k, dtype=torch.long)
        history: list[dict] = []
        epoch = 0
        for epoch in range(st.epochs):
            lr = _lr(st, epoch)
            if modal:
                net.train()
            total = 0.0
            if whole is not None:   # one batch of everything: the same tensors every epoch
                inputs = whole[0] if whole[0] is not None else rows_of(train_rows)
                per_member = loss_fn(net(inputs), whole[1], whole[2])
                opt.zero_grad()
                per_member.sum().backward()
                opt.step(lr)
                total = float(per_member.detach().mean()) * n_train
            else:
                perm = np.stack([rng.permutation(row) for row in train_rows])
                for s in range(0, n_train, batch):
                    rows = perm[:, s:s + batch]
                    idx = torch.as_tensor(rows)
                    per_member = loss_fn(net(rows_of(rows)), Zt[idx], Mt[idx])
                    opt.zero_grad()
                    per_member.sum().backward()
                    opt.step(lr)
                    total += float(per_member.detach().mean()) * idx.shape[1]
            record = {"epoch": epoch + 1, "train_loss": total / n_train, "val_loss": None, "test_loss": None,
                      "lr": lr}
            if modal:
                net.eval()
            stop = False
            with torch.no_grad():
                if val is not None:
                    vl = loss_fn(net(val[0]), val[1], val[2])
                    record["val_loss"] = float(vl.mean())
                    better = vl < best
                    if better.any():
                        best = torch.where(better, vl, best)
                        best_epoch = torch.where(better, torch.full_like(best_epoch, epoch + 1), best_epoch)
                        for name, p in net.named_parameters():
                            keep = better.view(-1, *([1] * (p.dim() - 1)))
                            best_state[name] = torch.where(keep, p.detach(), best_state[name])
                    since = torch.where(better, torch.zeros_like(since), since + 1)
                    stop = bool((since >= st.patience).all())
                if monitor is not None:
                    record["test_loss"] = float(loss_fn(net(mX), mZ, mM).mean())
            history.append(record)
            if stop:
                break
        if n_val:
            with torch.no_grad():
                for name, p in net.named_parameters():
                    p.copy_(best_state[name])
        for p in net.parameters():
            p.requires_grad_(True)
        net.eval()
    summary = {"epochs": epoch + 1, "train_count": n_train, "val_count": n_val,
               "best_val_loss": float(best.mean()) if n_val else None,
               "best_epoch": float(best_epoch.float().mean()) if n_val else None,
               "final_train_loss": history[-1]["train_loss"] if history else None}
    return history, summary


class AdamW:
    """Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW computes it.

    Written out because creating a torch.optim optimizer imports torch's compiler (about 1.5 s), which
    a short run would pay at every start; the update is elementwise, so members stay independent.
    """

    def __init__(self, params: list, weight_decay: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = list(params)
        self.wd, (self.b1, self.b2), self.eps = weight_decay, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: float) -> None:
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        live = [(p, m, v) for p, m, v in zip(self.params, self.m, self.v) if p.grad is not None]
        if not live:
            return
        ps, ms, vs = (list(x) for x in zip(*live))
        gs = [p.grad for p in ps]
        # the multi-tensor (foreach) kernels: one call per operation for all parameters
        if self.wd:
            torch._foreach_mul_(ps, 1.0 - lr * self.wd)
        torch._foreach_mul_(ms, self.b1)
        torch._foreach_add_(ms, gs, alpha=1.0 - self.b1)
        torch._foreach_mul_(vs, self.b2)
        torch._foreach_addcmul_(vs, gs, gs, value=1.0 - self.b2)
        denom = torch._foreach_div(vs, c2)
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(ps, ms, denom, value=-lr / c1)


def _lr(st: FitSettings, epoch: int) -> float:
    if st.schedule == "constant" or st.epochs <= 1:
        return st.learning_rate
    floor = 0.01 * st.learning_rate
    return floor + (st.learning_rate - floor) * 0.5 * (1.0 + math.cos(math.pi * epoch / (st.epochs - 1)))
