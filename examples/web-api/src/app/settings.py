"""Settings read from the environment, with production defaults."""
import os

PORT = int(os.environ.get("PORT", "8000"))
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
APP_ENV = os.environ.get("APP_ENV", "production")
