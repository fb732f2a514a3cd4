"""`pipeline.py --end-to-end`: `manage.py ingest` as a user runs it against the naive loop.

Both sides are whole processes timed from outside, start-up included: ours is one `manage.py
ingest` of all the files into a fresh catalog (imports, models, decoding, detection, tracking,
saving, grouping, indexing), the naive side is the DeepFace loop of `pipeline.py` in a process of
its own (importing DeepFace, loading its models, every sampled frame through `represent`, all
faces grouped). Inputs are the shared videos made longer by repeating them (stream copy, no
re-encoding, in a temporary folder): those up to 1280x720 pixels four times, the 1080p crowd clip
to about 100 s. Each result carries the CPU's model and flags and the load average before it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu_info import cpu_model_and_flags, instruction_set

REPO = Path(__file__).resolve().parent.parent
PIXELS_720P = 1280 * 720
SHORT_REPEATS = 4
LONG_TARGET_S = 100.0
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8")
# Settings that change which path the models take, recorded with every result: the embedding
# precision, and oneDNN's instruction-set cap (ONEDNN_MAX_CPU_ISA=AVX2 makes OpenVINO run SFace
# as on a CPU with AVX2 only; YuNet and decoding are not capped by it). The whole of both sides
# takes the AVX2-only path under cpu_info's preloaded library ("instruction_set").
PATH_SETTINGS = ("FACE_EMBEDDING_PRECISION", "ONEDNN_MAX_CPU_ISA")
STAGE_LINE = re.compile(r"^(?P<name>\S+): (?P<stage>[a-z ]+) \(\d+%, (?P<at>[\d.]+) s\)$", re.M)
RESULT_LINE = re.compile(
    r"(?P<name>\S+): video \d+: (?P<detected>\d+) faces detected in (?P<frames>\d+) frames, "
    r"(?P<tracks>\d+) tracks, (?P<kept>\d+) faces kept, (?P<people>\d+) people"
)


def cpu() -> dict:
    """The CPU's model name and the flags that decide how fast the models run."""
    model, present = cpu_model_and_flags()
    return {
        "model": model or "unknown",
        "cores": os.cpu_count(),
        "flags": {flag: flag in present for flag in CPU_FLAGS},
        "instruction_set": instruction_set(),
        "settings": {name: os.environ.get(name, "") for name in PATH_SETTINGS},
    }


def _ffmpeg() -> list[str]:
    import imageio_ffmpeg

    return [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y"]


def _probe(path: Path) -> tuple[int, int, float]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration_s = float(container.duration or 0) / 1e6
        return stream.codec_context.width, stream.codec_context.height, duration_s


def looped_inputs(videos_dir: Path, folder: Path) -> dict[str, list[Path]]:
    """The shared videos repeated end to end (stream copy) into `folder`: "<=720p" four times
    each, "1080p" (the crowd clip) to about 100 s. Files already made are reused."""
    groups: dict[str, list[Path]] = {"<=720p": [], "1080p": []}
    for source in sorted(p for p in videos_dir.iterdir() if p.suffix in {".mp4", ".avi"}):
        width, height, duration_s = _probe(source)
        big = width * height > PIXELS_720P
        repeats = max(1, round(LONG_TARGET_S / duration_s)) if big else SHORT_REPEATS
        looped = folder / f"{source.stem}_x{repeats}{source.suffix}"
        if not looped.exists():
            subprocess.run([*_ffmpeg(), "-stream_loop", str(repeats - 1), "-i", str(source),
                            "-map", "0:v", "-c", "copy", str(looped)], check=True)  # fmt: skip
        groups["1080p" if big else "<=720p"].append(looped)
    return groups


def _timed(command: list[str], env: dict) -> dict:
    """Run a process to its end; its wall and CPU seconds (children's rusage) and output."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{command[:3]} failed ({done.returncode})")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": wall_s, "cpu_seconds": cpu_s, "load_average_1min_before": load,
            "peak_rss_mb": after.ru_maxrss / 1024, "stdout": done.stdout}  # fmt: skip


def ours(paths: list[Path], models_dir: Path, extra_env: dict | None = None,
         checkout: Path = REPO) -> dict:  # fmt: skip
    """One `manage.py ingest` of every file into a fresh catalog (migrated beforehand, untimed),
    by this checkout's code or another's (run with this Python)."""
    with tempfile.TemporaryDirectory(prefix="faaaaaces_e2e_") as data_dir:
        env = {**os.environ, "FAAAAACES_DATA_DIR": data_dir,
               "FAAAAACES_MODELS_DIR": str(models_dir), **(extra_env or {})}  # fmt: skip
        env.pop("QDRANT_URL", None)
        manage = [sys.executable, str(checkout / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        run = _timed([*manage, "ingest", *map(str, paths)], env)
    stdout = run.pop("stdout")
    found = [m.groupdict() for m in RESULT_LINE.finditer(stdout)]
    run["stage_seconds"] = stage_seconds(stdout)
    run["faces_detected"] = sum(int(m["detected"]) for m in found)
    run["tracks"] = sum(int(m["tracks"]) for m in found)
    run["faces_kept"] = sum(int(m["kept"]) for m in found)
    run["videos_done"] = len(found)
    return run


def stage_seconds(stdout: str) -> dict[str, float]:
    """Seconds from each stage's start to the next one's, summed over the videos (the last
    stage of each video, indexing, has no next line and is left out)."""
    totals: dict[str, float] = {}
    by_video: dict[str, list[tuple[str, float]]] = {}
    for match in STAGE_LINE.finditer(stdout):
        by_video.setdefault(match["name"], []).append((match["stage"], float(match["at"])))
    for stages in by_video.values():
        for (stage, at), (_, next_at) in itertools.pairwise(stages):
            totals[stage] = totals.get(stage, 0.0) + next_at - at
    return totals


def start_up_s(models_dir: Path) -> float:
    """Seconds `manage.py ingest` takes to start and stop (a missing file: no model built)."""
    with tempfile.TemporaryDirectory(prefix="faaaaaces_e2e_") as data_dir:
        env = {
            **os.environ,
            "FAAAAACES_DATA_DIR": data_dir,
            "FAAAAACES_MODELS_DIR": str(models_dir),
        }
        started = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "manage.py"), "ingest", "/no/such/file.mp4"],
                       env=env, capture_output=True, check=False)  # fmt: skip
        return time.perf_counter() - started


def naive(paths: list[Path], fps: float | None) -> dict:
    """The naive loop of `pipeline.py` in its own process, start-up included."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as output:
        result_path = Path(output.name)
    command = [sys.executable, str(REPO / "benchmarks" / "pipeline.py"), "--side", "naive"]
    command += ["--side-output", str(result_path), *(["--fps", str(fps)] if fps else [])]
    run = _timed([*command, "--videos", *map(str, paths)], dict(os.environ))
    run.pop("stdout")
    side = json.loads(result_path.read_text())
    result_path.unlink()
    run.update(loop_seconds=side["totals"]["seconds"], load_models_s=side["load_models_s"],
               faces_detected=side["totals"]["faces_detected"])  # fmt: skip
    return run


def end_to_end(videos_dir: Path, models_dir: Path, inputs_dir: Path | None,
               fps: float | None, rounds: int = 1, only: str | None = None,
               ours_only: bool = False, against: Path | None = None) -> dict:  # fmt: skip
    """Both sides on both groups, naive and ours alternating, `rounds` times (or ours alone:
    to compare two versions of ours without the naive loop's minutes in between; `against`,
    another checkout, runs as "against", first in the even rounds, second in the odd)."""
    folder = inputs_dir or Path(tempfile.mkdtemp(prefix="faaaaaces_looped_"))
    folder.mkdir(parents=True, exist_ok=True)
    groups = looped_inputs(videos_dir, folder)
    report: dict = {"cpu": cpu(), "inputs_dir": str(folder), "groups": {}}
    if against:
        report["against"] = {"checkout": str(against), "commit": _commit(against),
                             "ours_commit": _commit(REPO)}  # fmt: skip
    report["ingest_start_up_s"] = [start_up_s(models_dir) for _ in range(3)]
    for name, paths in groups.items():
        if only and name != only:
            continue
        duration_s = sum(_probe(p)[2] for p in paths)
        runs = []
        for number in range(rounds):
            run = {} if ours_only or against else {"naive": naive(paths, fps)}
            # against another checkout, each goes first in every other round (a warm cache or
            # the other's load average favours neither)
            sides = [("against", against), ("ours", REPO)] if against else [("ours", REPO)]
            for side, checkout in sides[:: -1 if number % 2 else 1]:
                run[side] = ours(paths, models_dir, checkout=checkout)
            for side in run:
                run[side]["realtime_factor"] = duration_s / run[side]["seconds"]
            if "naive" in run:
                run["speedup"] = run["naive"]["seconds"] / run["ours"]["seconds"]
            runs.append(run)
            print(f"{name}: {duration_s:.0f} s of video; "
                  + (f"naive {run['naive']['seconds']:.1f} s, " if "naive" in run else "")
                  + (f"against {run['against']['seconds']:.1f} s "
                     f"({run['against']['cpu_seconds']:.1f} CPU s), " if against else "")
                  + f"ours {run['ours']['seconds']:.1f} s ({run['ours']['cpu_seconds']:.1f} CPU "
                  f"s)" + (f": {run['speedup']:.2f}x" if "naive" in run else "") + ", ours "
                  f"{run['ours']['realtime_factor']:.1f}x real time (load before "
                  f"{run['ours']['load_average_1min_before']:.2f})", flush=True)  # fmt: skip
        report["groups"][name] = {"videos": [p.name for p in paths], "duration_s": duration_s,
                                  "runs": runs}  # fmt: skip
    return report


def _commit(checkout: Path) -> str:
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.strip() or "unknown"


def markdown(report: dict) -> str:
    flags = ", ".join(f for f, present in report["cpu"]["flags"].items() if present) or "none"
    start_up = ", ".join(f"{s:.2f}" for s in report["ingest_start_up_s"])
    lines = [f"CPU: {report['cpu']['model']}, {report['cpu']['cores']} cores, flags: {flags}",
             f"`manage.py ingest` start-up and exit, no model built (3 runs): {start_up} s", "",
             "| input | video s | naive s (loop s) | ours s | speed-up | RTx naive / ours | "
             "CPU s naive / ours | faces detected naive / ours | load before | ours by stage s |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, group in report["groups"].items():
        for run in group["runs"]:
            if "naive" not in run:  # ours alone, or against another checkout
                lines += [
                    f"| {name} ({len(group['videos'])} files, {side}) | "
                    f"{group['duration_s']:.0f} | - | {b['seconds']:.1f} | - | "
                    f"- / {b['realtime_factor']:.1f} | - / {b['cpu_seconds']:.0f} | "
                    f"- / {b['faces_detected']} | - / {b['load_average_1min_before']:.2f} | "
                    + ", ".join(f"{k} {v:.1f}" for k, v in b.get("stage_seconds", {}).items())
                    + " |"
                    for side, b in run.items()
                ]
                continue
            b = run["ours"]
            a = run["naive"]
            lines.append(
                f"| {name} ({len(group['videos'])} files) | {group['duration_s']:.0f} | "
                f"{a['seconds']:.1f} ({a['loop_seconds']:.1f}) | {b['seconds']:.1f} | "
                f"**{run['speedup']:.2f}x** | {a['realtime_factor']:.1f} / "
                f"{b['realtime_factor']:.1f} | {a['cpu_seconds']:.0f} / {b['cpu_seconds']:.0f} | "
                f"{a['faces_detected']} / {b['faces_detected']} | "
                f"{a['load_average_1min_before']:.2f} / {b['load_average_1min_before']:.2f} | "
                + ", ".join(f"{k} {v:.1f}" for k, v in b.get("stage_seconds", {}).items())
                + " |"
            )
    return "\n".join(lines)
