"""Review queues: reviewers label production records in Gradio; labels are
stored as feedback on the records and become labeled datasets."""

from .queue import VERDICTS, ReviewItem, ReviewQueue
from .sources import ORDERS, QueueSource, ReviewError

__all__ = ["ORDERS", "VERDICTS", "QueueSource", "ReviewError", "ReviewItem", "ReviewQueue"]
