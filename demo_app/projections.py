"""The projections the demo computes, on its live predictions and on the
backfilled month alike, so the tab compares like with like."""

from __future__ import annotations

import os
from pathlib import Path

#: Need nothing from the network: a character distribution, an edit distance,
#: and alt-profanity-check's model, which ships inside its wheel.
OFFLINE = ["entropy", "edit", "profanity"]


def default_projections() -> list[str]:
    """The offline ones always; detoxify too when its weights are on disk
    (GANTRY_DETOXIFY_CHECKPOINT), since its hub download fails offline."""
    checkpoint = os.environ.get("GANTRY_DETOXIFY_CHECKPOINT")
    has_weights = bool(checkpoint) and Path(checkpoint).is_file()
    return OFFLINE + ["detoxify"] if has_weights else list(OFFLINE)
