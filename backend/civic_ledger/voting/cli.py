import typer

app = typer.Typer(help="voting commands.", no_args_is_help=True)
