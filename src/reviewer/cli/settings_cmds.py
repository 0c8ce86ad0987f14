"""`reviewer models` and `reviewer config`: what is configured, where each setting comes from, and the config file."""

from __future__ import annotations

from typing import Annotated

import typer

from reviewer.cli.options import JsonOption, ModelOption
from reviewer.cli.output import console, print_json, safe

config_app = typer.Typer(help="The config file (TOML in the user config directory): path, show, set.",
                         no_args_is_help=True)

_MODEL_SETTINGS = ("llm.base_url", "llm.model", "llm.api_key", "embedding.provider", "embedding.openai_model",
                   "retrieval.mode")


def models(model: ModelOption = None, as_json: JsonOption = False) -> None:
    """The configured LLM endpoint, model and embedder, and where each setting came from (option, environment
    variable, config file or default). Keys are never shown, only whether one is set."""
    from reviewer.config import load_settings, setting_origin
    from reviewer.llm import endpoint_name

    overrides = {"llm": {"model": model}} if model else {}
    settings = load_settings(**overrides)
    llm = settings.llm
    embedder = ("local all-MiniLM-L6-v2 (ONNX, 384 dimensions)" if settings.embedding.provider == "local"
                else f"openai:{settings.embedding.openai_model}")
    rows = {
        "engine": ("llm" if llm.configured else "extractive (no LLM endpoint: set REVIEWER_LLM__BASE_URL or "
                   "OPENAI_API_KEY)", None),
        "endpoint": (endpoint_name(llm) if llm.configured else "none", "llm.base_url"),
        "model": (llm.model + ("" if llm.configured else " (not used: no endpoint)"), "llm.model"),
        "api key": ("set (hidden)" if llm.api_key and llm.api_key.get_secret_value() else "not set", "llm.api_key"),
        "embedder": (embedder, "embedding.provider"),
        "search mode": (settings.retrieval.mode, "retrieval.mode"),
    }
    origins = {label: (setting_origin(path, overrides)[0] if path else None) for label, (_, path) in rows.items()}
    if as_json:
        print_json({label.replace(" ", "_"): {"value": value, "setting": path, "from": origins[label]}
                    for label, (value, path) in rows.items()})
        return
    _print_rows([(label, value, origins[label]) for label, (value, _) in rows.items()])


def _print_rows(rows) -> None:
    from rich.table import Table

    table = Table(box=None, show_header=True, padding=(0, 2))
    table.add_column("setting", style="bold")
    table.add_column("value")
    table.add_column("from", style="dim")
    for label, value, origin in rows:
        table.add_row(safe(label), safe(str(value)), safe(origin or ""))
    console().print(table)


@config_app.command("path")
def config_path() -> None:
    """Print where the config file is (it need not exist yet; $REVIEWER_CONFIG_DIR moves it)."""
    from reviewer.config import config_file

    print(config_file())


@config_app.command("show")
def config_show(as_json: JsonOption = False) -> None:
    """Every setting: its value now, and where it comes from (environment variable, config file or default)."""
    from reviewer.config import env_name, leaf_paths, load_settings, setting_origin, setting_value

    settings = load_settings()
    rows = []
    for path in leaf_paths():
        value = setting_value(settings, path)
        if path == "llm.api_key":
            value = "set (hidden)" if value and value.get_secret_value() else None
        elif hasattr(value, "__fspath__"):
            value = str(value)
        elif isinstance(value, dict):
            value = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        rows.append((path, value, setting_origin(path)[0], env_name(path)))
    if as_json:
        print_json({path: {"value": value, "from": origin, "env": env} for path, value, origin, env in rows})
        return
    import json

    _print_rows([(path, json.dumps(value) if isinstance(value, dict) else value, origin)
                 for path, value, origin, _ in rows])


@config_app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help="The setting, e.g. llm.model, llm.base_url, retrieval.mode, log "
                                            "(`reviewer config show` lists them).")],
    value: Annotated[str, typer.Argument(help="Its value (checked before it is written).")],
) -> None:
    """Write one setting into the config file. Environment variables still win over it; API keys are never
    written to a file."""
    from reviewer.config import config_file, env_name, set_config_value, setting_origin

    path, stored = set_config_value(key, value)
    console().print(f"{safe(path)} = {safe(repr(stored))} in {safe(str(config_file()))}", highlight=False,
                    soft_wrap=True)
    origin, name = setting_origin(path)
    if origin.startswith("env"):
        from reviewer.cli.output import err_console

        err_console().print(f"[yellow]note:[/] {safe(name)} is set in the environment and wins over the config "
                            f"file (unset it to use this value; the variable is {safe(env_name(path))})",
                            highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(models)
    app.add_typer(config_app, name="config")



