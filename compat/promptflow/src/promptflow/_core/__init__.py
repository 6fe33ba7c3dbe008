"""``promptflow._core``: the private paths some tool files import ``tool`` from."""
