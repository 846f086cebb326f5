from .actor_action_visualizer import ActorActionVisualizer

__all__ = ['ActorActionVisualizer']
