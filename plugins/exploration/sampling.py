"""Exploration ``sampling``: propose what the sampling plugin gives, step by step.

Step 0 asks ``initial_samples`` points (default ``samples_per_step``), each
later step ``samples_per_step``; with ``custom_samples`` (Deffe's
``-custom-samples``, cumulative counts) step i brings the total to the i-th
count. A step asks no more than the rest of the sample budget. It ends when
the sampler has nothing new (a finite space fully evaluated, a design used
up) or when the driver's budget is spent.
"""
from __future__ import annotations

from framework.protocols import Proposal


class SamplingExploration:
    adaptive = False   # its proposals do not depend on the results: a dry run can list every step

    def __init__(self, framework):
        self.framework = framework

    def Initialize(self) -> None:
        s = self.framework.explore.settings
        args = self.framework.args
        self.per_step = getattr(args, "samples_per_step", None) or s["samples_per_step"]
        self.initial = s.get("initial_samples") or self.per_step
        self.custom = getattr(args, "custom_samples", None) or s.get("custom_samples")
        self.step = 0
        self.asked = 0

    def Run(self):
        if self.custom is not None:
            if self.step >= len(self.custom):
                return None
            n = self.custom[self.step] - self.asked
        else:
            n = self.initial if self.step == 0 else self.per_step
        # no more than the budget takes: the driver would cut the rest off, and a step of lhs (one
        # hypercube) or of sobol cut to a prefix loses its balance
        left = self.framework.budget.remaining_samples()
        if left < n:
            n = int(left)
        codes = self.framework.sampling.Run(max(n, 0)) if n > 0 else None
        if codes is None or len(codes) == 0:
            return None
        return Proposal(codes)

    def Tell(self, codes, results) -> None:
        self.asked += len(codes)
        self.step += 1


def GetObject(framework):
    return SamplingExploration(framework)
