"""A route class for the gateway's hot route: its body validated by its model, its endpoint called, nothing more.

FastAPI 0.165's own request handler costs ~70 µs a request before the endpoint runs (it parses the content type with
`email.message`, builds an error context, records telemetry, solves dependencies through two exit stacks), a
quarter of what posterchat may add to a gateway request (bench/notes.md). FastAPI documents custom route classes as
the way to change how a route handles requests; this one keeps everything else FastAPI does for the route: the path,
OpenAPI from the endpoint's signature, the app's middleware and exception handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response


class LeanRoute(APIRoute):
    """For an endpoint `(request: Request, body: Model) -> Response` with no dependencies: the JSON body is validated
    by the model (errors as FastAPI's own RequestValidationError, so the app's handler answers them) and the endpoint
    is called with both."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        model = self._body_model()
        endpoint, field = self.endpoint, self.dependant.body_params[0].name

        async def handler(request: Request) -> Response:
            body = await request.body()
            try:
                parsed = model.model_validate_json(body)
            except ValidationError as exc:
                errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
                raise RequestValidationError(errors, body=body) from None
            return await endpoint(request=request, **{field: parsed})

        return handler

    def _body_model(self) -> type[BaseModel]:
        """The endpoint's body model; an endpoint this class cannot call as it expects fails at start-up."""
        dependant = self.dependant
        others = (dependant.dependencies, dependant.path_params, dependant.query_params, dependant.header_params,
                  dependant.cookie_params)
        body = dependant.body_params
        if any(others) or len(body) != 1 or dependant.request_param_name != "request":
            raise TypeError(f"{self.path}: a LeanRoute endpoint takes (request: Request, body: Model) and nothing else")
        model = body[0].field_info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{self.path}: a LeanRoute body must be a pydantic model, not {model!r}")
        return model
