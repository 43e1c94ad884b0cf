"""Model ``sklearn_gp``: a Gaussian process per cost (scikit-learn), its posterior std as uncertainty.

The kernel: a constant times a Matern 5/2 kernel, plus white noise, on the
framework's features put on an even scale (``even_scale``) and the
standardised (log) costs. The even scale: a feature with at most
``EVEN_LEVELS`` distinct training values (a knob of a value list) has them
spread evenly over [0, 1] in their order (linear in between and beyond); a
feature with more (a real knob) is only standardised. A stationary kernel
assumes that a step of the feature means the same everywhere; design knobs are
often geometric (cache sizes 1 to 256 KB, kmeans objects 100 to 100,000) and
the framework's features are linear in the value, so that 100 and 1,000
objects were a thousandth of the feature apart. On the real kmeans table this
took the leave-one-out median error from 26% to 6%. A real knob's sampled
values, evenly spread, would bend a smooth function (6.6% against 1.1% MAPE on
the test toy): it is left linear. Matern 5/2 rather than the squared exponential: costs of designs have
kinks (a cache that starts to fit, a device that runs out of memory), which a
kernel of infinitely smooth functions smooths over; the white noise lets the
process not interpolate noisy measurements exactly. Each feature has its own
length scale (ARD: the process learns which knobs matter) when there are at
most ``ARD_FEATURES`` features; beyond, one shared length scale keeps the fit
cheap (every length scale is one more dimension for the optimiser). The
hyper-parameters maximise the marginal likelihood by L-BFGS-B, at most
``MAX_ITER`` iterations from each start (scikit-learn's default runs to 15,000:
on 150 noise-free points it took 7 s for hyper-parameters no better than
those of 50 iterations), from one start plus ``RESTARTS`` seeded ones up to
``RESTART_POINTS`` points (where one fit is cheap and local optima matter most).

A GP's fit costs the cube of its points, and scikit-learn's gradient of an ARD
kernel n^2 d memory: it trains on at most ``gp_max_points`` (default 300)
points, a seeded subset beyond. A checkpoint
holds the points and settings it was fitted on; loading fits it again (see
_sklearn_model.py: with the same seed, the optimiser finds the same
hyper-parameters).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._sklearn_model import SklearnModel

ARD_FEATURES = 16
EVEN_LEVELS = 20
RESTARTS = 1
RESTART_POINTS = 100
MAX_ITER = 50


class ScaledGP:
    """Features on an even scale -> a GaussianProcessRegressor (the estimator the plugin fits per cost)."""

    def __init__(self, nu: float, ard: bool, restarts: int, random_state: int, max_iter: int = MAX_ITER):
        self.nu, self.ard, self.restarts, self.random_state = float(nu), bool(ard), int(restarts), int(random_state)
        self.max_iter = int(max_iter)

    def _optimizer(self, objective, x0, bounds):
        from scipy.optimize import minimize
        r = minimize(lambda t: objective(t, eval_gradient=True), x0, jac=True, bounds=bounds, method="L-BFGS-B",
                     options={"maxiter": self.max_iter})
        return r.x, r.fun

    def fit(self, X: np.ndarray, z: np.ndarray) -> "ScaledGP":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        X = np.asarray(X, dtype=float)
        self.levels = []
        for j in range(X.shape[1]):
            u = np.unique(X[:, j])
            if len(u) > EVEN_LEVELS:   # many values: standardised, i.e. two "levels" at mean -+ std
                m, sd = float(X[:, j].mean()), float(X[:, j].std())
                u = np.array([m - sd, m + sd]) if sd > 1e-12 else u[:1]
            self.levels.append(u)
        # columns alike on the even scale say the same twice (a knob's value and its place in the list,
        # framework/encoding.py): the first is kept, as the process cannot tell them apart on these points
        even = np.column_stack([even_scale(X[:, j], u) for j, u in enumerate(self.levels)])
        self.keep = sorted(np.unique(even, axis=1, return_index=True)[1].tolist())
        length = np.ones(len(self.keep)) if self.ard else 1.0
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(length, (1e-2, 1e3), nu=self.nu)
                  + WhiteKernel(1e-2, (1e-8, 1.0)))
        self.gp = GaussianProcessRegressor(kernel, optimizer=self._optimizer, normalize_y=False,
                                           n_restarts_optimizer=self.restarts, random_state=self.random_state)
        with warnings.catch_warnings(), one_blas_thread():   # a bound reached is no error of the user's
            warnings.simplefilter("ignore")
            self.gp.fit(self.even(X), np.asarray(z, dtype=float))
        return self

    def even(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([even_scale(X[:, j], self.levels[j]) for j in self.keep])

    def predict(self, X: np.ndarray, return_std: bool = False):
        return self.gp.predict(self.even(np.asarray(X, dtype=float)), return_std=return_std)


def one_blas_thread():
    """BLAS on one thread for a block: its sums (Cholesky, solves) are then added in one order, whatever
    -jobs is. On 2 threads the optimiser's path moved in the 5th digit (docs/exploration.md, "Determinism");
    on at most gp_max_points points one thread costs little."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def even_scale(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """x on the scale where the sorted distinct training values ``levels`` are evenly spaced over [0, 1]:
    piecewise linear between them, and beyond them on the slope of the nearest segment."""
    if len(levels) < 2:
        return np.zeros(len(x))
    ranks = np.linspace(0.0, 1.0, len(levels))
    out = np.interp(x, levels, ranks)
    lo_slope = (ranks[1] - ranks[0]) / (levels[1] - levels[0])
    hi_slope = (ranks[-1] - ranks[-2]) / (levels[-1] - levels[-2])
    out = np.where(x < levels[0], (x - levels[0]) * lo_slope, out)
    return np.where(x > levels[-1], 1.0 + (x - levels[-1]) * hi_slope, out)


class SklearnGP(SklearnModel):
    plugin = "sklearn_gp"
    SETTINGS = ("nu", "ard", "restarts", "random_state", "max_iter")

    def _settings(self, n: int, seed: int) -> list[dict]:
        # a knob's place in its list or log value (':rank', ':log') is, on the even scale, a duplicate
        # of its value, dropped: not counted here
        distinct = sum(not n.endswith((":rank", ":log")) for n in self.encoding.feature_names[:self._input_width()])
        return [{"nu": 2.5, "ard": distinct <= ARD_FEATURES,
                 "restarts": RESTARTS if n <= RESTART_POINTS else 0, "random_state": int(seed), "max_iter": MAX_ITER}]

    def _estimator(self, settings: dict) -> Any:
        return ScaledGP(**settings)

    def _fit(self, X: np.ndarray, Z: np.ndarray, monitor) -> dict:
        most = int(self.opts.get("gp_max_points") or 300)
        if X.shape[0] > most:   # a seeded subset: the checkpoint stores it, loading fits the same points
            rng = np.random.default_rng(self.seed + 7919 * self.runs)
            keep = np.sort(rng.choice(X.shape[0], most, replace=False))
            X, Z = X[keep], Z[keep]
        report = super()._fit(X, Z, monitor)
        report.pop("estimators", None)
        report["gp_points"] = int(X.shape[0])
        return report

    def _members(self, X: np.ndarray) -> np.ndarray:
        return np.stack([m[0].predict(X) for m in self.models], axis=-1)[None]

    def _predict_context(self):
        return one_blas_thread()   # parallel chunks, not parallel BLAS (see _base.Predict): the same sums

    def _spread(self, X: np.ndarray):
        mu, sd = zip(*(m[0].predict(X, return_std=True) for m in self.models))
        mu, sd = np.stack(mu, axis=-1), np.stack(sd, axis=-1)
        mean = self.targets.inverse(mu)
        # one standard deviation either side, in cost units (on a log scale the interval is not symmetric); far
        # beyond the range, where the bound squeezes the interval, the process's own spread is the floor
        half = np.abs(self.targets.inverse(mu + sd) - self.targets.inverse(mu - sd)) / 2.0
        return mean, self.targets.floored(half, mu, sd)


def GetObject(framework: Any) -> SklearnGP:
    return SklearnGP(framework)
