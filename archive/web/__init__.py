"""``archive serve``: listen, read and cite in a browser, on the reporter's own machine.

A thin shell over :class:`archive.library.Archive`, like ``cli/``. Public face:
:class:`archive.web.server.Server` (bind, then ``run``/``start``/``stop``) and
:func:`archive.web.app.create_app`. :mod:`.views` builds each page's data (the JSON twin),
:mod:`.security` holds the rules (secret, Host allowlist, write checks, headers), and
``static/`` the pages' HTML, CSS and JavaScript, all shipped inside the package.
"""
