"""The `reviewer` command. Heavy libraries (chromadb, onnxruntime, openai, langchain) are imported
only inside the commands that need them, so `reviewer --help` starts fast."""

from __future__ import annotations

import sys

import typer

from reviewer.cli import ask_cmds, chat_cmds, compare_cmds, corpus_cmds, eval_cmds, review_cmds

app = typer.Typer(
    name="reviewer",
    help="A literature-review agent grounded in your own collection of papers.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
corpus_cmds.register(app)
app.command()(ask_cmds.ask)
app.command()(compare_cmds.compare)
app.command()(review_cmds.review)
app.command()(chat_cmds.chat)
app.add_typer(eval_cmds.app, name="eval")


def run() -> None:
    """Console-script entry point: one place that turns a ReviewerError into a clear message and exit 1."""
    from reviewer.errors import ReviewerError

    try:
        code = app(standalone_mode=False)  # returns a command's typer.Exit code instead of raising it
    except ReviewerError as exc:
        from rich.markup import escape

        from reviewer.cli.output import err_console

        err_console().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
