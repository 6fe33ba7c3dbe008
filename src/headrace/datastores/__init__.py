"""Datastores: named roots of files behind the ``Datastore`` interface (``base``).

``fsspec_store.FsspecDatastore`` implements it for ``file://``, ``memory://``, ``s3://`` and
``abfs://``; ``snapshots`` keeps content-addressed source snapshots in any datastore, and
``fingerprint`` describes datastore data for step reuse. Nothing is imported here, so importing
the package does not pull in fsspec.
"""
