"""The fake platform served in the test's own process (ehr/platform/transport.py on a free port of
127.0.0.1, in a thread) and asked over one kept-alive connection, as the sync service asks it.

    served = Served(Platform(Store(tmp_path), "secret"))
    served.post("/api/documents", data=body, headers={...}).status_code -> 201
    served.get("/api/documents/record:a:v1", headers={...}).json        -> {"status": "accepted", ...}
    served.close()
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass

from ehr.platform.transport import PlatformServer


@dataclass
class Reply:
    status_code: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class Served:
    def __init__(self, app) -> None:
        self.server = PlatformServer("127.0.0.1", 0, app)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.port = self.server.server_port
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None) -> Reply:
        self.connection.request(method, path, body=data, headers=headers or {})
        answer = self.connection.getresponse()
        return Reply(answer.status, answer.headers, answer.read())

    def post(self, path: str, data: bytes | None = None, headers: dict | None = None) -> Reply:
        return self.request("POST", path, data, headers)

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return self.request("GET", path, None, headers)

    def close(self) -> None:
        self.connection.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
