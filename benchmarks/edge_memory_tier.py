"""Cold and warm query time of an Edge shard with its HNSW graph in the default memory tier
or pinned on the heap (qdrant-edge-py 0.9.0, `HnswIndexConfig(memory=Memory.Pinned)`).

    .venv/bin/python benchmarks/edge_memory_tier.py default|pinned FOLDER N build
    .venv/bin/python benchmarks/edge_memory_tier.py default|pinned FOLDER N query

`build`: N synthetic 128-d points (clusters of 30, payloads as ingestion writes them), graph
built; `query`: load, then three rounds of 30 queries of 64 hits with payloads. Drop the page
cache between builds and queries (`echo 1 > /proc/sys/vm/drop_caches`) for the cold figure.
Results by hand in results/edge_memory_tier.json.
"""

import shutil
import sys
import time

import numpy as np
import qdrant_edge as qe

mode, folder, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
step = sys.argv[4]
dim = 128


def config():
    hnsw = None
    if mode == "pinned":
        hnsw = qe.HnswIndexConfig(
            m=16, ef_construct=100, full_scan_threshold=10000, memory=qe.Memory.Pinned
        )
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine),
        hnsw_config=hnsw,
        quantization_config=qe.ScalarQuantizationConfig(
            type=qe.ScalarType.Int8, quantile=0.99, always_ram=True
        ),
        wal_enabled=False,
    )


rng = np.random.default_rng(0)
if step == "build":
    shutil.rmtree(folder, ignore_errors=True)
    s = qe.EdgeShard.create(folder, config())
    s.update(qe.UpdateOperation.create_field_index("person_id", qe.PayloadSchemaType.Integer))
    centres = rng.standard_normal((n // 30, dim)).astype(np.float32)
    for start in range(0, n, 5000):
        v = centres[
            (np.arange(start, min(n, start + 5000)) // 30) % len(centres)
        ] + 0.5 * rng.standard_normal((min(n, start + 5000) - start, dim)).astype(np.float32)
        s.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(
                        id=int(start + i + 1),
                        vector=v[i].tolist(),
                        payload={
                            "person_id": int((start + i) // 30),
                            "track_id": int((start + i) // 3),
                        },
                    )
                    for i in range(len(v))
                ]
            )
        )
    t = time.time()
    s.optimize()
    print("optimize", time.time() - t)
    s.flush()
    s.close()
else:
    t = time.time()
    s = qe.EdgeShard.load(folder)
    print("load", round(time.time() - t, 3))
    q = rng.standard_normal((30, dim)).astype(np.float32)
    for _round in range(3):
        t = time.time()
        for v in q:
            s.query(
                qe.QueryRequest(query=qe.Query.Nearest(v.tolist()), limit=64, with_payload=True)
            )
        print("30 queries", round(time.time() - t, 4))
    import resource

    print("rss MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
