"""Log a few predictions and feedback, then read them back: the core API in one page.

    python examples/quickstart.py

Uses the embedded defaults: SQLite at ./gantry_data/records.db and blobs in
./gantry_data/blobs. Run it twice and the numbers grow: nothing is overwritten.
"""

import gantry_gradio as gantry

APP = "quickstart-gec"


def correct(text: str) -> str:
    """A stand-in model: `python -m demo_app` runs a real corrector."""
    return text.replace(" go ", " goes ").replace("  ", " ")


gantry.init(environment="dev")

examples = [
    ("She go to school.", "alice", 3, True),
    ("He go home  early.", "bob", 400, True),
    ("It go wrong.", "carol", 1, False),
]
for text, user, age, accepted in examples:
    output = correct(text)
    # In the request path: validation + one append to the spool, then return.
    key = gantry.log_record(
        APP,
        version="v1",
        inputs={"text": text},
        outputs={"inference": output},
        tags={"username": user, "account_age_days": age},
    )
    # Feedback may come seconds or months later; the join key ties it back.
    gantry.log_record(APP, feedback={"correction_accepted": accepted}, join_key=key)

gantry.flush(timeout=30)  # wait until the background worker stored everything

rows = gantry.query(APP, newest_first=True, limit=5)
print(rows[["inputs.text", "outputs.inference", "feedback.correction_accepted"]].to_string())
print()
print("Acceptance rate per day:")
print(gantry.percent_true(APP, "feedback.correction_accepted", bucket="day").to_string())
print()
gantry.create_view(APP, "young-accounts", filters=["tags.account_age_days <= 7"], replace=True)
young = gantry.percent_true(APP, "feedback.correction_accepted", view="young-accounts")
print("Young accounts:", young["percent_true"].round(2).tolist())
print("Delivery:", gantry.stats())
