"""A chat as Open WebUI's own frontend runs it: a Socket.IO connection, a saved chat, one completion.

The frontend (src/lib/components/chat/Chat.svelte in 0.12.4) creates the chat, then POSTs
``/api/chat/completions`` with its socket's ``session_id``, the ``chat_id`` and the assistant
message id; the answer comes back as Socket.IO ``events`` in the user's room (``user:<id>``), which
the Redis manager delivers to whichever replica holds the socket. ``stream_chat`` does exactly that
and records every event with its arrival time.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import requests


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def socket_client(origin: str):
    import socketio

    return socketio.Client(reconnection=False, websocket_extra_options={"origin": origin, "timeout": 10})


@dataclass
class ChatResult:
    chat_id: str
    message_id: str
    user_message_id: str
    posted_at: float
    http_status: int
    http_body: str
    events: list[tuple[float, dict]] = field(default_factory=list)
    deltas: list[tuple[float, str]] = field(default_factory=list)
    content: str = ""
    error: str | None = None
    done_at: float | None = None

    @property
    def snapshots(self) -> list[str]:
        """The answer as the user saw it grow, one entry per streamed delta."""
        text, out = "", []
        for _, delta in self.deltas:
            text += delta
            out.append(text)
        return out

    @property
    def first_token_seconds(self) -> float | None:
        return self.deltas[0][0] - self.posted_at if self.deltas else None

    @property
    def total_seconds(self) -> float | None:
        return self.done_at - self.posted_at if self.done_at else None

    def describe(self) -> str:
        kinds = [e["data"].get("type") for _, e in self.events]
        return (f"HTTP {self.http_status} {self.http_body[:300]}; {len(self.events)} events {kinds[:40]}; "
                f"content {self.content!r}; error {self.error!r}")


def file_item(uploaded: dict) -> dict:
    """What the frontend sends for an attached file (type "file", the file record)."""
    record = uploaded["file"]
    return {"type": "file", "id": uploaded["id"], "name": record.get("filename") or record.get("meta", {}).get("name"),
            "file": record, "status": "uploaded"}


def _new_chat(replica, token: str, question: str, model: str) -> tuple[str, str, str, dict]:
    user_id, assistant_id = str(uuid.uuid4()), str(uuid.uuid4())
    now = int(time.time())
    user_message = {"id": user_id, "parentId": None, "childrenIds": [assistant_id], "role": "user",
                    "content": question, "timestamp": now, "models": [model]}
    history = {"currentId": assistant_id, "messages": {
        user_id: user_message,
        assistant_id: {"id": assistant_id, "parentId": user_id, "childrenIds": [], "role": "assistant",
                       "content": "", "model": model, "timestamp": now}}}
    response = requests.post(f"{replica.url}/api/v1/chats/new", headers=_auth(token), timeout=30,
                             json={"chat": {"title": question[:40], "models": [model], "messages": [], "history": history}})
    response.raise_for_status()
    return response.json()["id"], user_id, assistant_id, user_message


def _text_delta(data: dict) -> str | None:
    """The text a streamed event adds to the answer, if it is a text delta."""
    if data.get("type") == "response:completion":
        inner = data.get("data") or {}
        if isinstance(inner.get("delta"), str) and inner.get("type", "").endswith("output_text.delta"):
            return inner["delta"]
    return None


def output_text(output: list) -> str:
    """The answer's text in 0.12.4's Responses-style ``output`` items."""
    return "".join(part.get("text", "") for item in output if item.get("type") == "message"
                   for part in item.get("content", []) if part.get("type") == "output_text")


def _final(data: dict) -> tuple[bool, str | None, str | None]:
    """(done, content, error) of an event."""
    kind, inner = data.get("type"), data.get("data") or {}
    if kind == "chat:message:error":
        return True, None, str((inner.get("error") or {}).get("content") or inner)
    if kind == "chat:completion":
        if inner.get("error"):
            return True, None, str(inner["error"])
        if inner.get("done"):
            return True, output_text(inner.get("output") or []), None
    return False, None, None


def stream_chat(cluster, token: str, question: str, *, socket_on, post_to, files: list | None = None,
                model: str | None = None, timeout: float = 120, expect_error: bool = False) -> ChatResult:
    """One question in a new chat: socket on ``socket_on``, completion POSTed to ``post_to``."""
    model = model or cluster.synthesized_env["DEFAULT_MODELS"].split(",")[0]
    chat_id, user_id, assistant_id, user_message = _new_chat(socket_on, token, question, model)
    client = socket_client(cluster.site_origin)
    finished = threading.Event()
    result = ChatResult(chat_id=chat_id, message_id=assistant_id, user_message_id=user_id, posted_at=0.0,
                        http_status=0, http_body="")

    @client.on("events")
    def _on_event(event):
        if not isinstance(event, dict) or event.get("chat_id") != chat_id or event.get("message_id") != assistant_id:
            return
        now = time.monotonic()
        data = event.get("data") or {}
        result.events.append((now, event))
        delta = _text_delta(data)
        if delta:
            result.deltas.append((now, delta))
        done, content, error = _final(data)
        if done:
            result.done_at = now
            result.error = error
            if content is not None:
                result.content = content
            finished.set()

    client.connect(socket_on.url, transports=["websocket"], socketio_path="/ws/socket.io", auth={"token": token},
                   wait_timeout=15)
    try:
        body = {
            "stream": True, "model": model, "messages": [{"role": "user", "content": question}], "params": {},
            "session_id": client.get_sid(), "chat_id": chat_id, "id": assistant_id, "parent_id": None,
            "user_message": user_message, "files": files,
            # The frontend's background tasks (title, tags, follow-ups) are separate model calls;
            # off here so each test's model call is the one it asserts on.
            "background_tasks": {"title_generation": False, "tags_generation": False, "follow_up_generation": False},
        }
        result.posted_at = time.monotonic()
        response = requests.post(f"{post_to.url}/api/chat/completions", headers=_auth(token), json=body, timeout=60)
        result.http_status, result.http_body = response.status_code, response.text
        if response.status_code != 200:
            result.error = result.error or f"HTTP {response.status_code}: {response.text[:300]}"
            return result
        if not finished.wait(timeout) and not expect_error:
            raise AssertionError(f"no final event within {timeout}s: {result.describe()}")
    finally:
        client.disconnect()
    if not result.content and not result.error:
        result.content = "".join(delta for _, delta in result.deltas)
    return result


def stored_chat(replica, token: str, chat_id: str) -> dict:
    response = requests.get(f"{replica.url}/api/v1/chats/{chat_id}", headers=_auth(token), timeout=30)
    response.raise_for_status()
    return response.json()


def stored_answer(replica, token: str, result: ChatResult) -> str:
    return stored_chat(replica, token, result.chat_id)["chat"]["history"]["messages"][result.message_id]["content"]
