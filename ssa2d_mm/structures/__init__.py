from .actor_action_data_sample import ActorActionDataSample

__all__ = ['ActorActionDataSample']
