"""The catalog in the browser: the gallery, naming a person, their video at their moment, finding
them again by a photo that is in no video."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OBAMA_PHOTO

OBAMA_ON_SCREEN_S = 1.5  # slideshow_1 shows obama.jpg from 0 to 3 s


@pytest.fixture
def catalog_page(logged_in, two_videos_in_catalog):
    return logged_in


def open_video(page, title: str) -> None:
    page.goto("/")
    page.locator(".card", has_text=title).click()
    expect(page.locator("h1")).to_have_text(title)


def person_on_screen_at(page, time_s: float) -> int:
    """The id of the person whose timeline lane has a segment at that moment."""
    return page.evaluate(
        """(t) => {
            for (const lane of document.querySelectorAll(".lane[data-person-id]")) {
                for (const s of lane.querySelectorAll(".segment")) {
                    if (Number(s.dataset.seek) <= t && t <= Number(s.dataset.end)) {
                        return Number(lane.dataset.personId);
                    }
                }
            }
            return null;
        }""",
        time_s,
    )


def player_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_the_gallery_shows_people_with_their_counts_and_filters(catalog_page, shot):
    page = catalog_page
    page.get_by_role("link", name="People").first.click()
    cards = page.locator(".card.person")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 4
    expect(cards.first).to_contain_text(re.compile(r"Unknown #\d+|\w"))
    expect(cards.first).to_contain_text(re.compile(r"\d+ faces? · \d+ videos?"))
    shot("gallery")
    page.get_by_role("link", name="Unnamed").click()
    expect(page).to_have_url(re.compile(r"show=unnamed"))
    page.set_viewport_size({"width": 390, "height": 844})
    shot("gallery-phone")


def test_a_named_person_is_found_at_their_moment_and_by_a_photo(catalog_page, shot):
    page = catalog_page
    open_video(page, "slideshow_1")
    person_id = person_on_screen_at(page, OBAMA_ON_SCREEN_S)
    assert person_id, "nobody on the timeline at 1.5 s of slideshow_1"
    shot("video-timeline")

    # Name them, inline on their page.
    page.locator(f'.lane[data-person-id="{person_id}"] .label a').click()
    name = page.get_by_label("Name")
    name.fill("Barack Obama")
    name.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Renamed to Barack Obama")
    expect(page.get_by_label("Name")).to_have_value("Barack Obama")
    shot("person-named")

    # A face's moment opens the video there.
    moment = page.locator(".face-moment").first
    face_time_s = float(moment.get_attribute("data-time"))
    moment.click()
    expect(page.locator("#player")).to_have_js_property("readyState", 4, timeout=15_000)
    page.wait_for_function(
        "(t) => Math.abs(document.getElementById('player').currentTime - t) < 0.5", arg=face_time_s
    )
    assert abs(player_time(page) - face_time_s) < 0.5
    # A segment of the timeline seeks the player to its start.
    segment = page.locator(".segment").last
    segment_start_s = float(segment.get_attribute("data-seek"))
    segment.click()
    page.wait_for_function(
        "(t) => Math.abs(document.getElementById('player').currentTime - t) < 0.2",
        arg=segment_start_s,
    )
    shot("video-at-moment")

    # A photo of him that is in no video finds him first.
    page.get_by_role("link", name="Search by photo").first.click()
    page.locator("#photo-input").set_input_files(str(OBAMA_PHOTO))
    first = page.locator("#results .result").first
    expect(first.locator(".person-name")).to_have_text("Barack Obama", timeout=60_000)
    expect(first).to_have_attribute("data-person-id", str(person_id))
    shot("search-result")
    first.locator("a.moment").first.click()
    expect(page).to_have_url(re.compile(r"/videos/\d+/\?t="))
    expect(page.locator("#player")).to_have_js_property("readyState", 4, timeout=15_000)
    assert player_time(page) > 0 or "t=0.00" in page.url


def test_an_anonymous_visitor_gets_the_login_page_and_no_crop_or_video(
    catalog_page, browser, base_url, shot
):
    page = catalog_page
    page.goto("/people/")
    crop_url = page.locator(".card.person img").first.get_attribute("src")
    open_video(page, "slideshow_1")
    video_url = page.locator("#player").get_attribute("src")
    assert crop_url.startswith("/media/") and video_url.startswith("/media/")
    # Logged in, the video answers range requests (the player seeks without the whole file).
    partial = page.request.get(video_url, headers={"Range": "bytes=100-199"})
    assert partial.status == 206 and len(partial.body()) == 100

    anonymous = browser.new_context(base_url=base_url)
    try:
        visitor = anonymous.new_page()
        visitor.goto("/people/")
        expect(visitor).to_have_url(re.compile(r"/login/\?next=/people/"))
        expect(visitor.get_by_role("button", name="Log in")).to_be_visible()
        visitor.screenshot(path=str(shot.folder / "anonymous-login.png"))
        for url in (crop_url, video_url, "/", "/search/", "/jobs.json"):
            response = anonymous.request.get(url, max_redirects=0)
            assert response.status == 302, url
            assert "/login/" in response.headers["location"], url
    finally:
        anonymous.close()
