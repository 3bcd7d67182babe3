"""The greeting the Hello activity builds; the word comes from local.settings.json (GREETING)."""

import os


def greet(name: str) -> str:
    return f"{os.environ.get('GREETING', 'Hi')} {name}!"
