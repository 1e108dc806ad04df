"""Run as a subprocess by test_durability: log N records, say so, then wait to be killed.

Delivery stores the first batch for real, then stalls (a store that stopped
answering), so the kill always lands mid-delivery, whatever the machine's speed."""

import sys
import threading
import time

from gantry_gradio import Client

store, blobs, spool, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = Client(store, blobs=blobs, spool_dir=spool, batch_size=500)
write_first_batch_only = client.worker.writer.write
first_done = threading.Event()


def write_then_stall(entries):
    if first_done.is_set():
        time.sleep(600)
    result = write_first_batch_only(entries)
    first_done.set()
    return result


client.worker.writer.write = write_then_stall
for i in range(count):
    client.log_record(
        "crash-app",
        inputs={"i": i, "raw": f"blob {i % 7}".encode()},
        outputs={"inference": f"out {i}"},
        join_key=f"key-{i}",
    )
print("logged", flush=True)
time.sleep(600)
