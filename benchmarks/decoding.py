"""What decoding costs for the frames sampling looks at, and which frames may be skipped.

    .venv/bin/python benchmarks/decoding.py [VIDEO ...] [--fps 1] [--output FILE]

For each video (default: the shared videos; pass e.g. /tmp/looped/crowd_royal_opera_house_x24.mp4
for the looped 1080p crowd): what its stream holds (codec, I/P/B frames, key frames, frames no
other frame refers to), then CPU and wall seconds and frames decoded for `VideoReader.looked_at`
under each way of decoding, one after the other in this process (one decoding thread, no models):
- every frame;
- every frame but the non-reference ones (the product: a sample may come a frame or two late);
- "exact": non-reference frames skipped unless a sample or a cut check looks at them;
- the same, skipped unless a sample looks at them (cut checks then see other frames);
- on top of the product's skipping: FFmpeg's `skip_loop_filter` (no deblocking: lossy, and for
  reference frames the pictures later frames are predicted from drift from the encoder's until
  the next key frame), and two decoding threads (frame or slice).
For each but the first, how far the sampled frames are from decoding every frame (for the
options, from the product's skipping without them): the same times and cuts or not, largest and
mean absolute pixel difference, worst PSNR.
The machine is shared: the 1-minute load average is kept with each timing. Writes
benchmarks/results/decoding.json (or --output) and prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
VIDEOS = REPO.parent / "shared" / "data" / "videos"
RESULTS = REPO / "benchmarks" / "results"

from ingestion.pipeline import frames  # noqa: E402  (after the path is set)

PICTURE_TYPES = {1: "I", 2: "P", 3: "B"}  # AVPictureType
# name -> how the product's reader skips frames, decoder options, thread type and count
WAYS = {
    "every frame": {"skipping": "none"},
    "non-reference (the product)": {"skipping": "non-reference"},
    "exact: non-reference unless looked at": {"skipping": "exact"},
    "exact for samples only": {"skipping": "exact", "samples_only": True},
    "+ skip_loop_filter noref": {"skipping": "non-reference",
                                 "options": {"skip_loop_filter": "noref"}},
    "+ skip_loop_filter all": {"skipping": "non-reference",
                               "options": {"skip_loop_filter": "all"}},
    "+ 2 frame threads": {"skipping": "non-reference", "threads": ("FRAME", 2)},
    "+ 2 slice threads": {"skipping": "non-reference", "threads": ("SLICE", 2)},
}  # fmt: skip


def stream_census(path: Path) -> dict:
    """What the video stream holds: every frame decoded once, then with non-reference skipped."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context
        types, keys = Counter(), 0
        for frame in container.decode(stream):
            types[PICTURE_TYPES.get(int(frame.pict_type), str(frame.pict_type))] += 1
            keys += frame.key_frame
        census = {"codec": codec.name, "profile": codec.profile,
                  "size": f"{codec.width}x{codec.height}", "frames": sum(types.values()),
                  "picture_types": dict(types), "key_frames": keys}  # fmt: skip
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        census["non_reference"] = census["frames"] - sum(1 for _ in container.decode(stream))
    return census


@contextmanager
def decoding(way: dict):
    """The product's reader, opened as `way` says (the benchmark's changes undone afterwards)."""
    real_open, real_init = av.open, frames.LookedAtPackets.__init__
    real_threads = frames.DECODING_THREADS

    def opened(*args, **kwargs):  # before the reader decodes: the decoder is not open yet
        container = real_open(*args, **kwargs)
        context = container.streams.video[0].codec_context
        context.options = dict(way.get("options", {}))
        if "threads" in way:
            context.thread_type, frames.DECODING_THREADS = way["threads"]
        return container

    def samples_only(self, origin, half_frame_s, intervals_s):  # cut checks: any frame decoded
        real_init(self, origin, half_frame_s, intervals_s[:1])

    frames.av.open = opened
    if way.get("samples_only"):
        frames.LookedAtPackets.__init__ = samples_only
    try:
        yield
    finally:
        frames.av.open, frames.DECODING_THREADS = real_open, real_threads
        frames.LookedAtPackets.__init__ = real_init


def _open(path: Path, way: dict) -> frames.VideoReader:
    return frames.open_video(path, way["skipping"])


def timed(path: Path, way: dict, fps: float) -> dict:
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    with decoding(way), _open(path, way) as reader:
        looked_at = sampled = 0
        for decoded in reader.looked_at(fps):
            looked_at += 1
            sampled += decoded.sampled
        decoded_frames = reader.frames_decoded
    return {"cpu_seconds": time.process_time() - cpu, "seconds": time.perf_counter() - wall,
            "frames_decoded": decoded_frames, "frames_looked_at": looked_at,
            "frames_sampled": sampled, "load_average_1min_before": load}  # fmt: skip


def pixel_difference(path: Path, way: dict, fps: float) -> dict:
    """The sampled frames (as the pipeline gets them: BGR) against decoding every frame, or for
    an option on top of a way of skipping, against that way without it."""
    largest, total, count, same_times, worst_psnr = 0, 0.0, 0, True, float("inf")
    plain = "options" in way or "threads" in way
    with frames.open_video(path, way["skipping"] if plain else "none") as every:
        reference = frames.sampled_frames(every.looked_at(fps), every.info.fps)
        with decoding(way), _open(path, way) as reader:
            for ours, theirs in zip(reader.sample(fps), reference, strict=False):
                same_times &= ours.time_s == theirs.time_s and ours.new_shot == theirs.new_shot
                difference = np.abs(ours.image_bgr.astype(np.int16) - theirs.image_bgr)
                largest = max(largest, int(difference.max()))
                mean_square = float(np.mean(difference.astype(np.float32) ** 2))
                if mean_square:
                    worst_psnr = min(worst_psnr, 10 * np.log10(255**2 / mean_square))
                total += float(difference.mean())
                count += 1
    return {"same_times_and_cuts": same_times, "largest_difference": largest,
            "mean_difference": total / max(count, 1),
            "worst_psnr_db": None if worst_psnr == float("inf") else worst_psnr}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--ways", nargs="+", choices=list(WAYS), default=list(WAYS))
    parser.add_argument("--no-pixels", action="store_true", help="timings only")
    parser.add_argument("--output", type=Path, default=RESULTS / "decoding.json")
    args = parser.parse_args()
    paths = args.videos or sorted(p for p in VIDEOS.iterdir() if p.suffix in {".mp4", ".avi"})
    report = {"sample_fps": args.fps, "pyav": av.__version__, "videos": []}
    for path in paths:
        row = {"video": path.name, "stream": stream_census(path), "ways": {}}
        for name in args.ways:
            row["ways"][name] = timed(path, WAYS[name], args.fps)
            if name != "every frame" and not args.no_pixels:
                row["ways"][name] |= pixel_difference(path, WAYS[name], args.fps)
        report["videos"].append(row)
        print(json.dumps(row), flush=True)
    print(markdown(report))
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {args.output}")


def markdown(report: dict) -> str:
    lines = ["| video | codec, frames (I/P/B), non-ref | way | frames decoded | CPU s | wall s "
             "| load | pixels vs every frame |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in report["videos"]:
        s = row["stream"]
        types = "/".join(str(s["picture_types"].get(t, 0)) for t in ("I", "P", "B"))
        stream = f"{s['codec']} {s['size']}, {s['frames']} ({types}), {s['non_reference']}"
        for name, way in row["ways"].items():
            if "largest_difference" not in way:
                pixels = "-"
            elif not way["largest_difference"] and way["same_times_and_cuts"]:
                pixels = "identical"
            else:
                psnr = way["worst_psnr_db"]
                pixels = (f"max {way['largest_difference']}, mean {way['mean_difference']:.2f}, "
                          f"worst PSNR {psnr:.1f} dB" if psnr else "same pixels")  # fmt: skip
                pixels += "" if way["same_times_and_cuts"] else ", other times or cuts"
            lines.append(f"| {row['video']} | {stream} | {name} | {way['frames_decoded']} | "
                         f"{way['cpu_seconds']:.2f} | {way['seconds']:.2f} | "
                         f"{way['load_average_1min_before']:.2f} | {pixels} |")  # fmt: skip
            stream = ""
    return "\n".join(lines)


if __name__ == "__main__":
    main()
