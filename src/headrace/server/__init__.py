"""The REST server: ``create_app(services)`` (FastAPI) and its routers, errors and dependencies.

Importing ``headrace`` never imports this package (FastAPI is only loaded by the server and its tests).
"""
