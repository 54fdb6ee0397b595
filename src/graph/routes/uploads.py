"""`POST /api/uploads`: one image as multipart field `file`, with the same bearer token as
GraphQL; answers the new asset's id and a URL to show it.

`POST /api/uploads/lora?name=…&baseModel=…&filename=…`: a LoRA file as the raw request body
(Pro). Raw rather than multipart so the body streams to disk under the cap as it arrives;
answers the new LoRA like GraphQL's `Lora` type."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.accounts import api_keys
from services.accounts.tokens import bearer_token
from services.accounts.viewer import Viewer, viewer_from_claims
from services.assets.uploads import MAX_UPLOAD_BYTES, upload_image
from services.platform.errors import Forbidden, LatticeError, Unauthenticated
from services.runtime import Runtime
from services.workflows import lora_uploads


async def upload(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    try:
        viewer = await _uploader(request, runtime)
        async with request.form(
            max_files=1, max_fields=2, max_part_size=MAX_UPLOAD_BYTES + 1
        ) as form:
            file = form.get("file")
            if file is None or isinstance(file, str):
                return JSONResponse(
                    {
                        "error": {
                            "code": "VALIDATION_ERROR",
                            "message": "Send the image as field 'file'",
                        }
                    },
                    400,
                )
            # The body limit already refused anything much larger; never read past the cap.
            data = await file.read(MAX_UPLOAD_BYTES + 1)
        asset = await upload_image(
            runtime.db, runtime.storage, viewer, data, runtime.settings.TEMPORARY_ASSET_DAYS
        )
    except LatticeError as exc:
        status = STATUS.get(exc.code, 400)
        return JSONResponse({"error": {"message": exc.message, **exc.extensions()}}, status)
    assert asset.storage_path is not None
    url = (await runtime.storage.signed_urls([asset.storage_path]))[asset.storage_path]
    return JSONResponse(
        {"id": str(asset.id), "url": url, "width": asset.width, "height": asset.height}, 201
    )


async def upload_lora(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    query = request.query_params
    try:
        viewer = await _uploader(request, runtime)
        base_model = query.get("baseModel", "")
        name = lora_uploads.check_upload(
            viewer, query.get("name", ""), base_model, query.get("filename", "")
        )
        declared = request.headers.get("content-length")
        async with lora_uploads.received(
            request.stream(),
            int(declared) if declared and declared.isdigit() else None,
            runtime.settings.LORA_UPLOAD_MAX_BYTES,
        ) as file:
            record = await lora_uploads.store_lora(
                runtime.db, runtime.storage, viewer, name, base_model, file
            )
    except LatticeError as exc:
        status = STATUS.get(exc.code, 400)
        # A refused body may not have been read to its end: the connection cannot be reused.
        return JSONResponse(
            {"error": {"message": exc.message, **exc.extensions()}},
            status,
            headers={"Connection": "close"},
        )
    return JSONResponse(
        {
            "id": str(record.id),
            "name": record.name,
            "url": record.url,
            "uploaded": True,
            "baseModel": record.base_model,
            "createdAt": record.created_at.isoformat(),
        },
        201,
    )


STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "SUSPENDED": 403,
    "UPGRADE_REQUIRED": 403,
    "PAYLOAD_TOO_LARGE": 413,
    "RATE_LIMITED": 429,
}


async def _uploader(request: Request, runtime: Runtime) -> Viewer:
    """The bearer as GraphQL sees it (an API key needs the RUN scope: uploads write), its
    upload counted against the same write limits as mutations."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthenticated("Sign in to upload")
    if api_keys.is_api_key(token):
        viewer = await api_keys.authenticate(runtime.db, token)
        if viewer.key_scopes is not None and "RUN" not in viewer.key_scopes:
            raise Forbidden("This API key may only read: create a key with the RUN scope")
    else:
        viewer = await viewer_from_claims(runtime.db, await runtime.verifier.verify(token))
    await runtime.rate_limits.hit(user_id=str(viewer.id), key_id=viewer.claims.get("api_key_id"))
    return viewer


routes = [
    Route("/api/uploads", upload, methods=["POST"]),
    Route("/api/uploads/lora", upload_lora, methods=["POST"]),
]
