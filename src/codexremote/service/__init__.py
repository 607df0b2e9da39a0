"""Running the companion as a login service, and its log file (issue 12.3).

``units`` renders the systemd user unit (Linux) and the LaunchAgent plist
(macOS) from the ``serve`` arguments; ``manager`` installs, removes and
reports them through ``systemctl --user`` / ``launchctl``; ``logfile`` is the
size-rotated log in the state dir that both the service and ``codexremote
logs`` use. Knows no HTTP.
"""

from __future__ import annotations
