"""Drivers: run a row kernel over every row of a (rows, n) array.

Each is a ``_jit.Driver``: the function written here does the rows ``range(lo, hi)``, one
chunk, allocating its float64 scratch rows once; the driver runs it on all the rows at
once (serially) or on a few chunks per thread (in parallel, decided in Python because
``numba.get_num_threads`` inside a kernel defeats the on-disk cache), and is called
without ``lo, hi``. A row is ``row_of(z, r)``, a view without a reference count
(``_jit.row_of``). Every driver's arguments are its inputs, its outputs, the per-row
``status`` (``kernels.common`` codes), its parameters, and for the maps' drivers the
registry code of the map and method, a compile-time literal (``driver(...,
literal=code)``): the drivers are written once for every map, and only the called
(driver, code, dtype) is compiled.
"""

import numpy as np
from numba.core import types
from numba.extending import overload

from . import _registry
from ._jit import driver, jit, keep_alive, row_of
from ._registry import (
    is_row_method,
    row_apply,
    row_apply_support,
    row_forward,
    row_gather,
    row_jacobian,
    row_jvp,
    row_param,
    row_presolve,
    row_tau_out,
    writes_output,
)
from .kernels.common import BAD_LABEL, OK, TARGET_SUM
from .kernels.derivs import (
    accurate_sum,
    divide_row,
    exp_shifted_row,
    nonfinite_status,
    row_max,
    sigmoid_and_slope,
    softmax_loss_dist_terms,
)
from .kernels.entmax import dalpha_row
from .kernels.scalar import cpu as _status


def forward_row(row, buf, tmp, out, write, a, code):
    """``(M, t, k, status, written)`` of one row with the map and method of ``code``: a row
    method's kernel on the row (``Method.row``), or ``staged_forward_row``. ``buf`` and
    ``tmp`` are float64 scratch rows; ``a`` is the row's parameter (``row_param``);
    ``written``: whether the method's ``write`` kernel, run when ``write``, has written the
    row's output into ``out`` (else the caller writes it, ``row_apply_support``)."""
    if is_row_method(code):
        M, t, k, st = row_forward(row, buf, tmp, a, code)
        return M, t, k, st, False
    return staged_forward_row(row, buf, tmp, out, write, a, code)


@overload(forward_row, inline="always")
def _forward_row(row, buf, tmp, out, write, a, code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    if is_row_method(code.literal_value):
        def row_method(row, buf, tmp, out, write, a, code):
            M, t, k, st = row_forward(row, buf, tmp, a, code)
            return M, t, k, st, False
        return row_method
    return lambda row, buf, tmp, out, write, a, code: staged_forward_row(row, buf, tmp, out, write, a, code)


@jit(inline=True)
def staged_forward_row(row, buf, tmp, out, write, a, code):
    """The candidate pass, the first step, and the method only where that step has not
    settled the row (its ``write`` kernel when ``write``, ``row_tau_out``)."""
    M, m, st = row_gather(row, buf, a, code)
    if st != OK:
        return M, 0.0, 0, st, False
    t, k, done = row_presolve(buf, m, a, code)
    written = False
    if not done:
        t, k, written = row_tau_out(row, M, buf, k, tmp, out, write, a, code)
    return M, t, k, OK, written


@driver
def forward_rows(lo, hi, z, out, shift, thresh, support, status, write, param, code):
    """For each row r of ``z``: ``shift[r] = max(z[r])``, ``thresh[r] = tau - max``,
    ``support[r] = k`` and ``status[r]``; when ``write`` is true also ``out[r]``, the map's
    output, fused with the row's own pass so the row is still in cache. Rows with a bad
    status are left unwritten. ``param`` is the map's parameter, one per row or one for all
    (``_registry.row_param``; any float64 array for a map without one)."""
    n = z.shape[1]
    scratch = np.empty((2, n), np.float64)
    buf, tmp = row_of(scratch, 0), row_of(scratch, 1)  # views: calls count no references
    spare = np.empty((1, n), out.dtype)  # the output row the method sees when not writing
    for r in range(lo, hi):
        a = row_param(param, r, code)
        orow = row_of(out, r) if write else row_of(spare, 0)
        M, t, k, st, written = forward_row(row_of(z, r), buf, tmp, orow, write, a, code)
        status[r] = st
        if st != OK:
            continue
        shift[r] = M
        thresh[r] = t
        support[r] = k
        if write and not written:
            row_apply_support(row_of(z, r), M, t, buf, k, tmp, orow, a, code)
    keep_alive(scratch)
    keep_alive(spare)


@driver
def apply_rows(lo, hi, z, shift, thresh, out, param, code):
    """``out[r]``: the map's output of ``z[r]`` at the threshold ``shift[r] + thresh[r]``."""
    for r in range(lo, hi):
        row_apply(row_of(z, r), shift[r], thresh[r], row_of(out, r), row_param(param, r, code), code)


# ---------------------------------------------------------------------------------------
# Derivatives and losses. Each driver writes into fresh arrays (the public functions copy
# into ``out=`` only after the status check), so a bad row may be left half-written.


@driver
def jvp_rows(lo, hi, p, v, out, status, param, code):
    """``out[r] = J(p[r]) v[r]`` for every row, J the map's Jacobian at the output p."""
    for r in range(lo, hi):
        status[r] = row_jvp(row_of(p, r), row_of(v, r), row_of(out, r), row_param(param, r, code), code)


@driver
def jacobian_rows(lo, hi, p, out, status, param, code):
    """``out[r] = J(p[r])``, the map's dense (n, n) Jacobian at a point whose output is
    ``p[r]``."""
    for r in range(lo, hi):
        status[r] = row_jacobian(row_of(p, r), row_of(out, r), row_param(param, r, code), code)


@driver
def entmax_dalpha_rows(lo, hi, p, out, status, param):
    """``out[r] = d entmax / d alpha`` at the output ``p[r]`` (``kernels.entmax.dalpha_row``),
    alpha ``param`` (one per row or one for all)."""
    for r in range(lo, hi):
        status[r] = dalpha_row(row_of(p, r), row_of(out, r), param[r if param.shape[0] > 1 else 0])


def target_loss(row, M, t, y, k, vals, target, r, g, written, a, code):
    """``(loss, running sum of the target row, status)`` of row ``r`` against ``target``,
    the gradient into ``g``: integer labels (one per row, int64) or target distributions
    (rows like z's), told apart by the target's dimension at compile time; the loss is the
    map's of ``code`` (given the row's parameter ``a`` when the map has one). The caller
    checks the sum (``sum_is_off``, ``still_off``). ``y[:k]`` is what the row's method
    left: for an ``ordered`` method the support, from which a map with
    ``loss_label_from_p`` writes p into ``g`` (``apply_support``, with ``vals`` as
    scratch, never ``g``) before the label loss, unless the method's ``write`` kernel
    has written it there (``written``)."""
    map_, method = _registry.entry(code)
    extra = (a,) if map_.param is not None else ()
    if target.ndim == 1:
        lab = target[r]
        if lab < 0 or lab >= row.shape[0]:
            return 0.0, 1.0, BAD_LABEL
        if _label_support(map_, method):
            if not written:
                map_.apply_support(row, M, t, y, k, vals, g, *extra)
            return map_.loss_label_from_p(row, M, t, lab, g, *extra), 1.0, OK
        return map_.loss_label(row, M, t, lab, g, *extra), 1.0, OK
    return map_.loss_dist(row, M, t, row_of(target, r), g, *extra)


def _label_support(map_, method):
    """Whether the label loss of this map and method takes p from the method's support."""
    return map_.loss_label_from_p is not None and _registry.takes_support(map_, method)


def label_writes(target, code):
    """Whether the loss of ``target`` runs the method's ``write`` kernel with p into the
    gradient's row: labels (the label loss then starts from p, ``target_loss``) and a
    method that has one."""
    map_, method = _registry.entry(code)
    return target.ndim == 1 and _label_support(map_, method) and writes_output(code)


@overload(label_writes, inline="always")
def _label_writes(target, code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    map_, method = _registry.entry(code.literal_value)
    writes = target.ndim == 1 and _label_support(map_, method) and method.write is not None
    return lambda target, code: writes


def still_off(target, r, qtol):
    """For a target row whose running sum failed: whether its accurate sum fails too."""
    return target.ndim == 2 and _status.sum_is_off(accurate_sum(row_of(target, r)), qtol)


@overload(target_loss, inline="always")
def _target_loss(row, M, t, y, k, vals, target, r, g, written, a, code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    map_, method = _registry.entry(code.literal_value)
    if target.ndim == 1:
        if _label_support(map_, method):
            # (a map with a parameter: entmax)
            apply_support, from_p = map_.apply_support, map_.loss_label_from_p

            def labels_support(row, M, t, y, k, vals, target, r, g, written, a, code):
                lab = target[r]
                if lab < 0 or lab >= row.shape[0]:
                    return 0.0, 1.0, BAD_LABEL
                if not written:
                    apply_support(row, M, t, y, k, vals, g, a)
                return from_p(row, M, t, lab, g, a), 1.0, OK
            return labels_support
        loss_label = map_.loss_label
        if map_.param is None:
            def labels(row, M, t, y, k, vals, target, r, g, written, a, code):
                lab = target[r]
                if lab < 0 or lab >= row.shape[0]:
                    return 0.0, 1.0, BAD_LABEL
                return loss_label(row, M, t, lab, g), 1.0, OK
            return labels

        def labels_a(row, M, t, y, k, vals, target, r, g, written, a, code):
            lab = target[r]
            if lab < 0 or lab >= row.shape[0]:
                return 0.0, 1.0, BAD_LABEL
            return loss_label(row, M, t, lab, g, a), 1.0, OK
        return labels_a
    loss_dist = map_.loss_dist
    if map_.param is None:
        return lambda row, M, t, y, k, vals, target, r, g, written, a, code: loss_dist(row, M, t, row_of(target, r), g)
    return lambda row, M, t, y, k, vals, target, r, g, written, a, code: loss_dist(row, M, t, row_of(target, r), g, a)


@overload(still_off)
def _still_off(target, r, qtol):
    if target.ndim == 1:
        return lambda target, r, qtol: False
    return lambda target, r, qtol: _status.sum_is_off(accurate_sum(row_of(target, r)), qtol)


@driver
def loss_rows(lo, hi, z, target, qtol, loss, grad, status, write_grad, param, code):
    """The map's loss of every row against ``target`` (labels ``target[r]`` in [0, n), or
    distributions checked: entries finite and >= 0, sum within ``qtol`` of 1), fused with
    the forward pass; the gradient goes to ``grad[r]`` when ``write_grad``."""
    n = z.shape[1]
    scratch = np.empty((2, n), np.float64)
    buf, tmp = row_of(scratch, 0), row_of(scratch, 1)  # views: calls count no references
    # the gradient's row when it is not written: a scratch row of its dtype, so that
    # the loss is the same either way (and ``target_loss`` is inlined once); a view
    # too, as the rows of ``grad`` are: an array with a reference count on one side of
    # the choice of g cost 10 ns a row of 16 on one thread, 84 against 74 (a /tmp
    # probe of this driver, sparsemax labels, float32 and float64; 44 against 42 on
    # both threads)
    gscratch = np.empty((1, n), grad.dtype)
    gs = row_of(gscratch, 0)
    for r in range(lo, hi):
        a = row_param(param, r, code)
        g = row_of(grad, r) if write_grad else gs
        M, t, k, st, written = forward_row(row_of(z, r), buf, tmp, g, label_writes(target, code), a, code)
        if st == OK:
            L, qsum, st = target_loss(row_of(z, r), M, t, buf, k, tmp, target, r, g, written, a, code)
            # a distribution's sum (labels have none to check: the test of ndim, a
            # constant, drops the check from their code; /tmp probe of the serial
            # driver, dense rows of 16: 48-51 -> 35-38 ns a row; the parallel one
            # was 24-27 ns a row before and after)
            if target.ndim == 2 and st == OK and _status.sum_is_off(qsum, qtol) and still_off(target, r, qtol):
                st = TARGET_SUM
            loss[r] = L
        status[r] = st
    keep_alive(scratch)
    keep_alive(gscratch)


@driver
def softmax_rows(lo, hi, z, out, status):
    """``out[r] = softmax(z[r])``, computed as exp(z - max) / sum."""
    for r in range(lo, hi):
        M, st = row_max(row_of(z, r))
        status[r] = st
        if st == OK:
            divide_row(row_of(out, r), exp_shifted_row(row_of(z, r), M, 1.0, row_of(out, r)))


def softmax_target_loss(row, M, target, r, g):
    """``(loss, running sum of the target row, status)`` of the softmax loss of row ``r``;
    ``g`` receives softmax - q. Labels or distributions, as ``target_loss``."""
    s = exp_shifted_row(row, M, 1.0, g)
    divide_row(g, s)
    if target.ndim == 1:
        return _softmax_label_terms(row, M, np.log(s), target[r], g)
    return softmax_loss_dist_terms(row, M, np.log(s), row_of(target, r), g)


def _softmax_label_terms(row, M, logs, lab, g):
    if lab < 0 or lab >= row.shape[0]:
        return 0.0, 1.0, BAD_LABEL
    g[lab] = g[lab] - 1.0
    return logs - (np.float64(row[lab]) - M), 1.0, OK


@overload(softmax_target_loss, inline="always")
def _softmax_target_loss(row, M, target, r, g):
    if target.ndim == 1:  # _softmax_label_terms written out (a nested inline trips Numba's IR check)
        def labels(row, M, target, r, g):
            s = exp_shifted_row(row, M, 1.0, g)
            divide_row(g, s)
            lab = target[r]
            if lab < 0 or lab >= row.shape[0]:
                return 0.0, 1.0, BAD_LABEL
            g[lab] = g[lab] - 1.0
            return np.log(s) - (np.float64(row[lab]) - M), 1.0, OK
        return labels

    def dist(row, M, target, r, g):
        s = exp_shifted_row(row, M, 1.0, g)
        divide_row(g, s)
        return softmax_loss_dist_terms(row, M, np.log(s), row_of(target, r), g)
    return dist


@driver
def softmax_loss_rows(lo, hi, z, target, qtol, loss, grad, status, write_grad):
    """The softmax loss of every row: -log softmax(z[r])[label] for labels, KL(q[r] ||
    softmax(z[r])) for distributions (q checked as in ``loss_rows``); the gradient
    softmax - q goes to ``grad[r]`` when ``write_grad``."""
    n = z.shape[1]
    tmp = np.empty(n, np.float64)
    for r in range(lo, hi):
        M, st = row_max(row_of(z, r))
        if st == OK:
            if write_grad:
                L, qsum, st = softmax_target_loss(row_of(z, r), M, target, r, row_of(grad, r))
            else:
                L, qsum, st = softmax_target_loss(row_of(z, r), M, target, r, tmp)
            if target.ndim == 2 and st == OK and _status.sum_is_off(qsum, qtol) and still_off(target, r, qtol):
                st = TARGET_SUM
            loss[r] = L
        status[r] = st


@driver
def softmax_sigmoid_rows(lo, hi, z, g, out, status, gamma, beta, alpha, relu, vjp):
    """The activation a = sigmoid(beta (softmax(gamma z) - alpha)), then relu(a) if
    ``relu`` (the identity on (0, 1), applied as written). With ``vjp`` false, ``out[r]``
    is the activation; with ``vjp`` true, ``out[r] = J^T g[r]`` with the full Jacobian
    J = diag(beta a (1 - a)) gamma (diag(a1) - a1 a1^T) (see ``softmax_sigmoid``)."""
    n = z.shape[1]
    a1 = np.empty(n, np.float64)
    u = np.empty(n, np.float64)
    for r in range(lo, hi):
        row = row_of(z, r)
        M, st = row_max(row)
        if st == OK and vjp:
            st = nonfinite_status(row_of(g, r))
        status[r] = st
        if st != OK:
            continue
        divide_row(a1, exp_shifted_row(row, M, gamma, a1))
        o = row_of(out, r)
        if not vjp:
            for i in range(n):
                a, _ = sigmoid_and_slope(beta * (a1[i] - alpha))
                o[i] = max(a, 0.0) if relu else a
            continue
        gr = row_of(g, r)
        for i in range(n):
            _, slope = sigmoid_and_slope(beta * (a1[i] - alpha))
            u[i] = beta * slope * np.float64(gr[i])
        dot = 0.0
        for i in range(n):
            dot += a1[i] * u[i]
        for i in range(n):
            o[i] = gamma * a1[i] * (u[i] - dot)


@driver
def softmax_sigmoid_jacobian_rows(lo, hi, z, out, status, gamma, beta, alpha):
    """``out[r]``: the dense (n, n) Jacobian of ``softmax_sigmoid`` at ``z[r]``,
    J[i, j] = beta a_i (1 - a_i) gamma (delta_ij a1_i - a1_i a1_j)."""
    n = z.shape[1]
    a1 = np.empty(n, np.float64)
    for r in range(lo, hi):
        row = row_of(z, r)
        M, st = row_max(row)
        status[r] = st
        if st != OK:
            continue
        divide_row(a1, exp_shifted_row(row, M, gamma, a1))
        J = row_of(out, r)
        for i in range(n):
            _, slope = sigmoid_and_slope(beta * (a1[i] - alpha))
            d = beta * slope * gamma * a1[i]
            for j in range(n):
                J[i, j] = -d * a1[j]
            J[i, i] += d

