"""Convert published Inception-v1 I3D weights for ssa2d_mm's InceptionI3D.

Sources: pytorch-i3d's ``rgb_imagenet.pt`` / ``flow_imagenet.pt``, or
keras-kinetics-i3d's ``*_tf_dim_ordering_tf_kernels*.h5``.

Examples::

    # for the backbone: init_cfg=dict(type='Pretrained', checkpoint=DST)
    python tools/model_converters/convert_i3d.py rgb_imagenet.pt i3d_rgb.pth
    # for a whole model's load_from, optical-flow weights
    python tools/model_converters/convert_i3d.py flow_imagenet.pt \
        i3d_flow.pth --in-channels 2 --prefix backbone.
"""
import argparse
import sys
from typing import List, Optional

import ssa2d_mm  # noqa: F401  (compat layer + registration)
from ssa2d_mm.models.backbones.i3d_checkpoint import (FORMATS, compare_keys,
                                                      convert_i3d_checkpoint)
from ssa2d_mm.models.backbones.inception_i3d import ENDPOINTS, InceptionI3D


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert I3D weights (pytorch-i3d .pt or Keras .h5) '
        'into an InceptionI3D checkpoint')
    parser.add_argument('src', help='source weights file')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument(
        '--format',
        default='auto',
        choices=FORMATS,
        help='source format (auto: HDF5 signature means keras)')
    parser.add_argument(
        '--prefix',
        default='',
        help='prefix of every key, e.g. "backbone." for load_from')
    parser.add_argument(
        '--in-channels',
        type=int,
        default=3,
        help='input channels of the weights: 3 RGB, 2 optical flow')
    parser.add_argument(
        '--final-endpoint',
        default='Mixed_5b',
        choices=ENDPOINTS,
        help='last endpoint of the encoder that the report compares with '
        '(SSA2D: Mixed_5b)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        checkpoint = convert_i3d_checkpoint(
            args.src,
            args.dst,
            fmt=args.format,
            prefix=args.prefix,
            in_channels=args.in_channels)
    except (ValueError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    state_dict = {
        k[len(args.prefix):]: v
        for k, v in checkpoint['state_dict'].items()
    }
    encoder = InceptionI3D(
        in_channels=args.in_channels,
        final_endpoint=args.final_endpoint,
        remove_pool5=args.final_endpoint != 'MaxPool3d_5a_2x2',
        out_endpoints=(args.final_endpoint, ))
    report = compare_keys(state_dict, encoder)
    meta = checkpoint['meta']
    print(f'read {args.src} ({meta["source_format"]}): '
          f'{len(state_dict)} tensors, in_channels={args.in_channels}')
    print(f'against InceptionI3D(final_endpoint={args.final_endpoint!r}):')
    for name in ('missing', 'unexpected'):
        keys = report[name]
        print(f'  {name} keys ({len(keys)}):')
        for key in keys:
            print(f'    {key}')
    print(f'saved {args.dst} (key prefix {args.prefix!r})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
