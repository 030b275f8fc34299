"""The ASGI application uvicorn serves: `uvicorn portal.main:app` (what `portal serve` runs in
each worker). Once started, it settles its memory (`portal.serving.settle_after_start`)."""

from portal.app import create_app
from portal.serving import settle_after_start

app = settle_after_start(create_app())
