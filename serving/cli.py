"""Serving commands: ``csat serving import`` and ``csat serve``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from csat.settings import Settings
from serving.security import check_listen

serving_app = typer.Typer(help="Serving: models into the BentoML store.", no_args_is_help=True)


@serving_app.command("import")
def import_command(
    ctx: typer.Context,
    alias: Annotated[str, typer.Option(help="Registry alias to serve.")] = "champion",
) -> None:
    """Copy the champion models from the MLflow registry into the BentoML model store."""
    from serving.models import MissingModelError, import_champions

    settings: Settings = ctx.obj
    try:
        tags = import_champions(settings.mlflow_tracking_uri, alias)
    except MissingModelError as err:  # a model not trained yet, an alias unset: nothing imported
        typer.echo(f"import failed: {err}", err=True)
        raise typer.Exit(code=2) from err
    except Exception as err:  # registry unreadable: report, exit 2
        typer.echo(f"import failed: {type(err).__name__}: {err}", err=True)
        raise typer.Exit(code=2) from err
    for role, tag in tags.items():
        typer.echo(f"{role}: {tag}")


def worker_env(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of the server: ``base`` plus every setting as its ``CSAT_*`` variable.

    The workers read their settings themselves, in another working folder: they get the command's whole
    settings (file, environment and ``--config`` alike), folders as absolute paths. The API token is not
    among them: it stays in the environment it came from.
    """
    env = dict(base)
    for name, value in settings.model_dump(exclude={"api_token"}, exclude_none=True).items():
        if isinstance(value, Path):
            text = str(value.resolve())
        elif isinstance(value, list | dict):
            text = json.dumps(value)
        else:
            text = str(value)
        env[f"CSAT_{name.upper()}"] = text
    return env


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Listen port.")] = 3000,
    insecure_open: Annotated[
        bool, typer.Option("--insecure-open", help="Allow a non-loopback address without CSAT_API_TOKEN.")
    ] = False,
) -> None:
    """Serve the risk API (``bentoml serve serving.service:CsatService``) once the models are in the store.

    ``bentoml serve`` resolves the service's declared models before it starts and, for one missing from the
    model store, tries BentoCloud and fails with a message about a cloud context; this says what to run.
    """
    settings: Settings = ctx.obj
    try:
        check_listen(host, insecure_open)
    except PermissionError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=2) from err
    from serving.models import MissingModelError, check_stored  # BentoML: after the quick check above

    try:
        check_stored()
    except MissingModelError as err:
        typer.echo(f"serve failed: {err}", err=True)
        raise typer.Exit(code=2) from err
    env = worker_env(settings, os.environ)
    root = str(Path(__file__).resolve().parents[1])
    target = "serving.service:CsatService"
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        target,
        "--working-dir",
        root,
        "--host",
        host,
        "--port",
        str(port),
    ]
    os.execve(sys.executable, cmd, env)  # become the server: signals (Ctrl-C, SIGTERM) reach it directly


def score_all_command(ctx: typer.Context) -> None:
    """Score every account of the online store and append answers with drivers to the score history."""
    import bentoml

    from serving.models import MODEL_NAMES, MissingModelError, check_stored, load_stored
    from serving.runtime import Runtime
    from serving.scoring import score_all, scores_path

    settings: Settings = ctx.obj
    try:
        check_stored()
    except MissingModelError as err:
        typer.echo(f"score-all failed: {err}", err=True)
        raise typer.Exit(code=2) from err
    try:
        models = {r: load_stored(r, bentoml.models.get(f"{n}:latest")) for r, n in MODEL_NAMES.items()}
        runtime = Runtime.load(models, settings.store_dir, settings.data_dir)
    except Exception as err:  # no imported models or no online store: say which, exit 2
        typer.echo(f"score-all failed: {type(err).__name__}: {err}", err=True)
        raise typer.Exit(code=2) from err
    n = score_all(runtime, settings.store_dir)
    typer.echo(f"scored {n} accounts into {scores_path(settings.store_dir)}")
