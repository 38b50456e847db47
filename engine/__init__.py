"""Yimen's engine: a library that knows nothing of Flask.

Start at ``engine.service.Yimen`` (the front door used by the CLI, the web
layer and tests); every state change is a command in ``engine.commands``
run by ``engine.context.run_command`` — one transaction, one audit event.
"""
