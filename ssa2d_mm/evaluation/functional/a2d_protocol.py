"""The A2D actor-action segmentation protocol, and its VidOR counterpart.

One implementation, in numpy, shared by :class:`ActorActionMetric` (during
``tools/test.py``) and ``tools/eval_a2d.py`` (a folder of predictions in the
official form). The A2D part follows the reference evaluation of Kalogeiton
et al. (ICCV 2017, ``vic_eval_segmentation.m``, built on Xu et al. CVPR 2015):

- One confusion matrix over the 64 joint ids of the protocol
  (:data:`PROTOCOL_JOINT_IDS`: background + 7 actors x 9 actions, valid pairs
  or not), rows = ground truth, columns = prediction, summed over every pixel
  of every evaluated frame at the original resolution. Nothing is averaged
  per frame.
- ``IoU_c = C[c, c] / (row_c + col_c - C[c, c])``; the mean runs over the
  classes that have ground-truth pixels, background included. A class
  without ground truth is left out of the mean, but its false positives stay
  in the rows of the classes they were taken from, so they lower those IoUs.
- Actor and action scores pool the same matrix: actor = id // 10 (8 classes),
  action = id % 10 (10 classes). A predicted invalid pair (say 14,
  adult-flying) is a wrong joint label, yet a right actor.
- Class-average accuracy: mean over classes of correct / ground-truth pixels
  (joint: over the 44 valid classes, background included, as the reference
  does); global accuracy: correct / ground-truth pixels (joint: over the
  pixels of the 44 valid classes, as the reference does; on A2D every
  ground-truth pixel belongs to one).

Ignored pixels: A2D's ground truth has no ignore label. Pixels whose ground
truth is ``ignore_index`` (255, the project's label of unannotated voxels)
are dropped before counting; the official frames have none.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from prettytable import PrettyTable

from ssa2d_mm.datasets.a2d_labels import (ACTIONS, ACTORS, NUM_ACTIONS,
                                          NUM_ACTORS, PROTOCOL_JOINT_IDS,
                                          VALID_JOINT_IDS)

#: Number of joint classes of the protocol's confusion matrix.
NUM_PROTOCOL_CLASSES = len(PROTOCOL_JOINT_IDS)  # 64

_PROTOCOL_IDS = np.asarray(PROTOCOL_JOINT_IDS, dtype=np.int64)
#: Row / column of each joint id (0..79) in the confusion matrix, -1 if none.
_JOINT_TO_INDEX = np.full(10 * NUM_ACTORS, -1, dtype=np.int64)
_JOINT_TO_INDEX[_PROTOCOL_IDS] = np.arange(NUM_PROTOCOL_CLASSES)
#: Actor (id // 10) and action (id % 10) of every protocol class.
PROTOCOL_ACTOR_OF = _PROTOCOL_IDS // 10
PROTOCOL_ACTION_OF = _PROTOCOL_IDS % 10
#: Which protocol classes are background or one of the 43 valid pairs (44).
PROTOCOL_VALID_MASK = np.isin(_PROTOCOL_IDS, (0, ) + VALID_JOINT_IDS)

#: Names of the protocol's joint classes, e.g. ``'adult-climbing'``.
JOINT_CLASS_NAMES: Tuple[str, ...] = tuple(
    'background' if j == 0 else f'{ACTORS[j // 10]}-{ACTIONS[j % 10]}'
    for j in PROTOCOL_JOINT_IDS)

#: Keys of the scalar results, in the order the tables print them.
A2D_RESULT_KEYS: Tuple[str, ...] = ('actor_miou', 'action_miou', 'joint_miou',
                                    'actor_acc_class', 'action_acc_class',
                                    'joint_acc_class', 'actor_acc_global',
                                    'action_acc_global', 'joint_acc_global')


def actor_action_to_joint(actor_map: np.ndarray,
                          action_map: np.ndarray,
                          ignore_index: int = 255) -> np.ndarray:
    """Combine an actor map and an action map into an A2D joint-id map.

    A pixel is an actor-action label only when both its actor (1..7) and its
    action (1..9) are foreground: joint id ``10 * actor + action``. A pixel
    with a background actor or a background action is background (0): the
    official form (the A2D colour table) has no colour for an actor without
    an action or an action without an actor. Pixels where either map holds
    ``ignore_index`` get ``ignore_index``.

    Args:
        actor_map (np.ndarray): Actor classes ``(H, W)``, 0..7.
        action_map (np.ndarray): Action classes ``(H, W)``, 0..9.
        ignore_index (int): Label of unannotated pixels. Defaults to 255.

    Returns:
        np.ndarray: int64 joint ids ``(H, W)``, each in
        :data:`PROTOCOL_JOINT_IDS` or ``ignore_index``.

    Raises:
        ValueError: if the shapes differ, or a class is out of range.
    """
    actor = np.asarray(actor_map).astype(np.int64)
    action = np.asarray(action_map).astype(np.int64)
    if actor.shape != action.shape:
        raise ValueError(f'actor map {actor.shape} and action map '
                         f'{action.shape} differ in shape')
    ignored = (actor == ignore_index) | (action == ignore_index)
    bad_actor = ~ignored & ((actor < 0) | (actor >= NUM_ACTORS))
    bad_action = ~ignored & ((action < 0) | (action >= NUM_ACTIONS))
    if bad_actor.any() or bad_action.any():
        raise ValueError(
            f'actor ids {sorted(set(actor[bad_actor].tolist()))} / action '
            f'ids {sorted(set(action[bad_action].tolist()))} are outside '
            f'A2D\'s 0..{NUM_ACTORS - 1} / 0..{NUM_ACTIONS - 1}')
    joint = np.where((actor > 0) & (action > 0), 10 * actor + action, 0)
    return np.where(ignored, ignore_index, joint)


def _protocol_index(joint: np.ndarray, what: str) -> np.ndarray:
    """Rows/columns of joint ids in the confusion matrix; raise if unknown."""
    inside = (joint >= 0) & (joint < len(_JOINT_TO_INDEX))
    index = np.where(inside, _JOINT_TO_INDEX[np.clip(joint, 0, 79)], -1)
    if (index < 0).any():
        raise ValueError(f'{what} holds ids '
                         f'{sorted(set(joint[index < 0].tolist()))} '
                         'that are not joint ids of the A2D protocol '
                         '(0, or 10 * actor + action with actor 1..7 and '
                         'action 1..9)')
    return index


def a2d_confusion_matrix(gt_joint: np.ndarray,
                         pred_joint: np.ndarray,
                         ignore_index: int = 255) -> np.ndarray:
    """The protocol's confusion matrix of one frame (or any set of pixels).

    Args:
        gt_joint (np.ndarray): Ground-truth joint ids, any shape (usually
            ``(H, W)`` at the original resolution).
        pred_joint (np.ndarray): Predicted joint ids, same shape; every id
            must be one of :data:`PROTOCOL_JOINT_IDS`.
        ignore_index (int): Ground-truth pixels with this value are not
            counted. Defaults to 255.

    Returns:
        np.ndarray: int64 ``(64, 64)``, ``C[i, j]`` = pixels of ground-truth
        class ``PROTOCOL_JOINT_IDS[i]`` predicted as ``PROTOCOL_JOINT_IDS[j]``.

    Raises:
        ValueError: if the shapes differ or an id is not a protocol id.
    """
    gt = np.asarray(gt_joint).astype(np.int64)
    pred = np.asarray(pred_joint).astype(np.int64)
    if gt.shape != pred.shape:
        raise ValueError(f'ground truth {gt.shape} and prediction '
                         f'{pred.shape} differ in shape')
    keep = gt != ignore_index
    rows = _protocol_index(gt[keep], 'the ground truth')
    cols = _protocol_index(pred[keep], 'the prediction')
    n = NUM_PROTOCOL_CLASSES
    return np.bincount(rows * n + cols, minlength=n * n).reshape(n, n)


def pool_confusion_matrix(confusion: np.ndarray, groups: np.ndarray,
                          num_groups: int) -> np.ndarray:
    """Sum the rows and columns of a confusion matrix by group.

    Args:
        confusion (np.ndarray): ``(K, K)`` counts.
        groups (np.ndarray): ``(K, )`` group of each class, in
            ``0..num_groups - 1``.
        num_groups (int): Number of groups ``G``.

    Returns:
        np.ndarray: ``(G, G)`` pooled counts (``M^T C M`` with ``M`` the
        one-hot group membership).
    """
    member = np.zeros((len(groups), num_groups), dtype=np.int64)
    member[np.arange(len(groups)), groups] = 1
    return member.T @ np.asarray(confusion, dtype=np.int64) @ member


def confusion_iou_acc(confusion: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class IoU and accuracy of a ``(K, K)`` confusion matrix.

    Returns:
        tuple: ``(iou, acc)``, float64 ``(K, )`` each; NaN for classes
        without ground-truth pixels (they are not evaluated).
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    gt = confusion.sum(1)
    union = gt + confusion.sum(0) - tp
    has_gt = gt > 0
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(has_gt, tp / union, np.nan)
        acc = np.where(has_gt, tp / gt, np.nan)
    return iou, acc


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


def a2d_metrics(confusion: np.ndarray) -> Dict[str, object]:
    """A2D protocol scores from the summed joint confusion matrix.

    Args:
        confusion (np.ndarray): ``(64, 64)`` counts, rows = ground truth, as
            summed from :func:`a2d_confusion_matrix` over all frames.

    Returns:
        dict: the scalars of :data:`A2D_RESULT_KEYS` (fractions in [0, 1]):
        ``actor_miou, action_miou, joint_miou, actor_acc_class,
        action_acc_class, joint_acc_class, actor_acc_global,
        action_acc_global, joint_acc_global``; plus per-class float64 arrays
        ``actor_iou`` ``(8, )``, ``action_iou`` ``(10, )``, ``joint_iou``
        ``(64, )`` (order of :data:`PROTOCOL_JOINT_IDS`) and ``actor_acc``,
        ``action_acc``, ``joint_acc``, NaN for classes without ground truth.

    Raises:
        ValueError: if the matrix has the wrong shape or no ground truth.
    """
    confusion = np.asarray(confusion, dtype=np.int64)
    n = NUM_PROTOCOL_CLASSES
    if confusion.shape != (n, n):
        raise ValueError(f'expected a ({n}, {n}) confusion matrix, got '
                         f'{confusion.shape}')
    if confusion.sum() == 0:
        raise ValueError('the confusion matrix holds no ground-truth pixel: '
                         'nothing was evaluated')
    results: Dict[str, object] = {}
    tables = dict(
        actor=pool_confusion_matrix(confusion, PROTOCOL_ACTOR_OF, NUM_ACTORS),
        action=pool_confusion_matrix(confusion, PROTOCOL_ACTION_OF,
                                     NUM_ACTIONS),
        joint=confusion)
    for name, matrix in tables.items():
        iou, acc = confusion_iou_acc(matrix)
        tp = np.diag(matrix)
        gt = matrix.sum(1)
        if name == 'joint':
            # The reference averages accuracy over the 44 valid classes only.
            acc_class = _nanmean(acc[PROTOCOL_VALID_MASK])
            acc_global = tp[PROTOCOL_VALID_MASK].sum() / max(
                gt[PROTOCOL_VALID_MASK].sum(), 1)
        else:
            acc_class = _nanmean(acc)
            acc_global = tp.sum() / gt.sum()
        results[f'{name}_miou'] = _nanmean(iou)
        results[f'{name}_acc_class'] = float(acc_class)
        results[f'{name}_acc_global'] = float(acc_global)
        results[f'{name}_iou'] = iou
        results[f'{name}_acc'] = acc
    return results


# ---------------------------------------------------------------------------
# VidOR: single-label actors, multi-label actions.
# ---------------------------------------------------------------------------

#: Keys of the scalar VidOR results.
VIDOR_RESULT_KEYS: Tuple[str,
                         ...] = ('actor_miou', 'action_miou', 'joint_miou',
                                 'actor_acc_class', 'actor_acc_global')


def vidor_statistics(gt_actor: np.ndarray,
                     gt_action: np.ndarray,
                     pred_actor: np.ndarray,
                     pred_action: np.ndarray,
                     num_actor_classes: int = 81,
                     ignore_index: int = 255) -> Dict[str, np.ndarray]:
    """Pixel counts of one VidOR frame, to be summed over the dataset.

    Only pixels whose ground-truth actor is not ``ignore_index`` count.

    - Actors (single label, background 0 included): a confusion matrix.
    - Actions (multi-label, no background channel): for each action ``a``,
      ``|gt_a AND pred_a|``, ``|gt_a|`` and ``|pred_a|`` over the pixels;
      a predicted action on a background pixel is a false positive.
    - Joint (actor, action) pairs: a pixel carries the pair ``(c, a)`` when
      its actor is ``c > 0`` and action ``a`` is on; the ground-truth and the
      predicted pairs of a pixel agree on ``(c, a)`` when both actors are
      ``c`` and both have ``a`` on.

    Args:
        gt_actor (np.ndarray): ``(H, W)`` actor classes, 0 = background.
        gt_action (np.ndarray): ``(A, H, W)`` multi-hot actions.
        pred_actor (np.ndarray): ``(H, W)`` predicted actors.
        pred_action (np.ndarray): ``(A, H, W)`` predicted multi-hot actions
            (integer or boolean: thresholded already).
        num_actor_classes (int): Actor classes ``K``, background included.
            Defaults to 81.
        ignore_index (int): Defaults to 255.

    Returns:
        dict: int64 arrays ``actor_confusion`` ``(K, K)``,
        ``action_intersect``, ``action_gt``, ``action_pred`` ``(A, )``,
        ``joint_intersect``, ``joint_gt``, ``joint_pred`` ``(K, A)`` (row 0,
        the background actor, stays zero).

    Raises:
        ValueError: on mismatched shapes, float action maps or actor ids out
            of range.
    """
    gt_actor = np.asarray(gt_actor).astype(np.int64)
    pred_actor = np.asarray(pred_actor).astype(np.int64)
    gt_action = np.asarray(gt_action)
    pred_action = np.asarray(pred_action)
    for name, arr in (('ground-truth', gt_action), ('predicted', pred_action)):
        if np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f'{name} actions must be multi-hot integers or '
                             f'booleans, got {arr.dtype} (threshold scores '
                             'before evaluating)')
    if gt_actor.shape != pred_actor.shape or gt_action.shape != \
            pred_action.shape or gt_action.shape[1:] != gt_actor.shape:
        raise ValueError(
            f'shapes disagree: gt actor {gt_actor.shape}, pred actor '
            f'{pred_actor.shape}, gt action {gt_action.shape}, pred action '
            f'{pred_action.shape} (expected (H, W) and (A, H, W))')
    keep = gt_actor != ignore_index
    ga_c, pa_c = gt_actor[keep], pred_actor[keep]
    k = num_actor_classes
    for name, ids in (('ground-truth', ga_c), ('predicted', pa_c)):
        bad = (ids < 0) | (ids >= k)
        if bad.any():
            raise ValueError(f'{name} actor ids '
                             f'{sorted(set(ids[bad].tolist()))} are outside '
                             f'0..{k - 1}')
    ga = gt_action[:, keep].astype(bool)  # (A, N)
    pa = pred_action[:, keep].astype(bool)
    num_actions = ga.shape[0]

    def pair_counts(actors: np.ndarray, on: np.ndarray) -> np.ndarray:
        act, pix = np.nonzero(on)
        counts = np.bincount(
            actors[pix] * num_actions + act,
            minlength=k * num_actions).reshape(k, num_actions)
        counts[0] = 0  # background actor: no pair
        return counts

    both = ga & pa & (ga_c == pa_c)[None]
    return dict(
        actor_confusion=np.bincount(ga_c * k + pa_c,
                                    minlength=k * k).reshape(k, k),
        action_intersect=(ga & pa).sum(1).astype(np.int64),
        action_gt=ga.sum(1).astype(np.int64),
        action_pred=pa.sum(1).astype(np.int64),
        joint_intersect=pair_counts(ga_c, both),
        joint_gt=pair_counts(ga_c, ga),
        joint_pred=pair_counts(pa_c, pa))


def _iou_from_counts(intersect: np.ndarray, gt: np.ndarray,
                     pred: np.ndarray) -> np.ndarray:
    """IoU per class, NaN for classes without ground truth."""
    union = gt + pred - intersect
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(gt > 0, intersect / union, np.nan)


def vidor_metrics(stats: Dict[str, np.ndarray]) -> Dict[str, object]:
    """VidOR scores from :func:`vidor_statistics` summed over the dataset.

    Every IoU is intersection / union of pixels summed over all evaluated
    frames, averaged over the classes that have ground-truth pixels:

    - ``actor_miou``: the ``K`` actor classes, background counted (as A2D);
    - ``action_miou``: the ``A`` action classes (multi-label, per-pixel
      multi-hot intersection and union, no background class);
    - ``joint_miou``: the (actor, action) pairs present in the ground truth.

    This is what SSA2D's VidOR numbers (mIoU actor 5.1, action 7.9, joint
    2.1; ../shared/docs/SSA2D.md) are meant to be compared with; the authors'
    VidOR evaluation script is not public (their released code only has a
    class-pooled training-time IoU), so the comparison is indicative.
    Accuracies are reported for actors only (single label):
    ``actor_acc_class`` and ``actor_acc_global``.

    Returns:
        dict: the scalars of :data:`VIDOR_RESULT_KEYS` plus float64 arrays
        ``actor_iou`` ``(K, )``, ``action_iou`` ``(A, )``, ``joint_iou``
        ``(K, A)`` (NaN where there is no ground truth).

    Raises:
        ValueError: if there is no ground-truth pixel.
    """
    confusion = np.asarray(stats['actor_confusion'])
    if confusion.sum() == 0:
        raise ValueError('no ground-truth pixel: nothing was evaluated')
    actor_iou, actor_acc = confusion_iou_acc(confusion)
    action_iou = _iou_from_counts(stats['action_intersect'],
                                  stats['action_gt'], stats['action_pred'])
    joint_iou = _iou_from_counts(stats['joint_intersect'], stats['joint_gt'],
                                 stats['joint_pred'])
    return dict(
        actor_miou=_nanmean(actor_iou),
        action_miou=_nanmean(action_iou),
        joint_miou=_nanmean(joint_iou.ravel()),
        actor_acc_class=_nanmean(actor_acc),
        actor_acc_global=float(np.trace(confusion) / confusion.sum()),
        actor_iou=actor_iou,
        action_iou=action_iou,
        joint_iou=joint_iou)


# ---------------------------------------------------------------------------
# Logging.
# ---------------------------------------------------------------------------


def _percent(value: float) -> str:
    return 'n/a' if np.isnan(value) else f'{100 * value:.2f}'


def format_class_table(class_names: Sequence[str],
                       iou: np.ndarray,
                       acc: Optional[np.ndarray] = None,
                       keep: Optional[np.ndarray] = None) -> str:
    """A per-class table in percent, as mmseg's ``IoUMetric`` logs it.

    Args:
        class_names (Sequence[str]): ``K`` names.
        iou (np.ndarray): ``(K, )`` IoU (NaN: not evaluated, shown ``n/a``).
        acc (np.ndarray, optional): ``(K, )`` accuracy. Defaults to None.
        keep (np.ndarray, optional): ``(K, )`` boolean rows to show.
            Defaults to all rows.

    Returns:
        str: the table.
    """
    rows = np.arange(
        len(class_names)) if keep is None else np.flatnonzero(keep)
    table = PrettyTable()
    table.add_column('Class', [class_names[i] for i in rows])
    table.add_column('IoU', [_percent(iou[i]) for i in rows])
    if acc is not None:
        table.add_column('Acc', [_percent(acc[i]) for i in rows])
    return table.get_string()


def format_summary_table(results: Dict[str, object],
                         keys: Sequence[str] = A2D_RESULT_KEYS) -> str:
    """One-row table of the scalar results, in percent."""
    table = PrettyTable()
    for key in keys:
        if key in results:
            table.add_column(key, [_percent(float(results[key]))])
    return table.get_string()


def format_a2d_tables(results: Dict[str, object]) -> List[str]:
    """Per-class tables of :func:`a2d_metrics` results (actor, action,
    joint) and the summary; joint rows: the 44 valid classes and any other
    class with ground truth."""
    joint_keep = PROTOCOL_VALID_MASK | ~np.isnan(results['joint_iou'])
    return [
        format_class_table(ACTORS, results['actor_iou'], results['actor_acc']),
        format_class_table(ACTIONS, results['action_iou'],
                           results['action_acc']),
        format_class_table(JOINT_CLASS_NAMES, results['joint_iou'],
                           results['joint_acc'], joint_keep),
        format_summary_table(results, A2D_RESULT_KEYS)
    ]
