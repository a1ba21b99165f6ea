"""``hopgraph capacity --documents N --qps Q [--answer-share S]``: hardware for a workload, from this machine's
figures."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from api.cli_errors import handle_errors
from service.context import AppContext


@click.command()
@click.option("--documents", type=click.IntRange(min=0), required=True, help="Documents the store will hold.")
@click.option("--qps", type=click.FloatRange(min=0), required=True, help="Requests per second at peak.")
@click.option("--answer-share", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Share of the requests that want a generated answer (the rest: retrievals).")
@click.option("--calibrate", is_flag=True,
              help="Measure this machine now (on the data directory's store, or --collection) and save the figures.")
@click.option("--collection", help="Calibrate on this served collection instead of the data directory's store.")
@click.option("--figures", "figures_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Figures to use (default: DATA_DIR/capacity.json, measured first when absent).")
@click.option("--retrievals", type=click.IntRange(min=1), default=30, show_default=True,
              help="Retrievals a calibration times.")
@click.option("--answers", type=click.IntRange(min=0), default=3, show_default=True,
              help="Generated answers a calibration times.")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate and the figures as JSON.")
@click.pass_obj
@handle_errors
def capacity(app: AppContext, documents: int, qps: float, answer_share: float, calibrate: bool,
             collection: str | None, figures_path: Path | None, retrievals: int, answers: int,
             as_json: bool) -> None:
    """Estimate cores, memory and disk for a workload on the embedded and the server profile, from figures
    measured on this machine (a short calibration, saved and reused), with the assumptions printed."""
    from service import capacity as service
    from service import collections

    path = figures_path or app.settings.data_dir / service.FIGURES_FILE
    if calibrate or (figures_path is None and not path.exists()):
        target = app
        if collection is not None:
            target = AppContext(collections.collection_settings(app.settings, collection), app.viewer)
        try:
            figures = service.calibrate(target, retrievals, answers, progress=lambda line: click.echo(line, err=True))
        finally:
            if target is not app:
                target.close()
        click.echo(f"figures saved to {service.save_figures(figures, app.settings.data_dir)}", err=True)
    else:
        figures = service.load_figures(path)
    est = service.estimate(figures, documents, qps, answer_share)
    if as_json:
        click.echo(json.dumps({"estimate": asdict(est), "figures": asdict(figures)}, indent=2))
        return
    click.echo(f"workload: {documents} documents, {qps:g} requests/s, {answer_share:.0%} generated answers "
               f"-> {est.cpu_s_per_s:.2f} CPU s per second, {est.reader_processes} reader process(es)")
    for p in (est.embedded, est.server):
        click.echo(f"\n{p.profile} profile: {p.cores} cores, {p.memory_gib:g} GiB memory, {p.disk_gib:g} GiB disk")
        for what, line in p.parts.items():
            click.echo(f"  {what}: {line}")
    click.echo("\nassumptions:")
    for line in est.assumptions:
        click.echo(f"  - {line}")
