"""Entry point: python -m app.main (in this example the server binary plays its part)."""
import json
import sys

from app import routes, settings


def log(level, msg, **fields):
    print(json.dumps({"level": level, "msg": msg, **fields}), file=sys.stdout, flush=True)


def main():
    log("info", "startup", port=settings.PORT)
    return routes.health()


if __name__ == "__main__":
    main()
