"""``hopgraph models``: the model registry and the packaged readers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from api.cli_audit import audit_log, cli_actor
from api.cli_embeddings import migrate_embeddings, prune_embeddings, rollback_embedder
from api.cli_errors import handle_errors
from service.context import AppContext
from service.model_registry import KINDS, ModelEntry, ModelRegistry
from service.registry import reader_path
from service.server_state import open_server_db


def _registry(app: AppContext) -> ModelRegistry:
    return ModelRegistry(open_server_db(app.settings))


def _line(e: ModelEntry) -> str:
    return (f"{e.kind:<8} {e.name:<28} v{e.version:<3} {e.size / 2**20:>8.1f} MB  sha256 {e.sha256[:12]}  "
            f"{e.licence or '-':<11} {e.source}")


@click.group()
def models() -> None:
    """Models: the registry (every embedder, reader and spaCy pipeline, with versions and checksums) and the
    packaged readers."""


@models.command(name="list")
@click.option("--json", "as_json", is_flag=True, help='One JSON object: {"registry": [...], "readers": [...]}.')
@click.pass_obj
@handle_errors
def models_list(app: AppContext, as_json: bool) -> None:
    """The registry's entries (the packaged models are entered on first use) and every packaged reader: installed
    or not, size, checksum state, and which one the settings use."""
    from service.models import reader_statuses

    registry = _registry(app)
    registry.seed(app.settings)
    entries = registry.entries()
    readers = reader_statuses(app.settings)
    if as_json:
        click.echo(json.dumps({"registry": [e.as_dict() for e in entries], "readers": [r.as_dict() for r in readers]}))
        return
    click.echo("registry:")
    for e in entries:
        click.echo(f"  {_line(e)}")
    click.echo("packaged readers:")
    for status in readers:
        mark = "*" if status.in_use else " "
        click.echo(f"{mark} {status.name:<20} {status.state:<13} {status.size_mb:>7.1f} MB  "
                   f"sha256 {status.sha256[:12]}  {status.description}")
    click.echo("(* in use; 'hopgraph models verify' re-hashes every installed file and every registered path)")


@models.command(name="show")
@click.argument("name")
@click.pass_obj
@handle_errors
def models_show(app: AppContext, name: str) -> None:
    """Every version of the model NAME."""
    for e in _registry(app).get(name):
        click.echo(_line(e))


@models.command(name="path")
@click.argument("reader", default="default")
@click.pass_obj
@handle_errors
def models_path(app: AppContext, reader: str) -> None:
    """Print the GGUF file of READER (a packaged reader's name or alias, assembled and verified if needed), e.g.
    for an inference server: python -m llama_cpp.server --model "$(hopgraph models path fast)"."""
    click.echo(str(reader_path(app.settings, reader)))


@models.command(name="add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--kind", required=True, type=click.Choice(KINDS), help="What the model does.")
@click.option("--name", help="Its name in the registry (default: the file or directory name).")
@click.option("--licence", default="", help="Its licence, where known.")
@click.pass_obj
@handle_errors
def models_add(app: AppContext, path: Path, kind: str, name: str | None, licence: str) -> None:
    """Enter the model at PATH (a GGUF file, a sentence-transformers or spaCy directory); a changed file under a
    known name is its next version (audited)."""
    entry = _registry(app).add(kind, path, name, licence)
    audit_log(app).record(cli_actor(), None, "model.add", f"{entry.kind}:{entry.name}",
                          after={"version": entry.version, "sha256": entry.sha256, "source": entry.source})
    click.echo(f"{entry.kind} {entry.name} version {entry.version}  sha256 {entry.sha256[:12]}")


@models.command(name="verify")
@click.pass_obj
@handle_errors
def models_verify(app: AppContext) -> None:
    """Re-hash every installed reader (and its assembled file) against the pinned SHA-256, and every registered
    path against its recorded checksum; exit 1 on a mismatch or a missing file."""
    from service.models import verify_readers

    bad = 0
    for name, ok, detail in verify_readers(app.settings):
        click.echo(f"{'ok ' if ok else 'BAD'} {name}: {detail}")
        bad += not ok
    registry = _registry(app)
    problems = registry.verify()
    for entry, why in problems:
        click.echo(f"BAD {entry.kind} {entry.name} v{entry.version}: {why}")
    checked = sum(not e.source.startswith("package:") for e in registry.entries())
    click.echo(f"registry: {checked - len(problems)} of {checked} registered path(s) match")
    if bad or problems:
        sys.exit(1)


@models.command(name="promote")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--golden", type=click.Path(dir_okay=False, path_type=Path),
              help="Golden questions (MuSiQue/HotpotQA format) whose passages the store holds; "
                   "default: DATA_DIR/golden.json.")
@click.option("--collection", help="Evaluate on this served collection (its store and its golden.json).")
@click.option("--limit", type=int, help="Only the first N golden questions.")
@click.option("--force", is_flag=True, help="Promote even when the gate fails (audited as forced).")
@click.pass_obj
@handle_errors
def models_promote(app: AppContext, kind: str, name: str, golden: Path | None, collection: str | None,
                   limit: int | None, force: bool) -> None:
    """Evaluate the model NAME against the one in use on the golden set and make it the one in use if recall@5 and
    answer F1 do not drop by more than 1 and 2 points and p95 answer time grows by at most 25%; prints the
    side-by-side table either way (exit 1 when refused). Servers switch within seconds."""
    from service.collections import collection_settings, exists
    from service.evaluation import load_questions
    from service.model_lifecycle import golden_path, promote

    evaluated = app.settings
    if collection is not None:
        if not exists(app.settings, collection):
            raise click.UsageError(f"no collection {collection!r}")
        evaluated = collection_settings(app.settings, collection)
    path = golden or golden_path(evaluated)
    if not path.is_file():
        raise click.UsageError(f"no golden set at {path}: pass --golden FILE")
    result = promote(evaluated, open_server_db(app.settings), audit_log(app), cli_actor(),
                     kind, name, load_questions(path, limit), force=force)
    click.echo(result.table())
    for reason in result.reasons:
        click.echo(f"gate: {reason}")
    if result.promoted:
        click.echo(f"promoted {name}{' (forced past the gate)' if result.reasons else ''}")
    else:
        click.echo(f"not promoted: {result.current} stays in use (--force to override)")
        sys.exit(1)


@models.command(name="rollback")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--collection", help="For an embedder: roll back this served collection's vectors.")
@click.pass_obj
@handle_errors
def models_rollback(app: AppContext, kind: str, collection: str | None) -> None:
    """Return to the model of KIND in use before the last promotion (a reader) or migration (an embedder: its
    vectors were kept), audited; servers switch within seconds."""
    from service.model_lifecycle import rollback

    if kind == "embedder":
        rollback_embedder(app, collection)
        return
    was, now = rollback(open_server_db(app.settings), audit_log(app), cli_actor(), kind)
    click.echo(f"rolled back from {was} to {now or 'the settings’ own ' + kind}")


models.add_command(migrate_embeddings)
models.add_command(prune_embeddings)
