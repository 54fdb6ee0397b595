"""A local server speaking the Supabase Storage API that storage3 uses (buckets, upload,
signed URLs, download by token, remove), backed by a folder, so the production storage
adapter is exercised through the real client library."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route


def create_app(root: Path, service_key: str, signing_secret: str) -> Starlette:
    buckets: dict[str, dict[str, Any]] = {}

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {service_key}"

    def denied() -> JSONResponse:
        return JSONResponse(
            {"statusCode": "403", "error": "Unauthorized", "message": "Invalid key"}, 403
        )

    def file_of(bucket: str, path: str) -> Path:
        target = (root / bucket / path).resolve()
        if not target.is_relative_to(root.resolve()):
            raise ValueError("path escapes the bucket")
        return target

    def sign(bucket: str, path: str, expires_in: int) -> str:
        token = jwt.encode(
            {"url": f"{bucket}/{path}", "exp": int(time.time()) + expires_in},
            signing_secret,
            "HS256",
        )
        return f"/object/sign/{bucket}/{path}?token={token}"

    async def list_buckets(request: Request) -> Response:
        if not authorized(request):
            return denied()
        return JSONResponse(list(buckets.values()))

    async def create_bucket(request: Request) -> Response:
        if not authorized(request):
            return denied()
        body = await request.json()
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        buckets[body["id"]] = {
            "id": body["id"],
            "owner": "",
            "created_at": now,
            "updated_at": now,
            "name": body.get("name", body["id"]),
            "public": body.get("public", False),
            "file_size_limit": body.get("file_size_limit"),
            "allowed_mime_types": body.get("allowed_mime_types"),
        }
        return JSONResponse({"name": body["id"]})

    async def update_bucket(request: Request) -> Response:
        if not authorized(request):
            return denied()
        bucket = buckets.get(request.path_params["id"])
        if bucket is None:
            return JSONResponse(
                {"statusCode": "404", "error": "Bucket not found", "message": "Bucket not found"},
                404,
            )
        body = await request.json()
        for key in ("public", "file_size_limit", "allowed_mime_types"):
            if key in body:
                bucket[key] = body[key]
        bucket["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return JSONResponse({"message": "Successfully updated"})

    async def upload(request: Request) -> Response:
        if not authorized(request):
            return denied()
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        if bucket not in buckets:
            return JSONResponse(
                {"statusCode": "404", "error": "Bucket not found", "message": "Bucket not found"},
                404,
            )
        async with request.form() as form:
            upload = form["file"]
            assert not isinstance(upload, str)
            data, content_type = (
                await upload.read(),
                upload.content_type or "application/octet-stream",
            )
        target = file_of(bucket, path)
        if target.exists() and request.headers.get("x-upsert") != "true":
            return JSONResponse(
                {
                    "statusCode": "409",
                    "error": "Duplicate",
                    "message": "The resource already exists",
                },
                409,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.with_name(target.name + ".type").write_text(content_type)
        return JSONResponse({"Key": f"{bucket}/{path}", "Id": path})

    async def sign_one(request: Request) -> Response:
        if not authorized(request):
            return denied()
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        body = await request.json()
        if not file_of(bucket, path).exists():
            return JSONResponse(
                {"statusCode": "404", "error": "not_found", "message": "Object not found"}, 400
            )
        return JSONResponse({"signedURL": sign(bucket, path, int(body["expiresIn"]))})

    async def sign_many(request: Request) -> Response:
        if not authorized(request):
            return denied()
        bucket = request.path_params["bucket"]
        body = await request.json()
        return JSONResponse(
            [
                {"path": p, "signedURL": sign(bucket, p, int(body["expiresIn"])), "error": None}
                if file_of(bucket, p).exists()
                else {
                    "path": p,
                    "signedURL": None,
                    "error": "Either the object does not exist or you do not have access to it",
                }
                for p in body["paths"]
            ]
        )

    async def download(request: Request) -> Response:
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        try:
            claims = jwt.decode(
                request.query_params.get("token", ""), signing_secret, algorithms=["HS256"]
            )
        except jwt.PyJWTError:
            return JSONResponse(
                {"statusCode": "400", "error": "InvalidJWT", "message": "invalid signature"}, 400
            )
        target = file_of(bucket, path)
        if claims.get("url") != f"{bucket}/{path}" or not target.exists():
            return JSONResponse(
                {"statusCode": "404", "error": "not_found", "message": "Object not found"}, 400
            )
        return FileResponse(target, media_type=target.with_name(target.name + ".type").read_text())

    async def remove(request: Request) -> Response:
        if not authorized(request):
            return denied()
        bucket = request.path_params["bucket"]
        removed = []
        for prefix in (await request.json())["prefixes"]:
            target = file_of(bucket, prefix)
            if target.exists():
                target.unlink()
                target.with_name(target.name + ".type").unlink(missing_ok=True)
                removed.append({"name": prefix, "bucket_id": bucket})
        return JSONResponse(removed)

    base = "/storage/v1"
    return Starlette(
        routes=[
            Route(f"{base}/bucket", list_buckets, methods=["GET"]),
            Route(f"{base}/bucket", create_bucket, methods=["POST"]),
            Route(f"{base}/bucket/{{id}}", update_bucket, methods=["PUT"]),
            Route(f"{base}/object/sign/{{bucket}}", sign_many, methods=["POST"]),
            Route(f"{base}/object/sign/{{bucket}}/{{path:path}}", sign_one, methods=["POST"]),
            Route(f"{base}/object/sign/{{bucket}}/{{path:path}}", download, methods=["GET"]),
            Route(f"{base}/object/{{bucket}}/{{path:path}}", upload, methods=["POST", "PUT"]),
            Route(f"{base}/object/{{bucket}}", remove, methods=["DELETE"]),
        ]
    )
