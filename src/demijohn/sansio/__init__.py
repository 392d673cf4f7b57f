"""The application and the blueprint without a server (Flask 3.1's ``flask.sansio``).

:mod:`~demijohn.sansio.scaffold` holds the registries and decorators both
share, :mod:`~demijohn.sansio.app` the application's configuration and
registries (:class:`~demijohn.sansio.app.App`), :mod:`~demijohn.sansio.blueprints`
the recording and replaying of blueprints. Nothing here serves requests or
imports the WSGI or ASGI door: :class:`demijohn.Flask` and
:class:`demijohn.Blueprint` add that.
"""
