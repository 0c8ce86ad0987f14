"""The `reviewer` command. Heavy libraries (chromadb, onnxruntime, openai, langchain) are imported
only inside the commands that need them, so `reviewer --help` starts fast."""

from __future__ import annotations

import sys

import typer

from reviewer.cli import ask_cmds, chat_cmds, compare_cmds, corpus_cmds, eval_cmds, logs_cmds, review_cmds, settings_cmds

app = typer.Typer(
    name="reviewer",
    help="A literature-review agent grounded in your own collection of papers.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"reviewer {version('reviewer')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """A literature-review agent grounded in your own collection of papers."""
    from reviewer.config import deprecated_names

    for name in deprecated_names():  # still read, below the new name
        from reviewer.cli.output import err_console

        new = "REVIEWER_LLM__" + name.removeprefix("REVIEWER_LLM_")
        err_console().print(f"[dim]note: {name} is deprecated: rename it {new}[/]", highlight=False)


corpus_cmds.register(app)
app.command()(ask_cmds.ask)
app.command()(compare_cmds.compare)
app.command()(review_cmds.review)
app.command()(chat_cmds.chat)
settings_cmds.register(app)
app.add_typer(logs_cmds.app, name="logs")
app.add_typer(eval_cmds.app, name="eval")


def run() -> None:
    """Console-script entry point. A ReviewerError is one red line and exit 1; a usage error is Typer's usage
    hint and exit 2; anything else is reported in one line as a bug (REVIEWER_DEBUG=1 shows the traceback)."""
    import os

    from reviewer.errors import ConfigError, ReviewerError

    try:
        code = app(standalone_mode=False, prog_name="reviewer")  # returns a command's typer.Exit code instead of raising it
    except ConfigError as exc:  # a settings error is a usage error: exit 2, as click does
        _fail(str(exc), code=2)
    except ReviewerError as exc:
        _fail(str(exc))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if _is_click_exception(exc):
            exc.show()
            sys.exit(exc.exit_code)
        if _is_abort(exc) and not isinstance(exc.__cause__ or exc.__context__, EOFError):
            sys.exit(130)  # Ctrl-C (click turns it into Abort); an EOFError is a bug, not Ctrl-D
        cause = (exc.__cause__ or exc.__context__ or exc) if _is_abort(exc) else exc
        if os.environ.get("REVIEWER_DEBUG") == "1":
            raise cause
        _fail(f"unexpected {type(cause).__name__}: {str(cause)[:300]} - this is a bug in reviewer; "
              "run again with REVIEWER_DEBUG=1 to see the traceback, and report it")
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int = 1) -> None:
    from rich.markup import escape

    from reviewer.cli.output import err_console
    from reviewer.text import strip_control

    err_console().print(f"[bold red]error:[/] {escape(strip_control(message))}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _is_click_exception(exc: BaseException) -> bool:
    """Typer raises the exceptions of its vendored click (typer._click), not those of an installed click."""
    from typer._click.exceptions import ClickException

    classes = [ClickException]
    try:
        import click

        classes.append(click.ClickException)
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, tuple(classes))


def _is_abort(exc: BaseException) -> bool:
    return isinstance(exc, typer.Abort)  # typer's vendored click raises typer.Abort too


if __name__ == "__main__":
    run()
