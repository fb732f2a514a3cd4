"""Search by photo with several faces: they are drawn as boxes, the largest picked; picking
another searches for that one. Every page fits a phone's width."""

import pytest
from playwright.sync_api import expect

from tests.conftest import SHARED_DATA

GROUP_PHOTO = SHARED_DATA / "misc" / "two_people.jpg"  # barack_obama, joe_biden


@pytest.fixture
def catalog_page(logged_in, two_videos_in_catalog):
    return logged_in


def test_a_photo_with_two_faces_shows_both_and_searches_the_one_picked(catalog_page, shot):
    page = catalog_page
    page.goto("/search/")
    page.locator("#photo-input").set_input_files(str(GROUP_PHOTO))
    boxes = page.locator("#photo-wrap button.box")
    expect(boxes).to_have_count(2, timeout=60_000)
    expect(page.locator('#photo-wrap button.box[aria-pressed="true"]')).to_have_count(1)
    first_result = page.locator("#results .result").first
    expect(first_result).to_be_visible()
    shot("two-faces")
    before = first_result.get_attribute("data-person-id")
    other = page.locator('#photo-wrap button.box[aria-pressed="false"]')
    other_label = other.get_attribute("aria-label")
    other.focus()
    page.keyboard.press("Enter")  # reachable from the keyboard
    expect(page.get_by_label(other_label)).to_have_attribute("aria-pressed", "true")
    expect(first_result).not_to_have_attribute("data-person-id", before, timeout=60_000)
    shot("other-face")


@pytest.mark.parametrize("path", ["/", "/add/", "/people/", "/search/"])
def test_pages_fit_a_phone_screen(catalog_page, shot, path):
    page = catalog_page
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(path)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    shot("phone")
    assert scroll_width <= 375, f"{path} is {scroll_width}px wide on a 375px screen"


def test_a_person_and_a_video_fit_a_phone_screen(catalog_page, shot):
    page = catalog_page
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/people/")
    page.locator(".card.person").first.click()
    expect(page.get_by_label("Name")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot("person")
    page.locator(".panel h3 a").first.click()
    expect(page.locator("#player")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot("video")
