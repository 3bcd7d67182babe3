"""Runs on Azure only: funchost lists it as not supported."""

import azure.functions as func


def main(event: func.EventHubEvent) -> None:
    pass
