"""Which predictions each browser session made, most recent last.

Why in memory: a flag or an Accept click refers to "the prediction on my
screen"; Gradio tells each event its session, so a small per-session memory of
join keys is enough to join them, with no extra component for the user to wire.
Two users, or two tabs, are two sessions and never see each other's keys."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque


class SessionPredictions:
    def __init__(self, *, max_sessions: int = 10_000, per_session: int = 200) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[tuple[str, str], deque[tuple[str, str | None]]] = OrderedDict()
        self.max_sessions = max_sessions
        self.per_session = per_session

    def remember(
        self, application: str, session: str, join_key: str, output_text: str | None
    ) -> None:
        with self._lock:
            key = (application, session)
            history = self._sessions.pop(key, None) or deque(maxlen=self.per_session)
            history.append((join_key, output_text))
            self._sessions[key] = history
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)  # the least recently active session

    def latest(self, application: str, session: str | None) -> str | None:
        with self._lock:
            history = self._sessions.get((application, session or ""))
            return history[-1][0] if history else None

    def find_output(self, application: str, session: str | None, text: str) -> str | None:
        """The newest prediction of this session whose output text is `text`."""
        with self._lock:
            for join_key, output_text in reversed(
                self._sessions.get((application, session or ""), ())
            ):
                if output_text == text:
                    return join_key
        return None


#: One per process: the wrapper writes it, callbacks and buttons read it.
recent_predictions = SessionPredictions()
