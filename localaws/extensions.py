"""The server-side extensions installed into moto before the local AWS serves a request.

One explicit tuple, not discovery: reading this file tells which gaps localaws fills inside
moto. Client-side stand-ins (such as `stack_events`) are used directly and are not listed.
"""

from __future__ import annotations

from collections.abc import Callable

from localaws import cfn_updates, change_sets, yaml_tags

INSTALLERS: tuple[Callable[[], None], ...] = (
    yaml_tags.install,
    change_sets.install,
    cfn_updates.install,
)


def install_all() -> None:
    """Install every extension; each installer is idempotent, so this one is too."""
    for install in INSTALLERS:
        install()
