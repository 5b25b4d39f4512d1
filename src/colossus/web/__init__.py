"""The web dashboard: a FastAPI service over the public API and one page that uses it.

>>> from colossus.web import create_app                      # doctest: +SKIP
>>> app = create_app("scenarios", "runs", max_concurrent=2)   # doctest: +SKIP

or from a shell, ``colossus serve`` (http://127.0.0.1:8000). The modules:
``app`` (factory, guards, error mapping, the page), ``api`` (the routes),
``models`` (request and response bodies), ``overrides`` (the knobs applied to
a scenario), ``analyses`` (estimate, plan, power, reliability documents),
``jobs`` and ``worker`` (background simulations in worker processes),
``runs`` (stored runs and sweeps read back), ``folders`` (the only files
a request may reach). Only this package imports FastAPI and uvicorn.
"""

from colossus.web.app import LOCAL_HOSTS, create_app, serve
from colossus.web.models import Overrides

__all__ = ["LOCAL_HOSTS", "Overrides", "create_app", "serve"]
