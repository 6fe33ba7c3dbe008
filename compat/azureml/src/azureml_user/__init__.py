"""Azure ML's ``azureml_user`` package (what its compute nodes offer entry scripts), served by headrace."""
