from .a2d_protocol import (
    A2D_RESULT_KEYS, JOINT_CLASS_NAMES, NUM_PROTOCOL_CLASSES,
    PROTOCOL_VALID_MASK, VIDOR_RESULT_KEYS, a2d_confusion_matrix, a2d_metrics,
    actor_action_to_joint, confusion_iou_acc, format_a2d_tables,
    format_class_table, format_summary_table, pool_confusion_matrix,
    vidor_metrics, vidor_statistics)

__all__ = [
    'A2D_RESULT_KEYS', 'JOINT_CLASS_NAMES', 'NUM_PROTOCOL_CLASSES',
    'PROTOCOL_VALID_MASK', 'VIDOR_RESULT_KEYS', 'a2d_confusion_matrix',
    'a2d_metrics', 'actor_action_to_joint', 'confusion_iou_acc',
    'format_a2d_tables', 'format_class_table', 'format_summary_table',
    'pool_confusion_matrix', 'vidor_metrics', 'vidor_statistics'
]
