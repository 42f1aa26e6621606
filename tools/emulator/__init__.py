"""Local AWS emulator (moto server) for offline Terraform / CDKTF runs.

The moto server runs as a **subprocess** (``python -m tools.emulator serve``:
``moto.server`` plus a few small fixes, see ``patches.py``) bound to
127.0.0.1 only, so that terraform processes started separately can share it
and so it can always be killed (it runs in its own process group).

- ``server.py``: the library (``MotoServer``; a detached server under a state directory).
- ``patches.py``: what the server process adds to moto.
- ``__main__.py``: the command line.

Python API::

    from tools.emulator.server import MotoServer

    with MotoServer() as moto:           # free port chosen automatically
        print(moto.endpoint)             # e.g. http://127.0.0.1:41234
        moto.reset()                     # wipe all emulated state
    # server stopped here

    srv = MotoServer(port=4566).start()  # or manage the lifetime yourself
    ...
    srv.stop()

Shell usage (background server, pid/port/log files under --state-dir)::

    python -m tools.emulator start --state-dir .local/moto [--port 4566]
        -> prints the endpoint URL on stdout, returns once the server answers
    python -m tools.emulator endpoint --state-dir .local/moto
    python -m tools.emulator stop  --state-dir .local/moto

Only the standard library and moto are required.
"""
