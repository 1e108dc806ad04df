"""Run as a subprocess by test_concurrent_feedback: one process logs
predictions, another the feedback for the same join keys, at the same time,
each through its own spool and delivery worker.

Arguments: store, spool folder, role (predictions | feedback), count, the
wall-clock second to start at (so both processes begin together), and the
seconds to spread the count over (0: as fast as possible)."""

import sys
import time

from gantry_gradio import Client

APP = "feedback-race"

store, spool, role, count, start_at, spread = sys.argv[1:7]
count, start_at, spread = int(count), float(start_at), float(spread)
client = Client(store, blobs=f"{spool}-blobs", spool_dir=spool)
for i in range(count):
    time.sleep(max(0.0, start_at + spread * i / count - time.time()))
    if role == "predictions":
        client.log_record(APP, inputs={"i": i}, outputs={"o": i}, join_key=f"key-{i}")
    else:
        client.log_record(APP, feedback={"accepted": i % 3 != 0}, join_key=f"key-{i}")
if not client.flush(300):
    sys.exit(f"{role}: not delivered in time: {client.stats()}")
client.close()
print(role, "delivered", flush=True)
