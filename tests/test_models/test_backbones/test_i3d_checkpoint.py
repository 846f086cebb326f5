import importlib.util
import os.path as osp
from collections import OrderedDict

import h5py
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.runner import load_checkpoint

from ssa2d_mm.models.backbones import (InceptionI3D, convert_i3d_checkpoint,
                                       from_pytorch_i3d, load_i3d_source,
                                       to_pytorch_i3d)

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'convert_i3d.py')

# keras-kinetics-i3d (dlpbc, i3d_inception.py) names, listed by hand:
# conv3d_bn(name=...) makes layers '<name>_conv' and '<name>_bn'.
KERAS_BRANCHES = {
    'b0': '0a_1x1',
    'b1a': '1a_1x1',
    'b1b': '1b_3x3',
    'b2a': '2a_1x1',
    'b2b': '2b_3x3',
    'b3b': '3b_1x1',
}


def _load_converter():
    spec = importlib.util.spec_from_file_location('convert_i3d', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _full_trunk(in_channels=3):
    return InceptionI3D(
        in_channels=in_channels,
        final_endpoint='Mixed_5c',
        remove_pool5=False,
        out_endpoints=('Mixed_5c', ))


def _random_pytorch_i3d(in_channels=3, seed=0):
    """A pytorch-i3d state dict (real names and shapes, random values), as
    rgb_imagenet.pt holds it: no num_batches_tracked, with logits."""
    gen = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    for key, value in to_pytorch_i3d(
            _full_trunk(in_channels).state_dict()).items():
        if key.endswith('num_batches_tracked'):
            continue
        sd[key] = torch.randn(value.shape, generator=gen)
        if key.endswith('running_var'):
            sd[key] = sd[key].abs() + 0.1
    sd['logits.conv3d.weight'] = torch.randn(400, 1024, 1, 1, 1, generator=gen)
    sd['logits.conv3d.bias'] = torch.randn(400, generator=gen)
    return sd


def _keras_units():
    """(keras unit name, pytorch-i3d module name) pairs."""
    pairs = [(n, n)
             for n in ('Conv3d_1a_7x7', 'Conv3d_2b_1x1', 'Conv3d_2c_3x3')]
    for level in ('3b', '3c', '4b', '4c', '4d', '4e', '4f', '5b', '5c'):
        for branch, code in KERAS_BRANCHES.items():
            pairs.append((f'Conv3d_{level}_{code}', f'Mixed_{level}.{branch}'))
    return pairs


def _write_keras(path,
                 in_channels=3,
                 with_top=False,
                 full_model=False,
                 gamma_layers=(),
                 seed=0):
    """Write weights in Keras 2's HDF5 layout (model.save_weights, or
    model.save with a model_weights group); return the values written,
    keyed '<layer>/<weight>'."""
    rng = np.random.default_rng(seed)
    shapes = {
        k: tuple(v.shape)
        for k, v in _full_trunk(in_channels).state_dict().items()
    }
    values = {}
    layers = [('input_1', [])]
    for keras, torch_name in _keras_units():
        out, cin, t, h, w = shapes[f'{torch_name}.conv.weight']
        kernel = rng.standard_normal((t, h, w, cin, out)).astype('float32')
        layers.append((f'{keras}_conv', [('kernel:0', kernel)]))
        bn = [('beta:0', rng.standard_normal(out).astype('float32')),
              ('moving_mean:0', rng.standard_normal(out).astype('float32')),
              ('moving_variance:0', rng.uniform(0.1, 2,
                                                out).astype('float32'))]
        if keras in gamma_layers:
            bn.insert(0,
                      ('gamma:0', rng.standard_normal(out).astype('float32')))
        layers.append((f'{keras}_bn', bn))
        layers.append((keras, []))  # the Activation layer: no weights
    layers.append(('MaxPool2d_2a_3x3', []))
    layers.append(('Mixed_3b', []))  # concatenate: no weights
    if with_top:
        layers.append(('Conv3d_6a_1x1_conv', [
            ('kernel:0', rng.standard_normal(
                (1, 1, 1, 1024, 400)).astype('float32')),
            ('bias:0', rng.standard_normal(400).astype('float32'))
        ]))
    with h5py.File(path, 'w') as f:
        root = f.create_group('model_weights') if full_model else f
        root.attrs['backend'] = b'tensorflow'
        root.attrs['keras_version'] = b'2.1.5'
        root.attrs['layer_names'] = [n.encode() for n, _ in layers]
        for name, weights in layers:
            g = root.create_group(name)
            g.attrs['weight_names'] = [
                f'{name}/{w}'.encode() for w, _ in weights
            ]
            for w, value in weights:
                g.create_dataset(f'{name}/{w}', data=value)
                values[f'{name}/{w}'] = value
    return values


@pytest.fixture(scope='module')
def pytorch_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('i3d') / 'rgb_imagenet.pt')
    sd = _random_pytorch_i3d()
    torch.save(sd, path)
    return path, sd


@pytest.fixture(scope='module')
def keras_file(tmp_path_factory):
    path = str(
        tmp_path_factory.mktemp('i3d') /
        'rgb_inception_i3d_imagenet_and_kinetics_tf_dim_ordering_'
        'tf_kernels_no_top.h5')
    values = _write_keras(path, gamma_layers=('Conv3d_4c_2b_3x3', ))
    return path, values


def test_round_trip_pytorch_i3d_layout():
    model = _full_trunk()
    sd = model.state_dict()
    theirs = to_pytorch_i3d(sd)
    assert 'Conv3d_1a_7x7.conv3d.weight' in theirs
    assert 'Mixed_3b.b1b.bn.running_mean' in theirs
    assert not any('.conv.' in k for k in theirs)
    back = from_pytorch_i3d(theirs)
    assert list(back) == list(sd)
    assert all(back[k] is sd[k] for k in sd)
    # and from pytorch-i3d's side
    src = _random_pytorch_i3d()
    again = to_pytorch_i3d(from_pytorch_i3d(src))
    assert list(again) == list(src)
    assert all(torch.equal(again[k], src[k]) for k in src)


def test_convert_pytorch_file_and_pretrained_init(pytorch_file, tmp_path,
                                                  capsys):
    src_path, src = pytorch_file
    dst = str(tmp_path / 'i3d_rgb.pth')
    rc = _load_converter().main([src_path, dst])
    assert rc == 0
    out = capsys.readouterr().out
    assert 'missing keys (0)' in out
    assert 'logits.conv.weight' in out and 'Mixed_5c.b0.conv.weight' in out
    assert 'unexpected keys (38)' in out  # Mixed_5c: 6 units x 6, logits 2

    ckpt = torch.load(dst, weights_only=True)  # safe loader reads it
    assert ckpt['meta']['source_format'] == 'pytorch'
    assert ckpt['meta']['in_channels'] == 3
    assert ckpt['state_dict']['Conv3d_1a_7x7.bn.num_batches_tracked'] == 0

    encoder = InceptionI3D(init_cfg=dict(type='Pretrained', checkpoint=dst))
    encoder.init_weights()
    mine = encoder.state_dict()
    for key in ('Conv3d_1a_7x7.conv3d.weight', 'Mixed_4c.b2b.conv3d.weight',
                'Mixed_5b.b3b.bn.running_var', 'Mixed_3b.b1a.bn.weight',
                'Conv3d_2c_3x3.bn.bias'):
        assert torch.equal(mine[key.replace('conv3d', 'conv')], src[key])
    loaded = [k for k in mine if not k.endswith('num_batches_tracked')]
    assert all(
        torch.equal(mine[k], src[k.replace('.conv.', '.conv3d.')])
        for k in loaded)


def test_prefix_for_load_from(pytorch_file, tmp_path):
    src_path, src = pytorch_file
    dst = str(tmp_path / 'i3d_rgb_backbone.pth')
    ckpt = convert_i3d_checkpoint(src_path, dst, prefix='backbone.')
    assert all(k.startswith('backbone.') for k in ckpt['state_dict'])

    class Segmentor(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = InceptionI3D()

    model = Segmentor()
    load_checkpoint(model, dst, strict=False)  # what Runner.load_from does
    assert torch.equal(model.backbone.Mixed_4e.b1b.conv.weight,
                       src['Mixed_4e.b1b.conv3d.weight'])
    # and the backbone alone, through Pretrained with prefix
    encoder = InceptionI3D(
        init_cfg=dict(type='Pretrained', checkpoint=dst, prefix='backbone.'))
    encoder.init_weights()
    assert torch.equal(encoder.Mixed_3c.b2a.bn.running_mean,
                       src['Mixed_3c.b2a.bn.running_mean'])


def test_dataparallel_prefix_is_stripped(tmp_path):
    src = _random_pytorch_i3d(seed=3)
    path = str(tmp_path / 'dp.pt')
    torch.save({'module.' + k: v for k, v in src.items()}, path)
    sd, fmt = load_i3d_source(path)
    assert fmt == 'pytorch'
    assert torch.equal(sd['Mixed_4d.b0.conv3d.weight'],
                       src['Mixed_4d.b0.conv3d.weight'])


def test_convert_keras_file(keras_file, tmp_path, capsys):
    path, values = keras_file
    dst = str(tmp_path / 'i3d_keras.pth')
    rc = _load_converter().main([path, dst, '--prefix', ''])
    assert rc == 0
    out = capsys.readouterr().out
    assert '(keras)' in out
    assert 'missing keys (0)' in out
    assert 'unexpected keys (36)' in out  # Mixed_5c only: no top

    encoder = InceptionI3D(init_cfg=dict(type='Pretrained', checkpoint=dst))
    encoder.init_weights()
    kernel = values['Conv3d_1a_7x7_conv/kernel:0']  # (t, h, w, in, out)
    weight = encoder.Conv3d_1a_7x7.conv.weight  # (out, in, t, h, w)
    assert weight.shape == (64, 3, 7, 7, 7)
    t, h, w, i, o = 1, 5, 2, 2, 37
    assert weight[o, i, t, h, w].item() == kernel[t, h, w, i, o]
    assert torch.equal(weight, torch.from_numpy(kernel).permute(4, 3, 0, 1, 2))
    k2 = values['Conv3d_5b_2b_3x3_conv/kernel:0']
    assert encoder.Mixed_5b.b2b.conv.weight[100, 31, 2, 0, 1].item() == \
        k2[2, 0, 1, 31, 100]
    bn = encoder.Mixed_3c.b1a.bn
    assert torch.equal(bn.bias,
                       torch.from_numpy(values['Conv3d_3c_1a_1x1_bn/beta:0']))
    assert torch.equal(
        bn.running_mean,
        torch.from_numpy(values['Conv3d_3c_1a_1x1_bn/moving_mean:0']))
    assert torch.equal(
        bn.running_var,
        torch.from_numpy(values['Conv3d_3c_1a_1x1_bn/moving_variance:0']))
    assert torch.equal(bn.weight, torch.ones(128))  # scale=False: gamma 1
    assert torch.equal(encoder.Mixed_4c.b2b.bn.weight,
                       torch.from_numpy(values['Conv3d_4c_2b_3x3_bn/gamma:0']))


def test_keras_full_model_file_with_top(tmp_path):
    path = str(tmp_path / 'rgb_with_top.h5')
    values = _write_keras(path, with_top=True, full_model=True, seed=1)
    ckpt = convert_i3d_checkpoint(path, fmt='keras')
    sd = ckpt['state_dict']
    assert sd['logits.conv.weight'].shape == (400, 1024, 1, 1, 1)
    assert torch.equal(sd['logits.conv.bias'],
                       torch.from_numpy(values['Conv3d_6a_1x1_conv/bias:0']))
    assert torch.equal(
        sd['Mixed_5c.b0.conv.weight'],
        torch.from_numpy(values['Conv3d_5c_0a_1x1_conv/kernel:0']).permute(
            4, 3, 0, 1, 2))


def test_flow_weights_and_in_channels_check(tmp_path):
    src = _random_pytorch_i3d(in_channels=2, seed=2)
    path = str(tmp_path / 'flow_imagenet.pt')
    torch.save(src, path)
    with pytest.raises(ValueError, match='flow_imagenet.pt.*2 input'):
        convert_i3d_checkpoint(path, in_channels=3)
    ckpt = convert_i3d_checkpoint(path, in_channels=2)
    encoder = InceptionI3D(in_channels=2)
    encoder.load_state_dict(ckpt['state_dict'], strict=False)
    assert torch.equal(encoder.Conv3d_1a_7x7.conv.weight,
                       src['Conv3d_1a_7x7.conv3d.weight'])
    keras = str(tmp_path / 'flow.h5')
    _write_keras(keras, in_channels=2)
    assert convert_i3d_checkpoint(
        keras,
        in_channels=2)['state_dict']['Conv3d_1a_7x7.conv.weight'].shape == (64,
                                                                            2,
                                                                            7,
                                                                            7,
                                                                            7)


def test_bad_files_give_errors_naming_them(tmp_path, capsys):
    garbage = tmp_path / 'broken.pt'
    garbage.write_bytes(b'this is not a checkpoint' * 10)
    with pytest.raises(ValueError, match='broken.pt.*PyTorch checkpoint'):
        convert_i3d_checkpoint(str(garbage))

    bad_h5 = tmp_path / 'broken.h5'
    bad_h5.write_bytes(b'\x89HDF\r\n\x1a\n' + b'\x00\x01' * 100)
    with pytest.raises(ValueError, match='broken.h5'):
        convert_i3d_checkpoint(str(bad_h5))

    other = str(tmp_path / 'resnet.pt')
    torch.save({'conv1.weight': torch.zeros(1)}, other)
    with pytest.raises(ValueError, match='resnet.pt.*not a pytorch-i3d'):
        convert_i3d_checkpoint(other)

    other_h5 = str(tmp_path / 'other.h5')
    with h5py.File(other_h5, 'w') as f:
        f.create_dataset('dense_1/dense_1/kernel:0', data=np.zeros((2, 2)))
    with pytest.raises(ValueError, match='other.h5.*not I3D layers'):
        convert_i3d_checkpoint(other_h5)

    wrong_shape = _random_pytorch_i3d(seed=4)
    wrong_shape['Mixed_4b.b1b.conv3d.weight'] = torch.zeros(5, 96, 3, 3, 3)
    wrong = str(tmp_path / 'wrong_shape.pt')
    torch.save(wrong_shape, wrong)
    with pytest.raises(ValueError, match='wrong_shape.pt.*Mixed_4b.b1b'):
        convert_i3d_checkpoint(wrong)

    with pytest.raises(FileNotFoundError, match='missing.pt'):
        convert_i3d_checkpoint(str(tmp_path / 'missing.pt'))

    # the CLI reports the problem and fails
    rc = _load_converter().main([str(garbage), str(tmp_path / 'out.pth')])
    assert rc == 1
    assert 'broken.pt' in capsys.readouterr().err
    assert not (tmp_path / 'out.pth').exists()
