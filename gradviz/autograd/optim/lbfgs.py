"""``LBFGS``: limited-memory BFGS over all parameters as one flat vector, with PyTorch's
iteration, its stopping tests and its ``"strong_wolfe"`` line search (step for step, so runs
agree with PyTorch's to rounding)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import OptimizerError
from gradviz.autograd.grad_mode import enable_grad
from gradviz.autograd.inplace import bump
from gradviz.autograd.optim.optimizer import Optimizer, _check, _check_numbers, add_scaled


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through two points with their slopes, kept in ``bounds``
    (the middle of the bounds when the cubic has no minimum)."""
    xmin_bound, xmax_bound = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


class _Bracket:
    """The line search's bracket: two step sizes with their losses, gradients and slopes."""

    def __init__(self, points: list[tuple[Any, float, np.ndarray, Any]]) -> None:
        self.t = [p[0] for p in points]
        self.f = [p[1] for p in points]
        self.g = [p[2] for p in points]
        self.gtd = [p[3] for p in points]

    def set(self, pos: int, t: Any, f: float, g: np.ndarray, gtd: Any) -> None:
        self.t[pos], self.f[pos], self.g[pos], self.gtd[pos] = t, f, g, gtd

    def order(self) -> tuple[int, int]:
        """The positions of the lower and the higher loss."""
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)


def _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls):
    """Grow the step until a bracket holds a point satisfying the strong Wolfe conditions;
    the bracket, whether it is found already, the evaluations and iterations spent."""
    f_new, g_new = obj_func(x, t, d)
    evals, gtd_new = 1, g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            return _Bracket([(t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)]), (
                False,
                evals,
                ls_iter,
            )
        if abs(gtd_new) <= -c2 * gtd:
            return _Bracket([(t, f_new, g_new, gtd_new)]), (True, evals, ls_iter)
        if gtd_new >= 0:
            return _Bracket([(t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)]), (
                False,
                evals,
                ls_iter,
            )
        step = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10)
        )
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = step
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    return _Bracket([(0, f, g, None), (t, f_new, g_new, None)]), (False, evals, ls_iter)


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """PyTorch's (and minFunc's) line search: a step size satisfying the strong Wolfe
    conditions; the loss, gradient and step found, and the evaluations spent."""
    d_norm = np.abs(d).max()
    bracket, (done, evals, ls_iter) = _bracket_phase(
        obj_func, x, t, d, f, g.copy(), gtd, c1, c2, max_ls
    )
    insuf_progress = False
    low_pos, high_pos = bracket.order()
    while not done and ls_iter < max_ls:
        b = bracket.t
        if abs(b[1] - b[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            b[0], bracket.f[0], bracket.gtd[0], b[1], bracket.f[1], bracket.gtd[1]
        )
        eps = 0.1 * (max(b) - min(b))
        if min(max(b) - t, t - min(b)) < eps:
            if insuf_progress or t >= max(b) or t <= min(b):
                t = max(b) - eps if abs(t - max(b)) < abs(t - min(b)) else min(b) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket.f[low_pos]:
            bracket.set(high_pos, t, f_new, g_new.copy(), gtd_new)
            low_pos, high_pos = bracket.order()
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (b[high_pos] - b[low_pos]) >= 0:
                bracket.set(
                    high_pos,
                    b[low_pos],
                    bracket.f[low_pos],
                    bracket.g[low_pos],
                    bracket.gtd[low_pos],
                )
            bracket.set(low_pos, t, f_new, g_new.copy(), gtd_new)
    return bracket.f[low_pos], bracket.g[low_pos], bracket.t[low_pos], evals


class LBFGS(Optimizer):
    """L-BFGS (Nocedal), PyTorch's: ``step(closure)`` runs up to ``max_iter`` iterations,
    each calling ``closure`` (zero the gradients, compute and backward the loss, return it);
    ``line_search_fn="strong_wolfe"`` or None (a fixed step of ``lr``). One param group."""

    _flat_state = frozenset({"d", "prev_flat_grad"})

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        _check_numbers(
            type(self).__name__,
            lr=lr,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
        )
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_iter * 5 // 4 if max_eval is None else max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        self._check_one_group()

    def _check_one_group(self) -> None:
        _check(
            len(self.param_groups) == 1,
            "LBFGS doesn't support per-parameter options (parameter groups): expected exactly "
            f"one param_group, but got {len(self.param_groups)}; give LBFGS all parameters "
            "as one group",
        )

    @property
    def _params(self) -> list[Any]:
        """The parameters, all in the one group (read afresh: load_state_dict replaces it)."""
        return self.param_groups[0]["params"]

    def _gather_flat_grad(self) -> np.ndarray:
        return np.concatenate(
            [
                np.zeros(p._data.size, p._data.dtype) if p._grad is None else p._grad.reshape(-1)
                for p in self._params
            ]
        )

    def _add_grad(self, step_size: Any, update: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            add_scaled(p, float(step_size), update[offset : offset + p._data.size].reshape(p.shape))
            offset += p._data.size

    def _set_param(self, arrays: list[np.ndarray]) -> None:
        for p, data in zip(self._params, arrays, strict=True):
            p._data[...] = data
            bump(p, "optimizer.step")

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Run the iterations; ``closure`` is required. Returns the first loss it gave."""
        if closure is None:
            raise OptimizerError(
                "LBFGS.step() needs a closure that reevaluates the model and returns the loss"
            )
        self._check_one_group()  # as PyTorch's, an added group is refused here
        self._opt_called = True
        active = hooks.ACTIVE
        for hook in active:
            hook.optimizer_step(self, "begin")
        try:
            return self._iterate(closure)
        finally:
            for hook in active:
                hook.optimizer_step(self, "end")

    def _evaluate(self, closure: Callable[[], Any]) -> Any:
        with enable_grad():
            return closure()

    def _iterate(self, closure: Callable[[], Any]) -> Any:
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params[0]._id, {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        memory = _Memory(state, group["history_size"])
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                memory.reset()
            else:
                memory.add(flat_grad - prev_flat_grad, d * t)
                d = memory.direction(flat_grad)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if group["line_search_fn"] is not None:
                _check(
                    group["line_search_fn"] == "strong_wolfe", "only 'strong_wolfe' is supported"
                )
                x_init = [p._data.copy() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(self._evaluate(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if (
                n_iter == max_iter
                or current_evals >= max_eval
                or opt_cond
                or np.abs(d * t).max() <= tolerance_change
                or abs(loss - prev_loss) < tolerance_change
            ):
                break
        state.update(d=d, t=t, prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        memory.save()
        return orig_loss


class _Memory:
    """The last ``history_size`` curvature pairs (``old_dirs`` y, ``old_stps`` s, ``ro``) and
    ``H_diag``, kept in the state under PyTorch's names, and the two-loop recursion."""

    def __init__(self, state: dict[str, Any], history_size: int) -> None:
        self.state, self.size = state, history_size
        self.dirs, self.stps = state.get("old_dirs"), state.get("old_stps")
        self.ro, self.h_diag = state.get("ro"), state.get("H_diag")

    def reset(self) -> None:
        self.dirs, self.stps, self.ro, self.h_diag = [], [], [], 1

    def add(self, y: np.ndarray, s: np.ndarray) -> None:
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.dirs) == self.size:
                self.dirs.pop(0)
                self.stps.pop(0)
                self.ro.pop(0)
            self.dirs.append(y)
            self.stps.append(s)
            self.ro.append(1.0 / ys)
            self.h_diag = ys / y.dot(y)

    def direction(self, flat_grad: np.ndarray) -> np.ndarray:
        """The approximate inverse Hessian times minus the gradient (the two-loop recursion)."""
        al = self.state.setdefault("al", [None] * self.size)
        q = -flat_grad
        for i in range(len(self.dirs) - 1, -1, -1):
            al[i] = self.stps[i].dot(q) * self.ro[i]
            q += -al[i] * self.dirs[i]
        r = q * self.h_diag
        for i in range(len(self.dirs)):
            be_i = self.dirs[i].dot(r) * self.ro[i]
            r += (al[i] - be_i) * self.stps[i]
        return r

    def save(self) -> None:
        self.state.update(old_dirs=self.dirs, old_stps=self.stps, ro=self.ro, H_diag=self.h_diag)


__all__ = ["LBFGS"]
