"""What the viewer chose in the tab, as one value.

The tab's handlers take their inputs as one dict (Gradio's set-of-inputs
form); `Controls.of` names the values once, so no handler repeats a dozen
positional parameters and a new control is added in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .panels import Scope

MAX_PAGE = 10**7


@dataclass(frozen=True)
class Controls:
    """The tab's inputs, in the order of its events' inputs (the access
    token last). `columns` is the rows table's column choice (empty: the
    compact default)."""

    application: str | None = None
    preset: str = "all"
    bucket: str = "auto"
    view: str | None = None
    start: str | None = None
    end: str | None = None
    filters: str | None = None
    tag: str | None = None
    projection: str | None = None
    page: Any = 0
    split: str | None = None
    columns: tuple[str, ...] = ()
    token: str | None = None

    @classmethod
    def of(cls, values: dict, components: list) -> Controls:
        """The controls from a handler's input dict; `components` are the
        tab's control components in this class's field order."""
        names = [f.name for f in fields(cls)]
        named = {
            name: values.get(component)
            for name, component in zip(names, components, strict=True)
        }
        named["columns"] = tuple(named["columns"] or ())
        return cls(**{name: value for name, value in named.items() if value is not None})

    def scope(self, application: str, *, view_dated: bool = False) -> Scope:
        """The records these controls select. The window comes from the custom
        start/end if set, else from the saved view if it has dates
        (`view_dated`), else from the time range; the view's filters apply
        in every case."""
        lines = [line.strip() for line in (self.filters or "").splitlines() if line.strip()]
        options = {"bucket": self.bucket or "auto", "view": self.view or None, "filters": lines}
        if self.start or self.end:
            return Scope(application, start=self.start or None, end=self.end or None, **options)
        if self.view and view_dated:
            return Scope(application, **options)
        return Scope.from_preset(application, self.preset, **options)

    def page_number(self) -> int:
        try:
            page = int(self.page or 0)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"page must be a whole number, not {self.page!r}") from None
        if not 0 <= page <= MAX_PAGE:
            raise ValueError(f"page must be between 0 and {MAX_PAGE:,}")
        return page

    def overriding(self, *, view_dated: bool) -> str | None:
        """What sets the window instead of the time range, if anything."""
        if self.start or self.end:
            return "the custom start/end"
        if self.view and view_dated:
            return f"the view '{self.view}'"
        return None

