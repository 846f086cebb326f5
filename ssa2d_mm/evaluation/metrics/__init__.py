from .actor_action_metric import ActorActionMetric

__all__ = ['ActorActionMetric']
