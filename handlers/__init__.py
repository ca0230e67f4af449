"""Lambda handlers: parse the event, call one function in reconciler.triggers, return."""

import os

# No pydantic plugin ships with the handlers: without this, the first model built (on the
# first event, handlers/events.py) scans every installed distribution's entry points for
# one, about 18 ms of a cold start. An explicit setting is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
