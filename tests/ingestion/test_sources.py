"""How videos get in (ingestion/sources/): sniffing by content, capped saving, URL checks and
yt-dlp downloads from a real web server on 127.0.0.1. Plain pytest: no Django, no mocks."""

import contextlib
import functools
import hashlib
import http.server
import io
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.sources import SourceError, addresses, url_policy
from ingestion.sources.content import sniff_video_container
from ingestion.sources.downloads import download_url
from ingestion.sources.streams import save_stream
from ingestion.sources.url_policy import check_url_allowed

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MP4 = SHARED_DATA / "videos" / "couch_two_women.mp4"
AVI = SHARED_DATA / "videos" / "eye_makeup_ucf101.avi"
JPEG = SHARED_DATA / "misc" / "bbt1.jpg"
MAX_BYTES = 50 * 1024 * 1024


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


ENDLESS_BYTES = 64 * 1024 * 1024


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; /endless/NAME streams NAME over and over (up to ENDLESS_BYTES) without
    Content-Length, as a live or hostile server would, and records how much got through."""

    server: "_WebServer"

    def do_GET(self) -> None:
        if self.path.startswith("/redirect/"):  # /redirect/<url>: where a moved page points
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect/"))
            self.end_headers()
            return None
        if not self.path.startswith("/endless/"):
            return super().do_GET()
        body = (Path(self.directory) / self.path.removeprefix("/endless/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        self.server.endless_sent_bytes = 0
        with contextlib.suppress(OSError):  # the client hung up: what a size cap does
            while self.server.endless_sent_bytes < ENDLESS_BYTES:
                self.wfile.write(body)
                self.server.endless_sent_bytes += len(body)
        self.server.endless_finished.set()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _WebServer(http.server.ThreadingHTTPServer):
    base_url = ""
    endless_sent_bytes = 0
    endless_finished = threading.Event()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a download refused half-way resets the connection; that is expected here


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_WebServer]:
    """A web server on 127.0.0.1 serving real videos, a text file named like a video, and a
    page showing two videos (which yt-dlp reads as a playlist)."""
    folder = tmp_path_factory.mktemp("served")
    shutil.copy(MP4, folder / "clip.mp4")
    shutil.copy(AVI, folder / "clip.avi")
    (folder / "page.mp4").write_text("<!DOCTYPE html><html><body>Not a video</body></html>\n")
    (folder / "two_videos.html").write_text(
        "<!DOCTYPE html><html><head><title>Two clips</title></head><body>"
        '<video src="clip.avi"></video><video src="clip.mp4"></video></body></html>\n'
    )
    server = _WebServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


# --- sniff_video_container ----------------------------------------------------------------------


@pytest.mark.parametrize(("video", "container"), [(MP4, "mp4"), (AVI, "avi")])
def test_the_shared_videos_are_recognised_by_content_not_name(video, container, tmp_path):
    unnamed = tmp_path / "upload.bin"
    shutil.copy(video, unnamed)
    assert sniff_video_container(video) == container
    assert sniff_video_container(unnamed) == container


@pytest.mark.parametrize(
    ("suffix", "fourcc", "container"),
    [
        (".mkv", "MJPG", "mkv"),
        (".mov", "mp4v", "mov"),
        (".3gp", "mp4v", "3gp"),
        (".flv", "FLV1", "flv"),
        (".wmv", "WMV2", "asf"),
        (".ts", "mp4v", "mpegts"),
        (".vob", "mpg2", "mpeg"),
    ],
)
def test_containers_written_by_opencv_are_recognised(suffix, fourcc, container, tmp_path):
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")
    path = tmp_path / f"clip{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (64, 64))
    assert writer.isOpened()
    for shade in range(0, 250, 50):
        writer.write(np.full((64, 64, 3), shade, np.uint8))
    writer.release()
    assert sniff_video_container(path) == container


@pytest.mark.parametrize(
    "content",
    [
        JPEG.read_bytes(),
        os.urandom(64 * 1024),
        b"<!DOCTYPE html><html><body>a page</body></html>\n" * 50,
        b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom" + bytes(4096),  # AAC in an MP4 box
        b"OggS\x00\x02" + bytes(20) + b"\x01\x1e\x01vorbis" + bytes(4096),  # Ogg sound only
    ],
    ids=["jpeg", "random-bytes", "html", "m4a-audio", "ogg-vorbis"],
)
def test_pictures_pages_sounds_and_noise_are_not_videos(content, tmp_path):
    path = tmp_path / "looks_like.mp4"
    path.write_bytes(content)
    assert sniff_video_container(path) is None


# --- save_stream --------------------------------------------------------------------------------


def test_a_stream_is_saved_with_its_size_and_sha256(tmp_path):
    with open(MP4, "rb") as upload:
        stored = save_stream(upload, tmp_path / "saved", MAX_BYTES)
    assert stored.path == tmp_path / "saved"
    assert stored.size_bytes == MP4.stat().st_size
    assert stored.sha256 == sha256_of(MP4) == sha256_of(stored.path)


def test_an_iterable_of_chunks_is_saved_too(tmp_path):
    data = AVI.read_bytes()
    chunks = (data[i : i + 1000] for i in range(0, len(data), 1000))
    stored = save_stream(chunks, tmp_path / "saved", MAX_BYTES)
    assert (stored.size_bytes, stored.sha256) == (len(data), sha256_of(AVI))


def test_a_stream_over_the_cap_is_refused_at_once_and_the_partial_file_removed(tmp_path):
    chunks_read = 0

    def endless_chunks() -> Iterator[bytes]:
        nonlocal chunks_read
        while True:
            chunks_read += 1
            yield bytes(1024)

    with pytest.raises(SourceError, match="larger than the 10 KB allowed"):
        save_stream(endless_chunks(), tmp_path / "saved", 10 * 1024)
    assert chunks_read == 11
    assert list(tmp_path.iterdir()) == []


def test_a_photo_is_refused_as_not_a_video_and_removed(tmp_path):
    with pytest.raises(SourceError, match="not a video"), open(JPEG, "rb") as upload:
        save_stream(upload, tmp_path / "saved", MAX_BYTES)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_stream_is_refused(tmp_path):
    with pytest.raises(SourceError, match="empty"):
        save_stream(io.BytesIO(b""), tmp_path / "saved", MAX_BYTES)
    assert list(tmp_path.iterdir()) == []


# --- check_url_allowed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://[::1]:8000/", "loopback"),
        ("http://10.0.0.5/", "private"),
        ("https://192.168.1.1/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata service
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "non-public"),  # carrier-grade NAT
        ("http://[fc00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[ff02::1]/", "multicast"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped IPv6
        ("http://[::ffff:10.1.2.3]/", "private"),
        ("http://[64:ff9b::7f00:1]/", "loopback"),  # NAT64 of 127.0.0.1
        ("http://[2002:a00:1::]/", "private"),  # 6to4 of 10.0.0.1
    ],
)
def test_addresses_inside_the_network_are_refused_by_kind(url, kind):
    with pytest.raises(SourceError, match=f"a {kind} address"):
        check_url_allowed(url, allow_private_networks=False)
    check_url_allowed(url, allow_private_networks=True)


def test_localhost_is_resolved_and_refused_unless_allowed():
    with pytest.raises(SourceError, match=r"localhost resolves to (127\.0\.0\.1|::1)"):
        check_url_allowed("http://localhost:8000/clip.mp4", allow_private_networks=False)
    check_url_allowed("http://localhost:8000/clip.mp4", allow_private_networks=True)


@pytest.mark.parametrize("url", ["http://93.184.215.14/video.mp4", "https://[2606:4700::1111]/"])
def test_public_addresses_are_allowed(url):
    check_url_allowed(url, allow_private_networks=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.org/clip.mp4", "file:///etc/passwd", "javascript:alert(1)", "clip.mp4"]
)
def test_only_http_and_https_are_allowed_even_on_private_networks(url):
    with pytest.raises(SourceError, match="Only http:// and https:// links"):
        check_url_allowed(url, allow_private_networks=True)


def test_a_url_with_credentials_is_refused():
    with pytest.raises(SourceError, match="user name or password"):
        check_url_allowed("https://user:secret@93.184.215.14/v.mp4", allow_private_networks=True)


def test_a_host_that_does_not_exist_is_reported():
    with pytest.raises(SourceError, match="could not be found"):
        check_url_allowed("https://no-such-host.invalid/v.mp4", allow_private_networks=False)


# --- download_url -------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "video"), [("127.0.0.1", MP4), ("localhost", AVI)])
def test_a_direct_link_to_a_video_file_is_downloaded(web_server, host, video, tmp_path):
    url = web_server.base_url.replace("127.0.0.1", host) + f"/clip{video.suffix}"
    progress_calls: list[float] = []
    downloaded = download_url(
        url,
        tmp_path,
        max_bytes=MAX_BYTES,
        allow_private_networks=True,
        progress=progress_calls.append,
    )
    assert downloaded.path.parent == tmp_path
    assert list(tmp_path.iterdir()) == [downloaded.path]  # no part files or work folder left
    assert downloaded.size_bytes == video.stat().st_size
    assert downloaded.sha256 == sha256_of(video) == sha256_of(downloaded.path)
    assert downloaded.title == "clip"
    assert progress_calls[-1] == 1.0 and progress_calls == sorted(progress_calls)


def test_a_loopback_link_is_refused_unless_private_networks_are_allowed(web_server, tmp_path):
    url = f"{web_server.base_url}/clip.mp4"
    with pytest.raises(SourceError, match=r"127\.0\.0\.1 is a loopback address"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=False)
    assert list(tmp_path.iterdir()) == []


def test_a_localhost_link_is_refused_naming_its_address(web_server, tmp_path):
    url = web_server.base_url.replace("127.0.0.1", "localhost") + "/clip.mp4"
    with pytest.raises(SourceError, match=r"localhost resolves to (127\.0\.0\.1|::1)"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=False)


@pytest.fixture
def loopback_plays_a_public_host(monkeypatch):
    """127.0.0.1 is judged public, as if the test server were on the internet; the rest of the
    loopback network (127.0.0.2 ...) stays inside this machine."""
    judge = addresses.non_public_kind

    def judged(address):
        return None if str(address) == "127.0.0.1" else judge(address)

    monkeypatch.setattr(addresses, "non_public_kind", judged)
    monkeypatch.setattr(url_policy, "non_public_kind", judged)


def test_a_public_host_is_downloaded_under_the_connection_guard(
    web_server, tmp_path, loopback_plays_a_public_host
):
    url = f"{web_server.base_url}/clip.mp4"
    downloaded = download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=False)
    assert downloaded.sha256 == sha256_of(MP4)


def test_a_redirect_into_the_network_is_refused_when_the_download_connects(
    web_server, tmp_path, loopback_plays_a_public_host
):
    port = web_server.server_address[1]
    url = f"{web_server.base_url}/redirect/http://127.0.0.2:{port}/clip.mp4"
    with pytest.raises(SourceError, match=r"led the download to 127\.0\.0\.2, a loopback"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=False)
    assert list(tmp_path.iterdir()) == []
    # An administrator who allows private networks gets the redirect followed.
    allowed = download_url(
        f"{web_server.base_url}/redirect/{web_server.base_url}/clip.mp4",
        tmp_path,
        max_bytes=MAX_BYTES,
        allow_private_networks=True,
    )
    assert allowed.sha256 == sha256_of(MP4)


def test_the_connection_guard_holds_only_in_its_own_thread(web_server):
    import urllib.error
    import urllib.request

    url = f"{web_server.base_url}/clip.mp4"
    fetched_elsewhere: list[int] = []
    with addresses.public_addresses_only():
        with pytest.raises(urllib.error.URLError, match="loopback address"):
            urllib.request.urlopen(url, timeout=5)
        other = threading.Thread(
            target=lambda: fetched_elsewhere.append(len(urllib.request.urlopen(url).read()))
        )
        other.start()
        other.join()
    assert fetched_elsewhere == [MP4.stat().st_size]
    assert len(urllib.request.urlopen(url, timeout=5).read()) == MP4.stat().st_size


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/clip.mp4", "file:///etc/hostname"])
def test_other_schemes_are_refused_before_any_download(url, tmp_path):
    with pytest.raises(SourceError, match="Only http:// and https:// links"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=True)
    assert list(tmp_path.iterdir()) == []


def test_a_page_named_like_a_video_is_refused_as_not_a_video(web_server, tmp_path):
    url = f"{web_server.base_url}/page.mp4"
    with pytest.raises(SourceError, match="not a video"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=True)
    assert list(tmp_path.iterdir()) == []


def test_a_video_over_the_cap_is_refused_and_nothing_is_left(web_server, tmp_path):
    url = f"{web_server.base_url}/clip.mp4"
    with pytest.raises(SourceError, match="larger than the 27 KB allowed"):
        download_url(url, tmp_path, max_bytes=27 * 1024, allow_private_networks=True)
    assert list(tmp_path.iterdir()) == []


def test_a_stream_without_length_is_cut_off_at_the_cap(web_server, tmp_path):
    url = f"{web_server.base_url}/endless/clip.mp4"
    web_server.endless_finished.clear()
    with pytest.raises(SourceError, match="larger than the 1 MB allowed"):
        download_url(url, tmp_path, max_bytes=1024 * 1024, allow_private_networks=True)
    assert list(tmp_path.iterdir()) == []
    assert web_server.endless_finished.wait(timeout=10)
    # Socket buffers hold a few MB; a download that ran on would have taken all 64 MB.
    assert web_server.endless_sent_bytes < ENDLESS_BYTES / 2


def test_a_missing_file_gives_a_clear_error(web_server, tmp_path):
    url = f"{web_server.base_url}/missing.mp4"
    with pytest.raises(SourceError, match=r"Nothing was found at .*/missing\.mp4 \(HTTP 404\)"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=True)
    assert list(tmp_path.iterdir()) == []


def test_a_page_without_a_video_gives_a_clear_error(web_server, tmp_path):
    url = f"{web_server.base_url}/"
    with pytest.raises(SourceError, match="No video was found"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=True)
    assert list(tmp_path.iterdir()) == []


def test_a_page_with_several_videos_gives_its_first_video(web_server, tmp_path):
    url = f"{web_server.base_url}/two_videos.html"
    downloaded = download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=True)
    assert downloaded.sha256 == sha256_of(AVI)
    assert list(tmp_path.iterdir()) == [downloaded.path]


def test_a_server_that_does_not_answer_gives_a_clear_error(tmp_path):
    url = "http://127.0.0.1:1/clip.mp4"  # port 1: nothing listens there
    with pytest.raises(SourceError, match=r"could not be reached .*Connection refused"):
        download_url(url, tmp_path, max_bytes=MAX_BYTES, allow_private_networks=True)
    assert list(tmp_path.iterdir()) == []
