"""The ``hopgraph`` command line.

Exit codes: 0 success, 1 some input failed (the rest was ingested), 2 usage
error, 3 any other hopgraph error (message on stderr, never a traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from api.cli_errors import handle_errors
from api.shapes import answer_to_dict, answer_usage
from core.errors import HopgraphError
from core.settings import load_settings
from service import documents, questions
from service import entities as entity_service
from service.access import EVERY_DOCUMENT, Viewer, parse_principals, require_every_document
from service.context import AppContext
from service.types import MODES, PathEdge, RetrievalResult
from service.usage import CpuMeter, Usage


@click.group()
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="TOML settings file.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Store directory.")
@click.option("--threads", type=int, help="CPU threads for models.")
@click.option("--reader", help="Reader LLM: 'default', 'fast' (see 'hopgraph models list') or a GGUF path.")
@click.option("--principals", default=EVERY_DOCUMENT, show_default=True,
              help="Read as these principals (comma-separated, e.g. group:finance,user:ana; '' for none): "
                   "documents with an ACL they do not hold, and all derived from them, stay hidden. "
                   "'*': every document.")
@click.pass_context
def main(ctx: click.Context, config: Path | None, data_dir: Path | None, threads: int | None,
         reader: str | None, principals: str) -> None:
    """hopgraph: offline knowledge-graph RAG."""
    try:
        settings = load_settings(config, data_dir=data_dir, threads=threads, llm_model=reader)
        viewer = Viewer.of(parse_principals(principals, allow_all=True))
    except HopgraphError as exc:
        raise click.UsageError(str(exc)) from exc
    app = AppContext(settings, viewer)
    ctx.obj = app
    ctx.call_on_close(app.close)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--glob", "pattern", help="File-name pattern under directories, e.g. '*.md'.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.option("--acl", default="", help="Who may see these documents (comma-separated principals, e.g. "
              "group:finance,user:ana; default: everyone). A JSON record's own 'acl' field wins.")
@click.pass_obj
@handle_errors
def ingest(app: AppContext, paths: tuple[Path, ...], pattern: str | None, progress: bool, acl: str) -> None:
    """Ingest files and directories (txt, md, html, pdf, docx, json, jsonl)."""
    from tqdm import tqdm

    access = parse_principals(acl, allow_all=False)
    pipeline = app.pipeline()
    bar: tqdm[Any] | None = None

    def on_text(done: int, total: int) -> None:  # characters of text: it moves inside a large file too
        nonlocal bar
        if not progress:
            return
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc="ingest", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)

    def on_documents(done: int, total: int) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{done}/{total} documents")

    try:
        report = pipeline.run(list(paths), pattern, on_documents, acl=access, text_progress=on_text)
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
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.pass_obj
@handle_errors
def reextract(app: AppContext, progress: bool) -> None:
    """Extract every stored document again with the current spaCy pipeline and ontology (e.g. after a pipeline
    change); the text stays, entities, relations and vectors are rebuilt."""
    from tqdm import tqdm

    require_every_document(app.viewer, "re-extraction")
    doc_ids = documents.all_ids(app.store.graph)
    bar = tqdm(total=len(doc_ids), unit="doc", desc="reextract", file=sys.stderr, disable=not progress)
    try:
        report = app.pipeline().reprocess(doc_ids, progress=lambda done, _total: bar.update(done - bar.n))
    finally:
        bar.close()
    click.echo(f"documents extracted again {report.documents}, chunks {report.chunks}, {report.seconds:.1f}s")


@main.command()
@click.argument("doc", required=True)
@click.pass_obj
@handle_errors
def delete(app: AppContext, doc: str) -> None:
    """Delete a document (by id or source path) and all it alone contributed (audited)."""
    from api.cli_audit import audit_log, cli_actor

    log, actor = audit_log(app), cli_actor()
    for d in documents.resolve(app.reading.store.graph, doc):
        gone = documents.delete(app.store, d.id, log, actor)
        click.echo(f"deleted {d.id} ({d.title or d.source}); {gone.entities_removed} entities went with it")


@main.command()
@click.pass_obj
@handle_errors
def stats(app: AppContext) -> None:
    """Counts of what the store holds."""
    s = documents.stats(app.reading.store.graph)
    click.echo(f"data dir   {app.settings.data_dir}")
    for name in ("documents", "chunks", "entities", "relations", "mentions"):
        click.echo(f"{name:<10} {getattr(s, name)}")


@main.group()
def docs() -> None:
    """Documents."""


@docs.command("list")
@click.option("--offset", default=0, show_default=True)
@click.option("--limit", default=50, show_default=True)
@click.option("--search", "text", default=None, help="Only documents whose title or source contains this.")
@click.option("--content", is_flag=True, help="--search matches the documents' text as keywords, best first.")
@click.pass_obj
@handle_errors
def docs_list(app: AppContext, offset: int, limit: int, text: str | None, content: bool) -> None:
    """List documents (by id), or those a search finds."""
    if text is None:
        found = documents.page(app.reading.store.graph, offset, limit)
    else:
        found = documents.search(app.reading.store, text, offset, limit, content=content)
    for d in found.documents:
        click.echo(f"{d.id}  {d.title or '-'}  {d.source}")
    click.echo(f"{found.total} document(s) in all", err=True)


@main.group()
def entities() -> None:
    """Entities of the graph."""


@entities.command("search")
@click.argument("name")
@click.option("--limit", default=10, show_default=True)
@click.pass_obj
@handle_errors
def entities_search(app: AppContext, name: str, limit: int) -> None:
    """Find entities by name or alias."""
    hits = entity_service.search(app.reading.store.graph, name, limit)
    if not hits:
        click.echo(f"no entity matches {name!r}")
    for hit in hits:
        click.echo(f"{hit.entity.id}  {hit.entity.name}  [{hit.entity.type}]  score={hit.score:.2f}")


@main.group()
def entity() -> None:
    """One entity."""


@entity.command("show")
@click.argument("entity_id")
@click.option("--limit", default=20, show_default=True, help="Neighbours to show.")
@click.pass_obj
@handle_errors
def entity_show(app: AppContext, entity_id: str, limit: int) -> None:
    """Aliases, type, description and neighbours (with relation types and evidence)."""
    found = entity_service.detail(app.reading.store.graph, entity_id, limit)
    ent = found.entity
    click.echo(f"{ent.name}  [{ent.type}]  id={ent.id}")
    click.echo(f"aliases: {', '.join(ent.aliases) or '-'}")
    click.echo(f"description: {ent.description}")
    for detail in found.neighbours:
        n = detail.neighbour
        arrow = f"-[{n.relation.type}]->" if n.direction == "out" else f"<-[{n.relation.type}]-"
        click.echo(f"  {arrow} {n.entity.name} [{n.entity.type}] ({n.entity.id}) conf={n.relation.confidence:.2f}")
        if detail.evidence:
            click.echo(f"      evidence {detail.evidence[0].evidence.chunk_id}: {detail.evidence[0].sentence[:200]}")
    click.echo(f"documents ({found.document_count}):")
    for doc_id, title in found.documents:
        click.echo(f"  {doc_id}  {title}")


def format_path(path: list[PathEdge]) -> str:
    """``A -[T]-> B <-[U]- C``, in the order the path walks."""
    if not path:
        return ""
    first = path[0]
    parts = [first.head if first.forward else first.tail]
    for e in path:
        parts.append(f"-[{e.type}]-> {e.tail}" if e.forward else f"<-[{e.type}]- {e.head}")
    return " ".join(parts)


def _print_passages(result: RetrievalResult) -> None:
    for n, p in enumerate(result.passages, start=1):
        scores = ", ".join(f"{k}={v:.3g}" for k, v in sorted(p.scores.items()))
        click.echo(f"[{n}] {p.title or p.doc_id}  chunk={p.chunk_id} span={p.start}-{p.end}  ({scores})")
        click.echo(f"    {' '.join(p.text.split())[:300]}")
        for path in p.paths[:2]:
            click.echo(f"    path: {format_path(path)}")


@main.command()
@click.argument("question")
@click.option("--mode", type=click.Choice(list(MODES)), help="Retrieval mode (default: settings, hybrid).")
@click.option("-k", "--top-k", type=int, help="Passages to retrieve.")
@click.option("--extractive", is_flag=True, help="No LLM: answer with the best-supported sentence or entity.")
@click.option("--json", "as_json", is_flag=True, help="Print the structured result as JSON.")
@click.pass_obj
@handle_errors
def ask(app: AppContext, question: str, mode: str | None, top_k: int | None, extractive: bool, as_json: bool) -> None:
    """Answer a question with citations (streams the LLM's tokens)."""
    reading = app.reading
    usage, meter = Usage(), CpuMeter()
    with meter.unit(usage):
        result = questions.retrieve(reading.retriever, app.settings, question, mode, top_k)
    usage.retrieval_s = result.latency_ms / 1000.0
    if extractive:
        answer = questions.answer(reading.answerer, result, extractive=True)
    else:
        from service.models import pending_assembly

        target = pending_assembly(app.settings)
        if target is not None:
            click.echo(f"preparing the reader once: joining its packages into {target} (about 10 s)", err=True)
        stream = None if as_json else (lambda tok: click.echo(tok.replace("\n", "\nreader (second hop): "), nl=False))
        if not as_json:
            click.echo("reader: ", nl=False)
        with meter.unit(usage):
            answer = questions.answer(reading.answerer, result, on_token=stream)
        usage.add(answer_usage(answer))
        if not as_json:
            click.echo()
    if as_json:
        click.echo(json.dumps(answer_to_dict(answer, usage), indent=2))
        return
    click.echo(f"answer: {answer.text}")
    if answer.unsupported:
        click.echo("(unsupported: no retrieved passage contains this answer; read it as a guess)")
    for c in answer.citations:
        click.echo(f"  [{c.n}] chunk {c.chunk_id} of document {c.doc_id}, characters {c.start}-{c.end}")
    if answer.removed_citations:
        click.echo(f"  ({answer.removed_citations} citation(s) to no passage removed)")
    for step in answer.steps:
        via = f" via {step.bridge!r}" if step.bridge else ""
        click.echo(f"step {step.hop}{via}: read {len(step.passages)} passage(s) -> {step.outcome} "
                   f"({step.seconds:.1f}s)")
    for fact in answer.facts:
        click.echo(f"graph: {fact}")
    click.echo(f"cost: {usage.cpu_s:.2f} CPU s, {usage.prompt_tokens} prompt + {usage.completion_tokens} generated "
               f"tokens, retrieval {usage.retrieval_s:.2f} s, generation {usage.generation_s:.2f} s")
    linked = ", ".join(f"{lk.surface} ({lk.method} {lk.score:.2f})" for lk in result.linked[:6]) or "none"
    click.echo(f"question entities: {linked}")
    _print_passages(answer.retrieval)


@main.command(name="eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("corpus", type=click.Path(exists=True, path_type=Path))
@click.option("--modes", default=",".join(MODES), show_default=True, help="Comma-separated retrieval modes.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--no-llm", is_flag=True, help="Skip LLM answers (extractive answers are still scored).")
@click.option("--oracle", is_flag=True, help="Also answer from the gold supporting passages (the reader's ceiling).")
@click.option("--reader", help="Reader LLM for this evaluation: a packaged name or a GGUF path.")
@click.option("--failures", is_flag=True, help="Print every generated answer that is not an exact match (stderr).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout instead of a table.")
@click.option("--store", type=click.Path(file_okay=False, path_type=Path),
              help="Store directory to (re)use; default: a fresh temporary one.")
@click.pass_obj
@handle_errors
def evaluate_cmd(app: AppContext, questions: Path, corpus: Path, modes: str, limit: int | None, no_llm: bool,
                 oracle: bool, reader: str | None, failures: bool, as_json: bool, store: Path | None) -> None:
    """Ingest CORPUS into a store, then score retrieval and answers on QUESTIONS for each mode."""
    import tempfile

    from service import evaluation

    wanted = [m.strip() for m in modes.split(",") if m.strip()]
    bad = [m for m in wanted if m not in MODES]
    if bad:
        raise click.UsageError(f"unknown mode(s) {bad}")
    if oracle and no_llm:
        raise click.UsageError("--oracle scores the reader: it cannot be combined with --no-llm")
    qs = evaluation.load_questions(questions, limit)
    with tempfile.TemporaryDirectory(prefix="hopgraph-eval-") as tmp:
        update: dict[str, Any] = {"data_dir": store or Path(tmp)}
        if app.settings.model_cache_dir is None:  # keep the assembled reader where the main store keeps it
            update["model_cache_dir"] = app.settings.data_dir / "models"
        if reader:
            update["llm_model"] = reader
        run = evaluation.run(app.settings.model_copy(update=update), qs, corpus, wanted, use_llm=not no_llm,
                             oracle=oracle, on_answer=evaluation.print_failure if failures else None,
                             viewer=app.viewer)
    reports = run.reports
    if as_json:
        click.echo(json.dumps({mode: rep.as_dict() for mode, rep in reports.items()}))
    else:
        click.echo(f"{len(qs)} questions, {run.passages} passages\n")
        click.echo(evaluation.markdown_table(reports))


def _register_server_commands() -> None:
    from api.cli_audit import audit
    from api.cli_backup import backup, restore
    from api.cli_capacity import capacity
    from api.cli_curate import curation, entity_edit, entity_merge, entity_split
    from api.cli_models import models
    from api.cli_server import keys, serve

    main.add_command(audit)
    main.add_command(backup)
    main.add_command(restore)
    main.add_command(capacity)
    main.add_command(serve)
    main.add_command(keys)
    main.add_command(curation)
    main.add_command(models)
    for command in (entity_edit, entity_merge, entity_split):
        entity.add_command(command)


_register_server_commands()

if __name__ == "__main__":
    main()
