"""``archive serve``: listen, read and cite in a browser, on the reporter's own machine.

A thin shell over :class:`archive.library.Archive`, like ``cli/``; it may import the library
and the base modules (errors, models, timecode) only. Public face: :mod:`.server`
(:class:`~.server.Server`: bind, then ``run``/``start``/``stop``; ``is_loopback``) and
:mod:`.app` (:func:`~.app.create_app`). :mod:`.views` builds each page's data (the JSON twin),
:mod:`.security` holds the rules (secret, Host allowlist, write checks, headers), and
``static/`` the pages' HTML, CSS and JavaScript, all shipped inside the package.
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["server", "app"]
