"""What a remote SDK needs to run pipelines it builds client-side: snapshot uploads and stored graphs.

The client archives each step's source folder with ``datastores.snapshots.store_snapshot``, uploads
the archives the server lacks (``HEAD`` then ``PUT /snapshots/{hash}``), stores the graph
(``POST /graphs``), then runs it (``POST /runs``) or publishes it (``POST /pipelines``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from headrace.schemas import GraphCreate, GraphRead, SnapshotRead
from headrace.server.deps import RAW_BODY_DOC, RawBody, Reader, ServicesDep, SubmitRun, body_doc, json_body
from headrace.services import graphs

router = APIRouter(tags=["remote SDK"])


@router.head("/snapshots/{digest}", responses={200: {"description": "Stored"}, 404: {"description": "Missing"}})
def has_snapshot(digest: str, _: Reader, svc: ServicesDep) -> Response:
    """200 when the server has the snapshot, else 404."""
    return Response(status_code=200 if graphs.has_snapshot(svc, digest) else 404)


@router.get("/snapshots/{digest}", response_class=Response, responses={200: {
    "description": "The snapshot's archive (tar.gz)",
    "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}}}})
def get_snapshot(digest: str, _: Reader, svc: ServicesDep) -> Response:
    """A run's source snapshot as stored (``run.restore_snapshot()``); 404 when there is no such snapshot."""
    return Response(graphs.snapshot_archive(svc, digest), media_type="application/gzip")


@router.put("/snapshots/{digest}", response_model=SnapshotRead, openapi_extra=RAW_BODY_DOC)
def put_snapshot(digest: str, _: SubmitRun, svc: ServicesDep, data: RawBody) -> SnapshotRead:
    """Upload a snapshot archive (tar.gz); refused (400) unless its files hash to ``digest``."""
    return SnapshotRead(Hash=digest, Stored=graphs.store_snapshot_archive(svc, digest, data))


@router.post("/graphs", response_model=GraphRead, openapi_extra=body_doc(GraphCreate))
def create_graph(
    _: SubmitRun, svc: ServicesDep, body: Annotated[GraphCreate, Depends(json_body(GraphCreate))]
) -> GraphRead:
    """Check and store a ``Pipeline.graph()`` whose steps carry uploaded snapshot hashes."""
    return GraphRead(GraphId=graphs.store_remote_graph(svc, body.Graph).id)
