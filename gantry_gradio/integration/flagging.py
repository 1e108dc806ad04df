"""`GantryFlaggingCallback`: Gradio's Flag button, stored in gantry_gradio.

Works as `gr.Interface(..., flagging_callback=...)` and wired by hand in
`gr.Blocks`. A flag joins the prediction it is about: the latest one the
`monitor` wrapper logged in the same browser session. Without a wrapper, the
flagged inputs and outputs become a prediction of their own, keyed by their
content, so flagging the same example twice still stores one prediction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from gradio.components import Component
from gradio.flagging import FlaggingCallback

from .._values import File
from ..client import Client
from ..join_key import JoinKey
from .context import current_blocks, session_and_user, uploads_in
from .sessions import recent_predictions


class GantryFlaggingCallback(FlaggingCallback):
    def __init__(
        self, application: str, *, version: str | None = None, client: Client | None = None
    ) -> None:
        self.application = application
        self.version = version
        self._client = client
        self.components: list[Component] = []
        self.output_components: list[Component] | None = None
        self.flagged = 0

    @property
    def client(self) -> Client:
        from .. import get_client

        return self._client or get_client()

    def setup(
        self,
        components: Sequence[Component],
        flagging_dir: str | None = None,
        *,
        output_components: Sequence[Component] | None = None,
    ) -> None:
        """`flagging_dir` is accepted for Gradio's sake and unused: files go to
        the blob store. In `gr.Blocks`, name the `output_components` among
        `components` (gr.Interface tells us itself)."""
        self.components = list(components)
        self.output_components = list(output_components) if output_components else None

    def flag(
        self, flag_data: list[Any], flag_option: str | None = None, username: str | None = None
    ) -> int:
        """Log the flag; uploads of flagged files happen in the background worker.
        A failure is counted and logged, then raised so Gradio shows "Error!"."""
        try:
            self._flag(flag_data, flag_option, username)
        except Exception as exc:
            self.client.absorb_failure(f"flagging for {self.application!r}", exc)
            raise
        self.flagged += 1
        return self.flagged

    def _flag(self, flag_data: list[Any], flag_option: str | None, username: str | None) -> None:
        session, session_user = session_and_user()
        username = username or session_user
        feedback: dict[str, Any] = {"flag": flag_option or "flagged"}
        if username:
            feedback["flagged_by"] = username
        join_key = recent_predictions.latest(self.application, session) if session else None
        if join_key is not None:
            self.client.log_record(self.application, feedback=feedback, join_key=join_key)
            return
        inputs, outputs = self._split(flag_data)
        tags = {"source": "flag"}
        if username:
            tags["username"] = username
        self.client.log_record(
            self.application,
            self.version,
            inputs=inputs,
            outputs=outputs or None,
            feedback=feedback,
            join_key=JoinKey.from_dict(
                {"flagged": _fingerprint(inputs), "outputs": _fingerprint(outputs)}
            ),
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
            target[name] = uploads_in(value)
        return inputs_part, outputs_part


def _fingerprint(values: dict[str, Any]) -> dict[str, Any]:
    """Stable content of flagged values: files by their bytes' hash, since the
    same image uploaded twice gets two different temporary paths."""
    return {
        name: _file_digest(value) if isinstance(value, File) else repr(value)
        for name, value in values.items()
    }


def _file_digest(file: File) -> str:
    digest = hashlib.sha256()
    with open(file.path, "rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()
