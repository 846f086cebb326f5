"""The measured parts of the benchmarks at tiny shapes (no speed assertions).

Runs in the default environment (mmcv-lite): SSA2D side, timing and memory
helpers, FLOP counters, the machine-limit measurement, the inference
optimisations' numerics and the two tools. The proposal pipeline runs where
full mmcv and mmdet import; elsewhere the tests check that it refuses with
the install instructions.
"""
import importlib.util
import json
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmcv.cnn import ConvModule
from mmengine.config import Config

from ssa2d_mm.benchmarks import (PLAIN, BaselineUnavailableError, ConvSpec,
                                 InferenceSettings, PeakMemoryMeter,
                                 benchmark_model, collect_environment,
                                 compare_outputs, count_flops,
                                 count_flops_dispatch, count_params,
                                 find_conv_specs, fuse_conv_bn,
                                 inference_context, make_clip_batch,
                                 measure_conv_throughput,
                                 measure_device_limit, optimize_for_inference,
                                 percentile, require_full_mmcv,
                                 route_conv3d_to_onednn, tensor_peak_bytes,
                                 time_callable)
from ssa2d_mm.compat import mmcv_has_compiled_ops

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SSA2D_CFG = osp.join(REPO, 'configs', '_base_', 'models', 'ssa2d_i3d.py')
BASELINE_CFG = osp.join(REPO, 'configs', 'benchmarks',
                        'proposal_maskrcnn_slowonly.py')
TINY = (8, 32, 32)


def _has_full_stack() -> bool:
    if not mmcv_has_compiled_ops():
        return False
    return importlib.util.find_spec('mmdet') is not None


def _tool(name: str):
    path = osp.join(REPO, 'tools', 'analysis', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'bench_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _one_thread():
    # Other processes share the 2 cores: OpenMP spinning on 2 threads can
    # make a tiny forward 40x slower. One thread keeps the file fast.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def ssa2d_model():
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(SSA2D_CFG).model)


def _conv_bn_net() -> nn.Module:
    """ConvModules (conv3d + BN, deconv3d + BN, BN before conv) with
    non-trivial running statistics, in eval mode; the same every call."""
    torch.manual_seed(0)
    net = nn.Sequential(
        ConvModule(3, 6, 3, padding=1, conv_cfg=dict(type='Conv3d'),
                   norm_cfg=dict(type='BN3d')),
        ConvModule(6, 4, 3, stride=(1, 2, 2), padding=1,
                   conv_cfg=dict(type='deconv3d'),
                   norm_cfg=dict(type='BN3d'),
                   act_cfg=None),
        ConvModule(4, 5, 1, conv_cfg=dict(type='Conv3d'),
                   norm_cfg=dict(type='BN3d'),
                   order=('norm', 'conv', 'act')))
    gen = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) +
                                0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=gen))
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen))
    return net.eval()


# ---------------------------------------------------------------- timing
def test_time_callable_counts_runs_and_summarises():
    calls = []
    result = time_callable(lambda: calls.append(1), warmup=2, iters=3)
    assert len(calls) == 5
    assert len(result.times) == 3
    assert result.min <= result.median <= max(result.times)
    assert result.to_dict()['warmup'] == 2
    with pytest.raises(ValueError, match='iters'):
        time_callable(lambda: None, iters=0)


def test_percentile_interpolates():
    assert percentile([1., 2., 3., 4., 5.], 50) == 3.
    assert percentile([0., 10.], 95) == pytest.approx(9.5)
    with pytest.raises(ValueError, match='empty'):
        percentile([], 50)


# ---------------------------------------------------------------- memory
def test_peak_memory_meter_sees_a_large_cpu_tensor():
    with PeakMemoryMeter('cpu') as meter:
        x = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del x
    assert meter.method in ('rss-hwm', 'rss-sampling')
    assert meter.peak_bytes >= 48 * 2**20
    assert meter.to_dict()['peak_mib'] == pytest.approx(
        meter.peak_bytes / 2**20)
    with pytest.raises(RuntimeError, match='not measured'):
        PeakMemoryMeter('cpu').to_dict()


def test_tensor_peak_bytes_counts_live_tensors():

    def work():
        a = torch.ones(2**20)  # 4 MiB
        b = a * 2  # 4 MiB
        c = torch.cat([a, b])  # 8 MiB: 16 MiB live here
        del a, b
        return c * 3  # 8 MiB: 16 MiB live again

    r = tensor_peak_bytes(work)
    # + a few bytes of scalar tensors for the constants
    assert r['peak_bytes'] == pytest.approx(16 * 2**20, abs=1024)
    assert r['peak_mib'] == pytest.approx(16, abs=1e-3)


# ---------------------------------------------------------------- FLOPs
def test_conv_specs_and_both_flop_counters_agree():
    net = nn.Sequential(
        nn.Conv3d(3, 8, 3, padding=1),
        nn.ConvTranspose3d(8, 4, 3, stride=(1, 2, 2), padding=1,
                           output_padding=(0, 1, 1))).eval()
    x = torch.randn(1, 3, 4, 8, 8)
    specs = find_conv_specs(net, lambda: net(x))
    conv_macs = 4 * 8 * 8 * 8 * 3 * 27  # output voxels x C_out x C_in x k
    deconv_macs = 4 * 8 * 8 * 8 * 4 * 27  # input voxels x C_in x C_out x k
    assert {s.kind: s.macs for s in specs} == {
        'Conv3d': conv_macs, 'ConvTranspose3d': deconv_macs}
    assert specs[0].macs >= specs[1].macs
    mm = count_flops(net, x)
    disp = count_flops_dispatch(lambda: net(x))
    assert mm['macs'] == conv_macs + deconv_macs
    assert disp['flops'] == 2 * (conv_macs + deconv_macs) == mm['flops']


def test_count_params_totals_children():
    net = _conv_bn_net()
    counts = count_params(net)
    assert counts['total'] == sum(p.numel() for p in net.parameters())
    assert sum(counts['by_child'].values()) == counts['total']
    assert counts['weights_bytes'] > 4 * counts['total']  # + BN buffers


# ---------------------------------------------------------------- limit
def test_device_limit_measures_conv_and_matmul():
    spec = ConvSpec(kind='Conv3d', input_shape=(1, 4, 4, 8, 8),
                    out_channels=4, kernel_size=(3, 3, 3),
                    padding=(1, 1, 1))
    lim = measure_device_limit([spec], matmul_size=64, warmup=0, iters=1)
    conv, mm = lim['convs'][0], lim['matmul']
    assert conv['macs'] == 4 * 8 * 8 * 4 * 4 * 27
    assert conv['gflops'] > 0 and mm['gflops'] > 0
    assert lim['limit_gflops'] == max(conv['gflops'], mm['gflops'])
    bf16 = measure_conv_throughput(spec, dtype=torch.bfloat16,
                                   channels_last=True, warmup=0, iters=1)
    assert bf16['dtype'] == 'bfloat16' and bf16['channels_last']
    with pytest.raises(ValueError, match='kernel'):
        ConvSpec(kind='Conv3d', input_shape=(1, 4, 8, 8), out_channels=4,
                 kernel_size=(3, 3, 3))


# ---------------------------------------------------------------- optimize
def test_fuse_conv_bn_keeps_outputs_and_skips_pre_norm():
    net = _conv_bn_net()
    x = torch.randn(2, 3, 4, 8, 8)
    with torch.no_grad():
        ref = net(x)
        assert fuse_conv_bn(net) == 2  # the norm-first module is left
        out = net(x)
    assert isinstance(net[0].bn, nn.Identity)
    assert isinstance(net[1].bn, nn.Identity)
    assert isinstance(net[2].bn, nn.BatchNorm3d)
    check = compare_outputs(ref, out, rtol=1e-5)
    assert check['ok'], check
    with pytest.raises(RuntimeError, match='eval'):
        fuse_conv_bn(_conv_bn_net().train())


def test_route_conv3d_to_onednn_keeps_outputs():
    # A batch-1 volume below PyTorch's oneDNN threshold (N*C*D*H <= 20480).
    net = nn.Sequential(
        nn.Conv3d(4, 8, 3, padding=1), nn.ReLU(),
        nn.Conv3d(8, 8, 3, padding=(1, 2, 2), dilation=(1, 2, 2))).eval()
    x = torch.randn(1, 4, 4, 8, 8)
    with torch.no_grad():
        ref = net(x)
        assert route_conv3d_to_onednn(net) == 2
        out = net(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = net(x)  # autocast keeps its own (bf16) path
    assert compare_outputs(ref, out, rtol=1e-5)['ok']
    assert low.dtype == torch.bfloat16


def test_optimize_for_inference_numerics_fp32_and_bf16():
    x = torch.randn(1, 3, 4, 8, 8)
    net = _conv_bn_net()
    with torch.no_grad():
        ref = net(x)
    opt = optimize_for_inference(_conv_bn_net(), InferenceSettings())
    assert opt._fused_conv_bn == 2
    assert opt._onednn_conv3d == 2  # the two Conv3d, not the deconv
    assert opt[0].conv.weight.is_contiguous(
        memory_format=torch.channels_last_3d)
    with inference_context(InferenceSettings()):
        out = opt(x.contiguous(memory_format=torch.channels_last_3d))
    assert torch.is_inference(out)
    assert compare_outputs(ref, out, rtol=1e-5)['ok']
    bf16 = InferenceSettings(amp='bf16')
    with inference_context(bf16):
        low = opt(x)
    assert low.dtype == torch.bfloat16
    check = compare_outputs(ref, low, rtol=5e-2)
    assert check['ok'] and check['max_abs_err'] > 0, check
    with pytest.raises(ValueError, match='amp'):
        InferenceSettings(amp='int8')


# ---------------------------------------------------------------- SSA2D
def test_ssa2d_infer_tensor_with_default_settings(ssa2d_model):
    data = make_clip_batch(1, TINY)
    r = benchmark_model(
        ssa2d_model, data, settings=InferenceSettings(), warmup=0, iters=1,
        limit_iters=1, matmul_size=64)
    assert r['case']['shape'] == list(TINY)
    assert r['params']['total'] > 1e6
    assert r['fused_conv_bn'] > 0 and r['onednn_conv3d'] > 0
    assert r['memory']['tensor_peak_bytes'] > 0
    assert r['numerics']['ok'], r['numerics']
    assert r['flops']['flops'] == 2 * r['flops']['macs'] > 0
    tp = r['throughput']
    assert tp['frames_per_s'] == pytest.approx(TINY[0] * tp['clips_per_s'])
    assert tp['achieved_gflops'] > 0
    assert r['memory']['peak_bytes'] >= 0
    assert r['dominant_convs'][0]['macs'] >= r['dominant_convs'][1]['macs']
    assert 0 < r['fraction_of_limit']['of_limit']


def test_ssa2d_predict_and_train_step():
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(SSA2D_CFG).model)
    r = benchmark_model(
        model, make_clip_batch(1, TINY), api='predict', warmup=0, iters=1,
        limit=False)
    assert r['case']['api'] == 'predict'
    assert r['flops']['counter'].startswith('torch.utils.flop_counter')
    assert 'numerics' not in r  # plain settings: nothing to compare
    t = benchmark_model(
        model, make_clip_batch(1, TINY, with_labels=True), mode='train',
        warmup=0, iters=1, limit=False)
    assert t['case']['api'] == 'train_step'
    assert t['throughput']['gflops_per_iter'] == pytest.approx(
        3 * t['flops']['flops'] / 1e9)


def test_make_clip_batch_labels_one_frame():
    data = make_clip_batch(2, (4, 6, 8), with_labels=True)
    assert [x.shape for x in data['inputs']] == [(3, 4, 6, 8)] * 2
    sample = data['data_samples'][0]
    assert sample.metainfo['label_frame_index'] == 2
    assert (sample.gt_actor_seg[[0, 1, 3]] == 255).all()
    assert (sample.gt_actor_seg[2] < 8).all()
    with pytest.raises(ValueError, match='inputs.py'):
        make_clip_batch(0, (4, 6, 8))


def test_environment_records_versions_and_cpu():
    env = collect_environment('cpu', seed=3)
    assert env['seed'] == 3 and env['torch_threads'] >= 1
    assert env['versions']['torch'] == torch.__version__
    assert env['versions']['mmcv'] is not None
    assert env['cpu']['model']


# ---------------------------------------------------------------- tools
def test_benchmark_tool_writes_json(tmp_path):
    tool = _tool('benchmark')
    out = tmp_path / 'r.json'
    rc = tool.main([
        SSA2D_CFG, '--shape', *map(str, TINY), '--warmup', '0', '--iters',
        '1', '--limit-iters', '1', '--matmul-size', '64', '--compare-plain',
        '--no-fuse-bn', '--out', str(out)
    ])
    assert rc == 0
    report = json.loads(out.read_text())
    names = [r['name'] for r in report['results']]
    assert names == ['plain fp32 eager (no_grad)', 'selected']
    selected = report['results'][1]
    assert selected['case']['settings']['fuse_bn'] is False
    assert selected['case']['settings']['channels_last'] is True
    assert selected['speedup_vs_plain'] > 0
    # The two cases ran interleaved, one timed call each.
    assert selected['timing']['interleaved_with'] == 1
    assert len(selected['timing']['times']) == 1
    assert report['environment']['versions']['torch'] == torch.__version__


# ---------------------------------------------------------------- baseline
def test_proposal_pipeline_runs_or_refuses_clearly(tmp_path, capsys):
    if not _has_full_stack():
        # CI's environment (mmcv-lite): a clear refusal, not a silent skip.
        with pytest.raises(BaselineUnavailableError) as err:
            require_full_mmcv()
        msg = str(err.value)
        assert 'pip install -e .[bench]' in msg
        assert 'MMCV_WITH_OPS=1' in msg and 'mmcv-lite' in msg
        with pytest.raises(BaselineUnavailableError):
            MODELS.build(dict(type='ProposalActorActionPipeline'))
        assert _tool('benchmark').main([BASELINE_CFG, '--shape', '2', '32',
                                        '32']) == 2
        rc = _tool('scaling').main([
            '--ssa2d-config', SSA2D_CFG, '--out-dir', str(tmp_path),
            '--actors', '1', '--actor-shape', *map(str, TINY), '--lengths',
            '4', '--sizes', '32', '--iters', '1', '--no-plots'
        ])
        assert rc == 3
        report = json.loads((tmp_path / 'scaling.json').read_text())
        assert 'full mmcv' in report['baseline_unavailable'] or \
            'compiled ops' in report['baseline_unavailable']
        assert report['actors']['proposal'] == []
        assert len(report['actors']['ssa2d']) == 1
        _check_report(tmp_path, capsys)
        return
    # Full mmcv + mmdet: the real pipeline at a tiny size.
    require_full_mmcv()
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ProposalActorActionPipeline', num_actors=2)).eval()
    data = make_clip_batch(1, (3, 64, 64))
    with torch.no_grad():
        sample = model.test_step(data)[0]
        raw = model(torch.stack(data['inputs']).float(), mode='tensor')[0]
    assert sample.pred_actor_seg.shape == (3, 64, 64)
    assert sample.pred_action_seg.shape == (3, 64, 64)
    assert sample.metainfo['num_actors'] == 2
    assert int(sample.pred_actor_seg.max()) < 8
    assert raw['bboxes'].shape == (3, 2, 4)
    assert raw['masks'].shape == (3, 2, 64, 64)
    assert raw['action_scores'].shape == (3, 2, 10)
    r = benchmark_model(model, data, api='predict', warmup=0, iters=1,
                        flops='dispatch', limit=False)
    assert r['flops']['flops'] > 0 and r['params']['total'] > 5e7
    with pytest.raises(NotImplementedError, match='inference only'):
        model(torch.zeros(1, 3, 2, 64, 64), mode='loss')
    rc = _tool('scaling').main([
        '--ssa2d-config', SSA2D_CFG, '--out-dir', str(tmp_path), '--actors',
        '1', '2', '--actor-shape', '2', '64', '64', '--lengths', '4',
        '--sizes', '32', '--iters', '1', '--no-plots'
    ])
    assert rc == 0
    report = json.loads((tmp_path / 'scaling.json').read_text())
    assert [c['num_actors'] for c in report['actors']['proposal']] == [1, 2]
    assert set(report['ratios_proposal_over_ssa2d']) == {'1', '2'}
    _check_report(tmp_path, capsys)


def _check_report(folder, capsys) -> None:
    """benchmark_report.py turns scaling.json into the docs' tables."""
    capsys.readouterr()
    assert _tool('benchmark_report').main([str(folder)]) == 0
    text = capsys.readouterr().out
    assert '### Cost vs number of actors' in text
    assert '| 1 |' in text and '4 x 32 x 32' in text


def test_plain_settings_are_fp32_eager():
    assert PLAIN.amp is None and not PLAIN.fuse_bn
    assert not PLAIN.onednn_conv3d
    assert not PLAIN.channels_last and not PLAIN.inference_mode
