import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import CheckpointLoader
from tiny_e2e import (CLIP_LEN, make_tiny_a2d, save_checkpoint_of, tiny_config,
                      write_config)

from ssa2d_mm.apis import (build_clip_pipeline, inference_video, init_model,
                           iter_video_predictions, plan_clips)
from ssa2d_mm.datasets import A2DDataset
from ssa2d_mm.datasets.transforms.loading import VideoDecode, VideoInit

NUM_FRAMES, HEIGHT, WIDTH = 12, 32, 48


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('inference')
    release = make_tiny_a2d(str(root / 'data'))
    config = write_config(tiny_config(release), str(root / 'tiny.py'))
    torch.manual_seed(0)
    model = init_model(config)
    ckpt = save_checkpoint_of(
        model,
        str(root / 'random.pth'),
        dataset_meta=dict(actor_classes=('bg', 'a'), source='test'))
    constant = save_checkpoint_of(
        model, str(root / 'constant.pth'), constant=(1, 8))
    test_videos = sorted({
        osp.join(release, 'clips320H', f'{vid}.mp4')
        for vid, *_, test in (
            line.split(',')
            for line in open(osp.join(release, 'videoset.csv')).read().split())
        if test.strip() == '1'
    })
    return dict(
        config=config,
        ckpt=ckpt,
        constant=constant,
        videos=test_videos,
        model=init_model(config, ckpt))


def _decode_all(video: str) -> np.ndarray:
    results = VideoInit()(dict(filename=video))
    results['frame_inds'] = np.arange(results['total_frames'])
    return np.stack(VideoDecode()(results)['imgs'])


# ---------------------------------------------------------------- plan_clips
@pytest.mark.parametrize('num_frames,clip_len,stride,interval',
                         [(1, 8, 4, 1), (5, 8, 4, 1), (37, 8, 4, 1),
                          (37, 16, 8, 2), (100, 16, 16, 2), (10, 8, 8, 1),
                          (3, 16, 8, 3)])
def test_plan_clips_covers_every_frame_near_a_centre(num_frames, clip_len,
                                                     stride, interval):
    clips, owner, position = plan_clips(num_frames, clip_len, stride, interval)
    assert owner.shape == position.shape == (num_frames, )
    for i in range(num_frames):
        assert clips[owner[i]][position[i]] == i
    # No clip is run for nothing, and clips come in order.
    assert sorted(set(owner.tolist())) == list(range(len(clips)))
    starts = [int(c.min()) for c in clips]
    assert starts == sorted(starts)
    for clip in clips:
        assert len(clip) == clip_len
        assert clip.min() >= 0 and clip.max() < num_frames


def test_plan_clips_centres_like_sample_annotated_clip():
    # stride 1: every frame sits at clip_len // 2 of its own clip, whose
    # frames are those SampleAnnotatedClip takes around it.
    clips, owner, position = plan_clips(10, 8, 1)
    assert (position == 4).all()
    np.testing.assert_array_equal(clips[owner[0]], [0, 0, 0, 0, 0, 1, 2, 3])
    np.testing.assert_array_equal(clips[owner[9]], [5, 6, 7, 8, 9, 9, 9, 9])
    # The default stride (clip_len // 2) keeps frames within clip_len // 4
    # of the centre, the last frames included.
    for num_frames in (40, 41, 42, 43):
        _, _, position = plan_clips(num_frames, 8, 4)
        assert np.abs(position - 4).max() <= 2
        assert position[-1] == 4


def test_plan_clips_errors():
    with pytest.raises(ValueError, match='smaller stride'):
        plan_clips(50, 8, 20)
    with pytest.raises(ValueError, match='>= 1'):
        plan_clips(0, 8, 4)


# ---------------------------------------------------------------- init_model
def test_init_model_loads_checkpoint_and_keeps_cfg(setup):
    model = setup['model']
    assert not model.training
    assert isinstance(model.cfg, Config)
    assert model.dataset_meta == dict(actor_classes=('bg', 'a'), source='test')
    reference = init_model(Config.fromfile(setup['config']))
    state = CheckpointLoader.load_checkpoint(setup['ckpt'])['state_dict']
    for name, value in model.state_dict().items():
        assert torch.equal(value, state[name]), name
    # Without a checkpoint: the dataset class's metainfo.
    assert reference.dataset_meta['actor_classes'] == \
        A2DDataset.METAINFO['actor_classes']


def test_init_model_cfg_options_and_errors(setup):
    model = init_model(
        setup['config'], cfg_options={'model.test_cfg.fg_threshold': 0.7})
    assert model.cfg.model.test_cfg.fg_threshold == 0.7
    # Pretrained backbone weights are switched off in the model's copy of
    # the config, not in the caller's.
    cfg = Config.fromfile(setup['config'])
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint='x.pth')
    model = init_model(cfg)
    assert model.cfg.model.backbone.init_cfg is None
    assert cfg.model.backbone.init_cfg.checkpoint == 'x.pth'
    with pytest.raises(TypeError, match='config must be'):
        init_model(dict(model=dict()))


# ----------------------------------------------------------- inference_video
def test_inference_matches_the_test_dataset(setup):
    """With stride 1 every frame is the centre of its own clip, exactly as
    the test dataset builds the clip of an annotated frame: the predictions
    must agree pixel for pixel."""
    model = setup['model']
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    video = setup['videos'][0]
    video_id = osp.splitext(osp.basename(video))[0]
    preds = inference_video(model, video, stride=1)
    checked = 0
    for idx in range(len(dataset)):
        if dataset.get_data_info(idx)['video_id'] != video_id:
            continue
        data = dataset[idx]
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([data]))[0]
        t = sample.label_frame_index
        frame = sample.frame_id - 1
        for field in ('pred_actor_seg', 'pred_action_seg', 'pred_fg_seg'):
            assert torch.equal(
                getattr(preds, field)[frame],
                getattr(sample, field)[t].cpu()), (field, frame)
        checked += 1
    assert checked == 3


def test_inference_video_shapes_and_metainfo(setup):
    model = init_model(setup['config'], setup['constant'])
    result = inference_video(model, setup['videos'][0])
    assert result.metainfo['num_frames'] == NUM_FRAMES
    assert result.metainfo['ori_shape'] == (HEIGHT, WIDTH)
    assert result.metainfo['clip_len'] == CLIP_LEN
    assert result.metainfo['stride'] == CLIP_LEN // 2
    assert result.metainfo['filename'] == setup['videos'][0]
    for field in ('pred_actor_seg', 'pred_action_seg', 'pred_fg_seg'):
        assert getattr(result, field).shape == (NUM_FRAMES, HEIGHT, WIDTH)
    # The constant checkpoint: every pixel adult (1) walking (8).
    assert (result.pred_actor_seg == 1).all()
    assert (result.pred_action_seg == 8).all()
    assert (result.pred_fg_seg == 1).all()


def test_frames_array_equals_file(setup):
    model = setup['model']
    video = setup['videos'][1]
    frames = _decode_all(video)
    from_file = inference_video(model, video, clip_len=6, stride=3)
    from_array = inference_video(model, frames, clip_len=6, stride=3)
    from_list = inference_video(model, list(frames), clip_len=6, stride=3)
    assert from_array.metainfo['filename'] is None
    assert from_file.metainfo['clip_len'] == 6
    for field in ('pred_actor_seg', 'pred_action_seg', 'pred_fg_seg'):
        assert torch.equal(
            getattr(from_file, field), getattr(from_array, field))
        assert torch.equal(
            getattr(from_list, field), getattr(from_array, field))
    # The streaming form yields the same frames, in order.
    streamed = list(iter_video_predictions(model, frames, 6, 3))
    assert [i for i, _, _ in streamed] == list(range(NUM_FRAMES))
    np.testing.assert_array_equal(streamed[3][1], frames[3])
    assert torch.equal(streamed[3][2]['pred_actor_seg'],
                       from_array.pred_actor_seg[3])


def test_inference_errors(setup, tmp_path):
    model = setup['model']
    with pytest.raises(ValueError, match='uint8 RGB'):
        inference_video(model, np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(ValueError, match='uint8 RGB'):
        inference_video(model, np.zeros((4, 8, 8, 3), np.float32))
    with pytest.raises(Exception, match='missing.mp4'):
        inference_video(model, str(tmp_path / 'missing.mp4'))
    bare = torch.nn.Module()
    with pytest.raises(AttributeError, match='init_model'):
        inference_video(bare, np.zeros((4, 8, 8, 3), np.uint8))


def test_clip_pipeline_from_config(setup):
    cfg = Config.fromfile(setup['config'])
    pipeline, clip_len, interval = build_clip_pipeline(cfg)
    assert (clip_len, interval) == (CLIP_LEN, 1)
    assert [type(t).__name__ for t in pipeline.transforms
            ] == ['ClipSegResize', 'PackActorActionInputs']
    cfg.test_pipeline = [
        dict(type='VideoInit'),
        dict(type='VideoDecode'),
        dict(type='PackActorActionInputs')
    ]
    _, clip_len, _ = build_clip_pipeline(cfg)
    assert clip_len is None
    model = setup['model']
    model_cfg, model.cfg = model.cfg, cfg
    try:
        with pytest.raises(ValueError, match='clip_len'):
            inference_video(model, np.zeros((4, 32, 48, 3), np.uint8))
    finally:
        model.cfg = model_cfg
    cfg.test_pipeline = [
        dict(type='LoadFlowFrames'),
        dict(type='PackActorActionInputs')
    ]
    with pytest.raises(ValueError, match='optical flow'):
        build_clip_pipeline(cfg)
