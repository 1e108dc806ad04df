"""What the review tab shows of an item: the model's change as an inline
word diff (for text-to-text records), then the whole record as the
monitoring tab's detail shows it (its own files linked, feedback events),
and the queue's progress."""

from __future__ import annotations

import difflib
import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..review import ReviewItem
from . import record_view

if TYPE_CHECKING:
    from ..client import Client


def text_pair(record: dict[str, Any]) -> tuple[str, str] | None:
    """(input, output) when the record has exactly one text input and one
    text output field: a text-to-text prediction, worth a diff."""
    inputs = [v for k, v in record.items() if k.startswith("inputs.") and isinstance(v, str)]
    outputs = [v for k, v in record.items() if k.startswith("outputs.") and isinstance(v, str)]
    if len(inputs) == 1 and len(outputs) == 1:
        return inputs[0], outputs[0]
    return None


def inline_diff(before: str, after: str) -> str:
    """Removed words struck through in red, added ones in green, as HTML."""
    old, new = before.split(), after.split()
    parts = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            parts.append(html.escape(" ".join(old[a0:a1])))
            continue
        if a1 > a0:
            removed = html.escape(" ".join(old[a0:a1]))
            parts.append(f'<del style="color:#b91c1c">{removed}</del>')
        if b1 > b0:
            added = html.escape(" ".join(new[b0:b1]))
            parts.append(f'<ins style="color:#15803d;text-decoration:none">{added}</ins>')
    return " ".join(parts)


def item_html(client: Client, application: str, item: ReviewItem, total: int) -> str:
    heading = f"<h3>Item {item.position + 1:,} of {total:,}</h3>"
    pair = text_pair(item.record)
    change = ""
    if pair is not None:
        source, output = pair
        change = (
            f"<p><b>Input</b>: {html.escape(source)}</p>"
            f"<p><b>Output</b>: {html.escape(output)}</p>"
            f"<p><b>What the model changed</b>: {inline_diff(source, output)}</p>"
        )
    others = item.labels - (1 if item.own_label else 0)
    note = f"<p><i>{others} other reviewer(s) labeled this item.</i></p>" if others > 0 else ""
    found = pd.DataFrame([item.record] if item.record else [])
    detail = record_view.record_html(client, application, found)
    return f'<div class="gantry-review-item">{heading}{change}{note}{detail}</div>'


def progress_text(progress: dict[str, Any], reviewer: str) -> str:
    done, total = progress["done"], progress["total"]
    share = f" ({100 * done / total:.0f} %)" if total else ""
    mine = progress["by_reviewer"].get(reviewer, 0)
    others = ", ".join(
        f"{name}: {count:,}" for name, count in progress["by_reviewer"].items() if name != reviewer
    )
    line = f"**{done:,} of {total:,} items done**{share} · you ({reviewer}): {mine:,} labeled"
    if others:
        line += f" · {others}"
    if progress["leased"]:
        line += f" · {progress['leased']:,} being reviewed now"
    return line


def agreement_text(agreement: dict[str, Any]) -> str:
    if not agreement["items"]:
        return ""
    return (
        f" · agreement on {agreement['items']:,} items with several labels: "
        f"{100 * agreement['verdict_agreement']:.0f} % same verdict, "
        f"{100 * agreement['label_agreement']:.0f} % same label"
    )


def default_label(record: dict[str, Any]) -> str:
    """The label box starts from the model's output, for editing."""
    pair = text_pair(record)
    if pair is not None:
        return pair[1]
    outputs = [v for k, v in record.items() if k.startswith("outputs.") and isinstance(v, str)]
    return outputs[0] if outputs else ""
