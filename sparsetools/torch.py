"""sparsemax, alpha-entmax and the projections for PyTorch: autograd functions, modules and
losses over sparsetools' kernels.

The names and signatures follow the ``entmax`` package where it has the same thing
(``sparsemax(X, dim=-1, k=None, return_support_size=False)``, ``Sparsemax``,
``sparsemax_loss``, ``SparsemaxLoss``), so switching is a change of import; ``dim=`` is the
axis the rows run along, any dimension of any shape.

- The forward pass is the toolkit's exact sparsemax; the backward pass its VJP kernel
  (``s * (g - (s . g) / k)`` on the support s of the output), never autodiff through a
  sort. The loss computes its value and gradient in one pass and keeps the gradient for
  the backward pass.
- CPU tensors go through zero-copy NumPy views (any strides); CUDA tensors through
  ``sparsetools.cuda`` on PyTorch's current stream (numba-cuda needed). float16 and
  bfloat16 are computed in float32 and returned in their own dtype.
- The operations are registered with ``torch.library`` (``torch.ops.sparsetools.*``), with
  fake implementations, so ``torch.compile(fullgraph=True)`` traces through them; in eager
  mode the same computations run as ``torch.autograd.Function``s, whose dispatch is cheaper.
- Bad input raises the toolkit's errors, eagerly, naming the first bad row; a ``-inf``
  score is a mask: exactly 0 in the output, no NaN in the gradient or the loss.

``k`` is accepted for compatibility with ``entmax`` (where it bounds a partial sort) and
changes nothing: the kernels find the support exactly without it.
"""

import numpy as np
import torch
from torch import nn

import sparsetools as _st

__all__ = ["Entmax15", "Entmax15Loss", "EntmaxBisect", "EntmaxBisectLoss", "Sparsemax", "SparsemaxLoss", "entmax",
           "entmax15", "entmax15_loss", "entmax_bisect", "entmax_bisect_loss", "entmax_loss", "project_capped_simplex",
           "project_l1_ball", "project_simplex", "project_sparse_simplex", "sparsemax", "sparsemax_loss"]

_LOW = (torch.float16, torch.bfloat16)
_REDUCTIONS = ("none", "mean", "sum", "elementwise_mean")


# ---------------------------------------------------------------------------------------
# tensors <-> the kernels' arrays


def _host(t):
    """A CPU tensor as a NumPy array (a view for float32 and float64; float16 and
    bfloat16 as a float32 copy)."""
    t = t.detach()
    if t.dtype in _LOW:
        t = t.float()
    return t.numpy()


def _tensor(a, like):
    """A fresh NumPy result as a tensor of ``like``'s dtype (no copy when it matches)."""
    out = torch.from_numpy(np.ascontiguousarray(a))
    return out if out.dtype == like.dtype else out.to(like.dtype)


def _device(t):
    """A CUDA tensor as the C-contiguous float32/float64 device array the GPU kernels read."""
    t = t.detach()
    if t.dtype in _LOW:
        t = t.float()
    return t.contiguous()


def _stream(t):
    from numba import cuda

    return cuda.external_stream(torch.cuda.current_stream(t.device).cuda_stream)


def _from_device(a, like):
    return torch.as_tensor(a, device=like.device).to(like.dtype)


def _gpu():
    import sparsetools.cuda as sc

    return sc


def _check_scores(X, name="X"):
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, not {type(X).__name__}")
    if not X.is_floating_point():
        raise TypeError(f"{name} has dtype {X.dtype}; sparsemax needs a floating tensor "
                        f"(float64, float32, float16 or bfloat16)")


# ---------------------------------------------------------------------------------------
# the computations, on tensors of either device


def _sparsemax_impl(x, dim):
    if x.is_cuda:
        return _from_device(_gpu().sparsemax(_device(x), axis=dim, stream=_stream(x)), x)
    return _tensor(_st.sparsemax(_host(x), axis=dim), x)


def _vjp_impl(p, g, dim):
    if p.is_cuda:
        return _from_device(_gpu().sparsemax_vjp(_device(p), _device(g), axis=dim, stream=_stream(p)), p)
    return _tensor(_st.sparsemax_vjp(_host(p), _host(g), axis=dim), p)


def _loss_impl(x, target, dim, ignore_index):
    """(loss per row, gradient p - q); rows whose label is ``ignore_index`` get 0 and 0."""
    labels = not target.is_floating_point()
    ignored = None
    if labels:
        ignored = target == ignore_index
        target = target.masked_fill(ignored, 0)
    if x.is_cuda:
        tgt = target.contiguous().to(torch.int64) if labels else _device(target)
        L, g = _gpu().sparsemax_loss_and_grad(_device(x), tgt, axis=dim, stream=_stream(x))
        loss, grad = torch.as_tensor(L, device=x.device).to(x.dtype), _from_device(g, x)
    else:
        tgt = target.numpy() if labels else _host(target)
        L, g = _st.sparsemax_loss_and_grad(_host(x), tgt, axis=dim)
        loss, grad = _tensor(np.asarray(L), x), _tensor(g, x)
    if labels:
        loss = loss.masked_fill(ignored, 0)
        grad = grad.masked_fill(ignored.unsqueeze(dim % x.dim()), 0)
    return loss, grad


# ---------------------------------------------------------------------------------------
# eager autograd: torch.autograd.Function (a custom op's dispatch costs about 40 us a call)


class _Sparsemax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim):
        p = _sparsemax_impl(x, dim)
        ctx.dim = dim
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_tensors
        return _Vjp.apply(p, grad, ctx.dim), None


class _Vjp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, p, g, dim):
        ctx.dim = dim
        ctx.save_for_backward(p)
        return _vjp_impl(p, g, dim)

    @staticmethod
    def backward(ctx, grad):
        # linear in g with the symmetric J, and J is constant in p on each support
        (p,) = ctx.saved_tensors
        return None, _Vjp.apply(p, grad, ctx.dim), None


class _Loss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, target, dim, ignore_index):
        loss, grad = _loss_impl(x, target, dim, ignore_index)
        ctx.dim = dim % x.dim()
        ctx.save_for_backward(grad)
        ctx.mark_non_differentiable(grad)
        return loss, grad

    @staticmethod
    def backward(ctx, grad_loss, grad_grad):
        (g,) = ctx.saved_tensors
        return grad_loss.unsqueeze(ctx.dim) * g, None, None, None


# ---------------------------------------------------------------------------------------
# the same, registered with torch.library for torch.compile (torch.ops.sparsetools.*)


@torch.library.custom_op("sparsetools::sparsemax", mutates_args=())
def _sparsemax_op(x: torch.Tensor, dim: int) -> torch.Tensor:
    return _sparsemax_impl(x, dim)


@_sparsemax_op.register_fake
def _(x, dim):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


@torch.library.custom_op("sparsetools::sparsemax_vjp", mutates_args=())
def _vjp_op(p: torch.Tensor, g: torch.Tensor, dim: int) -> torch.Tensor:
    return _vjp_impl(p, g, dim)


@_vjp_op.register_fake
def _(p, g, dim):
    return torch.empty_like(p, memory_format=torch.contiguous_format)


def _sparsemax_setup(ctx, inputs, output):
    ctx.dim = inputs[1]
    ctx.save_for_backward(output)


def _sparsemax_backward(ctx, grad):
    (p,) = ctx.saved_tensors
    return _vjp_op(p, grad, ctx.dim), None


_sparsemax_op.register_autograd(_sparsemax_backward, setup_context=_sparsemax_setup)


def _vjp_setup(ctx, inputs, output):
    ctx.dim = inputs[2]
    ctx.save_for_backward(inputs[0])


def _vjp_backward(ctx, grad):
    (p,) = ctx.saved_tensors
    return None, _vjp_op(p, grad, ctx.dim), None


_vjp_op.register_autograd(_vjp_backward, setup_context=_vjp_setup)


@torch.library.custom_op("sparsetools::sparsemax_loss", mutates_args=())
def _loss_op(x: torch.Tensor, target: torch.Tensor, dim: int, ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    return _loss_impl(x, target, dim, ignore_index)


@_loss_op.register_fake
def _(x, target, dim, ignore_index):
    batch = list(x.shape)
    del batch[dim % x.dim()]
    return x.new_empty(batch), torch.empty_like(x, memory_format=torch.contiguous_format)


def _loss_setup(ctx, inputs, output):
    ctx.dim = inputs[2] % inputs[0].dim()
    ctx.save_for_backward(output[1])


def _loss_backward(ctx, grad_loss, grad_grad):
    (g,) = ctx.saved_tensors
    return grad_loss.unsqueeze(ctx.dim) * g, None, None, None


_loss_op.register_autograd(_loss_backward, setup_context=_loss_setup)


def _compiling():
    return torch.compiler.is_compiling()


# ---------------------------------------------------------------------------------------
# alpha-entmax: the same shape of code, with alpha (a float64 tensor: 0-d, or one per row of
# X's shape without dim) an input of every op; its gradient is the toolkit's d p / d alpha


def _alpha_np(alpha):
    a = alpha.detach().cpu().to(torch.float64).numpy()
    return float(a) if a.ndim == 0 else a


def _entmax_impl(x, alpha, dim):
    a = _alpha_np(alpha)
    if x.is_cuda:
        return _from_device(_gpu().entmax(_device(x), a, axis=dim, stream=_stream(x)), x)
    return _tensor(_st.entmax(_host(x), a, axis=dim), x)


def _entmax_vjp_impl(p, g, alpha, dim):
    a = _alpha_np(alpha)
    if p.is_cuda:
        return _from_device(_gpu().entmax_vjp(_device(p), _device(g), a, axis=dim, stream=_stream(p)), p)
    return _tensor(_st.entmax_vjp(_host(p), _host(g), a, axis=dim), p)


def _entmax_dalpha_impl(p, alpha, dim):
    """d p / d alpha (the GPU has no kernel for it: a CUDA p is read on the host)."""
    return _tensor(_st.entmax_dalpha(_host(p.cpu()), _alpha_np(alpha), axis=dim), p).to(p.device)


def _alpha_grad(grad, d, alpha, dim):
    """The gradient of alpha from the output's incoming gradient and d p / d alpha."""
    ga = (grad * d).sum(dim % grad.dim())
    return (ga.sum_to_size(alpha.shape) if alpha.dim() else ga.sum()).to(alpha.dtype)


def _entmax_loss_impl(x, target, alpha, dim, ignore_index):
    labels = not target.is_floating_point()
    ignored = None
    a = _alpha_np(alpha)
    if labels:
        ignored = target == ignore_index
        target = target.masked_fill(ignored, 0)
    if x.is_cuda:
        tgt = target.contiguous().to(torch.int64) if labels else _device(target)
        L, g = _gpu().entmax_loss_and_grad(_device(x), tgt, a, axis=dim, stream=_stream(x))
        loss, grad = torch.as_tensor(L, device=x.device).to(x.dtype), _from_device(g, x)
    else:
        tgt = target.numpy() if labels else _host(target)
        L, g = _st.entmax_loss_and_grad(_host(x), tgt, a, axis=dim)
        loss, grad = _tensor(np.asarray(L), x), _tensor(g, x)
    if labels:
        loss = loss.masked_fill(ignored, 0)
        grad = grad.masked_fill(ignored.unsqueeze(dim % x.dim()), 0)
    return loss, grad


def _tsallis_dalpha(p, alpha, dim):
    """d H_alpha(p) / d alpha at fixed p, per row (H the Tsallis entropy; at alpha = 1 the
    limit sum p log p - sum p log^2 p / 2)."""
    d = dim % p.dim()
    a = alpha.to(torch.float64)
    a = a.unsqueeze(d) if a.dim() else a
    p = p.to(torch.float64)
    logp = torch.where(p > 0, torch.log(torch.where(p > 0, p, 1.0)), 0.0)
    one = a == 1.0
    safe = torch.where(one, 2.0, a)
    pa = torch.where(p > 0, p ** safe, 0.0)
    S = pa.sum(d, keepdim=True)
    SL = (pa * logp).sum(d, keepdim=True)
    den = safe * (safe - 1.0)
    general = (-SL * den - (1.0 - S) * (2.0 * safe - 1.0)) / den ** 2
    limit = (p * logp).sum(d, keepdim=True) - 0.5 * (p * logp ** 2).sum(d, keepdim=True)
    return torch.where(one, limit, general).squeeze(d)


def _loss_alpha_grad(grad_loss, g, target, alpha, dim):
    """The gradient of alpha of the entmax loss: by the envelope theorem (p maximises
    z . p + H(p)), dL / d alpha = dH(p) / d alpha - dH(q) / d alpha at fixed p and q."""
    d = dim % g.dim()
    if target.is_floating_point():
        q = target.to(g.dtype)
    else:
        q = torch.zeros_like(g).scatter(d, target.clamp(0, g.shape[d] - 1).unsqueeze(d).to(torch.int64), 1.0)
    p = (g + q).clamp_min(0)
    dl = _tsallis_dalpha(p, alpha, dim) - _tsallis_dalpha(q, alpha, dim)
    ga = grad_loss.to(torch.float64) * dl
    return (ga.sum_to_size(alpha.shape) if alpha.dim() else ga.sum()).to(alpha.dtype)


class _Entmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha, dim):
        p = _entmax_impl(x, alpha, dim)
        ctx.dim = dim
        ctx.save_for_backward(p, alpha)
        return p

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        p, alpha = ctx.saved_tensors
        gx = _entmax_vjp_impl(p, grad, alpha, ctx.dim) if ctx.needs_input_grad[0] else None
        ga = None
        if ctx.needs_input_grad[1]:
            ga = _alpha_grad(grad, _entmax_dalpha_impl(p, alpha, ctx.dim), alpha, ctx.dim)
        return gx, ga, None


class _EntmaxLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, target, alpha, dim, ignore_index):
        loss, grad = _entmax_loss_impl(x, target, alpha, dim, ignore_index)
        ctx.dim = dim % x.dim()
        ctx.save_for_backward(grad, target, alpha)
        ctx.mark_non_differentiable(grad)
        return loss, grad

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss, grad_grad):
        g, target, alpha = ctx.saved_tensors
        ga = _loss_alpha_grad(grad_loss, g, target, alpha, ctx.dim) if ctx.needs_input_grad[2] else None
        return grad_loss.unsqueeze(ctx.dim) * g, None, ga, None, None


@torch.library.custom_op("sparsetools::entmax", mutates_args=())
def _entmax_op(x: torch.Tensor, alpha: torch.Tensor, dim: int) -> torch.Tensor:
    return _entmax_impl(x, alpha, dim)


@_entmax_op.register_fake
def _(x, alpha, dim):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


@torch.library.custom_op("sparsetools::entmax_vjp", mutates_args=())
def _entmax_vjp_op(p: torch.Tensor, g: torch.Tensor, alpha: torch.Tensor, dim: int) -> torch.Tensor:
    return _entmax_vjp_impl(p, g, alpha, dim)


@_entmax_vjp_op.register_fake
def _(p, g, alpha, dim):
    return torch.empty_like(p, memory_format=torch.contiguous_format)


@torch.library.custom_op("sparsetools::entmax_dalpha", mutates_args=())
def _entmax_dalpha_op(p: torch.Tensor, alpha: torch.Tensor, dim: int) -> torch.Tensor:
    return _entmax_dalpha_impl(p, alpha, dim)


@_entmax_dalpha_op.register_fake
def _(p, alpha, dim):
    return torch.empty_like(p, memory_format=torch.contiguous_format)


def _entmax_setup(ctx, inputs, output):
    ctx.dim = inputs[2]
    ctx.save_for_backward(output, inputs[1])


def _entmax_backward(ctx, grad):
    p, alpha = ctx.saved_tensors
    gx = _entmax_vjp_op(p, grad, alpha, ctx.dim) if ctx.needs_input_grad[0] else None
    ga = _alpha_grad(grad, _entmax_dalpha_op(p, alpha, ctx.dim), alpha, ctx.dim) if ctx.needs_input_grad[1] \
        else None
    return gx, ga, None


_entmax_op.register_autograd(_entmax_backward, setup_context=_entmax_setup)


@torch.library.custom_op("sparsetools::entmax_loss", mutates_args=())
def _entmax_loss_op(x: torch.Tensor, target: torch.Tensor, alpha: torch.Tensor, dim: int,
                    ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    return _entmax_loss_impl(x, target, alpha, dim, ignore_index)


@_entmax_loss_op.register_fake
def _(x, target, alpha, dim, ignore_index):
    batch = list(x.shape)
    del batch[dim % x.dim()]
    return x.new_empty(batch), torch.empty_like(x, memory_format=torch.contiguous_format)


def _entmax_loss_setup(ctx, inputs, output):
    ctx.dim = inputs[3] % inputs[0].dim()
    ctx.save_for_backward(output[1], inputs[1], inputs[2])


def _entmax_loss_backward(ctx, grad_loss, grad_grad):
    g, target, alpha = ctx.saved_tensors
    ga = _loss_alpha_grad(grad_loss, g, target, alpha, ctx.dim) if ctx.needs_input_grad[2] else None
    return grad_loss.unsqueeze(ctx.dim) * g, None, ga, None, None


_entmax_loss_op.register_autograd(_entmax_loss_backward, setup_context=_entmax_loss_setup)


def _alpha_arg(alpha, X, dim):
    """alpha as the ops take it: a float64 tensor, 0-d or of X's shape without ``dim``
    (entmax's shape, X's with ``dim`` of size 1, is squeezed; autograd follows)."""
    if not isinstance(alpha, torch.Tensor):
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise TypeError(f"alpha must be a float or a tensor, not {type(alpha).__name__}")
        return torch.tensor(float(alpha), dtype=torch.float64)
    a = alpha
    if a.dim() == X.dim() and a.dim() > 0 and a.shape[dim] == 1:
        a = a.squeeze(dim)
    if not a.is_floating_point():
        a = a.to(torch.float64)
    return a


# ---------------------------------------------------------------------------------------
# the projections (sparsetools.project_*): the parameters are float64 tensors, 0-d or one
# per row of X's shape without dim, and get no gradient; the backward pass is the
# projection's VJP kernel (on the GPU: sparsemax's for the simplex and the sparse simplex,
# whose J is the same on the support; the others' products go through the host)

_PROJECTIONS = {"simplex": ("radius",), "l1_ball": ("radius",), "capped_simplex": ("budget", "upper"),
                "sparse_simplex": ("k", "radius")}
_GPU_PROJECTIONS = ("simplex", "capped_simplex")
_GPU_SUPPORT_VJP = ("simplex", "sparse_simplex")


def _params_np(name, params):
    out = []
    for pname, t in zip(_PROJECTIONS[name], params):
        a = t.detach().cpu().numpy()
        if pname == "k" and a.dtype.kind in "iu":  # (a floating k is the toolkit's TypeError)
            a = a.astype(np.int64)
        out.append(a.item() if a.ndim == 0 else a)
    return out


def _project_impl(x, name, params, dim):
    ps = _params_np(name, params)
    if x.is_cuda and name in _GPU_PROJECTIONS:
        fn = getattr(_gpu(), f"project_{name}")
        return _from_device(fn(_device(x), *ps, axis=dim, stream=_stream(x)), x)
    fn = getattr(_st, f"project_{name}")
    if x.is_cuda:  # no GPU kernel: through the host
        return _tensor(fn(_host(x.cpu()), *ps, axis=dim), x).to(x.device)
    return _tensor(fn(_host(x), *ps, axis=dim), x)


def _project_vjp_impl(p, g, name, params, dim):
    if p.is_cuda and name in _GPU_SUPPORT_VJP:
        return _from_device(_gpu().sparsemax_vjp(_device(p), _device(g), axis=dim, stream=_stream(p)), p)
    ps = _params_np(name, params)
    fn = getattr(_st, f"project_{name}_vjp")
    if p.is_cuda:
        return _tensor(fn(_host(p.cpu()), _host(g.cpu()), *ps, axis=dim), p).to(p.device)
    return _tensor(fn(_host(p), _host(g), *ps, axis=dim), p)


class _Project(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, name, params, dim):
        p = _project_impl(x, name, params, dim)
        ctx.name, ctx.params, ctx.dim = name, params, dim
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_tensors
        return _ProjectVjp.apply(p, grad, ctx.name, ctx.params, ctx.dim), None, None, None


class _ProjectVjp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, p, g, name, params, dim):
        ctx.name, ctx.params, ctx.dim = name, params, dim
        ctx.save_for_backward(p)
        return _project_vjp_impl(p, g, name, params, dim)

    @staticmethod
    def backward(ctx, grad):
        # linear in g with the symmetric J, which is constant in p on each free set
        (p,) = ctx.saved_tensors
        return None, _ProjectVjp.apply(p, grad, ctx.name, ctx.params, ctx.dim), None, None, None


@torch.library.custom_op("sparsetools::project", mutates_args=())
def _project_op(x: torch.Tensor, name: str, params: list[torch.Tensor], dim: int) -> torch.Tensor:
    return _project_impl(x, name, params, dim)


@_project_op.register_fake
def _(x, name, params, dim):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


@torch.library.custom_op("sparsetools::project_vjp", mutates_args=())
def _project_vjp_op(p: torch.Tensor, g: torch.Tensor, name: str, params: list[torch.Tensor],
                    dim: int) -> torch.Tensor:
    return _project_vjp_impl(p, g, name, params, dim)


@_project_vjp_op.register_fake
def _(p, g, name, params, dim):
    return torch.empty_like(p, memory_format=torch.contiguous_format)


def _project_setup(ctx, inputs, output):
    ctx.name, ctx.params, ctx.dim = inputs[1], inputs[2], inputs[3]
    ctx.save_for_backward(output)


def _project_backward(ctx, grad):
    (p,) = ctx.saved_tensors  # (the parameters' list gets a list of no gradients)
    return _project_vjp_op(p, grad, ctx.name, ctx.params, ctx.dim), None, [None] * len(ctx.params), None


_project_op.register_autograd(_project_backward, setup_context=_project_setup)


def _project_vjp_setup(ctx, inputs, output):
    ctx.name, ctx.params, ctx.dim = inputs[2], inputs[3], inputs[4]
    ctx.save_for_backward(inputs[0])


def _project_vjp_backward(ctx, grad):
    (p,) = ctx.saved_tensors
    return None, _project_vjp_op(p, grad, ctx.name, ctx.params, ctx.dim), None, [None] * len(ctx.params), None


_project_vjp_op.register_autograd(_project_vjp_backward, setup_context=_project_vjp_setup)


def _param_arg(value, X, dim, name):
    """A projection's parameter as the ops take it: a float64 tensor, 0-d or of X's shape
    without ``dim`` (X's shape with ``dim`` of size 1 is squeezed); it gets no gradient."""
    if not isinstance(value, torch.Tensor):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number or a tensor, not {type(value).__name__}")
        return torch.tensor(value, dtype=torch.int64 if name == "k" else torch.float64)
    a = value.detach()
    if a.dim() == X.dim() and a.dim() > 0 and a.shape[dim] == 1:
        a = a.squeeze(dim)
    return a


def _project(X, name, values, dim):
    _check_scores(X)
    params = [_param_arg(v, X, dim, n) for v, n in zip(values, _PROJECTIONS[name])]
    return _project_op(X, name, params, dim) if _compiling() else _Project.apply(X, name, params, dim)


# ---------------------------------------------------------------------------------------
# the public functions and modules


def sparsemax(X, dim=-1, k=None, return_support_size=False):
    """sparsemax along ``dim``: the Euclidean projection of each row onto the probability
    simplex, ``max(X - tau, 0)`` with the rows summing to 1 (Martins & Astudillo 2016).

    Differentiable (the backward pass is the toolkit's VJP). ``k`` is accepted for
    compatibility with ``entmax`` and changes nothing. With ``return_support_size``, also
    returns the support size of each row, a long tensor of ``X``'s shape with ``dim`` of
    size 1.

    >>> import torch, sparsetools.torch as st
    >>> st.sparsemax(torch.tensor([1.0, 0.8, -1.0]))
    tensor([0.6000, 0.4000, 0.0000])
    """
    _check_scores(X)
    P = _sparsemax_op(X, dim) if _compiling() else _Sparsemax.apply(X, dim)
    if return_support_size:
        return P, (P > 0).sum(dim=dim, keepdim=True)
    return P


def _reduce(loss, reduction, kept):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / kept  # the mean over the rows that are not ignored


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(map(repr, _REDUCTIONS))}, not {reduction!r}")


def sparsemax_loss(X, target, k=None, return_support_size=False, *, dim=-1, ignore_index=-100,
                   reduction="none"):
    """The sparsemax loss of each row of ``X`` (rows along ``dim``) against ``target``.

    ``target`` is integer class labels (``X``'s shape without ``dim``), or a target
    distribution of ``X``'s shape (floating, rows >= 0 summing to 1). A row whose label is
    ``ignore_index`` (any value, negative ones too) contributes 0 and gets a zero gradient.
    ``reduction``: ``"none"`` (default, one loss per row, as ``entmax.sparsemax_loss``),
    ``"sum"``, or ``"mean"`` over the rows that are not ignored. The gradient with respect
    to ``X`` is sparsemax(X) - q, from the same pass as the loss; the target gets none.
    With ``return_support_size``, also the support size of each row (``X``'s shape
    without ``dim``). ``k`` is accepted for compatibility and changes nothing.

    >>> import torch, sparsetools.torch as st
    >>> st.sparsemax_loss(torch.tensor([[0.5, 0.0]]), torch.tensor([0]))
    tensor([0.0625])
    """
    _check_scores(X)
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target, device=X.device)
    _check_reduction(reduction)
    if target.is_floating_point() and target.dtype != X.dtype:
        target = target.to(X.dtype)
    op = _loss_op if _compiling() else _Loss.apply
    loss, grad = op(X, target, dim, int(ignore_index))
    if target.is_floating_point():
        kept = loss.numel()
    else:
        kept = (target != ignore_index).sum()
    out = _reduce(loss, reduction, kept)
    if return_support_size:
        return out, _support_of(grad.detach(), target, dim)
    return out


def _support_of(grad, target, dim):
    """Support sizes from the loss's gradient p - q (p = grad + q)."""
    d = dim % grad.dim()
    if target.is_floating_point():
        p = grad + target
    else:
        p = grad.scatter_add(d, target.clamp(0, grad.shape[d] - 1).unsqueeze(d).to(torch.int64),
                             torch.ones_like(grad))
    return (p > 0).sum(dim=d)


class Sparsemax(nn.Module):
    """sparsemax along ``dim`` as a module (see :func:`sparsemax`)."""

    def __init__(self, dim=-1, k=None, return_support_size=False):
        super().__init__()
        self.dim, self.k, self.return_support_size = dim, k, return_support_size

    def forward(self, X):
        return sparsemax(X, dim=self.dim, k=self.k, return_support_size=self.return_support_size)

    def extra_repr(self):
        return f"dim={self.dim}"


class SparsemaxLoss(nn.Module):
    """The sparsemax loss as a module: ``loss(X, target)``, rows along ``dim``.

    ``reduction``: ``"mean"`` (over the rows not ignored; entmax's name for it,
    ``"elementwise_mean"``, is the default and means the same), ``"sum"`` or ``"none"``.
    Rows whose label is ``ignore_index`` contribute 0, whatever its sign (see
    :func:`sparsemax_loss`).
    """

    def __init__(self, k=None, ignore_index=-100, reduction="elementwise_mean", return_support_size=False,
                 dim=-1):
        super().__init__()
        _check_reduction(reduction)
        self.k, self.ignore_index, self.reduction = k, ignore_index, reduction
        self.return_support_size, self.dim = return_support_size, dim

    def forward(self, X, target):
        return sparsemax_loss(X, target, self.k, self.return_support_size, dim=self.dim,
                              ignore_index=self.ignore_index, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, ignore_index={self.ignore_index}"


# ---------------------------------------------------------------------------------------
# alpha-entmax: entmax's names and signatures (entmax15, entmax_bisect and their losses and
# modules), exact whatever n_iter says


def entmax(X, alpha=1.5, dim=-1):
    """alpha-entmax along ``dim`` (``sparsetools.entmax``): exact, differentiable in X and,
    when ``alpha`` is a tensor that requires grad, in alpha (d p / d alpha in closed form).

    ``alpha``: a float, or a tensor of one alpha per row (X's shape without ``dim``, or
    X's shape with ``dim`` of size 1, as the entmax package takes it); every alpha >= 1.

    >>> import torch, sparsetools.torch as st
    >>> st.entmax(torch.tensor([1.0, 0.5, -1.0]), alpha=1.5)
    tensor([0.6740, 0.3260, 0.0000])
    """
    _check_scores(X)
    a = _alpha_arg(alpha, X, dim)
    return _entmax_op(X, a, dim) if _compiling() else _Entmax.apply(X, a, dim)


def entmax15(X, dim=-1, k=None):
    """1.5-entmax along ``dim`` (``entmax.entmax15``'s signature; ``k`` changes nothing)."""
    return entmax(X, 1.5, dim)


def entmax_bisect(X, alpha=1.5, dim=-1, n_iter=50, ensure_sum_one=True):
    """alpha-entmax along ``dim`` with ``entmax.entmax_bisect``'s signature. Exact: the
    support is found, then tau solved on it to full precision, so ``n_iter`` and
    ``ensure_sum_one`` change nothing (the rows sum to 1 without renormalising). A tensor
    ``alpha`` that requires grad gets its gradient."""
    return entmax(X, alpha, dim)


def entmax_loss(X, target, alpha=1.5, *, dim=-1, ignore_index=-100, reduction="none"):
    """The entmax loss (``sparsetools.entmax_loss``) of each row against ``target``
    (labels, or distributions of X's shape), with ``sparsemax_loss``'s ``ignore_index`` and
    ``reduction``. Differentiable in X (entmax(X) - q) and in a tensor ``alpha`` that
    requires grad (dH(p)/d alpha - dH(q)/d alpha, by the envelope theorem).

    >>> import torch, sparsetools.torch as st
    >>> st.entmax_loss(torch.tensor([[1.0, 0.5, -1.0]]), torch.tensor([0]), 1.5)
    tensor([0.1844])
    """
    _check_scores(X)
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target, device=X.device)
    _check_reduction(reduction)
    if target.is_floating_point() and target.dtype != X.dtype:
        target = target.to(X.dtype)
    a = _alpha_arg(alpha, X, dim)
    op = _entmax_loss_op if _compiling() else _EntmaxLoss.apply
    loss, _ = op(X, target, a, dim, int(ignore_index))
    kept = loss.numel() if target.is_floating_point() else (target != ignore_index).sum()
    return _reduce(loss, reduction, kept)


def entmax15_loss(X, target, k=None):
    """The 1.5-entmax loss per row (``entmax.entmax15_loss``'s signature)."""
    return entmax_loss(X, target, 1.5)


def entmax_bisect_loss(X, target, alpha=1.5, n_iter=50):
    """The alpha-entmax loss per row (``entmax.entmax_bisect_loss``'s signature; exact,
    ``n_iter`` changes nothing)."""
    return entmax_loss(X, target, alpha)


class Entmax15(nn.Module):
    """1.5-entmax along ``dim`` as a module."""

    def __init__(self, dim=-1, k=None):
        super().__init__()
        self.dim, self.k = dim, k

    def forward(self, X):
        return entmax(X, 1.5, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class EntmaxBisect(nn.Module):
    """alpha-entmax along ``dim`` as a module (``entmax.EntmaxBisect``'s signature); a
    tensor ``alpha`` (for instance an ``nn.Parameter``) is learned through its gradient."""

    def __init__(self, alpha=1.5, dim=-1, n_iter=50):
        super().__init__()
        self.alpha, self.dim, self.n_iter = alpha, dim, n_iter

    def forward(self, X):
        return entmax(X, self.alpha, self.dim)

    def extra_repr(self):
        return f"alpha={self.alpha}, dim={self.dim}"


class EntmaxBisectLoss(nn.Module):
    """The alpha-entmax loss as a module (``entmax.EntmaxBisectLoss``'s signature), with
    :class:`SparsemaxLoss`'s reductions and ``ignore_index``."""

    def __init__(self, alpha=1.5, n_iter=50, ignore_index=-100, reduction="elementwise_mean"):
        super().__init__()
        _check_reduction(reduction)
        self.alpha, self.n_iter, self.ignore_index, self.reduction = alpha, n_iter, ignore_index, reduction

    def forward(self, X, target):
        return entmax_loss(X, target, self.alpha, ignore_index=self.ignore_index, reduction=self.reduction)

    def extra_repr(self):
        return f"alpha={self.alpha}, reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class Entmax15Loss(EntmaxBisectLoss):
    """The 1.5-entmax loss as a module (``entmax.Entmax15Loss``'s signature; ``k`` changes
    nothing)."""

    def __init__(self, k=100, ignore_index=-100, reduction="elementwise_mean"):
        super().__init__(1.5, ignore_index=ignore_index, reduction=reduction)
        self.k = k


def project_simplex(X, radius=1.0, dim=-1):
    """The projection of each row onto the simplex of radius r along ``dim``
    (``sparsetools.project_simplex``); differentiable in X (the radius, a number or one per
    row, gets no gradient).

    >>> import torch, sparsetools.torch as st
    >>> st.project_simplex(torch.tensor([3.0, 1.0, -0.5]), radius=2.0)
    tensor([2., 0., 0.])
    """
    return _project(X, "simplex", (radius,), dim)


def project_l1_ball(X, radius=1.0, dim=-1):
    """The projection of each row onto the l1 ball of radius r (``sparsetools.project_l1_ball``:
    a row inside is returned as it is); differentiable in X."""
    return _project(X, "l1_ball", (radius,), dim)


def project_capped_simplex(X, budget, upper=1.0, dim=-1):
    """The projection of each row onto {0 <= p <= upper, sum p = budget}
    (``sparsetools.project_capped_simplex``); differentiable in X."""
    return _project(X, "capped_simplex", (budget, upper), dim)


def project_sparse_simplex(X, k, radius=1.0, dim=-1):
    """The projection of each row onto the simplex of radius r with at most k non-zeros
    (``sparsetools.project_sparse_simplex``); differentiable in X."""
    return _project(X, "sparse_simplex", (k, radius), dim)
