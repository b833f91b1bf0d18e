"""A population of N networks of one architecture, trained as one (vectorized).

Training N small networks one after the other wastes most of an accelerator: each step of one
MLP is a few small matrix products, and a GPU spends more time launching them than computing.
Stacking the N copies' parameters along a new first axis turns the N small products of each
layer into one *batched* product. ``torch.func`` does it without rewriting the model
(the PyTorch "model ensembling" recipe): ``stack_module_state`` stacks the parameters,
``functional_call`` runs the model with given parameters, ``vmap`` maps it over the first axis.

Notation (shapes in brackets; i indexes members, N of them). Member i has its own weights
:math:`\\theta_i`, velocity :math:`v_i`, learning rate :math:`\\eta_i`, momentum :math:`\\mu_i`,
weight decay :math:`\\lambda_i` and its own shuffle of the training set. One step, on member i's
mini-batch :math:`(X_i, y_i)`:

.. math::

    g_i = \\nabla_{\\theta_i} L(\\theta_i; X_i, y_i)          \\quad\\text{(vmap of torch.func.grad)}

    g_i \\leftarrow g_i + \\lambda_i\\,\\theta_i,\\qquad
    v_i \\leftarrow \\mu_i\\,v_i + g_i,\\qquad
    \\theta_i \\leftarrow \\theta_i - \\eta_i\\,v_i

which is ``optim.SGD``'s rule, written once for the stacked tensors ``(N, *shape)`` with the
hyperparameters broadcast as ``(N, 1, ..., 1)``. The members never mix: member i's loss depends
only on :math:`\\theta_i`, so the stacked update is N independent ``SGD`` updates, and the
weights after k steps equal those of N separate ``fit`` runs with the same seeds (tests check it
to 1e-5). ``vectorized=False`` runs exactly those N ``fit`` calls instead: the fallback, and the
reference.

Not covered: layers with buffers (batch norm's running statistics would have to be updated
inside ``vmap``), frozen parameters (``requires_grad=False``), dropout in the stacked path
(``vmap`` refuses random operations; ``vectorized=False`` trains it) and Nesterov momentum; all
are refused with a ValueError.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import pick_device
from ..optim.sgd import SGD
from ..optim.train import DivergenceError, _unpack, fit, shuffled_batches

__all__ = ["Population", "HYPERPARAMETERS"]

HYPERPARAMETERS = ("lr", "momentum", "weight_decay")  # what each member may set for itself


def per_member(name: str, value, n: int) -> np.ndarray:
    """``value`` (a number, or one per member) as a float array of shape (n,), checked like SGD's."""
    arr = np.full(n, value, dtype=float) if isinstance(value, numbers.Real) else np.asarray(value, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"Population: {name}={value!r} must be a number or {n} numbers (one per member)")
    if name == "momentum":
        bad = ~((arr >= 0) & (arr < 1))
        rule = "in [0, 1)"
    else:
        bad = ~(np.isfinite(arr) & (arr >= 0))
        rule = "a finite number >= 0"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"Population: {name}[{i}]={arr[i]!r} must be {rule}")
    return arr


def _structure(model: nn.Module) -> list[tuple[str, tuple]]:
    return [(name, tuple(p.shape)) for name, p in model.named_parameters()]


class Population:
    """N networks of one architecture with their own SGD hyperparameters, trained side by side.

    models        N ``nn.Module`` of one architecture (same parameter names and shapes; no
                  buffers); their weights are copied, the modules are not changed
    lr, momentum, weight_decay   one number for all, or N numbers (one per member)
    seeds         the seed of each member's shuffle (a CPU ``torch.Generator`` each, drawn by
                  ``shuffled_batches`` like ``fit``'s); default ``0, 1, ..., N - 1``
    vectorized    True: one ``vmap``-ed step for all members; False: N ``fit`` calls (same results)
    device        where the weights live (default ``amsearch_lab.pick_device()``)

    ``train(data, epochs)`` trains every member; ``evaluate(x, y)`` scores them all;
    ``copy_member(src, dst)`` copies weights, velocity and hyperparameters (PBT's exploit);
    ``set_hyperparameters(i, lr=...)`` changes one member's (PBT's explore); ``member(i)`` is an
    ``nn.Module`` with member i's weights; ``state()`` / ``load_state()`` checkpoint it all.
    Raises ValueError for an empty list, mixed architectures, buffers, frozen parameters, dropout
    (stacked path), a device this machine lacks or bad hyperparameters.
    """

    def __init__(self, models: Sequence[nn.Module], lr, momentum=0.0, weight_decay=0.0, seeds=None,
                 vectorized: bool = True, device=None):
        models = list(models)
        if not models or not all(isinstance(m, nn.Module) for m in models):
            raise ValueError(f"Population: models={models!r} must be a non-empty list of torch modules")
        first = _structure(models[0])
        for i, m in enumerate(models):
            if _structure(m) != first:
                raise ValueError(f"Population: models[{i}] has parameters {_structure(m)}, models[0] has {first}; "
                                 f"every member must have the same architecture")
            buffers = [name for name, _ in m.named_buffers()]
            if buffers:
                raise ValueError(f"Population: models[{i}] has buffers {buffers} (batch norm?); a population "
                                 f"trains models with parameters only")
            frozen = [name for name, p in m.named_parameters() if not p.requires_grad]
            if frozen:  # SGD skips them, the stacked gradient would not: refused rather than trained differently
                raise ValueError(f"Population: models[{i}] has parameters with requires_grad=False {frozen}; "
                                 f"a population trains every parameter")
            dropout = [name for name, layer in m.named_modules() if isinstance(layer, nn.modules.dropout._DropoutNd)]
            if dropout and vectorized:
                raise ValueError(f"Population: models[{i}] has Dropout layers {dropout}; the stacked model cannot "
                                 f"draw random masks inside vmap: use vectorized=False")
        if not first:
            raise ValueError(f"Population: models[0]={models[0]!r} has no parameters to train")
        self.n = n = len(models)
        self.hyperparameters = {"lr": per_member("lr", lr, n), "momentum": per_member("momentum", momentum, n),
                                "weight_decay": per_member("weight_decay", weight_decay, n)}
        seeds = list(range(n)) if seeds is None else list(seeds)
        if len(seeds) != n or not all(isinstance(s, numbers.Integral) for s in seeds):
            raise ValueError(f"Population: seeds={seeds!r} must be {n} integers (one per member)")
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.vectorized = bool(vectorized)
        try:
            self.device = pick_device(device)  # None: the best available
        except ValueError as e:
            raise ValueError(f"Population: device={device!r} cannot be used ({e})") from None
        self.epochs_done = 0
        self._template = copy.deepcopy(models[0]).to(self.device)  # what member(i) fills with weights
        if self.vectorized:
            self._base = copy.deepcopy(models[0]).to("meta")  # the architecture only, no storage
            params, _ = torch.func.stack_module_state(models)
            self.params = {k: p.detach().to(self.device).clone() for k, p in params.items()}  # (N, *shape)
            self.velocity = {k: torch.zeros_like(p) for k, p in self.params.items()}
        else:
            self.models = [copy.deepcopy(m).to(self.device) for m in models]
            self.optimizers = [SGD(m.parameters(), lr=1.0) for m in self.models]

    def __repr__(self) -> str:
        lrs = ", ".join(f"{v:.3g}" for v in self.hyperparameters["lr"])
        return f"Population({self.n} members, {'vectorized' if self.vectorized else 'sequential'}, lr=[{lrs}])"

    # -- the stacked model (vectorized path) ----------------------------------------------------------
    def _logits(self, params: dict, x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self._base, params, (x,))

    def _loss(self, params: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self._logits(params, x), y)

    def _broadcast(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """Hyperparameter ``name`` of each member as ``(N, 1, ..., 1)``, to scale stacked tensors."""
        h = torch.as_tensor(self.hyperparameters[name], dtype=like.dtype, device=like.device)
        return h.view(-1, *([1] * (like.ndim - 1)))

    # -- training -------------------------------------------------------------------------------------
    def train(self, data, epochs: int = 1, batch_size: int = 128, schedules=None) -> list[dict]:
        """Train every member for ``epochs`` epochs on ``data = (x_train, y_train, x_val, y_val)``
        (or an object with those attributes, like ``load_mnist()``), then validate.

        ``schedules``, when given, holds one learning-rate schedule per member (``s(t) -> lr``,
        e.g. ``optim.CosineDecay``): before each epoch member i's lr is set to ``schedules[i](t)``,
        t = the epochs it has done, as ``fit(schedule=...)`` does for one network.

        Returns one record per epoch: ``epoch`` (counted over every ``train`` call), ``seconds``,
        and arrays of shape (N,): ``train_loss`` (mean over the epoch's batches, as ``fit``),
        ``val_loss``, ``val_acc``. A member whose loss became NaN/inf has NaN in all three for
        that epoch and keeps training NaN weights until it copies another member's: the others
        are untouched (this is where a sequential ``fit`` raises ``DivergenceError``). So does a
        member whose validation loss is NaN/inf (a last step that blew up the weights): its
        ``val_acc`` would be the argmax of NaN logits."""
        if not (isinstance(epochs, int) and epochs >= 1):
            raise ValueError(f"Population.train: epochs={epochs!r} must be a positive integer")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"Population.train: batch_size={batch_size!r} must be a positive integer")
        if schedules is not None and (len(schedules) != self.n or not all(callable(s) for s in schedules)):
            raise ValueError(f"Population.train: schedules={schedules!r} must be {self.n} functions t -> lr "
                             f"(one per member)")
        x_train, y_train, x_val, y_val = (t.to(self.device) for t in _unpack(data))
        if len(x_train) == 0 or len(x_val) == 0:
            raise ValueError(f"Population.train: x_train has {len(x_train)} and x_val {len(x_val)} examples; "
                             f"both need at least one")
        records = []
        for _ in range(epochs):
            start = time.perf_counter()
            if schedules is not None:
                self.hyperparameters["lr"] = per_member("lr", [s(self.epochs_done) for s in schedules], self.n)
            if self.vectorized:
                train_loss = self._train_vectorized(x_train, y_train, batch_size)
                val_loss, val_acc = self.evaluate(x_val, y_val)
            else:  # fit validates after its epoch already
                train_loss, val_loss, val_acc = self._train_sequential(x_train, y_train, x_val, y_val, batch_size)
            diverged = ~np.isfinite(train_loss) | ~np.isfinite(val_loss)  # a last step may blow up the weights
            val_loss[diverged] = np.nan
            val_acc[diverged] = np.nan  # the argmax of NaN logits is no accuracy
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.epochs_done += 1
            records.append({"epoch": self.epochs_done, "train_loss": train_loss, "val_loss": val_loss,
                            "val_acc": val_acc, "seconds": time.perf_counter() - start})
        return records

    def _train_vectorized(self, x_train, y_train, batch_size) -> np.ndarray:
        # plumbing: each member's batches for this epoch, drawn from its own generator like fit's
        orders = [shuffled_batches(len(x_train), batch_size, g, self.device) for g in self.generators]
        eta = {k: self._broadcast("lr", p) for k, p in self.params.items()}
        mu = {k: self._broadcast("momentum", p) for k, p in self.params.items()}
        lam = {k: self._broadcast("weight_decay", p) for k, p in self.params.items()}
        # plumbing: skip the operations that change nothing this epoch (they cost a fifth of a step on a CPU)
        decay = bool((self.hyperparameters["weight_decay"] != 0).any())
        still = bool((self.hyperparameters["momentum"] == 0).any())
        grad_fn = torch.func.vmap(torch.func.grad_and_value(self._loss))
        loss_sum = torch.zeros(self.n, device=self.device)  # (N,)
        for step_batches in zip(*orders):
            idx = torch.stack(step_batches)  # (N, B): row i = member i's batch
            grads, losses = grad_fn(self.params, x_train[idx], y_train[idx])  # (N, *shape), (N,)
            loss_sum += losses.detach() * idx.shape[1]
            with torch.no_grad():
                for k, theta in self.params.items():
                    g = grads[k]
                    if decay:
                        g.add_(lam[k] * theta)            # 1. weight decay: g <- g + lambda theta
                    v = self.velocity[k]
                    v.mul_(mu[k]).add_(g)                 # 2. v <- mu v + g
                    theta.sub_(eta[k] * v)                # 3. theta <- theta - eta v
                    if still:
                        v.mul_(mu[k] != 0)                # SGD keeps no velocity when mu = 0
        return (loss_sum / len(x_train)).cpu().numpy().astype(float)

    def _train_sequential(self, x_train, y_train, x_val, y_val, batch_size) -> tuple[np.ndarray, ...]:
        """One ``fit`` epoch per member: the training loss, validation loss and accuracy, (N,) each."""
        losses, val_loss, val_acc = np.empty(self.n), np.empty(self.n), np.empty(self.n)
        for i, (model, opt) in enumerate(zip(self.models, self.optimizers)):
            opt.lr = float(self.hyperparameters["lr"][i])
            opt.momentum = float(self.hyperparameters["momentum"][i])
            opt.weight_decay = float(self.hyperparameters["weight_decay"][i])
            try:
                result = fit(model, (x_train, y_train, x_val, y_val), opt, epochs=1, batch_size=batch_size,
                             seed=self.generators[i], progress=False, device=self.device)
                record = result.records[-1]
                losses[i], val_loss[i], val_acc[i] = record["train_loss"], record["val_loss"], record["val_acc"]
            except DivergenceError:
                losses[i] = val_loss[i] = val_acc[i] = math.nan
            if opt.momentum == 0:
                opt.velocity = [None] * len(opt.params)
        return losses, val_loss, val_acc

    # -- evaluation -----------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Mean cross-entropy and accuracy of every member on ``(x, y)``: two arrays of shape (N,)."""
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"Population.evaluate: batch_size={batch_size!r} must be a positive integer")
        x, y = x.to(self.device), y.to(self.device)
        if len(x) == 0:
            raise ValueError(f"Population.evaluate: x has no examples (shape {tuple(x.shape)})")
        loss_sum = torch.zeros(self.n, device=self.device)
        correct = torch.zeros(self.n, device=self.device)
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            logits = self._all_logits(xb)  # (N, b, classes)
            per_example = F.cross_entropy(logits.flatten(0, 1), yb.repeat(self.n), reduction="none")
            loss_sum += per_example.view(self.n, -1).sum(dim=1)
            correct += (logits.argmax(dim=2) == yb).sum(dim=1)
        return (loss_sum / len(x)).cpu().numpy().astype(float), (correct / len(x)).cpu().numpy().astype(float)

    def _all_logits(self, xb: torch.Tensor) -> torch.Tensor:
        if self.vectorized:
            return torch.func.vmap(self._logits, in_dims=(0, None))(self.params, xb)
        outs = []
        for model in self.models:
            was_training = model.training
            model.eval()
            outs.append(model(xb))
            model.train(was_training)
        return torch.stack(outs)

    # -- exploit and explore --------------------------------------------------------------------------
    def copy_member(self, src: int, dst: int) -> None:
        """Member ``dst`` becomes an exact copy of member ``src``: weights, velocity and
        hyperparameters (its shuffle generator stays its own)."""
        self._check_index("copy_member", "src", src)
        self._check_index("copy_member", "dst", dst)
        for h in self.hyperparameters.values():
            h[dst] = h[src]
        if self.vectorized:
            with torch.no_grad():
                for k in self.params:
                    self.params[k][dst] = self.params[k][src]
                    self.velocity[k][dst] = self.velocity[k][src]
        else:
            self.models[dst].load_state_dict(self.models[src].state_dict())
            self.optimizers[dst].velocity = [None if v is None else v.clone() for v in self.optimizers[src].velocity]

    def _check_index(self, method: str, name: str, i) -> None:
        if not (isinstance(i, numbers.Integral) and not isinstance(i, bool) and 0 <= i < self.n):
            raise ValueError(f"Population.{method}: {name}={i!r} must be a member index in [0, {self.n})")

    def set_hyperparameters(self, i: int, **values) -> None:
        """Set member ``i``'s ``lr``, ``momentum`` and/or ``weight_decay`` (checked like ``SGD``'s)."""
        self._check_index("set_hyperparameters", "i", i)
        for name, value in values.items():
            if name not in HYPERPARAMETERS:
                raise ValueError(f"Population.set_hyperparameters: {name!r} is not one of {HYPERPARAMETERS}")
            new = self.hyperparameters[name].copy()
            new[i] = value
            self.hyperparameters[name] = per_member(name, new, self.n)

    def member(self, i: int) -> nn.Module:
        """An ``nn.Module`` (a copy) holding member ``i``'s weights, e.g. for ``optim.evaluate``."""
        self._check_index("member", "i", i)
        model = copy.deepcopy(self._template)
        model.load_state_dict({k: p[i] for k, p in self.weights().items()})
        return model

    def weights(self) -> dict[str, torch.Tensor]:
        """Every member's weights, stacked: ``{name: tensor (N, *shape)}`` (copies)."""
        if self.vectorized:
            return {k: p.detach().clone() for k, p in self.params.items()}
        return {k: torch.stack([dict(m.named_parameters())[k].detach() for m in self.models])
                for k, _ in _structure(self.models[0])}

    def _velocities(self) -> dict[str, torch.Tensor]:
        if self.vectorized:
            return {k: v.clone() for k, v in self.velocity.items()}
        names = [k for k, _ in _structure(self.models[0])]
        out = {}
        for j, k in enumerate(names):
            out[k] = torch.stack([torch.zeros_like(opt.params[j]) if opt.velocity[j] is None else opt.velocity[j]
                                  for opt in self.optimizers])
        return out

    # -- checkpoints ----------------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to continue: stacked weights and velocities (on the CPU),
        hyperparameters, generator states, epochs done. The same form for both paths."""
        return {"weights": {k: p.cpu() for k, p in self.weights().items()},
                "velocity": {k: v.cpu() for k, v in self._velocities().items()},
                "hyperparameters": {k: v.copy() for k, v in self.hyperparameters.items()},
                "generators": [g.get_state() for g in self.generators], "epochs_done": self.epochs_done}

    def load_state(self, state: dict) -> None:
        """Continue from ``state()`` of a population of the same size and architecture (either path).
        Raises ValueError for a state of another size or architecture, before anything changes."""
        shapes = {k: tuple(w.shape) for k, w in state["weights"].items()}
        wanted = {k: (self.n, *shape) for k, shape in _structure(self._template)}
        if shapes != wanted or len(state["generators"]) != self.n:
            raise ValueError(f"Population.load_state: the state holds weights {shapes} and "
                             f"{len(state['generators'])} generators; this population needs {wanted} and {self.n}")
        self.hyperparameters = {k: per_member(k, v, self.n) for k, v in state["hyperparameters"].items()}
        for g, s in zip(self.generators, state["generators"]):
            g.set_state(s)
        self.epochs_done = int(state["epochs_done"])
        if self.vectorized:
            self.params = {k: p.to(self.device).clone() for k, p in state["weights"].items()}
            self.velocity = {k: v.to(self.device).clone() for k, v in state["velocity"].items()}
            return
        names = [k for k, _ in _structure(self.models[0])]
        for i, (model, opt) in enumerate(zip(self.models, self.optimizers)):
            model.load_state_dict({k: state["weights"][k][i] for k in names})
            has_velocity = self.hyperparameters["momentum"][i] != 0
            opt.velocity = [state["velocity"][k][i].to(self.device).clone() if has_velocity else None for k in names]
