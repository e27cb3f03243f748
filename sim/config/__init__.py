"""Loading scenario files into the model's parameter schema: YAML, ``extends:``, posterior draws."""
