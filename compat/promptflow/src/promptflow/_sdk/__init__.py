"""``promptflow._sdk``: only ``promptflow._sdk.entities``, an older import path of ``promptflow.entities``."""
