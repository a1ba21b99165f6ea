"""The ``hopgraph`` command line.

Exit codes: 0 success, 1 some input failed (the rest was ingested), 2 usage
error, 3 any other hopgraph error (message on stderr, never a traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from api.context import AppContext
from core.errors import HopgraphError, InputError, NotFoundError
from core.settings import load_settings

F = TypeVar("F", bound=Callable[..., Any])


def _handle_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NotFoundError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except HopgraphError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(3)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="TOML settings file.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Store directory.")
@click.option("--threads", type=int, help="CPU threads for models.")
@click.pass_context
def main(ctx: click.Context, config: Path | None, data_dir: Path | None, threads: int | None) -> None:
    """hopgraph: offline knowledge-graph RAG."""
    try:
        settings = load_settings(config, data_dir=data_dir, threads=threads)
    except HopgraphError as exc:
        raise click.UsageError(str(exc)) from exc
    app = AppContext(settings)
    ctx.obj = app
    ctx.call_on_close(app.close)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--glob", "pattern", help="File-name pattern under directories, e.g. '*.md'.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.pass_obj
@_handle_errors
def ingest(app: AppContext, paths: tuple[Path, ...], pattern: str | None, progress: bool) -> None:
    """Ingest files and directories (txt, md, html, pdf, docx, json, jsonl)."""
    from tqdm import tqdm

    pipeline = app.pipeline()
    bar: tqdm[Any] | None = None

    def on_progress(done: int, total: int) -> None:
        nonlocal bar
        if not progress:
            return
        if bar is None:
            bar = tqdm(total=total, unit="doc", desc="ingest", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)

    try:
        report = pipeline.run(list(paths), pattern, on_progress)
    finally:
        if bar is not None:
            bar.close()
    for failure in report.failures:
        click.echo(f"failed: {failure.path}: {failure.reason}", err=True)
    click.echo(
        f"files {report.files}, documents ingested {report.documents}, unchanged {report.unchanged}, "
        f"removed {report.removed}, chunks {report.chunks}, rejected {report.rejected}, "
        f"failed files {len(report.failures)}, {report.seconds:.1f}s"
    )
    click.echo(f"store now holds: entities {report.entities}, relations {report.relations}")
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("doc", required=True)
@click.pass_obj
@_handle_errors
def delete(app: AppContext, doc: str) -> None:
    """Delete a document (by id or source path) and all it alone contributed."""
    key = str(Path(doc).resolve()) if Path(doc).exists() else doc
    docs = app.store.graph.find_documents(key)
    if not docs:
        raise NotFoundError(f"no document with id or source {doc!r}")
    for d in docs:
        removed = app.store.delete(d.id)
        click.echo(f"deleted {d.id} ({d.title or d.source}); {len(removed)} entities went with it")


@main.command()
@click.pass_obj
@_handle_errors
def stats(app: AppContext) -> None:
    """Counts of what the store holds."""
    s = app.store.graph.stats()
    click.echo(f"data dir   {app.settings.data_dir}")
    for name in ("documents", "chunks", "entities", "relations", "mentions"):
        click.echo(f"{name:<10} {getattr(s, name)}")


@main.group()
def docs() -> None:
    """Documents."""


@docs.command("list")
@click.option("--offset", default=0, show_default=True)
@click.option("--limit", default=50, show_default=True)
@click.pass_obj
@_handle_errors
def docs_list(app: AppContext, offset: int, limit: int) -> None:
    """List documents."""
    for d in app.store.graph.list_documents(offset, limit):
        click.echo(f"{d.id}  {d.title or '-'}  {d.source}")


@main.group()
def entities() -> None:
    """Entities of the graph."""


@entities.command("search")
@click.argument("name")
@click.option("--limit", default=10, show_default=True)
@click.pass_obj
@_handle_errors
def entities_search(app: AppContext, name: str, limit: int) -> None:
    """Find entities by name or alias."""
    hits = app.store.graph.search_entities(name, limit)
    if not hits:
        click.echo(f"no entity matches {name!r}")
        return
    for hit in hits:
        ent = app.store.graph.get_entity(hit.entity_id)
        if ent is not None:
            click.echo(f"{ent.id}  {ent.name}  [{ent.type}]  score={hit.score:.2f}")


@main.group()
def entity() -> None:
    """One entity."""


@entity.command("show")
@click.argument("entity_id")
@click.option("--limit", default=20, show_default=True, help="Neighbours to show.")
@click.pass_obj
@_handle_errors
def entity_show(app: AppContext, entity_id: str, limit: int) -> None:
    """Aliases, type, description and neighbours (with relation types and evidence)."""
    graph = app.store.graph
    ent = graph.get_entity(entity_id)
    if ent is None:
        raise NotFoundError(f"no entity {entity_id!r}")
    click.echo(f"{ent.name}  [{ent.type}]  id={ent.id}")
    click.echo(f"aliases: {', '.join(ent.aliases) or '-'}")
    click.echo(f"description: {ent.description}")
    for n in graph.neighbours(entity_id, limit):
        arrow = f"-[{n.relation.type}]->" if n.direction == "out" else f"<-[{n.relation.type}]-"
        click.echo(f"  {arrow} {n.entity.name} [{n.entity.type}] ({n.entity.id}) conf={n.relation.confidence:.2f}")
        ev = n.relation.evidence[0] if n.relation.evidence else None
        if ev is not None:
            doc = graph.get_document(ev.doc_id)
            if doc is not None:
                sentence = " ".join(doc.text[ev.start : ev.end].split())
                click.echo(f"      evidence {ev.chunk_id}: {sentence[:200]}")


if __name__ == "__main__":
    main()
