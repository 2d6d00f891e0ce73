FLASK_APP=src.cli_app
