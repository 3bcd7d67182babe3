"""An HTTP-streams app (azurefunctions-extensions-http-fastapi): funchost streams its responses."""

import asyncio

import azure.functions as func
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, StreamingResponse

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="count/{n}", methods=["GET"])
async def count(req: Request) -> StreamingResponse:
    n = int(req.path_params["n"])

    async def events():
        for i in range(n):
            yield f"id: {i}\ndata: {i}\n\n"
            await asyncio.sleep(0.2)

    return StreamingResponse(events(), media_type="text/event-stream")


@app.route(route="echo", methods=["POST"])
async def echo(req: Request) -> JSONResponse:
    body = await req.json()
    return JSONResponse({"got": body, "q": req.query_params.get("q")}, status_code=201)
