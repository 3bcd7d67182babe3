"""Activity: a greeting for a city (the shared code imported relatively, as the v1 docs show)."""

from ..shared_code.greetings import greet


def main(name: str) -> str:
    return greet(name)
