"""Gradient descent, SGD and momentum fitting a line to the regression lesson's data, drawn on the
contour of the loss."""

from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import plots
from .base import _memo, _Playground

__all__ = ["OptimizerPlayground"]


class OptimizerPlayground(_Playground):
    """Gradient descent, SGD and momentum fitting ``y_hat = w x + b`` to the lesson's data
    (``make_regression``), drawn on the contour of the loss L(w, b) = ½ mean((w x + b - y)²).

    GD uses all n points per step; SGD and momentum a random mini-batch of ``batch_size``
    (``batch_size = n`` is full-batch momentum). Every change of a control reruns ``descend``.

    Data: ``path`` ({"w", "b", "loss"} along the steps), ``final_loss``, ``optimum`` (the least-
    squares (w, b) from ``numpy.linalg.lstsq``: where every stable run should end).
    """

    figsize = (11, 4.2)
    METHODS = ("GD", "SGD", "momentum")

    def __init__(self, method: str = "GD", lr: float = 0.5, momentum: float = 0.9, batch_size: int = 10,
                 iterations: int = 100, n: int = 100, noise: float = 0.1, seed: int = 0, start=(-1.0, 1.5),
                 bounds=((-2.0, 3.0), (-1.5, 2.0))):
        super().__init__()
        from ..datasets import make_regression

        if method not in self.METHODS:
            raise ValueError(f"OptimizerPlayground: method={method!r} must be one of {self.METHODS}")
        self.X, self.y = make_regression(n=n, noise=noise, seed=seed)
        self.start, self.bounds, self.seed = start, bounds, seed
        design = np.column_stack([self.X[:, 0], np.ones(n)])  # (n, 2): columns x and 1
        self.optimum = tuple(float(v) for v in np.linalg.lstsq(design, self.y, rcond=None)[0])
        self.loss = _memo(self.loss)
        self.method = W.ToggleButtons(options=self.METHODS, value=method, description="method")
        self.lr = W.FloatLogSlider(value=lr, base=10, min=-3, max=0.5, step=0.05, description="learning rate η",
                                   continuous_update=False, readout_format=".3g", style={"description_width": "100px"})
        self.momentum = W.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01, description="momentum μ",
                                      continuous_update=False, style={"description_width": "100px"})
        self.batch_size = W.IntSlider(value=batch_size, min=1, max=n, description="batch size",
                                      continuous_update=False, style={"description_width": "100px"})
        self.iterations = W.IntSlider(value=iterations, min=1, max=500, description="iterations",
                                      continuous_update=False, style={"description_width": "100px"})
        for control in (self.method, self.lr, self.momentum, self.batch_size, self.iterations):
            control.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([self.method, W.HBox([self.lr, self.momentum]), W.HBox([self.batch_size, self.iterations]),
                              self.status, self.image])
        self.widget.add_class("amsearch-optimizer")
        self.update()

    def loss(self, w: float, b: float) -> float:
        """L(w, b) on the playground's data (memoised per instance: the contour asks for it 40 000 times)."""
        from ..optim import half_mse

        return half_mse(self.X, self.y, np.array([w]), np.array([b]))

    def update(self) -> None:
        """Run the chosen optimizer from ``start`` and redraw."""
        from ..optim import SGD, DivergenceError, descend

        method = self.method.value
        w, b = np.array([self.start[0]]), np.array([self.start[1]])
        optimizer = SGD([w, b], lr=self.lr.value, momentum=self.momentum.value if method == "momentum" else 0.0)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                self.path = descend(self.X, self.y, w, b, optimizer, self.iterations.value,
                                    batch_size=None if method == "GD" else self.batch_size.value, seed=self.seed)
        except DivergenceError as error:  # the loss overflowed: say so, and draw only the start
            self.path = {"w": np.array([self.start[:1]]), "b": np.array([self.start[1]]),
                         "loss": np.array([self.loss(*self.start)])}
            self.final_loss = math.inf
            self._say(f"{method}: <b style='color:red'>diverged</b>: {error}")
            self.redraw()
            return
        self.final_loss = float(self.path["loss"][-1])
        diverged = not math.isfinite(self.final_loss) or self.final_loss > self.path["loss"][0]
        self._say(f"{method}: final loss {self.final_loss:.4g} at (w, b) = ({self.path['w'][-1, 0]:.4g}, "
                  f"{self.path['b'][-1]:.4g}); least squares: ({self.optimum[0]:.4f}, {self.optimum[1]:.4f}), "
                  f"loss {self.loss(*self.optimum):.4g}" + (" — <b style='color:red'>diverged</b>" if diverged else ""))
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2, width_ratios=(1.2, 1))
        label = self.method.value
        with np.errstate(over="ignore", invalid="ignore"):
            plots.plot_paths_2d({label: (self.path["w"][:, 0], self.path["b"])}, self.loss, self.bounds, ax=left,
                                optimum=self.optimum, title="Path on the loss contour L(w, b)")
            plots.plot_curves({label: self.path["loss"]}, ax=right, log=True, ylabel="loss L(w, b)",
                              title="Loss per iteration")

