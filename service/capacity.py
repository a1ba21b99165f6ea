"""Capacity planning: what hardware a workload needs, from figures measured on this machine.

:func:`calibrate` measures, on a store that holds documents, the CPU seconds of a retrieval and of a
generated answer (through :class:`~service.usage.CpuMeter`, the same meter the API charges requests
with), the wall time of an answer, the resident memory of a process with the models loaded, and the
store's bytes per document; the figures are saved beside the data (``capacity.json``) so that later
estimates reuse them. :func:`estimate` scales them to a workload (documents, requests per second,
the share of requests that want a generated answer) for the embedded profile and the server profile
and lists every assumption it makes. Blocking.
"""

from __future__ import annotations

import json
import math
import os
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from core.errors import InputError
from service.context import AppContext
from service.usage import CpuMeter, Usage

FIGURES_FILE = "capacity.json"
UTILISATION = 0.7  # plan cores so that the measured CPU fills at most this share of them (headroom for bursts)
GIB = 1024**3


@dataclass
class Figures:
    """What one calibration measured."""

    measured_at: float
    machine_cores: int
    threads: int  # the settings' threads (llama.cpp and the embedder use them)
    store: str  # the store it measured on
    documents: int
    chunks: int
    entities: int
    store_bytes: int  # the store's files on disk
    vector_bytes: int  # the store's chunk and entity vectors (float32), which the embedded profile holds in memory
    retrievals: int
    retrieve_cpu_s: float  # mean CPU seconds of one hybrid retrieval
    retrieve_wall_s: float
    answers: int
    answer_cpu_s: float | None  # mean CPU seconds of one generated answer, its retrieval included
    answer_wall_s: float | None
    reader: str
    reader_bytes: int
    process_rss_bytes: int  # peak resident memory of the measuring process, models and store loaded
    notes: list[str] = field(default_factory=list)


def _questions(app: AppContext, n: int) -> list[str]:
    """Questions about the store's own documents (their titles, else their opening words)."""
    out: list[str] = []
    offset = 0
    while len(out) < n:
        batch = app.store.graph.list_documents(offset, 200)
        if not batch:
            break
        offset += len(batch)
        for doc in batch:
            title = doc.title.strip() or Path(doc.source).stem.replace("_", " ")
            out.append(f"What is known about {title}?")
    return [out[i % len(out)] for i in range(n)] if out else []


def _measure(meter: CpuMeter, fn: Callable[[], object]) -> tuple[float, float]:
    usage = Usage()
    started = time.perf_counter()
    with meter.unit(usage):
        fn()
    return usage.cpu_s, time.perf_counter() - started


def calibrate(app: AppContext, retrievals: int = 30, answers: int = 3,
              progress: Callable[[str], None] | None = None) -> Figures:
    """Measure this machine as a server process runs (one BLAS thread: see :mod:`api.serve`); see :func:`_calibrate`.

    Raises:
        InputError: the store holds no documents.
        ModelError, StoreError: as retrieval and the reader.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        return _calibrate(app, retrievals, answers, progress)


def _calibrate(app: AppContext, retrievals: int, answers: int, progress: Callable[[str], None] | None) -> Figures:
    """Measure this machine on the store of ``app`` (which must hold documents).

    Args:
        app: the store and models to measure.
        retrievals: hybrid retrievals to time (after two unmeasured ones that warm the caches).
        answers: generated answers to time (0: none; estimates then leave answers out).
        progress: called with a line as each stage starts.

    Raises:
        InputError: the store holds no documents.
        ModelError, StoreError: as retrieval and the reader.
    """
    def say(line: str) -> None:
        if progress is not None:
            progress(line)

    stats = app.store.graph.stats()
    if stats.documents == 0:
        raise InputError("capacity calibration needs a store with documents: ingest some first "
                         "(hopgraph ingest PATH), or point --data-dir at one")
    questions = _questions(app, retrievals + 2)
    meter, reading = CpuMeter(), app.reading
    say(f"calibrating on {stats.documents} documents: {retrievals} hybrid retrievals")
    for q in questions[:2]:
        reading.retriever.retrieve(q, "hybrid", app.settings.top_k)
    cpu: list[float] = []
    wall: list[float] = []
    for q in questions[2:]:
        c, w = _measure(meter, partial(reading.retriever.retrieve, q, "hybrid", app.settings.top_k))
        cpu.append(c)
        wall.append(w)
    answer_cpu: list[float] = []
    answer_wall: list[float] = []
    reader_name, reader_bytes = "", 0
    if answers > 0:
        say(f"{answers} generated answers (the reader loads first)")
        llm = app.llm
        path = getattr(llm, "path", None)  # a reader on remote servers has no file here
        reader_name, reader_bytes = llm.name, path.stat().st_size if path is not None else 0
        for q in questions[2:2 + answers]:
            def answer(q: str = q) -> None:
                reading.answerer.generate(reading.retriever.retrieve(q, "hybrid", app.settings.top_k))
            c, w = _measure(meter, answer)
            answer_cpu.append(c)
            answer_wall.append(w)
    db = app.settings.db_path
    dim = int(app.checked_embedder.encode(["dimension probe"]).shape[1])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    notes = [] if app.settings.graph_store == "embedded" else [
        "measured on the server profile: store bytes are the data directory's only; Neo4j and Weaviate hold the rest"]
    return Figures(
        measured_at=time.time(), machine_cores=os.cpu_count() or 1, threads=app.settings.threads,
        store=str(app.settings.data_dir), documents=stats.documents, chunks=stats.chunks, entities=stats.entities,
        store_bytes=sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file()),
        vector_bytes=(stats.chunks + stats.entities) * dim * 4,
        retrievals=len(cpu), retrieve_cpu_s=sum(cpu) / len(cpu), retrieve_wall_s=sum(wall) / len(wall),
        answers=len(answer_cpu), answer_cpu_s=sum(answer_cpu) / len(answer_cpu) if answer_cpu else None,
        answer_wall_s=sum(answer_wall) / len(answer_wall) if answer_wall else None,
        reader=reader_name, reader_bytes=reader_bytes, process_rss_bytes=rss, notes=notes,
    )


def save_figures(figures: Figures, data_dir: Path) -> Path:
    """Write ``figures`` to ``DATA_DIR/capacity.json`` (atomically); the path."""
    path = data_dir / FIGURES_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_figures(path: Path) -> Figures:
    """Figures saved by :func:`save_figures`.

    Raises:
        InputError: the file is missing or not such figures.
    """
    try:
        return Figures(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise InputError(f"no capacity figures at {path}: run hopgraph capacity --calibrate") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"{path} does not hold capacity figures ({exc}): run hopgraph capacity --calibrate") from exc


@dataclass(frozen=True, slots=True)
class ProfileEstimate:
    """Hardware for one profile."""

    profile: str
    cores: int
    memory_gib: float
    disk_gib: float
    parts: dict[str, str]  # what each figure is made of, one line each


@dataclass(frozen=True, slots=True)
class Estimate:
    """Hardware for a workload on both profiles, and the assumptions behind it."""

    documents: int
    qps: float
    answer_share: float
    cpu_s_per_s: float  # CPU seconds per second the load needs (= cores at 100% use)
    reader_processes: int  # processes each holding a reader (one answer at a time each)
    embedded: ProfileEstimate
    server: ProfileEstimate
    assumptions: list[str]


def _gib(n: float) -> float:
    return round(n / GIB, 2)


def estimate(figures: Figures, documents: int, qps: float, answer_share: float,
             utilisation: float = UTILISATION) -> Estimate:
    """Cores, memory and disk for ``documents`` and ``qps`` requests per second, ``answer_share`` of them
    generated answers (the rest retrievals), on the embedded and the server profile.

    Raises:
        InputError: a negative or out-of-range input, or answers wanted but none were measured.
    """
    if documents < 0 or qps < 0 or not 0.0 <= answer_share <= 1.0:
        raise InputError("documents and qps must be >= 0 and answer-share within 0..1")
    if answer_share > 0 and figures.answer_cpu_s is None:
        raise InputError("these figures measured no answers: calibrate with answers, or pass --answer-share 0")
    answer_cpu = figures.answer_cpu_s or 0.0
    answer_wall = figures.answer_wall_s or 0.0
    cpu = qps * ((1.0 - answer_share) * figures.retrieve_cpu_s + answer_share * answer_cpu)
    # one process answers one question at a time: answers/s per process = 1 / answer wall time
    readers = max(1, math.ceil(qps * answer_share * answer_wall / utilisation)) if answer_share > 0 else 1
    cores = max(1, math.ceil(cpu / utilisation))
    scale = documents / figures.documents
    store_disk = figures.store_bytes * scale
    vectors = figures.vector_bytes * scale
    base_rss = max(0, figures.process_rss_bytes - figures.vector_bytes)  # models, runtime
    reader_disk = 2 * figures.reader_bytes  # the packages and the assembled file
    embedded_mem = readers * (base_rss + vectors)
    embedded = ProfileEstimate(
        "embedded", cores, _gib(embedded_mem * 1.2), _gib(store_disk * 1.3 + reader_disk), {
            "cores": f"{cpu:.2f} CPU s per s of load / {utilisation:.0%} use",
            "memory": f"{readers} process(es) x ({_gib(base_rss)} GiB models and runtime + {_gib(vectors)} GiB "
                      "vectors held in memory) + 20%",
            "disk": f"{_gib(store_disk)} GiB store + 30% (WAL, growth) + {_gib(reader_disk)} GiB reader model",
        })
    server_vectors_mem = 2 * vectors  # Weaviate HNSW: vectors plus graph, about twice the raw vectors
    graph_bytes = max(0.0, store_disk - vectors)  # what is not vectors: text, entities, relations, mentions
    neo4j_mem = 1.0 * GIB + graph_bytes  # heap plus a page cache the size of the graph
    api_mem = readers * base_rss
    server = ProfileEstimate(
        "server", cores + 2, _gib((api_mem + server_vectors_mem + neo4j_mem) * 1.2),
        _gib(2 * graph_bytes + 1.5 * vectors + reader_disk), {
            "cores": f"{cores} for the API processes (retrieval's store work moves to the servers: assumed equal) "
                     "+ 1 Neo4j + 1 Weaviate",
            "memory": f"API {_gib(api_mem)} GiB ({readers} x {_gib(base_rss)}) + Weaviate {_gib(server_vectors_mem)}"
                      f" GiB (2 x vectors) + Neo4j {_gib(neo4j_mem)} GiB (1 GiB heap + page cache = graph) + 20%",
            "disk": f"Neo4j {_gib(2 * graph_bytes)} GiB (2 x graph) + Weaviate {_gib(1.5 * vectors)} GiB "
                    f"(1.5 x vectors) + {_gib(reader_disk)} GiB reader model",
        })
    assumptions = [
        f"figures measured {time.strftime('%Y-%m-%d %H:%M', time.localtime(figures.measured_at))} on this machine "
        f"({figures.machine_cores} cores, threads={figures.threads}) over {figures.documents} documents of "
        f"{figures.store}",
        f"a retrieval costs {figures.retrieve_cpu_s * 1000:.0f} ms CPU (mean of {figures.retrievals}); "
        + (f"a generated answer {answer_cpu:.2f} s CPU and {answer_wall:.2f} s wall (mean of {figures.answers}, "
           f"reader {figures.reader})" if figures.answers else "no answers measured"),
        f"new documents are like the measured ones ({figures.store_bytes / max(1, figures.documents) / 1024:.1f} "
        "KiB of store each); retrieval CPU does not grow with the corpus (measured at this size only)",
        f"cores are planned at {utilisation:.0%} use; a process answers one question at a time "
        f"(api_generate_threads=1), so {readers} reader process(es) keep answers from queueing",
        "no ingest during the load: an ingest job takes one more core while it runs (api_ingest_nice favours queries)",
        "server profile: Neo4j and Weaviate factors are rules of thumb (their own sizing guides), not measured here",
        *figures.notes,
    ]
    return Estimate(documents, qps, answer_share, round(cpu, 3), readers, embedded, server, assumptions)
