"""A session: the engine thread and the controller that owns a session's life."""
