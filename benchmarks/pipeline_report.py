"""The report of `pipeline.py`: Markdown tables and the figures they are made from."""

from __future__ import annotations

import os
import platform
from importlib import metadata

PIXELS_720P = 1280 * 720


def by_resolution(side: dict) -> dict:
    """Real-time factor of videos up to 1280x720 pixels and of bigger ones (the 1080p clip)."""
    groups: dict[str, list] = {"<=720p": [], "1080p": []}
    for row in side["videos"]:
        groups["<=720p" if row["width"] * row["height"] <= PIXELS_720P else "1080p"].append(row)
    return {
        name: {
            "videos": [r["video"] for r in rows],
            "realtime_factor": sum(r["duration_s"] for r in rows) / sum(r["seconds"] for r in rows),
        }
        for name, rows in groups.items()
        if rows
    }


def _both(a: dict, b: dict, key: str, spec: str = ".3f") -> str:
    """One field of a naive and an our result, as "naive / ours"."""
    return " / ".join("-" if r.get(key) is None else format(r[key], spec) for r in (a, b))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(report: dict) -> str:
    naive, ours = report["naive"], report["ours"]
    header = ["video", "duration s", "size", "naive s", "ours s", "speed-up", "RTx ours"]
    header += ["recall naive / ours", "BCubed F naive / ours", "faces embedded naive / ours"]
    rows = [
        [a["video"], f"{a['duration_s']:.1f}", f"{a['width']}x{a['height']}",
         f"{a['seconds']:.2f}", f"{b['seconds']:.2f}", f"{a['seconds'] / b['seconds']:.1f}x",
         f"{b['realtime_factor']:.1f}", _both(a, b, "detection_recall"), _both(a, b, "bcubed_f"),
         _both(a, b, "faces_embedded", "d")]
        for a, b in zip(naive["videos"], ours["videos"], strict=True)
    ]  # fmt: skip
    a, b = naive["totals"], ours["totals"]
    groups = report["ours_realtime_by_resolution"].items()
    resolution = ", ".join(f"{name} {group['realtime_factor']:.1f}" for name, group in groups)
    lines = [
        *_table(header, rows),
        f"\n**Total** ({a['duration_s']:.1f} s of video): naive {a['seconds']:.2f} s, ours "
        f"{b['seconds']:.2f} s: **{report['speedup']:.2f}x**. Naive / ours:",
        f"- real-time factor {_both(a, b, 'realtime_factor', '.1f')}; CPU s "
        f"{_both(a, b, 'cpu_seconds', '.1f')}; load average at start "
        f"{report['load_average_1min_at_start']:.1f}",
        f"- detection recall {_both(a, b, 'detection_recall')}; BCubed F {_both(a, b, 'bcubed_f')}",
        f"- faces detected {_both(a, b, 'faces_detected', 'd')}, embedded "
        f"{_both(a, b, 'faces_embedded', 'd')}; people {_both(a, b, 'people', 'd')}; "
        f"tracks (ours) {b['tracks']}",
        f"- peak RSS MB {_both(naive, ours, 'peak_rss_mb', '.0f')}; model loading s "
        f"{_both(naive, ours, 'load_models_s', '.2f')}",
        f"- ours real-time factor by resolution: {resolution}",
    ]
    if "long" in report:
        long = report["long"]
        header = ["long video", "duration s", "s naive / ours", "s per min naive / ours"]
        header += ["RTx naive / ours", "peak RSS MB naive / ours", "faces embedded naive / ours"]
        rows = [
            [a["video"], f"{a['duration_s']:.1f}", _both(a, b, "seconds", ".1f"),
             _both(a, b, "seconds_per_minute", ".2f"), _both(a, b, "realtime_factor", ".1f"),
             _both(a, b, "peak_rss_mb", ".0f"), _both(a, b, "faces_embedded", "d")]
            for a, b in zip(long["naive"]["videos"], long["ours"]["videos"], strict=True)
        ]  # fmt: skip
        lines += ["", *_table(header, rows)]
        lines.append(
            "\nSeconds per minute at 10 min over 1 min (1.00 = linear): naive / ours "
            + _both(long["naive"], long["ours"], "growth_10min_over_1min", ".2f")
        )
    return "\n".join(lines)


LIBRARIES = ("deepface", "onnxruntime", "openvino", "av", "numpy")


def machine() -> dict:
    import cv2

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        **{name: metadata.version(name) for name in LIBRARIES},
        # OpenVINO computes in bfloat16 by default where the CPU has AMX or AVX-512 BF16
        "cpu_bfloat16": _cpu_has_bfloat16(),
    }


def _cpu_has_bfloat16() -> bool:
    import openvino

    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
