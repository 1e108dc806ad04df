"""`GantryFlaggingCallback`: Gradio's Flag button, stored in gantry_gradio.

Works as `gr.Interface(..., flagging_callback=...)` and wired by hand in
`gr.Blocks`. A flag joins the prediction it is about: the latest one the
`monitor` wrapper logged in the same browser session. A flag with no such
prediction is a user report, stored in the companion application
"<application>.reports", never as a prediction of the app: its values are
whatever the client sent, so they must not count in the app's predictions or
acceptance rates. Its files are never copied: Gradio does not record who
uploaded a file, so a path in the payload may be another user's upload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradio.components import Component
from gradio.flagging import FlaggingCallback

from .. import default_client
from ..client import Client
from ..ingest.join_key import JoinKey
from .context import current_blocks, session_and_user
from .sessions import recent_predictions


class GantryFlaggingCallback(FlaggingCallback):
    def __init__(
        self, application: str, *, version: str | None = None, client: Client | None = None
    ) -> None:
        self.application = application
        #: Where flags without a prediction of this session go (see module doc).
        self.reports_application = f"{application}.reports"
        self.version = version
        self._client = client
        self.components: list[Component] = []
        self.output_components: list[Component] | None = None
        self.flagged = 0

    @property
    def client(self) -> Client:
        return self._client or default_client.get_client()

    def setup(
        self,
        components: Sequence[Component],
        flagging_dir: str | None = None,
        *,
        output_components: Sequence[Component] | None = None,
    ) -> None:
        """`flagging_dir` is accepted for Gradio's sake and unused: a flag is a
        record, and the files it is about are those its prediction stored. In
        `gr.Blocks`, name the `output_components` among `components`
        (gr.Interface tells us itself)."""
        self.components = list(components)
        self.output_components = list(output_components) if output_components else None

    def flag(
        self, flag_data: list[Any], flag_option: str | None = None, username: str | None = None
    ) -> int:
        """Log the flag on this session's latest prediction, else as a user
        report. A failure is counted and logged, then raised so Gradio shows "Error!"."""
        try:
            self._flag(flag_data, flag_option, username)
        except Exception as exc:
            self.client.absorb_failure(f"flagging for {self.application!r}", exc)
            raise
        self.flagged += 1
        return self.flagged

    def _flag(self, flag_data: list[Any], flag_option: str | None, username: str | None) -> None:
        session, login = session_and_user()
        username = login or username  # the login wins over a name the caller passes
        feedback: dict[str, Any] = {"flag": flag_option or "flagged"}
        if username:
            feedback["flagged_by"] = username
        join_key = recent_predictions.latest(self.application, session) if session else None
        if join_key is not None:
            self.client.log_record(self.application, feedback=feedback, join_key=join_key)
            return
        inputs, outputs = self._split(flag_data)
        tags = {"source": "flag", "reported_application": self.application}
        if session:
            tags["session"] = session
        if login:
            tags["username"] = login
        self.client.log_record(
            self.reports_application,
            self.version,
            inputs=inputs,
            outputs=outputs or None,
            feedback=feedback,
            join_key=JoinKey.from_dict({"session": session, "inputs": inputs, "outputs": outputs}),
            tags=tags,
        )

    def _split(self, flag_data: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        outputs = self.output_components
        if outputs is None:
            outputs = list(getattr(current_blocks(), "output_components", None) or [])
        output_ids = {id(c) for c in outputs}
        inputs_part: dict[str, Any] = {}
        outputs_part: dict[str, Any] = {}
        components = self.components or [None] * len(flag_data)
        for index, (component, value) in enumerate(zip(components, flag_data, strict=False)):
            name = str(getattr(component, "label", None) or f"component_{index}")
            target = outputs_part if id(component) in output_ids else inputs_part
            if name in target:
                name = f"{name}_{index}"
            target[name] = _as_sent(value)
        return inputs_part, outputs_part


def _as_sent(value: Any) -> Any:
    """A reported value as plain JSON: text stays text (a path is never read),
    and content Gradio loaded from a file (an array, an image, bytes) is left
    out, since that file may be someone else's upload."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(key): _as_sent(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_sent(item) for item in value]
    return f"<{type(value).__name__}: not stored in user reports>"
