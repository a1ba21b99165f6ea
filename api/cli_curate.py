"""``hopgraph entity edit|merge|split``: curating entities from the command line.

Each command validates the change, stores it as curation records (every later ingest
applies them), records it in the audit log (``hopgraph audit``) and extracts the touched
documents again, then prints the result.
"""

from __future__ import annotations

import json

import click

from api.cli_audit import audit_log, cli_actor
from api.cli_errors import handle_errors
from service import curation as curation_service
from service.access import require_every_document
from service.context import AppContext
from service.curation import Plan


def _run(app: AppContext, plan: Plan) -> None:
    require_every_document(app.viewer, "curation")
    change = curation_service.submit(app.store.graph, app.ontology, plan, audit_log(app), cli_actor())
    report = curation_service.apply(app.pipeline(), app.store.graph, change.entities, change.reembed,
                                    documents=change.named_documents)
    click.echo(json.dumps({"action": change.action, "before": change.before, "after": change.after,
                           "documents_reprocessed": report.documents}, indent=2))


@click.command("edit")
@click.argument("entity_id")
@click.option("--name", help="New canonical name.")
@click.option("--type", "type_", help="New entity type (one of the ontology's).")
@click.option("--add-alias", "add", multiple=True, help="An alias to add (repeatable).")
@click.option("--remove-alias", "remove", multiple=True, help="An alias to remove (repeatable).")
@click.pass_obj
@handle_errors
def entity_edit(app: AppContext, entity_id: str, name: str | None, type_: str | None, add: tuple[str, ...],
                remove: tuple[str, ...]) -> None:
    """Rename, retype or change the aliases of an entity."""
    _run(app, lambda c: c.edit(entity_id, name=name, type=type_, add_aliases=add,
                                                          remove_aliases=remove))


@click.command("merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", "target", required=True, help="The entity that stays.")
@click.option("--name", help="New canonical name of the merged entity.")
@click.option("--type", "type_", help="New entity type of the merged entity.")
@click.pass_obj
@handle_errors
def entity_merge(app: AppContext, sources: tuple[str, ...], target: str, name: str | None,
                 type_: str | None) -> None:
    """Merge SOURCES into another entity."""
    _run(app, lambda c: c.merge(sources, target, name=name, type=type_))


@click.command("split")
@click.argument("entity_id")
@click.option("--name", required=True, help="Name of the new entity.")
@click.option("--type", "type_", help="Type of the new entity (default: the original's).")
@click.option("--surface", "surfaces", multiple=True, help="Mentions with this surface move (repeatable).")
@click.option("--document", "documents", multiple=True, help="Mentions in this document move (repeatable).")
@click.pass_obj
@handle_errors
def entity_split(app: AppContext, entity_id: str, name: str, type_: str | None, surfaces: tuple[str, ...],
                 documents: tuple[str, ...]) -> None:
    """Move some mentions of an entity to a new entity."""
    _run(app, lambda c: c.split(entity_id, name=name, type=type_, surfaces=surfaces,
                                                           documents=documents))


@click.group("curation")
def curation() -> None:
    """Curation records: list them, revert one."""


@curation.command("list")
@click.pass_obj
@handle_errors
def curation_list(app: AppContext) -> None:
    """Every stored edit, merge and split (JSON lines)."""
    require_every_document(app.viewer, "curation")
    for record in curation_service.records(app.store.graph, app.ontology):
        click.echo(json.dumps(record))


@curation.command("revert")
@click.argument("key")
@click.pass_obj
@handle_errors
def curation_revert(app: AppContext, key: str) -> None:
    """Undo the record KEY (e.g. merge:ENTITY_ID) and extract the touched documents again."""
    _run(app, lambda c: c.revert(key))
