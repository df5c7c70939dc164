"""``assert_replays``: a recorded session as a regression test.

Example:
    >>> from devduck_otel.testing import assert_replays
    >>> def test_incident_42():  # doctest: +SKIP
    ...     assert_replays("incidents/42.zip", make_agent)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from devduck_otel.replay._run import ReplayResult


def assert_replays(
    path: str | os.PathLike[str], agent_factory: Callable[[], Any], *, allow_pickle: bool = False
) -> ReplayResult:
    """Replay the session at ``path`` on a fresh agent and fail if it diverges.

    Nothing is recorded and nothing runs live: every model response and tool result
    comes from the recording.

    Args:
        path: The session ZIP.
        agent_factory: Builds a fresh agent (called once).
        allow_pickle: Load and serve pickled values.

    Returns:
        The replay result, when it did not diverge.

    Raises:
        AssertionError: The agent diverged; the message holds the divergence and its diff.
    """
    from devduck_otel.session._loader import load_session

    session = load_session(path, allow_pickle=allow_pickle)
    result = session.replay(agent_factory(), record=False, allow_pickle=allow_pickle)
    if result.divergence is not None:
        raise AssertionError(f"{os.fspath(path)} no longer replays: {result.divergence}")
    return result
