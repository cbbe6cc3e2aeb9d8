import typer

app = typer.Typer(help="identity commands.", no_args_is_help=True)
