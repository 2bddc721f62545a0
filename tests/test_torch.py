"""sparsetools.torch: the PyTorch front-end against the NumPy functions, entmax and
torch's own checks (gradcheck, opcheck, torch.compile)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is in the test extra")

import sparsetools  # noqa: E402
import sparsetools.torch as st  # noqa: E402


def t64(rng, shape, scale=1.0):
    return torch.tensor(scale * rng.standard_normal(shape), dtype=torch.float64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_sparsemax_is_the_numpy_sparsemax(rng, dtype, dim):
    x = t64(rng, (3, 5, 7)).to(dtype)
    p = st.sparsemax(x, dim=dim)
    assert p.dtype == dtype and p.shape == x.shape
    np.testing.assert_array_equal(p.numpy(), sparsetools.sparsemax(x.numpy(), axis=dim))
    assert isinstance(st.Sparsemax(dim=dim)(x), torch.Tensor)


def test_non_contiguous_and_requires_grad_inputs(rng):
    x = t64(rng, (6, 8)).t()  # a transposed view
    x.requires_grad_(True)
    p = st.sparsemax(x)
    np.testing.assert_array_equal(p.detach().numpy(), sparsetools.sparsemax(x.detach().numpy()))
    p[:, 0].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dim", [-1, 0])
def test_gradcheck_sparsemax_and_its_vjp(rng, dim):
    x = t64(rng, (4, 6), 2.0).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: st.sparsemax(x, dim=dim), (x,))
    g = t64(rng, (4, 6)).requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda x: st.sparsemax(x, dim=dim), (x,), (g,))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_gradcheck_the_loss(rng, reduction):
    x = t64(rng, (5, 6), 2.0).requires_grad_(True)
    labels = torch.tensor([0, 5, 2, -100, 3])
    assert torch.autograd.gradcheck(lambda x: st.sparsemax_loss(x, labels, reduction=reduction), (x,))
    q = torch.softmax(t64(rng, (5, 6)) * 3, -1)
    q = torch.where(q < 0.1, 0.0, q)
    q = q / q.sum(-1, keepdim=True)
    assert torch.autograd.gradcheck(lambda x: st.sparsemax_loss(x, q, reduction=reduction), (x,))


def test_the_loss_is_the_numpy_loss_along_any_dim(rng):
    x = t64(rng, (3, 4, 5))
    labels = torch.tensor(rng.integers(0, 4, (3, 5)))
    L = st.sparsemax_loss(x, labels, dim=1)
    np.testing.assert_array_equal(L.numpy(), sparsetools.sparsemax_loss(x.numpy(), labels.numpy(), axis=1))


@pytest.mark.parametrize("ignore_index", [-100, -1, 0, 3])
def test_ignore_index_of_either_sign(rng, ignore_index):
    x = t64(rng, (6, 5)).requires_grad_(True)
    labels = torch.tensor([1, ignore_index, 2, ignore_index, 4, 1])
    loss = st.SparsemaxLoss(ignore_index=ignore_index, reduction="mean")(x, labels)
    loss.backward()
    kept = labels != ignore_index
    per_row = sparsetools.sparsemax_loss(x.detach().numpy()[kept.numpy()], labels[kept].numpy())
    np.testing.assert_allclose(loss.item(), per_row.mean(), rtol=1e-14)
    assert (x.grad[~kept] == 0).all() and (x.grad[kept] != 0).any()
    none = st.sparsemax_loss(x, labels, ignore_index=ignore_index)
    assert (none[~kept] == 0).all()
    total = st.SparsemaxLoss(ignore_index=ignore_index, reduction="sum")(x, labels)
    np.testing.assert_allclose(total.item(), per_row.sum(), rtol=1e-14)


def test_masks_give_exact_zeros_and_no_nan(rng):
    x = t64(rng, (4, 6))
    x[:, ::2] = -torch.inf
    x.requires_grad_(True)
    p = st.sparsemax(x)
    assert (p.detach()[:, ::2] == 0).all()
    p.pow(2).sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad[:, ::2] == 0).all()
    x.grad = None
    loss = st.sparsemax_loss(x, torch.tensor([1, 3, 5, 1]), reduction="sum")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precisions_computed_in_float32(rng, dtype):
    x = t64(rng, (4, 9)).to(dtype).requires_grad_(True)
    p = st.sparsemax(x)
    assert p.dtype == dtype
    ref = sparsetools.sparsemax(x.detach().float().numpy())
    np.testing.assert_array_equal(p.detach().float().numpy(), torch.tensor(ref).to(dtype).float().numpy())
    p.float().pow(2).sum().backward()
    assert x.grad.dtype == dtype and torch.isfinite(x.grad.float()).all()
    L = st.sparsemax_loss(x, torch.tensor([0, 1, 2, 3]), reduction="mean")
    assert L.dtype == dtype and torch.isfinite(L.float())


def test_support_sizes(rng):
    x = t64(rng, (3, 7))
    p, k = st.sparsemax(x, return_support_size=True)
    assert k.shape == (3, 1) and k.dtype == torch.int64
    np.testing.assert_array_equal(k[:, 0].numpy(), sparsetools.sparsemax_threshold(x.numpy())[1])
    _, k2 = st.sparsemax_loss(x, torch.tensor([0, 1, 2]), return_support_size=True)
    np.testing.assert_array_equal(k2.numpy(), k[:, 0].numpy())


def test_bad_input_raises_the_contract_errors_eagerly(rng):
    x = t64(rng, (3, 4))
    bad = x.clone()
    bad[1, 2] = torch.nan
    with pytest.raises(ValueError, match="contains NaN in row 1"):
        st.sparsemax(bad)
    with pytest.raises(ValueError, match="label 7 in row 0"):
        st.sparsemax_loss(x, torch.tensor([7, 0, 0]))
    with pytest.raises(ValueError, match="target has shape"):
        st.sparsemax_loss(x, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="floating tensor"):
        st.sparsemax(torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        st.sparsemax(np.zeros(3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        st.SparsemaxLoss(reduction="avg")
    with pytest.raises(np.exceptions.AxisError):
        st.sparsemax(x, dim=2)


def test_the_ops_pass_torch_library_opcheck(rng):
    x = t64(rng, (3, 5)).requires_grad_(True)
    torch.library.opcheck(torch.ops.sparsetools.sparsemax.default, (x, -1))
    p = st.sparsemax(x).detach()
    torch.library.opcheck(torch.ops.sparsetools.sparsemax_vjp.default, (p, t64(rng, (3, 5)), 1))
    torch.library.opcheck(torch.ops.sparsetools.sparsemax_loss.default, (x, torch.tensor([0, 4, -100]), -1, -100))


def test_equal_to_entmax(rng):
    entmax = pytest.importorskip("entmax")
    x = t64(rng, (8, 12), 2.0).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    g = t64(rng, (8, 12))
    p, pe = st.sparsemax(x, dim=-1), entmax.sparsemax(x2, dim=-1)
    torch.testing.assert_close(p, pe, rtol=1e-12, atol=1e-14)
    (p * g).sum().backward()
    (pe * g).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=1e-14)
    labels = torch.tensor(rng.integers(0, 12, 8))
    x.grad = x2.grad = None
    L, Le = st.SparsemaxLoss()(x, labels), entmax.SparsemaxLoss()(x2, labels)
    torch.testing.assert_close(L, Le, rtol=1e-12, atol=1e-14)
    L.backward()
    Le.backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(st.sparsemax_loss(x, labels), entmax.sparsemax_loss(x2, labels),
                               rtol=1e-12, atol=1e-14)


def test_entmax_matches_numpy_and_the_entmax_package(rng):
    entmax = pytest.importorskip("entmax")
    x = t64(rng, (6, 9), 2.0).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    g = t64(rng, (6, 9))
    alpha = torch.full((6, 1), 1.4, dtype=torch.float64, requires_grad=True)  # entmax's shape
    alpha2 = alpha.detach().clone().requires_grad_(True)
    p, pe = st.entmax_bisect(x, alpha), entmax.entmax_bisect(x2, alpha2, n_iter=200)
    torch.testing.assert_close(p, pe, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(p.detach().numpy(), sparsetools.entmax(x.detach().numpy(), 1.4))
    (p * g).sum().backward()
    (pe * g).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(alpha.grad, alpha2.grad, rtol=1e-8, atol=1e-10)  # the learned-alpha gradient
    torch.testing.assert_close(st.entmax15(x), entmax.entmax15(x2), rtol=1e-12, atol=1e-14)
    labels = torch.tensor(rng.integers(0, 9, 6))
    torch.testing.assert_close(st.Entmax15Loss(reduction="none")(x, labels),
                               entmax.Entmax15Loss(reduction="none")(x2, labels), rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(st.entmax_bisect_loss(x, labels, 1.3), entmax.entmax_bisect_loss(x2, labels, 1.3,
                               n_iter=200), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("target", ["labels", "dist"])
def test_gradcheck_entmax_and_its_loss_in_x_and_alpha(rng, target):
    x = t64(rng, (4, 6)).requires_grad_(True)
    a = torch.tensor([1.0, 1.3, 2.0, 2.7], dtype=torch.float64)  # one alpha per row, softmax's too
    np.testing.assert_array_equal(st.entmax(x, a).detach().numpy(),
                                  sparsetools.entmax(x.detach().numpy(), a.numpy()))
    b = torch.tensor([1.2, 1.5, 2.0, 2.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a: st.entmax(x, a), (x, b))
    tgt = torch.tensor([0, 2, 5, 1]) if target == "labels" else torch.softmax(t64(rng, (4, 6)), -1)
    assert torch.autograd.gradcheck(lambda x, a: st.entmax_loss(x, tgt, a), (x, b))
    # alpha = 1 (softmax): the one-sided limits, checked against a forward difference
    al = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    st.entmax_loss(x.detach(), tgt, al).sum().backward()
    h = 1e-4  # second-order one-sided difference (near 1 the loss divides by alpha - 1)
    L = [st.entmax_loss(x.detach(), tgt, 1.0 + i * h).sum().item() for i in range(3)]
    fd = (-3 * L[0] + 4 * L[1] - L[2]) / (2 * h)
    assert abs(al.grad.item() - fd) < 1e-5 * max(1.0, abs(fd))
    with pytest.raises(ValueError, match=r"alpha is 0\.5; entmax needs alpha >= 1"):
        st.entmax(x, 0.5)
    with pytest.raises(TypeError, match="alpha must be a float or a tensor"):
        st.entmax(x, "1.5")
    assert isinstance(st.EntmaxBisect(torch.nn.Parameter(torch.tensor(1.5)))(x), torch.Tensor)


def test_the_entmax_ops_pass_torch_library_opcheck(rng):
    x = t64(rng, (3, 5)).requires_grad_(True)
    a = torch.tensor([1.2, 1.5, 3.0], dtype=torch.float64)
    torch.library.opcheck(torch.ops.sparsetools.entmax.default, (x, a, -1))
    p = st.entmax(x, a).detach()
    torch.library.opcheck(torch.ops.sparsetools.entmax_vjp.default, (p, t64(rng, (3, 5)), a, 1))
    torch.library.opcheck(torch.ops.sparsetools.entmax_dalpha.default, (p, a, -1))
    torch.library.opcheck(torch.ops.sparsetools.entmax_loss.default, (x, torch.tensor([0, 4, -100]), a, -1, -100))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inductor's own use of torch.jit
def test_torch_compile_fullgraph_entmax(rng):
    def f(x, alpha, labels):
        p = st.entmax(2.0 * x, alpha, dim=-1)
        return (p * p).sum() + st.entmax_loss(x, labels, alpha, reduction="mean")

    x = torch.tensor(rng.standard_normal((8, 10)), dtype=torch.float32, requires_grad=True)
    alpha = torch.tensor(1.4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor(rng.integers(0, 10, 8))
    y = torch.compile(f, fullgraph=True)(x, alpha, labels)
    y.backward()
    g, ga = x.grad.clone(), alpha.grad.clone()
    x.grad = alpha.grad = None
    f(x, alpha, labels).backward()
    torch.testing.assert_close(g, x.grad)
    torch.testing.assert_close(ga, alpha.grad)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inductor's own use of torch.jit
def test_torch_compile_fullgraph(rng):
    def f(x, labels):
        p = st.sparsemax(2.0 * x, dim=-1)
        return (p * p).sum() + st.sparsemax_loss(x, labels, reduction="mean")

    x = torch.tensor(rng.standard_normal((8, 10)), dtype=torch.float32, requires_grad=True)
    labels = torch.tensor(rng.integers(0, 10, 8))
    compiled = torch.compile(f, fullgraph=True)
    y = compiled(x, labels)
    y.backward()
    g = x.grad.clone()
    x.grad = None
    f(x, labels).backward()
    torch.testing.assert_close(g, x.grad)


def test_import_sparsetools_loads_no_framework():
    from helpers import ok, run_python

    out = ok(run_python("import sys, sparsetools; print(sorted({'torch', 'jax'} & set(sys.modules)))"))
    assert out.strip() == "[]"
    out = ok(run_python("import sparsetools; print(type(sparsetools.torch.sparsemax).__name__)"))
    assert out.strip() == "function"


@pytest.mark.slow
def test_the_training_script(tmp_path):
    from helpers import load_script

    records = load_script("train_torch").main(["--quick", "--out", str(tmp_path)])
    assert {(r["task"], r["map"]) for r in records} >= {("classifier", "sparsetools"), ("attention", "softmax")}
    for name in ("training_quick.md", "training_quick.json", "training_quick.png"):
        assert (tmp_path / name).stat().st_size > 0
    sparse = next(r for r in records if r["task"] == "attention" and r["map"] == "sparsetools")
    soft = next(r for r in records if r["task"] == "attention" and r["map"] == "softmax")
    assert sparse["attention_zeros"] > 0.5 and soft["attention_zeros"] == 0.0


def test_docstring_examples():
    import doctest

    res = doctest.testmod(st, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.attempted > 0 and res.failed == 0


# ---- the projections

_PROJ_CASES = [("project_simplex", (2.0,)), ("project_l1_ball", (1.0,)), ("project_capped_simplex", (2.0, 0.5)),
               ("project_sparse_simplex", (3,))]


@pytest.mark.parametrize("name, args", _PROJ_CASES)
def test_projections_are_the_numpy_ones_and_differentiable(rng, name, args):
    fn = getattr(st, name)
    z = rng.standard_normal((4, 6))
    x = torch.tensor(z, requires_grad=True)
    for dim in (-1, 0):
        np.testing.assert_array_equal(fn(x, *args, dim=dim).detach().numpy(),
                                      getattr(sparsetools, name)(z, *args, axis=dim))
    assert torch.autograd.gradcheck(lambda t: fn(t, *args), (x,))
    assert torch.autograd.gradgradcheck(lambda t: fn(t, *args), (x,))
    h = fn(x.float(), *args)
    assert h.dtype == torch.float32
    assert fn(x.detach().half(), *args).dtype == torch.float16


def test_projection_parameters_per_row_and_errors(rng):
    z = rng.standard_normal((5, 4))
    r = rng.uniform(0.5, 2, 5)
    got = st.project_simplex(torch.tensor(z), torch.tensor(r))
    np.testing.assert_array_equal(got.numpy(), sparsetools.project_simplex(z, r))
    got = st.project_sparse_simplex(torch.tensor(z), torch.tensor([1, 2, 3, 4, 1])[:, None])  # entmax's shape
    np.testing.assert_array_equal(got.numpy(), sparsetools.project_sparse_simplex(z, np.array([1, 2, 3, 4, 1])))
    with pytest.raises(ValueError, match="radius is -1.0"):
        st.project_l1_ball(torch.tensor(z), -1.0)
    with pytest.raises(ValueError, match="budget 5.0 is more than n"):
        st.project_capped_simplex(torch.tensor(z), 5.0)
    with pytest.raises(TypeError, match="radius must be a number or a tensor"):
        st.project_simplex(torch.tensor(z), "1")
    with pytest.raises(TypeError, match="k must be an integer"):
        st.project_sparse_simplex(torch.tensor(z), torch.tensor(2.5))


def test_projection_ops_pass_opcheck(rng):
    from torch.library import opcheck

    x = torch.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    params = [torch.tensor(2.0, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64)]
    opcheck(torch.ops.sparsetools.project.default, (x, "capped_simplex", params, -1))
    p = st.project_simplex(x.detach(), 2.0)
    opcheck(torch.ops.sparsetools.project_vjp.default,
            (p, torch.tensor(rng.standard_normal((3, 5))), "simplex", params[:1], -1))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inductor's own use of torch.jit
def test_torch_compile_fullgraph_projections(rng):
    x = torch.tensor(rng.standard_normal((3, 5)), requires_grad=True)

    def f(t):
        return (st.project_capped_simplex(t, 2.0, 0.5) ** 2).sum() + (st.project_l1_ball(t) ** 2).sum()

    y = torch.compile(f, fullgraph=True)(x)
    y.backward()
    g = x.grad.clone()
    x.grad = None
    f(x).backward()
    torch.testing.assert_close(g, x.grad)
