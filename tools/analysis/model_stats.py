"""Count a model's parameters and FLOPs (MACs) from its config.

The model is built from ``cfg.model`` through mmaction's registry (after
``cfg.custom_imports``, under ``cfg.default_scope``), and
``model(inputs, mode='tensor')`` is traced on one ``(1, C, T, H, W)`` clip
with :mod:`mmengine.analysis`. C comes from the data preprocessor's ``mean``
(or the backbone's ``in_channels``; default 3). A model without a ``mode``
argument (a bare backbone) is called as ``model(inputs)``; an mmaction
recognizer gets its views axis, ``(1, 1, C, T, H, W)``, and runs up to its
head.

mmengine counts one fused multiply-add as one flop: its "FLOPs" are MACs.

Example::

    python tools/analysis/model_stats.py CONFIG --shape 16 224 224
"""
import argparse
import inspect
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings


def infer_in_channels(model_cfg: dict, default: int = 3) -> int:
    """Input channels of a model config.

    Args:
        model_cfg (dict): ``cfg.model``.
        default (int): Used when the config does not say. Defaults to 3.

    Returns:
        int: ``len(data_preprocessor.mean)``, else ``backbone.in_channels``
        (or the model's own ``in_channels``), else ``default``.
    """
    preprocessor = model_cfg.get('data_preprocessor') or {}
    mean = preprocessor.get('mean')
    if mean is not None:
        return len(mean)
    for cfg in (model_cfg.get('backbone') or {}, model_cfg):
        if cfg.get('in_channels') is not None:
            return int(cfg['in_channels'])
    return default


class _TensorForward(nn.Module):
    """Calls ``model(inputs, **kwargs)`` so that a tracer sees one input."""

    def __init__(self, model: nn.Module, kwargs: dict) -> None:
        super().__init__()
        self.model = model
        self.kwargs = kwargs

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, **self.kwargs)


def _forward_plan(model: nn.Module,
                  inputs: torch.Tensor) -> Tuple[torch.Tensor, dict, str]:
    """How to call the model on a ``(1, C, T, H, W)`` clip."""
    from mmaction.models.recognizers import BaseRecognizer
    if isinstance(model, BaseRecognizer):
        # mmaction recognizers take (N, views, C, T, H, W); stage='head'
        # makes mode='tensor' run the head too.
        return (inputs.unsqueeze(1), dict(mode='tensor', stage='head'),
                "model(inputs[:, None], mode='tensor', stage='head')")
    params = inspect.signature(model.forward).parameters
    if 'mode' in params:
        return inputs, dict(mode='tensor'), "model(inputs, mode='tensor')"
    return inputs, {}, 'model(inputs)'


def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` as the training tools do.

    Args:
        cfg (Config): A loaded config.

    Returns:
        nn.Module: The model (weights initialised by its defaults, not
        loaded), in eval mode.
    """
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    from mmaction.registry import MODELS
    model = MODELS.build(cfg.model)
    return model.eval()


def count_parameters(model: nn.Module) -> Dict[str, int]:
    """Parameters per top-level child module.

    Args:
        model (nn.Module): The model.

    Returns:
        OrderedDict[str, int]: child name -> parameter count, in module
        order; ``'(own)'`` for parameters held by the model itself.
    """
    counts: Dict[str, int] = OrderedDict()
    for name, child in model.named_children():
        counts[name] = sum(p.numel() for p in child.parameters())
    own = sum(p.numel() for p in model.parameters(recurse=False))
    if own:
        counts['(own)'] = own
    return counts


def collect_model_stats(config: Union[str, Config],
                        shape: Sequence[int] = (16, 224, 224),
                        cfg_options: Optional[dict] = None,
                        in_channels: Optional[int] = None) -> dict:
    """Parameters and FLOPs of the model a config describes.

    Args:
        config (str | Config): Config file or loaded config.
        shape (Sequence[int]): Clip ``(T, H, W)``. Defaults to
            ``(16, 224, 224)``.
        cfg_options (dict, optional): Overrides merged into the config.
        in_channels (int, optional): Input channels; inferred from the
            config when None (:func:`infer_in_channels`).

    Returns:
        dict: ``model_type``, ``input_shape`` (the ``(1, C, T, H, W)`` clip),
        ``call`` (how the model was called), ``params`` (total),
        ``trainable_params``, ``params_by_module`` (top-level children),
        ``flops`` (mmengine's count: one fused multiply-add = one flop),
        ``gmacs`` (``flops / 1e9``), ``flops_by_module`` and
        ``uncounted_ops`` (op name -> calls that mmengine has no counter
        for, e.g. pooling and activations).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if len(shape) != 3:
        raise ValueError(f'shape must be (T, H, W), got {tuple(shape)}')
    if in_channels is None:
        in_channels = infer_in_channels(cfg.model)
    model = build_model(cfg)

    clip = torch.randn(
        1, in_channels, *shape, generator=torch.Generator().manual_seed(0))
    inputs, kwargs, call = _forward_plan(model, clip)
    wrapper = _TensorForward(model, kwargs).eval()

    params_by_module = count_parameters(model)
    with torch.no_grad():
        analyzer = FlopAnalyzer(wrapper, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        analyzer.tracer_warnings('none')
        flops = analyzer.total()
        by_module = analyzer.by_module()
    flops_by_module = OrderedDict(
        (name, int(by_module.get(f'model.{name}', 0)))
        for name, _ in model.named_children())
    return dict(
        model_type=type(model).__name__,
        input_shape=tuple(clip.shape),
        call=call,
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters()
                             if p.requires_grad),
        params_by_module=params_by_module,
        flops=int(flops),
        gmacs=flops / 1e9,
        flops_by_module=flops_by_module,
        uncounted_ops=dict(analyzer.unsupported_ops()))


def format_model_stats(stats: dict) -> str:
    """Render :func:`collect_model_stats`'s dict as a report.

    Args:
        stats (dict): The statistics.

    Returns:
        str: A multi-line report.
    """
    lines: List[str] = [
        f'model: {stats["model_type"]}',
        f'input: {stats["input_shape"]}, called as {stats["call"]}',
        f'parameters: {stats["params"]:,} ({stats["params"] / 1e6:.2f} M), '
        f'trainable {stats["trainable_params"]:,}',
    ]
    width = max([len(n) for n in stats['params_by_module']] + [6])
    for name, count in stats['params_by_module'].items():
        lines.append(f'  {name:<{width}}  {count:>12,}  '
                     f'({count / 1e6:.2f} M)')
    lines += [
        'FLOPs by mmengine.analysis, which counts one fused multiply-add as '
        'one flop (so these are MACs):',
        f'  total {stats["flops"]:,} = {stats["gmacs"]:.3f} GMACs '
        f'(= {2 * stats["gmacs"]:.3f} GFLOPs counting multiply and add '
        'separately)',
    ]
    for name, flops in stats['flops_by_module'].items():
        lines.append(f'  {name:<{width}}  {flops / 1e9:>10.3f} GMACs')
    if stats['uncounted_ops']:
        ops = ', '.join(f'{k} x{v}'
                        for k, v in sorted(stats['uncounted_ops'].items()))
        lines.append(f'ops without a flop counter (not counted): {ops}')
    return '\n'.join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Count parameters and FLOPs (MACs) of a model config')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=3,
        default=[16, 224, 224],
        metavar=('T', 'H', 'W'),
        help='clip size (default: 16 224 224)')
    parser.add_argument(
        '--in-channels',
        type=int,
        default=None,
        help='input channels (default: from data_preprocessor.mean or '
        'backbone.in_channels, else 3)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    stats = collect_model_stats(
        args.config,
        shape=args.shape,
        cfg_options=args.cfg_options,
        in_channels=args.in_channels)
    print(format_model_stats(stats))
    return stats


if __name__ == '__main__':
    main()
    sys.exit(0)
