"""``hopgraph models migrate-embeddings | prune-embeddings`` and the embedder's rollback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from api.cli_audit import audit_log, cli_actor
from api.cli_errors import handle_errors
from service.context import AppContext


def _context(app: AppContext, collection: str | None) -> AppContext:
    """The command's own context, or one over a served collection."""
    if collection is None:
        return app
    from service.collections import collection_settings, exists

    if not exists(app.settings, collection):
        raise click.UsageError(f"no collection {collection!r}")
    ctx = AppContext(collection_settings(app.settings, collection), app.viewer)
    click.get_current_context().call_on_close(ctx.close)
    return ctx


def _progress(phase: str, done: int, total: int) -> None:
    """One line per phase, rewritten in place (on stderr)."""
    click.echo(f"\r{phase}: {done}/{total}", nl=False, err=True)
    if done >= total:
        click.echo("", err=True)


@click.command(name="migrate-embeddings")
@click.argument("name")
@click.option("--collection", help="Migrate this served collection (gated on its golden.json by default).")
@click.option("--golden", type=click.Path(dir_okay=False, path_type=Path),
              help="Golden questions (MuSiQue/HotpotQA format); default: the store's golden.json.")
@click.option("--limit", type=int, help="Only the first N golden questions.")
@click.option("--force", is_flag=True, help="Switch even when the gate fails, or without a golden set (audited).")
@click.option("--prune", is_flag=True, help="Once switched, delete the old vectors (no rollback after that).")
@click.option("--nice", default=10, show_default=True, type=click.IntRange(0, 19),
              help="Run at this lower CPU priority, so that queries come first.")
@click.pass_obj
@handle_errors
def migrate_embeddings(app: AppContext, name: str, collection: str | None, golden: Path | None, limit: int | None,
                       force: bool, prune: bool, nice: int) -> None:
    """Rebuild the store's vectors with the embedding model NAME (a packaged name or a sentence-transformers path)
    beside the ones in use, while queries and ingest go on; then switch to them if recall@5 on the golden set drops
    by at most 1 point and p95 retrieval latency grows by at most 25%. Resumable: run it again after a crash.
    Servers switch within seconds; the old vectors stay (and stay current) for 'models rollback embedder'."""
    from service.embedding_migration import migrate
    from service.embedding_migration import prune as prune_spaces
    from service.evaluation import load_questions
    from service.model_lifecycle import golden_path

    if nice:
        os.nice(nice)
    ctx = _context(app, collection)
    path = golden or golden_path(ctx.settings)
    questions = load_questions(path, limit) if path.is_file() else []
    if not questions and not force:
        raise click.UsageError(f"no golden set at {path}: pass --golden FILE (or --force to switch ungated)")
    before = ctx.checked_embedder.identity
    result = migrate(ctx.settings, ctx.store, ctx.ontology, ctx.embedders, name, questions, force=force,
                     progress=_progress)
    c = result.counts
    click.echo(f"space {result.space}: {c.documents_written} document(s), {c.chunks_written} chunk(s) and "
               f"{c.entities_written} entity vector(s) written, {c.documents_deleted + c.entities_deleted} removed, "
               f"{c.passes} pass(es), {result.seconds:.1f}s")
    if result.table():
        click.echo(result.table())
    for reason in result.reasons:
        click.echo(f"gate: {reason}")
    if not result.switched:
        click.echo(f"not switched: {before.name} stays in use (the new vectors are kept and kept current; rerun "
                   "with --force to switch, or prune them with 'hopgraph models prune-embeddings')")
        sys.exit(1)
    audit_log(app).record(cli_actor(), collection, "model.migrate", f"embedder:{name}",
                          before={"model": before.name, "sha256": before.checksum},
                          after={"model": name, "space": result.space, "forced": bool(result.reasons) or not questions,
                                 "reasons": result.reasons, **result.figures.get("candidate", {})})
    click.echo(f"switched to {name}{' (forced)' if result.reasons or not questions else ''}")
    if prune:
        click.echo(f"pruned: {', '.join(s or '(original)' for s in prune_spaces(ctx.settings, ctx.store)) or '-'}")


@click.command(name="prune-embeddings")
@click.option("--collection", help="Prune this served collection.")
@click.pass_obj
@handle_errors
def prune_embeddings(app: AppContext, collection: str | None) -> None:
    """Delete every vector space but the one in use (after this, 'models rollback embedder' has nothing to return
    to); audited."""
    from service.embedding_migration import prune

    ctx = _context(app, collection)
    gone = prune(ctx.settings, ctx.store)
    if gone:
        audit_log(app).record(cli_actor(), collection, "model.prune", "embedder", after={"spaces": gone})
    click.echo(f"pruned: {', '.join(s or '(original)' for s in gone) or 'nothing'}")


def rollback_embedder(app: AppContext, collection: str | None) -> None:
    """``hopgraph models rollback embedder``: back to the vectors in use before the last switch."""
    from service.embedding_migration import rollback

    ctx = _context(app, collection)
    was = ctx.checked_embedder.identity
    result = rollback(ctx.settings, ctx.store, ctx.ontology, ctx.embedders, progress=_progress)
    audit_log(app).record(cli_actor(), collection, "model.rollback", f"embedder:{was.name}",
                          before={"name": was.name}, after={"name": result.model, "space": result.space})
    click.echo(f"rolled back from {was.name} to {result.model} ({result.counts.documents_written} document(s) "
               f"caught up, {result.seconds:.1f}s)")
