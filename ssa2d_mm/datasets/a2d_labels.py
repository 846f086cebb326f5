"""A2D label space: actors, actions, joint ids and the official colour table.

Joint id = 10 * actor + action, 0 = background (Xu et al., CVPR 2015). The
model predicts actor classes ``0..7`` (0 = background) and action classes
``0..9`` (0 = background), so actor and action class indices equal their A2D
ids. See ``../shared/docs/DATASETS.md``.
"""
from typing import Dict, Tuple

import numpy as np

ACTORS: Tuple[str, ...] = ('background', 'adult', 'baby', 'ball', 'bird',
                           'car', 'cat', 'dog')
ACTIONS: Tuple[str, ...] = ('background', 'climbing', 'crawling', 'eating',
                            'flying', 'jumping', 'rolling', 'running',
                            'walking', 'none')
NUM_ACTORS = len(ACTORS)  # 8, background included
NUM_ACTIONS = len(ACTIONS)  # 10, background included

#: The 43 actor-action pairs that A2D annotates.
VALID_JOINT_IDS: Tuple[int, ...] = (
    11, 12, 13, 15, 16, 17, 18, 19, 21, 22, 26, 28, 29, 34, 35, 36, 39, 41,
    43, 44, 45, 46, 48, 49, 54, 55, 56, 57, 59, 61, 63, 65, 66, 67, 68, 69,
    72, 73, 75, 76, 77, 78, 79)

#: The 64 joint ids of the evaluation protocol: background + 7 x 9 pairs.
PROTOCOL_JOINT_IDS: Tuple[int, ...] = (0, ) + tuple(
    10 * actor + action for actor in range(1, NUM_ACTORS)
    for action in range(1, NUM_ACTIONS))

#: Official colour of every joint id (README of A2D), background black.
COLORS: Dict[int, Tuple[int, int, int]] = {
    0: (0, 0, 0),
    11: (52, 1, 1), 12: (103, 1, 1), 13: (154, 1, 1), 14: (205, 1, 1),
    15: (255, 1, 1), 16: (255, 51, 51), 17: (255, 103, 103),
    18: (255, 154, 154), 19: (255, 205, 205),
    21: (52, 46, 1), 22: (103, 92, 1), 23: (154, 138, 1), 24: (205, 184, 1),
    25: (255, 230, 1), 26: (255, 235, 51), 27: (255, 240, 103),
    28: (255, 245, 154), 29: (255, 250, 205),
    31: (11, 52, 1), 32: (21, 103, 1), 33: (31, 154, 1), 34: (41, 205, 1),
    35: (52, 255, 1), 36: (92, 255, 51), 37: (133, 255, 103),
    38: (174, 255, 154), 39: (215, 255, 205),
    41: (1, 52, 36), 42: (1, 103, 72), 43: (1, 154, 108), 44: (1, 205, 143),
    45: (1, 255, 179), 46: (51, 255, 194), 47: (103, 255, 210),
    48: (154, 255, 225), 49: (205, 255, 240),
    51: (1, 21, 52), 52: (1, 41, 103), 53: (1, 62, 154), 54: (1, 82, 205),
    55: (1, 103, 255), 56: (51, 133, 255), 57: (103, 164, 255),
    58: (154, 194, 255), 59: (205, 225, 255),
    61: (26, 1, 52), 62: (52, 1, 103), 63: (77, 1, 154), 64: (103, 1, 205),
    65: (128, 1, 255), 66: (154, 51, 255), 67: (179, 103, 255),
    68: (205, 154, 255), 69: (230, 205, 255),
    71: (52, 1, 31), 72: (103, 1, 62), 73: (154, 1, 92), 74: (205, 1, 123),
    75: (255, 1, 153), 76: (255, 51, 174), 77: (255, 103, 194),
    78: (255, 154, 215), 79: (255, 205, 235),
}


def joint_id(actor: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Joint ids from actor and action ids (background where actor is 0)."""
    actor = np.asarray(actor, dtype=np.int64)
    return np.where(actor > 0, 10 * actor + np.asarray(action), 0)


def _color_key(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


_KEYS = _color_key(np.array(list(COLORS.values())))
_IDS = np.array(list(COLORS.keys()), dtype=np.int64)
_ORDER = np.argsort(_KEYS)


def ids_to_color(ids: np.ndarray) -> np.ndarray:
    """Colour-code a joint-id map, ``(H, W)`` -> ``(H, W, 3)`` uint8 RGB.

    Raises:
        ValueError: if an id has no colour in the A2D table.
    """
    ids = np.asarray(ids)
    lut = np.zeros((80, 3), dtype=np.uint8)
    known = np.zeros(80, dtype=bool)
    for k, rgb in COLORS.items():
        lut[k] = rgb
        known[k] = True
    bad = (ids < 0) | (ids >= 80) | ~known[np.clip(ids, 0, 79)]
    if bad.any():
        raise ValueError(f'joint ids {sorted(set(ids[bad].tolist()))} '
                         'are not in the A2D colour table')
    return lut[ids]


def color_to_ids(rgb: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Decode an A2D colour-coded image, ``(H, W, 3)`` RGB -> joint ids.

    Returns:
        tuple: ``(ids, unknown)``: the ``(H, W)`` int64 joint-id map and a
        boolean ``(H, W)`` mask of pixels whose colour is not in the table
        (their id is set to -1); callers decide how to report them.
    """
    keys = _color_key(np.asarray(rgb)[..., :3])
    pos = np.searchsorted(_KEYS[_ORDER], keys).clip(0, len(_KEYS) - 1)
    found = _KEYS[_ORDER][pos] == keys
    ids = np.where(found, _IDS[_ORDER][pos], -1)
    return ids, ~found
