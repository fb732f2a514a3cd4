"""Nothing is seen without logging in; media files are served to logged-in users only, with range
requests for the player, and never outside the media folder."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

PAGES = ["/", "/add/", "/people/", "/people/1/", "/videos/1/", "/search/", "/jobs.json"]


@pytest.fixture
def media_file():
    path = settings.MEDIA_ROOT / "videos" / "test" / "clip.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(range(256)) * 4)  # 1024 bytes
    yield "/media/videos/test/clip.mp4"
    path.unlink()


@pytest.fixture
def logged_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer", password="x" * 20))
    return client


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={path}")


def test_the_login_page_logs_a_user_in_and_goes_to_the_dashboard(client, django_user_model):
    django_user_model.objects.create_user("viewer", password="a long password here")
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "viewer", "password": "a long password here"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_api_still_answers_an_anonymous_caller_in_its_own_error_format(client):
    response = client.get("/api/clusters")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_an_anonymous_visitor_gets_no_media_file(client, media_file):
    response = client.get(media_file)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_script_with_an_api_token_gets_media_and_a_wrong_token_does_not(
    api_client, client, media_file
):
    assert api_client.get(media_file).status_code == 200  # the API hands out crop URLs
    response = client.get(media_file, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_logged_in_user_gets_the_whole_file(logged_in, media_file):
    response = logged_in.get(media_file)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("header", "first", "last"), [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, 1023),
                                  ("bytes=-24", 1000, 1023), ("bytes=1000-5000", 1000, 1023)]
)  # fmt: skip
def test_a_range_request_gets_exactly_those_bytes(logged_in, media_file, header, first, last):
    response = logged_in.get(media_file, headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/1024"
    body = b"".join(response.streaming_content)
    assert body == (bytes(range(256)) * 4)[first : last + 1]
    assert int(response["Content-Length"]) == len(body)


def test_a_range_past_the_end_is_refused(logged_in, media_file):
    response = logged_in.get(media_file, headers={"Range": "bytes=2000-"})
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"


@pytest.mark.parametrize(
    "path", ["/media/../faaaaaces.sqlite3", "/media/%2e%2e/faaaaaces.sqlite3", "/media//etc/passwd",
             "/media/videos/test/missing.mp4"]
)  # fmt: skip
def test_nothing_outside_the_media_folder_is_served(logged_in, media_file, path):
    assert logged_in.get(path).status_code == 404
