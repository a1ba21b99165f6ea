"""``hopgraph backup [--collection C | --all] --to DIR_OR_FILE``, ``backup verify|list`` and ``hopgraph restore``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from api.cli_audit import audit_log, cli_actor
from api.cli_errors import handle_errors
from service.context import AppContext


def _progress(what: str, done: int, total: int) -> None:
    """One line per store, rewritten in place (on stderr)."""
    click.echo(f"\r{what}: {done}/{total}", nl=False, err=True)
    if done >= total:
        click.echo("", err=True)


def _key(app: AppContext) -> bytes | None:
    from service.backup_manifest import read_key

    return read_key(app.settings.backup_key_file)


@click.group(invoke_without_command=True)
@click.option("--to", "to", type=click.Path(path_type=Path),
              help="A directory of backups (the backup goes in a new sub-directory) or a .tar file.")
@click.option("--collection", "names", multiple=True, help="Back up this served collection (repeatable).")
@click.option("--all", "every", is_flag=True,
              help="Every collection, the data directory's own store and the server state.")
@click.option("--server-state", is_flag=True, help="Also keys (as hashes), jobs, the audit log, the model registry.")
@click.option("--keep", type=click.IntRange(min=1), help="Then keep only the newest N backups in --to.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@click.pass_context
@handle_errors
def backup(ctx: click.Context, to: Path | None, names: tuple[str, ...], every: bool, server_state: bool,
           keep: int | None, as_json: bool) -> None:
    """Back up stores and server state, consistently, while ingest and queries go on. With no --collection or --all:
    the data directory's own store. Signed when backup_key_file is set. 'backup verify' re-checks one."""
    if ctx.invoked_subcommand is not None:
        return
    if to is None:
        raise click.UsageError("--to is required")
    if every and names:
        raise click.UsageError("--all and --collection exclude each other")
    from service import backup as service

    app: AppContext = ctx.obj
    started = time.monotonic()
    manifest, path = service.create(app.settings, to, collections_=names, default_store=not names and not every,
                                    every=every, server_state=server_state, key=_key(app), keep=keep,
                                    progress=_progress)
    audit_log(app).record(cli_actor(), None, "backup.create", manifest.id,
                          after={"path": str(path), "entries": sorted(manifest.entries)})
    elapsed = time.monotonic() - started
    if as_json:
        click.echo(json.dumps({**manifest.body(), "path": str(path), "elapsed_s": round(elapsed, 3)}, indent=2,
                              sort_keys=True))
        return
    size = sum(int(f["bytes"]) for f in manifest.files.values())
    click.echo(f"backup {manifest.id}: {path} ({size / 1e6:.1f} MB, {len(manifest.files)} files"
               f"{', signed' if manifest.signature else ''}) in {elapsed:.1f} s")
    for entry, info in sorted(manifest.entries.items()):
        counts = info["counts"]
        click.echo(f"  {entry}: {counts['documents']} documents, {counts['chunks']} chunks, "
                   f"{counts['entities']} entities, {counts['relations']} relations")
    if manifest.server_state:
        click.echo("  server state: keys, jobs, audit log, model registry")


@backup.command("verify")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.pass_obj
@handle_errors
def backup_verify(app: AppContext, source: Path) -> None:
    """Re-hash every file of a backup against its manifest (and check its signature when a key is set)."""
    import tempfile

    from service.backup_manifest import verify
    from service.restore import unpack

    with tempfile.TemporaryDirectory(prefix=".hopgraph-verify-", dir=source.parent) as tmp:
        directory = unpack(source, Path(tmp)) if source.is_file() else source
        manifest = verify(directory, _key(app))
    click.echo(f"backup {manifest.id}: {len(manifest.files)} files match the manifest"
               f"{', signature valid' if manifest.signature and app.settings.backup_key_file else ''}")


@backup.command("list")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
@handle_errors
def backup_list(app: AppContext, directory: Path) -> None:
    """The backups in DIRECTORY, newest first."""
    from service.backup import listing

    for m in listing(directory):
        when = datetime.fromtimestamp(m.created_at, UTC).isoformat(timespec="seconds")
        size = sum(int(f["bytes"]) for f in m.files.values())
        click.echo(f"{m.id}  {when}  {size / 1e6:8.1f} MB  {', '.join(sorted(m.entries))}"
                   f"{'  +server state' if m.server_state else ''}")


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--collection", help="Restore only this collection of the backup.")
@click.option("--as", "as_name", help="Restore the one chosen store as this collection.")
@click.option("--replace", is_flag=True, help="Replace a collection of the same name (once the new one is complete).")
@click.option("--server-state", is_flag=True, help="Also restore keys, jobs, audit log and model registry.")
@click.pass_obj
@handle_errors
def restore(app: AppContext, source: Path, collection: str | None, as_name: str | None, replace: bool,
            server_state: bool) -> None:
    """Verify a backup and restore it: each collection is built complete beside the current one and switched in
    only then; an interrupted restore leaves the old state (run it again)."""
    from service.restore import restore as run

    started = time.monotonic()
    report = run(app.settings, source, collection=collection, as_name=as_name, replace=replace,
                 server_state=server_state, key=_key(app), progress=_progress)
    audit_log(app).record(cli_actor(), None, "backup.restore", report.backup_id,
                          after={"restored": [r["collection"] or "(data directory store)" for r in report.restored],
                                 "server_state": report.server_state})
    for item in report.restored:
        counts = item["counts"]
        assert isinstance(counts, dict)
        click.echo(f"restored {item['entry']} as {item['collection'] or 'the data directory store'}: "
                   f"{counts['documents']} documents, {counts['chunks']} chunks")
    if report.server_state:
        click.echo("restored the server state")
    click.echo(f"verified and restored in {time.monotonic() - started:.1f} s")
