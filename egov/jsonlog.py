"""JSON log lines for what does not log through structlog: uvicorn's own lines (start-up, errors, the
access log) and the libraries' (aiokafka, SQLAlchemy…), in the fields the services' structlog lines
have (``event``, ``level``, ``timestamp``). The Compose file starts every service with
``uvicorn … --log-config deploy/logging.json``, which uses it."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"event": record.getMessage(), "level": record.levelname.lower(),
               "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
               "logger": record.name}
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, http_version, status = record.args  # uvicorn's access-log arguments
            out.update(event="http request", client=client, method=method, path=path, http_version=http_version,
                       status=status)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)
