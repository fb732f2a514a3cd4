"""Adding videos in the browser: files dropped on the page, a batch of URLs; live progress."""

import base64
import re

from playwright.sync_api import expect

from tests.e2e.conftest import MAX_UPLOAD_MB, TWO_VIDEOS

JOB_TIMEOUT_MS = 300_000


def drop_files(page, selector: str, files: list[tuple[str, bytes]]) -> None:
    """Drop files on an element as a user dragging them from their desktop would."""
    payload = [{"name": n, "b64": base64.b64encode(b).decode()} for n, b in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, { type: "video/mp4" }));
            }
            return dt;
        }""",
        payload,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_two_dropped_videos_upload_and_are_processed_with_live_progress(logged_in, shot):
    page = logged_in
    # A dashboard left open in another tab follows the catalog's counts without a reload.
    dashboard = page.context.new_page()
    dashboard.goto("/")
    faces_before = dashboard.locator('[data-count="faces"] b').inner_text()
    page.bring_to_front()
    page.get_by_role("link", name="Add videos").first.click()
    uploads = []
    page.on("request", lambda r: "/api/upload_video" in r.url and uploads.append(r))
    too_big = ("too_big.mp4", b"\0" * ((MAX_UPLOAD_MB + 1) * 1024 * 1024))
    drop_files(page, "#dropzone", [(v.name, v.read_bytes()) for v in TWO_VIDEOS] + [too_big])

    rows = page.locator("#followed .job")
    expect(rows).to_have_count(3)
    refused = page.locator('#followed .job[data-file="too_big.mp4"]')
    expect(refused).to_contain_text(f"over the {MAX_UPLOAD_MB} MB limit")
    # A stage and a percentage show while the jobs run, without reloading the page.
    expect(page.locator("#followed .job .percent").first).to_have_text(re.compile(r"\d+%"))
    shot("uploading")
    done = page.locator('#followed .job[data-status="done"]')
    expect(done).to_have_count(2, timeout=JOB_TIMEOUT_MS)
    shot("done")
    assert len(uploads) == 2  # the file over the limit was never sent
    for video in TWO_VIDEOS:
        expect(page.locator("#followed")).to_contain_text(video.stem)

    expect(dashboard.locator('[data-count="faces"] b')).not_to_have_text(faces_before)
    dashboard.close()
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator('[data-count="videos"] b')).to_have_text(re.compile(r"[2-9]|\d\d"))
    shot("dashboard")


def test_a_batch_of_urls_queues_the_good_one_and_explains_the_refused_one(
    logged_in, web_server, shot
):
    page = logged_in
    page.goto("/add/")
    good = f"{web_server}/clip.mp4"
    refused = "https://someone:secret@example.org/clip.mp4"
    page.get_by_label("One URL a line").fill(f"{good}\n{refused}\n")
    page.get_by_role("button", name="Add them all").click()

    lines = page.locator("#batch-results li")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("queued as job")
    expect(lines.nth(1)).to_contain_text("user name or password")
    shot("batch-added")
    job = page.locator("#followed .job").first
    expect(job).to_have_attribute("data-status", "done", timeout=JOB_TIMEOUT_MS)
    expect(job).to_contain_text("Open the video")
    shot("batch-done")
