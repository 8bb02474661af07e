"""HTTP routes: liveness, readiness and a version endpoint."""
from app import settings


def health():
    return 200, {"status": "ok"}


def ready(dependencies_up):
    if not dependencies_up:
        return 503, {"status": "starting"}
    return 200, {"status": "ok", "env": settings.APP_ENV}
