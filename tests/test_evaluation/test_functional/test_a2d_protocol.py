"""The A2D protocol against confusion matrices computed by hand."""
import numpy as np
import pytest

from ssa2d_mm.datasets.a2d_labels import PROTOCOL_JOINT_IDS
from ssa2d_mm.evaluation.functional import (JOINT_CLASS_NAMES,
                                            a2d_confusion_matrix, a2d_metrics,
                                            actor_action_to_joint,
                                            format_a2d_tables,
                                            pool_confusion_matrix,
                                            vidor_metrics, vidor_statistics)

IDX = {j: i for i, j in enumerate(PROTOCOL_JOINT_IDS)}

# (gt joint id, predicted joint id, pixels)
SCENARIO = [
    (0, 0, 10),
    (0, 18, 2),  # adult-walking on background
    (11, 11, 4),
    (11, 14, 2),  # adult-flying (invalid pair): actor right, action wrong
    (18, 18, 3),
    (18, 78, 1),  # dog-walking: action right, actor wrong
    (45, 0, 2),  # bird-jumping missed
    (45, 45, 2),
    (0, 69, 1),  # cat-none: a class without ground truth
]


def pixels(scenario):
    gt = np.concatenate([np.full(n, g) for g, _, n in scenario])
    pred = np.concatenate([np.full(n, p) for _, p, n in scenario])
    return gt, pred


def test_actor_action_to_joint():
    actor = np.array([[0, 1, 1, 255], [2, 0, 7, 3]])
    action = np.array([[0, 8, 0, 1], [9, 5, 9, 255]])
    joint = actor_action_to_joint(actor, action)
    # An actor without action, or an action without actor, is background.
    assert joint.tolist() == [[0, 18, 0, 255], [29, 0, 79, 255]]
    with pytest.raises(ValueError, match='outside'):
        actor_action_to_joint(np.array([8]), np.array([1]))
    with pytest.raises(ValueError, match='differ in shape'):
        actor_action_to_joint(np.zeros((2, 2)), np.zeros((2, 3)))


def test_confusion_matrix_counts_and_ignores():
    gt = np.array([[0, 0, 11], [11, 18, 255]])
    pred = np.array([[0, 11, 11], [14, 18, 79]])
    conf = a2d_confusion_matrix(gt, pred)
    assert conf.shape == (64, 64)
    assert conf.sum() == 5  # the ignored pixel is not counted
    for g, p in [(0, 0), (0, 11), (11, 11), (11, 14), (18, 18)]:
        assert conf[IDX[g], IDX[p]] == 1
    with pytest.raises(ValueError, match=r'prediction holds ids \[10\]'):
        a2d_confusion_matrix(np.array([11]), np.array([10]))
    with pytest.raises(ValueError, match=r'ground truth holds ids \[3\]'):
        a2d_confusion_matrix(np.array([3]), np.array([0]))
    with pytest.raises(ValueError, match='differ in shape'):
        a2d_confusion_matrix(np.zeros(3), np.zeros(4))


def test_pooling_to_actor_and_action():
    gt, pred = pixels(SCENARIO)
    conf = a2d_confusion_matrix(gt, pred)
    actor = pool_confusion_matrix(conf, np.array(PROTOCOL_JOINT_IDS) // 10, 8)
    expected = np.zeros((8, 8), dtype=np.int64)
    expected[0, 0], expected[0, 1], expected[0, 6] = 10, 2, 1
    expected[1, 1], expected[1, 7] = 9, 1  # 11->11, 11->14, 18->18; 18->78
    expected[4, 0], expected[4, 4] = 2, 2
    np.testing.assert_array_equal(actor, expected)
    action = pool_confusion_matrix(conf, np.array(PROTOCOL_JOINT_IDS) % 10, 10)
    expected = np.zeros((10, 10), dtype=np.int64)
    expected[0, 0], expected[0, 8], expected[0, 9] = 10, 2, 1
    expected[1, 1], expected[1, 4] = 4, 2
    expected[8, 8] = 4  # 18->18 and 18->78 share the action walking
    expected[5, 0], expected[5, 5] = 2, 2
    np.testing.assert_array_equal(action, expected)


def test_a2d_metrics_by_hand():
    gt, pred = pixels(SCENARIO)
    res = a2d_metrics(a2d_confusion_matrix(gt, pred))
    # Joint: classes with ground truth 0, 11, 18, 45.
    # IoU0 = 10/(13+12-10), IoU11 = 4/(6+4-4), IoU18 = 3/(4+5-3),
    # IoU45 = 2/(4+2-2).
    joint_iou = res['joint_iou']
    assert joint_iou[IDX[0]] == pytest.approx(2 / 3)
    assert joint_iou[IDX[11]] == pytest.approx(2 / 3)
    assert joint_iou[IDX[18]] == pytest.approx(1 / 2)
    assert joint_iou[IDX[45]] == pytest.approx(1 / 2)
    # Classes with only false positives are not evaluated.
    assert np.isnan(joint_iou[IDX[14]]) and np.isnan(joint_iou[IDX[69]])
    assert np.isnan(joint_iou).sum() == 60
    assert res['joint_miou'] == pytest.approx(7 / 12)
    assert res['joint_acc_class'] == pytest.approx(
        (10 / 13 + 4 / 6 + 3 / 4 + 2 / 4) / 4)
    assert res['joint_acc_global'] == pytest.approx(19 / 27)
    # Actor: IoU0 = 10/15, IoU1 = 9/12, IoU4 = 2/4.
    np.testing.assert_allclose(res['actor_iou'][[0, 1, 4]],
                               [2 / 3, 3 / 4, 1 / 2])
    assert res['actor_miou'] == pytest.approx(23 / 36)
    assert res['actor_acc_class'] == pytest.approx(
        (10 / 13 + 9 / 10 + 2 / 4) / 3)
    assert res['actor_acc_global'] == pytest.approx(21 / 27)
    # Action: IoU0 = 10/15, IoU1 = 4/6, IoU5 = 2/4, IoU8 = 4/6.
    np.testing.assert_allclose(res['action_iou'][[0, 1, 5, 8]],
                               [2 / 3, 2 / 3, 1 / 2, 2 / 3])
    assert res['action_miou'] == pytest.approx(5 / 8)
    assert res['action_acc_class'] == pytest.approx(
        (10 / 13 + 4 / 6 + 4 / 4 + 2 / 4) / 4)
    assert res['action_acc_global'] == pytest.approx(20 / 27)
    tables = format_a2d_tables(res)
    assert 'adult-climbing' in tables[2] and '66.67' in tables[2]


def test_false_positive_of_class_without_gt_hurts_others():
    gt, pred = pixels(SCENARIO)
    with_fp = a2d_metrics(a2d_confusion_matrix(gt, pred))
    gt, pred = pixels([s for s in SCENARIO if s[1] != 69])
    without = a2d_metrics(a2d_confusion_matrix(gt, pred))
    # The cat-none pixel is not a class of the mean, but it is a miss of
    # background: IoU0 goes from 10/14 to 10/15.
    assert without['joint_iou'][IDX[0]] == pytest.approx(10 / 14)
    assert with_fp['joint_iou'][IDX[0]] == pytest.approx(10 / 15)
    assert with_fp['joint_miou'] < without['joint_miou']


def test_invalid_pair_counts_against_joint_only():
    gt = np.array([11, 11])
    right = a2d_metrics(a2d_confusion_matrix(gt, np.array([11, 11])))
    invalid = a2d_metrics(a2d_confusion_matrix(gt, np.array([11, 14])))
    assert right['joint_miou'] == 1.0
    assert invalid['joint_miou'] == pytest.approx(0.5)
    assert invalid['action_miou'] == pytest.approx(0.5)
    assert invalid['actor_miou'] == 1.0


def test_joint_accuracy_over_valid_classes_only():
    # A ground-truth pixel of the invalid pair 14 enters the joint mIoU,
    # but the class-average / global joint accuracies use the 44 valid
    # classes, as the reference evaluation does.
    gt = np.array([11, 11, 14])
    pred = np.array([11, 14, 14])
    res = a2d_metrics(a2d_confusion_matrix(gt, pred))
    assert res['joint_miou'] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert res['joint_acc_class'] == pytest.approx(1 / 2)
    assert res['joint_acc_global'] == pytest.approx(1 / 2)
    assert res['actor_acc_global'] == 1.0


def test_a2d_metrics_rejects_empty_and_bad_shape():
    with pytest.raises(ValueError, match='no ground-truth pixel'):
        a2d_metrics(np.zeros((64, 64)))
    with pytest.raises(ValueError, match=r'\(64, 64\)'):
        a2d_metrics(np.ones((8, 8)))
    assert JOINT_CLASS_NAMES[IDX[78]] == 'dog-walking'


def vidor_case():
    gt_actor = np.array([[0, 1, 1], [2, 2, 255]])
    pred_actor = np.array([[1, 1, 0], [2, 1, 0]])
    gt_action = np.array([[[0, 1, 1], [1, 0, 0]], [[0, 0, 1], [1, 1, 1]]],
                         dtype=np.uint8)
    pred_action = np.array([[[1, 1, 0], [1, 1, 0]], [[0, 0, 0], [1, 0, 0]]],
                           dtype=np.uint8)
    return gt_actor, gt_action, pred_actor, pred_action


def test_vidor_by_hand():
    stats = vidor_statistics(*vidor_case(), num_actor_classes=3)
    np.testing.assert_array_equal(stats['actor_confusion'],
                                  [[0, 1, 0], [1, 1, 0], [0, 1, 1]])
    np.testing.assert_array_equal(stats['action_intersect'], [2, 1])
    np.testing.assert_array_equal(stats['action_gt'], [3, 3])
    np.testing.assert_array_equal(stats['action_pred'], [4, 1])
    np.testing.assert_array_equal(stats['joint_gt'], [[0, 0], [2, 1], [1, 2]])
    np.testing.assert_array_equal(stats['joint_pred'],
                                  [[0, 0], [3, 0], [1, 1]])
    np.testing.assert_array_equal(stats['joint_intersect'],
                                  [[0, 0], [1, 0], [1, 1]])
    res = vidor_metrics(stats)
    assert res['actor_miou'] == pytest.approx((0 + 1 / 4 + 1 / 2) / 3)
    assert res['actor_acc_class'] == pytest.approx(1 / 3)
    assert res['actor_acc_global'] == pytest.approx(2 / 5)
    assert res['action_miou'] == pytest.approx((2 / 5 + 1 / 3) / 2)
    assert res['joint_miou'] == pytest.approx((1 / 4 + 0 + 1 + 1 / 2) / 4)


def test_vidor_rejects_scores_and_bad_ids():
    gt_actor, gt_action, pred_actor, pred_action = vidor_case()
    with pytest.raises(ValueError, match='threshold'):
        vidor_statistics(gt_actor, gt_action, pred_actor,
                         pred_action.astype(np.float32), 3)
    with pytest.raises(ValueError, match='outside 0..1'):
        vidor_statistics(gt_actor, gt_action, pred_actor, pred_action, 2)
    with pytest.raises(ValueError, match='shapes disagree'):
        vidor_statistics(gt_actor, gt_action[:, :1], pred_actor, pred_action,
                         3)
