"""``promptflow.contracts``: the type markers tool signatures use."""
