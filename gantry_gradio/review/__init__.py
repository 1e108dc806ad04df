"""Review queues: reviewers label production records; labels are stored as
feedback on the records and become labeled datasets. The reviewers' Gradio
tab is `dashboard/review_tab.py`."""

from .queue import VERDICTS, ReviewItem, ReviewQueue
from .sources import ORDERS, QueueSource, ReviewError

__all__ = ["ORDERS", "VERDICTS", "QueueSource", "ReviewError", "ReviewItem", "ReviewQueue"]
