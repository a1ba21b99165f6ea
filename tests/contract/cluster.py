"""A 3-node Weaviate cluster for tests, run by ``deploy/services.sh start weaviate-cluster`` in a services
directory of its own (fresh data and raft state, free loopback ports), stopped at the end."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
from weaviate.classes.config import ConsistencyLevel
from weaviate.util import generate_uuid5

from graph.model import Chunk, Document, DocumentBundle
from graph.weaviate.vector_store import WeaviateVectorStore

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "services.sh"
SIZE = 3
DIM = 384


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(count: int) -> int:
    """A port p with p .. p + count - 1 free on loopback."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - count)
        if all(_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} adjacent free ports on 127.0.0.1")


class WeaviateCluster:
    """The cluster's processes, settings and per-node object counts."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        http, grpc = free_block(SIZE), free_block(SIZE)
        gossip, raft = free_block(2 * SIZE), free_block(2 * SIZE)
        self.http_ports = [http + i for i in range(SIZE)]
        self.env = {**os.environ, "HOPGRAPH_SERVICES_DIR": str(run_dir),
                    "HOPGRAPH_WEAVIATE_CLUSTER_HTTP_PORT": str(http), "HOPGRAPH_WEAVIATE_CLUSTER_GRPC_PORT": str(grpc),
                    "HOPGRAPH_WEAVIATE_CLUSTER_GOSSIP_PORT": str(gossip),
                    "HOPGRAPH_WEAVIATE_CLUSTER_RAFT_PORT": str(raft)}
        self.settings: dict[str, str] = {}

    def start(self) -> None:
        """Start the nodes that are not running and wait until every one is healthy.

        Raises:
            RuntimeError: the script failed (its output in the message).
        """
        done = subprocess.run(["bash", str(SCRIPT), "start", "weaviate-cluster"], env=self.env, capture_output=True,
                              text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"deploy/services.sh start weaviate-cluster failed:\n{done.stderr[-3000:]}")
        lines = (self.run_dir / "weaviate-cluster.env").read_text().splitlines()
        self.settings = dict(line.removeprefix("export ").split("=", 1) for line in lines)

    def stop(self) -> None:
        """Stop every node."""
        subprocess.run(["bash", str(SCRIPT), "stop", "weaviate-cluster"], env=self.env, capture_output=True,
                       timeout=180, check=False)

    @property
    def overrides(self) -> dict[str, object]:
        """Settings that point hopgraph at the cluster."""
        return {"weaviate_nodes": self.settings["HOPGRAPH_WEAVIATE_NODES"],
                "weaviate_replication_factor": int(self.settings["HOPGRAPH_WEAVIATE_REPLICATION_FACTOR"]),
                "weaviate_api_key": self.settings["HOPGRAPH_WEAVIATE_API_KEY"]}

    def node_of(self, http_port: int) -> int:
        """The node (1-based) that listens on ``http_port``."""
        return self.http_ports.index(http_port) + 1

    def kill(self, node: int) -> None:
        """SIGKILL node ``node`` (1-based)."""
        pid = int((self.run_dir / "run" / f"weaviate-n{node}.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def counts(self, collections: list[str], via: int = 1) -> dict[str, int]:
        """Objects of ``collections`` each node holds (its shards' counts), asked of node ``via``."""
        key = self.settings["HOPGRAPH_WEAVIATE_API_KEY"]
        reply = httpx.get(f"http://127.0.0.1:{self.http_ports[via - 1]}/v1/nodes", params={"output": "verbose"},
                          headers={"Authorization": f"Bearer {key}"}, timeout=10)
        reply.raise_for_status()
        out: dict[str, int] = {}
        for node in reply.json()["nodes"]:
            shards = node.get("shards") or []
            out[node["name"]] = sum(int(s.get("objectCount", 0)) for s in shards if s.get("class") in collections)
        return out


def bundle(doc_id: str, rng: np.random.Generator) -> DocumentBundle:
    """A document of two chunks with random unit vectors."""
    vectors = rng.normal(size=(2, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    text = f"{doc_id} is the first chunk. {doc_id} is the second chunk."
    cut = text.index(". ") + 1
    chunks = (Chunk(f"{doc_id}-c0", doc_id, 0, cut, text[:cut]), Chunk(f"{doc_id}-c1", doc_id, cut + 1, len(text),
                                                                      text[cut + 1:]))
    return DocumentBundle(Document(doc_id, f"{doc_id}.txt", "sha-" + doc_id, doc_id, text), chunks, (), (), (),
                          vectors)


def missing(store: WeaviateVectorStore, doc_ids: set[str]) -> set[str]:
    """The documents of ``doc_ids`` whose chunks a QUORUM read by id does not find.

    By id, not by a filter: a search (a filter is one) runs on one replica, which may lack a write that two
    others acknowledged until async replication brings it; a read by id asks a quorum of them.
    """
    client, _ = store._nodes.current("check")
    chunks = client.collections.get(store.chunk_collection).with_consistency_level(ConsistencyLevel.QUORUM)
    return {d for d in doc_ids
            if any(chunks.query.fetch_object_by_id(generate_uuid5(f"{d}-c{i}")) is None for i in (0, 1))}


def converged(counts: dict[str, int], at_least: int) -> bool:
    """Every one of the 3 nodes holds the same objects, at least ``at_least`` of them."""
    return len(counts) == 3 and len(set(counts.values())) == 1 and min(counts.values()) >= at_least
