import gantry_gradio as gantry

gantry.init()  # embedded defaults; see Configuration for PostgreSQL and S3

# In the request path: validate, serialize, append to a local spool, return (~40 µs).
key = gantry.log_record(
    "quickstart-gec",
    version="v1",
    inputs={"text": "She go to school."},
    outputs={"inference": "She goes to school."},
    tags={"username": "alice", "account_age_days": 3},  # context to slice by, as the demo does
)

# Feedback can arrive seconds or months later (or even before the prediction):
gantry.log_record("quickstart-gec", feedback={"correction_accepted": True}, join_key=key)
missed = gantry.log_record(
    "quickstart-gec", inputs={"text": "I has a cat."}, outputs={"inference": "I has a cat."},
    tags={"username": "bob", "account_age_days": 400},
)
gantry.log_record(  # a rejection, flagged with a reason
    "quickstart-gec", feedback={"correction_accepted": False, "flag": "incorrect"}, join_key=missed
)

gantry.flush(timeout=30)  # wait until the background worker stored everything

df = gantry.query("quickstart-gec")  # one row per prediction, feedback merged
print(df[["inputs.text", "outputs.inference", "feedback.correction_accepted"]].to_string())

print(gantry.percent_true("quickstart-gec", "feedback.correction_accepted", bucket="day"))
print(gantry.histogram("quickstart-gec", "tags.account_age_days", bins=20))
print(gantry.value_counts("quickstart-gec", "feedback.flag"))  # e.g. flags by category
