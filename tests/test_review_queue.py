"""Review queues on SQLite and a real PostgreSQL server: leases, labels as
feedback, relabel history, skips, k labels per item, races between reviewers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from gantry_gradio import ReviewError
from gantry_gradio.dashboard import review_render as render

APP = "review-app"


def _log(client, count=12):
    keys = client.log_records(
        APP,
        inputs=[{"text": f"input {i}"} for i in range(count)],
        outputs=[{"inference": f"output {i}"} for i in range(count)],
        feedbacks=[{"accepted": i % 3 != 0} for i in range(count)],
        tags=[{"age": i} for i in range(count)],
        timestamps=[
            pd.Timestamp("2022-04-01", tz="UTC") + pd.Timedelta(hours=i) for i in range(count)
        ],
    )
    assert client.flush(30)
    return keys


def test_queue_holds_the_selection_in_order(client):
    keys = _log(client)
    rejected = client.create_review_queue("rejected", APP, filters=["feedback.accepted == false"])
    assert rejected.total == 4
    first = rejected.next_item("ana")
    assert first.join_key == keys[9]  # newest first
    assert first.record["inputs.text"] == "input 9"
    oldest = client.create_review_queue("oldest", APP, order="oldest", sample=5, seed=3)
    positions = [oldest.item(i).record["tags.age"] for i in range(oldest.total)]
    assert len(positions) == 5 and positions == sorted(positions)
    assert client.list_review_queues(APP) == ["oldest", "rejected"]


def test_two_reviewers_never_get_the_same_item_and_leases_expire(client, monkeypatch):
    _log(client)
    # The queue's clock is stepped by hand: a slow machine must not let a
    # lease run out between two calls of this test.
    clock = [1_700_000_000_000_000]
    monkeypatch.setattr("gantry_gradio.review.queue.now_us", lambda: clock[0])
    queue = client.create_review_queue("q", APP, lease_seconds=1)
    ana, ben = queue.next_item("ana"), queue.next_item("ben")
    assert (ana.position, ben.position) == (0, 1)
    assert queue.next_item("ana").position == 0  # still hers on reload
    assert queue.progress()["leased"] == 2
    clock[0] += 500_000  # half a second later both leases still hold
    assert queue.progress()["leased"] == 2
    assert queue.next_item("carl").position == 2
    clock[0] += 500_000  # ana left: her lease runs out, and ben's
    assert queue.progress()["leased"] == 1  # carl's, taken later, still runs
    assert queue.next_item("dora").position == 0
    assert queue.renew("ana", 0) is False  # dora holds it now
    assert queue.renew("dora", 0) is True


def test_a_label_is_feedback_on_the_record(client):
    keys = _log(client)
    queue = client.create_review_queue("q", APP, order="oldest")
    item = queue.next_item("ana")
    assert queue.save("ana", item.position, "Input 0.", "wrong", "needs a capital") == 1
    assert client.flush(30)
    row = client.query(APP, filters=[("join_key", "==", keys[0])]).iloc[0]
    assert row["feedback.label"] == "Input 0."
    assert row["feedback.label_verdict"] == "wrong"
    assert row["feedback.reviewed_by"] == "ana"
    assert row["feedback.label_comment"] == "needs a capital"
    assert row["feedback.accepted"] == False  # noqa: E712 - earlier feedback kept
    labeled = client.query(APP, filters=["feedback.label_verdict == wrong"])
    assert list(labeled["join_key"]) == [keys[0]]
    assert queue.next_item("ana").position == 1


def test_relabel_keeps_history_and_does_not_count_twice(client):
    _log(client, 3)
    queue = client.create_review_queue("q", APP)
    item = queue.next_item("ana")
    queue.save("ana", item.position, "first", "wrong")
    assert queue.save("ana", item.position, "second", "right") == 1
    assert list(queue.labels()["label"]) == ["second"]
    assert list(queue.labels(history=True)["label"]) == ["first", "second"]
    assert queue.item(item.position, "ana").own_label["label"] == "second"
    assert queue.progress() == {"done": 1, "total": 3, "leased": 0, "by_reviewer": {"ana": 1}}


def test_skip_goes_to_others_and_visited_lists_it(client):
    _log(client, 2)
    queue = client.create_review_queue("q", APP)
    first = queue.next_item("ana")
    queue.skip("ana", first.position)
    second = queue.next_item("ana")
    assert second.position != first.position
    assert queue.next_item("ben").position == first.position
    queue.save("ana", second.position, "x", "unsure")
    assert queue.next_item("ana") is None
    assert queue.visited("ana") == [first.position, second.position]


def test_k_labels_per_item_and_agreement(client):
    _log(client, 2)
    queue = client.create_review_queue("q", APP, labels_per_item=2)
    for reviewer, verdicts in (("ana", ["wrong", "right"]), ("ben", ["wrong", "wrong"])):
        for verdict in verdicts:
            item = queue.next_item(reviewer)
            queue.save(reviewer, item.position, f"{verdict}-label", verdict)
    assert queue.next_item("ana") is None and queue.next_item("carl") is None
    progress = queue.progress()
    assert progress["done"] == 2 and progress["by_reviewer"] == {"ana": 2, "ben": 2}
    agreement = queue.agreement()
    assert agreement["items"] == 2 and agreement["pairs"] == 2
    shown = render.agreement_text(agreement)
    assert "2 items with several labels: 50 % same verdict, 50 % same label" in shown
    assert agreement["verdict_agreement"] == 0.5
    assert agreement["label_agreement"] == 0.5


def test_reviewers_racing_label_every_item_once(client):
    _log(client, 40)
    queue = client.create_review_queue("race", APP)
    saved: dict[str, list[int]] = {}
    lock = threading.Lock()

    def work(reviewer: str) -> None:
        while (item := queue.next_item(reviewer)) is not None:
            queue.save(reviewer, item.position, f"by {reviewer}", "right")
            with lock:
                saved.setdefault(reviewer, []).append(item.position)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, ["r1", "r2", "r3", "r4"]))
    everything = [p for positions in saved.values() for p in positions]
    assert sorted(everything) == list(range(40))  # each once, none lost
    labels = queue.labels()
    assert len(labels) == 40 and labels["position"].is_unique
    assert queue.progress()["done"] == 40


def test_two_saves_of_one_item_at_once_both_kept(client):
    _log(client, 1)
    queue = client.create_review_queue("q", APP)
    barrier = threading.Barrier(2)

    def save(reviewer):
        barrier.wait()
        return queue.save(reviewer, 0, f"by {reviewer}", "wrong")

    with ThreadPoolExecutor(2) as pool:
        counts = sorted(pool.map(save, ["ana", "ben"]))
    assert counts[-1] == 2
    assert sorted(queue.labels()["reviewer"]) == ["ana", "ben"]


def test_name_reused_after_delete_starts_empty(client):
    _log(client, 3)
    queue = client.create_review_queue("q", APP)
    queue.save("ana", 0, "x", "right")
    with pytest.raises(ReviewError, match="exists already"):
        client.create_review_queue("q", APP)
    assert client.create_review_queue("q", APP, exist_ok=True).total == 3
    with pytest.raises(ReviewError, match="exists already for 'review-app'"):
        client.create_review_queue("q", "another-app", exist_ok=True)
    client.delete_review_queue("q")
    again = client.create_review_queue("q", APP, sample=2)
    assert again.total == 2 and again.labels().empty and again.progress()["done"] == 0
    with pytest.raises(ReviewError, match="no review queue named 'gone'"):
        client.get_review_queue("gone")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"order": "sideways"}, "order must be one of"),
        ({"sample": 0}, "sample must be a positive integer"),
        ({"labels_per_item": 0}, "labels_per_item"),
        ({"lease_seconds": 0.001}, "lease_seconds"),
        ({"dataset": "d", "filters": ["tags.age > 1"]}, "not both"),
    ],
)
def test_bad_queue_definitions_are_refused(client, options, message):
    _log(client, 2)
    with pytest.raises(ReviewError, match=message):
        client.create_review_queue("bad", APP, **options)


def test_bad_labels_are_refused(client):
    _log(client, 1)
    queue = client.create_review_queue("q", APP)
    with pytest.raises(ReviewError, match="verdict"):
        queue.save("ana", 0, "x", "maybe")
    with pytest.raises(ReviewError, match="reviewer"):
        queue.save("", 0, "x", "right")
    with pytest.raises(ReviewError, match="no item"):
        queue.save("ana", 5, "x", "right")
    with pytest.raises(ReviewError, match="must be text"):
        queue.save("ana", 0, None, "right")
    assert queue.labels().empty


def test_queue_from_a_dataset_version(client):
    keys = _log(client, 6)
    dataset = client.create_dataset("picked")
    dataset.push(pd.DataFrame({"join_key": keys[:3]}), "three")
    queue = client.create_review_queue("from_ds", APP, dataset="picked", order="oldest")
    assert [queue.item(i).join_key for i in range(3)] == keys[:3]
    dataset.push(pd.DataFrame({"join_key": ["not-a-record"]}), "stranger")
    with pytest.raises(ReviewError, match="not records of"):
        client.create_review_queue("bad", APP, dataset="picked")


def test_the_review_tab_checks_access_and_its_application(client):
    import types

    import gradio as gr

    import gantry_gradio as gantry
    from gantry_gradio.dashboard.access import AccessDenied

    _log(client, 2)
    client.log_record("other-app", inputs={"text": "secret"}, outputs={"inference": "x"})
    assert client.flush(30)
    client.create_review_queue("mine", APP)
    client.create_review_queue("theirs", "other-app")
    with gr.Blocks():
        tab = gantry.review_tab(APP, client=client, allowed_users=["ana"])
    assert tab.queue.choices == [("mine", "mine")]  # the other app's queue is not offered
    ana = types.SimpleNamespace(username="ana", headers={}, client=None)
    eve = types.SimpleNamespace(username="eve", headers={}, client=None)
    with pytest.raises(AccessDenied):
        tab._open("mine", "", None, eve)
    progress, item, label, *_ = tab._open("mine", "", None, ana)
    assert "Item 1 of 2" in item and label == "output 1"
    refused = tab._open("theirs", "", None, ana)
    assert "not one of 'review-app'" in refused[5] and "secret" not in "".join(map(str, refused))


def test_without_logins_each_session_reviews_on_its_own(client):
    import types

    import gradio as gr

    import gantry_gradio as gantry

    _log(client, 3)
    client.create_review_queue("q", APP)
    token = "a-review-token-0123456789"
    with gr.Blocks():
        tab = gantry.review_tab(APP, "q", client=client, access_token=token)
    one = types.SimpleNamespace(username=None, session_hash="aaaaaaaa11", headers={}, client=None)
    two = types.SimpleNamespace(username=None, session_hash="bbbbbbbb22", headers={}, client=None)
    first, second = tab._open("q", token, None, one), tab._open("q", token, None, two)
    assert "Item 1 of 3" in first[1] and "Item 2 of 3" in second[1]
    handlers = tab._open.__self__  # the handlers the page's events call
    handlers.save("q", token, first[6], "fixed", "wrong", "", one)
    assert client.get_review_queue("q").labels()["reviewer"].tolist() == ["anonymous (aaaaaaaa)"]
