"""A registry username and password (or token), kept apart from the HTTP client so that
the start of a run can handle them before that client is loaded."""

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic_header(self):
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()
