"""CLI commands of the HTTP API: ``hopgraph serve`` and ``hopgraph keys create|list|revoke``."""

from __future__ import annotations

import click

from api.cli_audit import audit_log, cli_actor
from api.cli_errors import handle_errors
from service.context import AppContext
from service.key_changes import create_key, revoke_key


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.pass_obj
@handle_errors
def serve(app: AppContext, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the HTTP API (collections under DATA_DIR/collections; keys: 'hopgraph keys create')."""
    from api.serve import serve as run_server

    run_server(app.settings, host, port, workers, log_level)


@click.group()
def keys() -> None:
    """API keys of the HTTP API (stored hashed in the server database: DATA_DIR/server.db or server_db_url)."""


def _key_store(app: AppContext):  # type: ignore[no-untyped-def]
    from service.keys import KeyStore
    from service.server_state import open_server_db

    db = open_server_db(app.settings)
    click.get_current_context().call_on_close(db.close)
    return KeyStore(db)


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(["reader", "editor", "curator", "admin"]))
@click.option("--collections", default="", help="Comma-separated collection names, or '*' for all.")
@click.option("--name", default="", help="A label for people.")
@click.option("--principals", default=None,
              help="Whose documents the key reads, comma-separated (group:finance,user:ana; '*': every document). "
                   "Default: none (documents without an ACL) for readers, '*' for editors, curators and admins.")
@click.pass_obj
@handle_errors
def keys_create(app: AppContext, role: str, collections: str, name: str, principals: str | None) -> None:
    """Create a key and print it (this once: only its hash is stored)."""
    held = None if principals is None else [p for p in principals.split(",") if p.strip()]
    key, secret = create_key(_key_store(app), audit_log(app), cli_actor(), role, collections.split(","), name, held)
    click.echo(secret)
    click.echo(f"id {key.id}  name {key.name}  role {key.role}  collections {','.join(key.collections)}"
               f"  principals {','.join(key.principals) or '-'}", err=True)


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.pass_obj
@handle_errors
def keys_list(app: AppContext, include_revoked: bool) -> None:
    """List keys (never their secrets)."""
    for k in _key_store(app).active(include_revoked):
        state = " revoked" if k.revoked_at else ""
        click.echo(f"{k.id}  {k.role:<7}  {','.join(k.collections):<30}  {','.join(k.principals) or '-':<24}"
                   f"  {k.name}{state}")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_obj
@handle_errors
def keys_revoke(app: AppContext, key_id: str) -> None:
    """Revoke a key (servers stop accepting it within seconds)."""
    key = revoke_key(_key_store(app), audit_log(app), cli_actor(), key_id)
    click.echo(f"revoked {key.id} ({key.name})")

