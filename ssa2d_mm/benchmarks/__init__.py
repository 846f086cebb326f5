"""Measurement tools: SSA2D against a proposal-based pipeline.

See docs/benchmark.md and ``tools/analysis/{benchmark,scaling}.py``.
"""
from .device_limit import (DEFAULT_CONV3D, ConvSpec, conv_macs,
                           find_conv_specs, measure_conv_throughput,
                           measure_device_limit, measure_matmul_throughput)
from .environment import collect_environment, cpu_model, set_seed
from .flops import count_flops, count_flops_dispatch, count_params
from .inputs import make_clip_batch
from .measure import (PLAIN, PreparedCase, benchmark_interleaved,
                      benchmark_model, finish_case, prepare_case, timed_call)
from .memory import (PeakMemoryMeter, current_rss_bytes, release_free_heap,
                     reset_peak_rss, tensor_peak_bytes)
from .optimize import (InferenceSettings, compare_outputs, fuse_conv_bn,
                       inference_context, optimize_for_inference,
                       route_conv3d_to_onednn, to_channels_last)
from .proposal_pipeline import (FULL_MMCV_HINT, BaselineUnavailableError,
                                ProposalActorActionPipeline,
                                require_full_mmcv)
from .timing import TimingResult, percentile, synchronize, time_callable

__all__ = [
    'DEFAULT_CONV3D', 'ConvSpec', 'conv_macs', 'find_conv_specs',
    'measure_conv_throughput', 'measure_device_limit',
    'measure_matmul_throughput', 'collect_environment', 'cpu_model',
    'set_seed', 'count_flops', 'count_flops_dispatch', 'count_params',
    'make_clip_batch', 'PLAIN', 'PreparedCase', 'benchmark_interleaved',
    'benchmark_model', 'finish_case', 'prepare_case', 'timed_call',
    'PeakMemoryMeter',
    'current_rss_bytes',
    'release_free_heap', 'reset_peak_rss', 'tensor_peak_bytes',
    'InferenceSettings',
    'compare_outputs', 'fuse_conv_bn', 'inference_context',
    'optimize_for_inference', 'route_conv3d_to_onednn', 'to_channels_last',
    'FULL_MMCV_HINT',
    'BaselineUnavailableError', 'ProposalActorActionPipeline',
    'require_full_mmcv', 'TimingResult', 'percentile', 'synchronize',
    'time_callable'
]
