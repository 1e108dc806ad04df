"""Run as a subprocess by test_durability: log N records, say so, then wait to be killed."""

import sys
import time

from gantry_gradio import Client

store, blobs, spool, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = Client(store, blobs=blobs, spool_dir=spool)
for i in range(count):
    client.log_record(
        "crash-app",
        inputs={"i": i, "raw": f"blob {i % 7}".encode()},
        outputs={"inference": f"out {i}"},
        join_key=f"key-{i}",
    )
print("logged", flush=True)
time.sleep(600)
