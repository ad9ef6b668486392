"""Sessions on the server (Flask-Session): the cookie carries only a random id.

Because what a session holds is on the server, deleting it ends it everywhere at once: a
copy of the cookie taken before sign-out opens nothing after it. Production keeps them
in Redis, shared by every worker and every server; development and tests keep them in
files under `instance/sessions` (cachelib's FileSystemCache), which needs no set-up and
is shared by every worker process on one machine. The database is not used: a session
read on every autosave would be one more database round trip per answer.

`rotate()` gives a session a new id and deletes the old record; sign-in and sign-out
call it, so an id planted or copied before either is worth nothing after it.
"""

from __future__ import annotations

import logging
import os
import time

from cachelib.file import FileSystemCache
from flask import Flask, Request, Response, session
from flask_session.cachelib import CacheLibSessionInterface
from flask_session.redis import RedisSessionInterface

log = logging.getLogger(__name__)

STORE_DOWN_MESSAGE = ("The survey cannot reach its session store just now. Your saved answers are safe. "
                      "Please try again in a minute.")


class _ReportsOutage:
    """An interface whose store may be unreachable: the request then gets a 503 (from
    `_refuse_without_store`) instead of a traceback, and nothing is written back."""

    store_errors: tuple[type[BaseException], ...] = (OSError,)

    def open_session(self, app: Flask, request: Request):
        try:
            return super().open_session(app, request)
        except self.store_errors as exc:
            log.warning("session store unavailable: %s", exc)
            unavailable = self.session_class(sid=self._generate_sid(self.sid_length), permanent=False)
            unavailable.store_unavailable = True
            return unavailable

    def save_session(self, app: Flask, session, response: Response) -> None:
        if getattr(session, "store_unavailable", False):
            return
        try:
            super().save_session(app, session, response)
        except self.store_errors as exc:
            # The response is already made; what changed in the session is lost, and the
            # next request gets the 503 while the store is still away.
            log.warning("session not saved, store unavailable: %s", exc)


class RedisSessions(_ReportsOutage, RedisSessionInterface):
    def __init__(self, app: Flask, url: str, prefix: str):
        import redis

        self.store_errors = (redis.RedisError, OSError)
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        super().__init__(app, client=client, key_prefix=prefix, use_signer=False, permanent=False)


class FileSessions(_ReportsOutage, CacheLibSessionInterface):
    def __init__(self, app: Flask, directory: str, prefix: str):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        # threshold=0: never evict a live session to make room (cachelib would drop the
        # oldest); expired files are swept when a worker starts (sweep_expired).
        cache = FileSystemCache(directory, threshold=0, mode=0o600)
        super().__init__(app, client=cache, key_prefix=prefix, use_signer=False, permanent=False)

    def sweep_expired(self) -> None:
        """Delete expired session files, once per process and directory (every app a
        worker or a test run builds would otherwise read every file again)."""
        if self.cache._path in _swept:  # noqa: SLF001
            return
        _swept.add(self.cache._path)  # noqa: SLF001
        self.cache._remove_expired(time.time())  # noqa: SLF001 (cachelib has no public sweep)


_swept: set[str] = set()


def init_sessions(app: Flask) -> None:
    """Install the server-side session store that `app.config` names."""
    prefix = app.config["SESSION_KEY_PREFIX"]
    if app.config["SESSION_TYPE"] == "redis":
        app.session_interface = RedisSessions(app, app.config["SESSION_REDIS_URL"], prefix)
    else:
        files = FileSessions(app, app.config["SESSION_FILE_DIR"], prefix)
        files.sweep_expired()
        app.session_interface = files
    app.before_request(_refuse_without_store)


def _refuse_without_store():
    if getattr(session, "store_unavailable", False):
        from .errors import error_response

        return error_response(503, STORE_DOWN_MESSAGE)
    return None


def rotate() -> None:
    """Give the current session a new id and delete what was stored under the old one.

    What the session holds now is kept (and stored under the new id at the end of the
    request); the old id, wherever a copy of it is, opens nothing any more.
    """
    from flask import current_app

    interface = current_app.session_interface
    if getattr(session, "sid", None) is None:
        return
    interface._delete_session(interface._get_store_id(session.sid))  # noqa: SLF001
    session.sid = interface._generate_sid(interface.sid_length)  # noqa: SLF001
    session.modified = True
