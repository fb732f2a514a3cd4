"""The index on a Qdrant server, through qdrant-client (`url=":memory:"`: its local mode)."""

from __future__ import annotations

from collections.abc import Iterable

from search.index import (
    GRAPH_LINKS,
    QUANTIZATION_QUANTILE,
    RESCORE_OVERSAMPLING,
    SEARCH_BREADTH,
    UPSERT_BATCH,
    FaceIndexError,
    IndexHit,
    IndexPoint,
    IndexStatus,
    as_vector,
    batches,
    make_hit,
    point_payload,
)


class ServerFaceIndex:
    """A collection on a Qdrant server (url), or in qdrant-client's memory (url=":memory:")."""

    def __init__(self, url: str, collection: str, dimension: int, api_key: str | None = None):
        from qdrant_client import QdrantClient, models

        self.dimension = dimension
        self.collection = collection
        self._models = models
        try:
            if url == ":memory:":
                self._client = QdrantClient(location=":memory:")
            else:
                self._client = QdrantClient(url=url, api_key=api_key, timeout=30)
            if self._client.collection_exists(collection):
                self._update_layout()
            else:
                self._client.create_collection(
                    collection,
                    vectors_config=models.VectorParams(
                        size=dimension, distance=models.Distance.COSINE
                    ),
                    quantization_config=models.ScalarQuantization(
                        scalar=models.ScalarQuantizationConfig(
                            type=models.ScalarType.INT8,
                            quantile=QUANTIZATION_QUANTILE,
                            always_ram=True,
                        )
                    ),
                    # Every search reads its hits' payloads: kept in memory, as on Edge
                    # (search.edge_index.memory_placement).
                    on_disk_payload=False,
                    hnsw_config=models.HnswConfigDiff(m=GRAPH_LINKS),
                )
                for field, schema in (
                    ("video_id", models.PayloadSchemaType.INTEGER),
                    ("person_id", models.PayloadSchemaType.INTEGER),
                    ("face_id", models.PayloadSchemaType.INTEGER),
                    ("hidden", models.PayloadSchemaType.INTEGER),
                ):
                    self._client.create_payload_index(collection, field, schema)
        except Exception as error:
            raise FaceIndexError(f"the Qdrant server at {url} cannot be used: {error}") from error

    def _update_layout(self) -> None:
        """A collection made before its payloads were kept in memory or its graph had
        GRAPH_LINKS links a point is changed to that; the server rebuilds it in the background
        and serves searches meanwhile. (qdrant-client's local mode has no graph and ignores
        this.)"""
        m = self._models
        config = self._client.get_collection(self.collection).config
        if config.params.on_disk_payload or config.hnsw_config.m != GRAPH_LINKS:
            self._client.update_collection(
                self.collection,
                collection_params=m.CollectionParamsDiff(on_disk_payload=False),
                hnsw_config=m.HnswConfigDiff(m=GRAPH_LINKS),
            )

    def _search_params(self, rescore: bool = True):
        m = self._models
        quantization = m.QuantizationSearchParams(
            rescore=rescore, oversampling=RESCORE_OVERSAMPLING if rescore else None
        )
        return m.SearchParams(
            hnsw_ef=SEARCH_BREADTH if rescore else None, quantization=quantization
        )

    def _match(self, key: str, value):
        m = self._models
        return m.Filter(must=[m.FieldCondition(key=key, match=m.MatchValue(value=value))])

    def upsert(self, points: Iterable[IndexPoint], batch_size: int = UPSERT_BATCH) -> None:
        m = self._models
        for batch in batches(points, batch_size):
            structs = [
                m.PointStruct(
                    id=int(p.face_id),
                    vector=as_vector(p.vector, self.dimension),
                    payload=point_payload(p),
                )
                for p in batch
            ]
            self._client.upsert(self.collection, structs, wait=True)

    def delete_faces(self, face_ids: Iterable[int]) -> None:
        ids = [int(i) for i in face_ids]
        if ids:
            selector = self._models.PointIdsList(points=ids)
            self._client.delete(self.collection, selector, wait=True)

    def delete_video(self, video_id: int) -> None:
        selector = self._models.FilterSelector(filter=self._match("video_id", int(video_id)))
        self._client.delete(self.collection, selector, wait=True)

    def delete_person(self, person_id: int) -> None:
        selector = self._models.FilterSelector(filter=self._match("person_id", int(person_id)))
        self._client.delete(self.collection, selector, wait=True)

    def set_person(self, face_ids: Iterable[int], person_id: int | None) -> None:
        ids = [int(i) for i in face_ids]
        if ids:
            person = None if person_id is None else int(person_id)
            self._client.set_payload(self.collection, {"person_id": person}, points=ids, wait=True)

    def set_person_hidden(self, person_id: int, hidden: bool) -> None:
        self._client.set_payload(
            self.collection,
            {"hidden": int(bool(hidden))},
            points=self._match("person_id", int(person_id)),
            wait=True,
        )

    def search(
        self,
        vector,
        limit: int = 10,
        *,
        video_id=None,
        person_id=None,
        exclude_hidden=False,
        min_similarity=None,
    ) -> list[IndexHit]:
        m = self._models
        must, must_not = [], []
        if video_id is not None:
            must.append(m.FieldCondition(key="video_id", match=m.MatchValue(value=int(video_id))))
        if person_id is not None:
            must.append(m.FieldCondition(key="person_id", match=m.MatchValue(value=int(person_id))))
        if exclude_hidden:
            must_not.append(m.FieldCondition(key="hidden", match=m.MatchValue(value=1)))
        response = self._client.query_points(
            self.collection,
            query=as_vector(vector, self.dimension),
            limit=limit,
            query_filter=m.Filter(must=must, must_not=must_not) if must or must_not else None,
            score_threshold=min_similarity,
            search_params=self._search_params(),
            with_payload=True,
        )
        return [make_hit(p.id, p.score, p.payload) for p in response.points]

    def search_batch(
        self,
        vectors,
        limit: int = 10,
        *,
        exclude_hidden=False,
        exclude_people=None,
        min_similarity=None,
        rescore=True,
    ) -> list[list[IndexHit]]:
        """One search per vector, sent as one request; exclude_people[i]: the people whose
        faces search i leaves out; rescore: see search.index.FaceIndex.search_batch."""
        m = self._models

        def query_filter(not_people) -> m.Filter | None:
            must_not = []
            if exclude_hidden:
                must_not.append(m.FieldCondition(key="hidden", match=m.MatchValue(value=1)))
            if not_people:
                any_of = m.MatchAny(any=[int(p) for p in not_people])
                must_not.append(m.FieldCondition(key="person_id", match=any_of))
            return m.Filter(must_not=must_not) if must_not else None

        exclude_people = exclude_people or [()] * len(vectors)
        requests = [
            m.QueryRequest(
                query=as_vector(vector, self.dimension),
                limit=limit,
                filter=query_filter(not_people),
                score_threshold=min_similarity,
                params=self._search_params(rescore),
                with_payload=True,
            )
            for vector, not_people in zip(vectors, exclude_people, strict=True)
        ]
        if not requests:
            return []
        responses = self._client.query_batch_points(self.collection, requests)
        return [[make_hit(p.id, p.score, p.payload) for p in r.points] for r in responses]

    def count(self) -> int:
        return int(self._client.count(self.collection, exact=True).count)

    def held(self, face_ids: Iterable[int]) -> set[int]:
        ids = [int(i) for i in face_ids]
        if not ids:
            return set()
        found = self._client.retrieve(self.collection, ids, with_payload=False, with_vectors=False)
        return {int(record.id) for record in found}

    def face_ids(self) -> set[int]:
        found: set[int] = set()
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection, limit=1000, offset=offset, with_payload=False, with_vectors=False
            )
            found.update(int(r.id) for r in records)
            if offset is None:
                return found

    def clear(self) -> None:
        selector = self._models.FilterSelector(filter=self._models.Filter(must=[]))
        self._client.delete(self.collection, selector, wait=True)

    def optimize(self) -> None:
        """The server optimises on its own, in the background, as points arrive."""

    def status(self) -> IndexStatus:
        info = self._client.get_collection(self.collection)
        status = self._models.CollectionStatus
        return IndexStatus(
            points=int(info.points_count or 0),
            optimising=info.status == status.YELLOW,
            optimised=info.status == status.GREEN,
        )

    def close(self) -> None:
        self._client.close()
