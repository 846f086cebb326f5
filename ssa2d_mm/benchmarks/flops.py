"""Parameter and FLOP counts.

Two counters, because no single one covers both pipelines:

* :func:`count_flops` uses ``mmengine.analysis.FlopAnalyzer`` (jit tracing).
  It suits a network with a fixed graph (SSA2D in ``mode='tensor'``). It
  counts one multiply-add as one "flop", i.e. MACs.
* :func:`count_flops_dispatch` uses torch's ``FlopCounterMode``
  (``torch.utils.flop_counter``) at the dispatcher, so it follows
  data-dependent Python (proposal counts, per-box loops) that jit tracing
  freezes or cannot trace. It counts 2 FLOPs
  per multiply-add and only matmul/convolution-like aten ops; compiled mmcv
  ops (RoIAlign, NMS) are invisible to it (their arithmetic is small).

Both report ``macs`` and ``flops`` (= 2 x MACs) so figures compare.
"""
from typing import Callable, Dict, Tuple, Union

import torch
import torch.nn as nn


def count_params(model: nn.Module) -> Dict[str, int]:
    """Parameter counts of ``model``.

    Args:
        model (nn.Module): the model.

    Returns:
        dict: ``total``, ``trainable``, ``by_child`` (top-level children)
        and ``weights_bytes`` (parameters and buffers, as stored).
    """
    from mmengine.analysis import parameter_count

    counts = parameter_count(model)
    by_child = {
        name: counts[name]
        for name, _ in model.named_children() if counts.get(name, 0)
    }
    return dict(
        total=int(counts['']),
        trainable=int(
            sum(p.numel() for p in model.parameters() if p.requires_grad)),
        by_child=by_child,
        weights_bytes=int(
            sum(t.numel() * t.element_size()
                for t in [*model.parameters(), *model.buffers()])))


def count_flops(model: nn.Module,
                inputs: Union[torch.Tensor, Tuple]) -> Dict[str, object]:
    """FLOPs of one forward with mmengine's jit-tracing ``FlopAnalyzer``.

    Args:
        model (nn.Module): called as ``model(*inputs)``; an mmengine
            ``BaseModel`` then runs ``mode='tensor'``.
        inputs (Tensor | tuple): the forward's positional inputs, e.g. one
            ``(N, C, T, H, W)`` clip batch.

    Returns:
        dict: ``macs``, ``flops`` (2 x MACs), ``counter``, ``by_operator``
        (MACs per aten op) and ``unsupported_ops`` (ops it could not count,
        with their call counts).
    """
    from mmengine.analysis import FlopAnalyzer

    if isinstance(inputs, torch.Tensor):
        inputs = (inputs, )
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        macs = int(analyzer.total())
        by_op = {k: int(v) for k, v in analyzer.by_operator().items()}
        unsupported = dict(analyzer.unsupported_ops())
    return dict(
        macs=macs,
        flops=2 * macs,
        counter='mmengine.analysis.FlopAnalyzer (1 flop = 1 MAC there)',
        by_operator=by_op,
        unsupported_ops=unsupported)


def count_flops_dispatch(fn: Callable[[], object]) -> Dict[str, object]:
    """FLOPs of one call of ``fn`` counted at torch's dispatcher.

    Args:
        fn (Callable[[], object]): the work, e.g. a closure running a
            proposal pipeline's ``test_step`` on a fixed clip.

    Returns:
        dict: ``flops`` (2 per multiply-add), ``macs``, ``counter`` and
        ``by_operator`` (FLOPs per aten op).
    """
    from torch.utils.flop_counter import FlopCounterMode

    mode = FlopCounterMode(display=False)
    with torch.no_grad(), mode:
        fn()
    flops = int(mode.get_total_flops())
    # 'Global' holds the totals; the other keys split them by module.
    by_op = {
        str(op): int(n)
        for op, n in mode.get_flop_counts().get('Global', {}).items()
    }
    return dict(
        flops=flops,
        macs=flops // 2,
        counter='torch.utils.flop_counter.FlopCounterMode (2 flops per '
        'MAC; compiled mmcv ops not counted)',
        by_operator=by_op)
