"""Loss objectives (issue 13): cross_entropy, mse and gradient give the gradients plain torch
gives for the same loss; bad targets are field problems naming the valid range."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convexplorer.engine.run import RunError, run
from convexplorer.model.objectives import check_objective
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec, Objective

from .torch_reference import reference

L = LayerSpec.make
LAYERS = [L("Conv2d", out_channels=3, kernel_size=3), L("ReLU"), L("Flatten"),
          L("Linear", out_features=10)]
SHAPE = (2, 1, 6, 6)


def plain(objective_fn):
    """The stack in plain torch with backward of ``objective_fn(last output)``."""
    torch.manual_seed(0)
    x = torch.randn(SHAPE).requires_grad_(True)
    ref = reference([s.to_dict() for s in LAYERS], x, 0, requires_grad=True)
    loss = objective_fn(ref.outputs[-1])
    loss.backward()
    return x, ref, float(loss.detach())


def check(objective: Objective, objective_fn):
    result = run(Config(layers=tuple(LAYERS), input=InputSpec(shape=SHAPE)),
                 objective=objective)
    x, ref, value = plain(objective_fn)
    assert result.objective_value == pytest.approx(value, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(result.grad_input, x.grad.numpy(), rtol=1e-5, atol=1e-7)
    for lr, module in zip(result.layers, ref.modules):
        for name, p in module.named_parameters():
            np.testing.assert_allclose(lr.grads[name], p.grad.numpy(), rtol=1e-5, atol=1e-7)
    return result


def test_cross_entropy_is_torchs():
    result = check(Objective("cross_entropy", target=(3, 7)),
                   lambda out: F.cross_entropy(out, torch.tensor([3, 7])))
    assert result.objective_label.startswith("cross_entropy(")
    check(Objective("cross_entropy", target=(4,)),  # one class for every batch item
          lambda out: F.cross_entropy(out, torch.tensor([4, 4])))


@pytest.mark.parametrize("seed", [0, 5])
def test_mse_against_zeros_and_a_seeded_randn_target(seed):
    check(Objective("mse", target="zeros"), lambda out: F.mse_loss(out, torch.zeros_like(out)))

    def randn_target(out):
        torch.manual_seed(seed)
        return F.mse_loss(out, torch.randn(out.shape))
    check(Objective("mse", target="randn", seed=seed), randn_target)


def test_gradient_is_backward_of_a_seeded_randn():
    def backward_g(out):
        torch.manual_seed(3)
        g = torch.randn(out.shape)
        return (out * g).sum()  # the same gradients as out.backward(g)
    result = check(Objective("gradient", seed=3), backward_g)
    torch.manual_seed(3)
    np.testing.assert_allclose(result.layers[-1].grad_output, torch.randn(2, 10).numpy())


@pytest.mark.parametrize("objective, words", [
    (Objective("cross_entropy", target=(3, 12)), ["objective target: class 12 is outside 0..9",
                                                  "torch.Size([2, 10])"]),
    (Objective("cross_entropy", target=(1, 2, 3)), ["3 target classes for a batch of 2"]),
    (Objective("cross_entropy", target=()), ["a target class per batch item", "0 and 9"]),
    (Objective("cross_entropy", layer=0, target=(1,)), ["objective layer: cross_entropy",
                                                        "(N, classes)", "Linear"]),
    (Objective("mse", target="ones"), ["objective target", "zeros or randn"]),
    (Objective("gradient", seed=10**24), ["objective seed: seed 1.00e+24 is outside"]),
    (Objective("mse", target="randn", seed=-5), ["objective seed: seed -5 is outside"]),
])
def test_bad_loss_objectives_are_field_problems(objective, words):
    report = infer(LAYERS, SHAPE)
    (problem,) = check_objective(objective, report)
    for w in words:
        assert w in str(problem), (w, str(problem))
    with pytest.raises(RunError) as err:
        run(Config(layers=tuple(LAYERS), input=InputSpec(shape=SHAPE)), objective=objective)
    assert str(err.value) == str(problem)
