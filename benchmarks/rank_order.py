"""Approximate rank-order clustering (Otto, Wang and Jain, "Clustering millions of faces by
identity", TPAMI 2018), measured on the same tracks as `grouping_methods.py`.

Two tracks are linked when their neighbour lists agree: d(a, b) counts a's neighbours ranked
before b that are not among b's k nearest, D(a, b) = (d(a, b) + d(b, a)) / min(rank of b for a,
rank of a for b), and pairs with D below the threshold are joined transitively (here: closest
pair first, never two groups seen in one frame). It has no absolute distance: it was designed
for catalogs where each person has many faces, so that a face's nearest neighbours are mostly
the same person.

    .venv/bin/python benchmarks/rank_order.py [DATASET_DIR] [--variants DIR] [--cache F]

Writes benchmarks/results/rank_order.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
from grouping_methods import REPO, VIDEO_SUFFIXES, collect, held_out, score, track_set

from catalog.grouping import TrackSet
from evaluation.variants import make_variants

NEIGHBOURS = (5, 10, 20)
THRESHOLDS = (0.5, 1.0, 1.5, 2.0)


def rank_order_labels(tracks: TrackSet, k: int, threshold: float) -> np.ndarray:
    """A group label per track."""
    count = len(tracks.vectors)
    if count < 2:
        return np.zeros(count, dtype=int)
    distances = 1.0 - tracks.vectors @ tracks.vectors.T
    k = min(k, count - 1)
    nearest = np.argsort(distances, axis=1)[:, : k + 1]  # rank 0 is the track itself
    top = [set(row.tolist()) for row in nearest]
    rank = [{int(j): r for r, j in enumerate(row)} for row in nearest]
    pairs = []
    for a in range(count):
        for b in map(int, nearest[a][1:]):
            if b < a and a in top[b]:
                continue  # measured from b's side already
            rank_ab, rank_ba = rank[a][b], rank[b].get(a, k + 1)
            d_ab = sum(1 for x in nearest[a][: rank_ab + 1] if int(x) not in top[b])
            d_ba = sum(1 for x in nearest[b][: min(rank_ba, k) + 1] if int(x) not in top[a])
            order_distance = (d_ab + d_ba) / max(1, min(rank_ab, rank_ba))
            if order_distance < threshold:
                pairs.append((order_distance, a, b))
    conflicts = tracks.conflicts(list(range(count)))
    group = list(range(count))
    members = {i: {i} for i in range(count)}
    blocked = {i: set(conflicts[i]) for i in range(count)}
    for _, a, b in sorted(pairs):
        ga, gb = group[a], group[b]
        if ga == gb or blocked[ga] & members[gb]:
            continue
        for i in members[gb]:
            group[i] = ga
        members[ga] |= members.pop(gb)
        blocked[ga] |= blocked.pop(gb)
    return np.asarray(group)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--variants", type=Path, help="make the degraded copies here and add them")
    parser.add_argument("--cache", type=Path, help="the tracks grouping_methods.py kept")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/rank_order.json")
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        tracks = pickle.loads(args.cache.read_bytes())
    else:
        videos = args.dataset / "videos"
        paths = sorted(p for p in videos.iterdir() if p.suffix in VIDEO_SUFFIXES)
        if args.variants:
            paths += make_variants(videos, args.variants)
        tracks = collect(paths)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(tracks))
    halves = {
        "tuning": [t for t in tracks if not held_out(t["video"])],
        "held_out": [t for t in tracks if held_out(t["video"])],
        "all": tracks,
    }
    rows = []
    for k in NEIGHBOURS:
        for threshold in THRESHOLDS:
            row = {"k": k, "threshold": threshold}
            for half, subset in halves.items():
                row[half] = score(subset, rank_order_labels(track_set(subset), k, threshold))
            rows.append(row)
    args.output.write_text(json.dumps({"tracks": len(tracks), "rows": rows}, indent=1))
    print(
        "| k | threshold | tuning F (pairwise P) | people | held-out F (P) | people | all F (P) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        t, h, a = row["tuning"], row["held_out"], row["all"]
        print(
            f"| {row['k']} | {row['threshold']} | {t['bcubed_f']} ({t['pairwise_p']}) | "
            f"{t['people']}/{t['true_people']} | {h['bcubed_f']} ({h['pairwise_p']}) | "
            f"{h['people']}/{h['true_people']} | {a['bcubed_f']} ({a['pairwise_p']}) |"
        )


if __name__ == "__main__":
    main()
