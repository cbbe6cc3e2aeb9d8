import typer

app = typer.Typer(help="credentials commands.", no_args_is_help=True)
