"""hopgraph as a LlamaIndex retriever: ``HopgraphRetriever`` returns hopgraph's passages as ``NodeWithScore``s.

Either in-process, over an :class:`~service.context.AppContext` (the store of its settings, read as its
viewer), or over HTTP, against ``POST /v1/collections/{c}/retrieve`` of a running ``hopgraph serve``
with an API key. Each node's text is the passage, its id the chunk id, its score the fused score; its
metadata holds the document, title, character span, per-signal scores, the question entities it
mentions and the relation paths that explain it (``paths``: lists of edges ``head -[type]-> tail``).
Plug it into a query engine::

    from llama_index.core.query_engine import RetrieverQueryEngine
    engine = RetrieverQueryEngine.from_args(HopgraphRetriever(url=..., api_key=..., collection="wiki"), llm=...)

Errors are hopgraph's own (:mod:`core.errors`): an unknown collection is a ``NotFoundError``, a refused
key an ``AccessDeniedError``, a bad question an ``InputError``, a server that cannot be reached or
answers 5xx a ``StoreUnavailableError``.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from core.errors import AccessDeniedError, HopgraphError, InputError, NotFoundError, StoreUnavailableError
from service.context import AppContext
from service.types import MODES


def _path_text(path: list[dict[str, Any]]) -> str:
    return " ; ".join(f"{e['head']} -[{e['type']}]-> {e['tail']}" for e in path)


def _node(passage: dict[str, Any]) -> NodeWithScore:
    metadata = {
        "doc_id": passage["doc_id"], "title": passage.get("title", ""), "start": passage["start"],
        "end": passage["end"], "scores": passage.get("scores", {}), "entities": passage.get("entities", []),
        "paths": [_path_text(p) for p in passage.get("paths", [])],
    }
    node = TextNode(id_=passage["chunk_id"], text=passage["text"], metadata=metadata,
                    excluded_embed_metadata_keys=list(metadata), excluded_llm_metadata_keys=["scores", "start", "end"])
    return NodeWithScore(node=node, score=float(passage["score"]))


def _raise_for(res: httpx.Response) -> None:
    if res.status_code < 400:
        return
    try:
        detail = str(res.json().get("detail", res.text))
    except ValueError:
        detail = res.text
    exc = httpx.HTTPStatusError(detail, request=res.request, response=res)
    if res.status_code == 404:
        raise NotFoundError(detail) from exc
    if res.status_code in (401, 403):
        raise AccessDeniedError(detail) from exc
    if res.status_code < 500 and res.status_code != 429:
        raise InputError(detail) from exc
    raise StoreUnavailableError(f"hopgraph answered {res.status_code}: {detail}") from exc


class HopgraphRetriever(BaseRetriever):
    """hopgraph's multi-hop retrieval (hybrid by default) as a LlamaIndex retriever."""

    def __init__(self, *, app: AppContext | None = None, url: str | None = None, api_key: str | None = None,
                 collection: str | None = None, mode: str = "hybrid", k: int = 5, timeout_s: float = 60.0) -> None:
        """Args:
        app: retrieve in this process, over this context's store (as its viewer).
        url, api_key, collection: retrieve over HTTP from this server's collection (instead of ``app``).
        mode: dense, keyword, graph or hybrid.
        k: passages per question.
        timeout_s: HTTP timeout.

        Raises:
            InputError: neither or both of ``app`` and ``url``, no collection for HTTP, an unknown mode, k < 1.
        """
        if (app is None) == (url is None):
            raise InputError("give either app (in process) or url (over HTTP)")
        if url is not None and not collection:
            raise InputError("retrieving over HTTP needs the collection's name")
        if mode not in MODES or k < 1:
            raise InputError(f"mode must be one of {', '.join(MODES)} and k >= 1")
        super().__init__()
        self._app, self._mode, self._k = app, mode, k
        self._client = (httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s,
                                     headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
                        if url is not None else None)
        self._path = f"/v1/collections/{collection}/retrieve"

    def _passages(self, question: str) -> list[dict[str, Any]]:
        if self._app is not None:
            result = self._app.reading.retriever.retrieve(question, self._mode, self._k)
            out: list[dict[str, Any]] = msgspec.to_builtins(list(result.passages))
            return out
        assert self._client is not None
        try:
            res = self._client.post(self._path, json={"question": question, "mode": self._mode, "k": self._k})
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"cannot reach hopgraph at {self._client.base_url}: {exc}") from exc
        _raise_for(res)
        passages: list[dict[str, Any]] = res.json()["passages"]
        return passages

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """The passages for the query string, best first.

        Raises:
            HopgraphError: as retrieval (see the module docstring for the HTTP cases).
        """
        return [_node(p) for p in self._passages(query_bundle.query_str)]

    def close(self) -> None:
        """Close the HTTP client (nothing to do in process)."""
        if self._client is not None:
            self._client.close()


__all__ = ["HopgraphRetriever", "HopgraphError"]
