"""Replay: run a recorded session again, serving every model and tool step from the record.

Example:
    >>> session = devduck_otel.load_session("session.zip")  # doctest: +SKIP
    >>> result = session.replay(make_agent())  # doctest: +SKIP
    >>> result.diverged  # doctest: +SKIP
    False
"""
