"""The Pulumi policy pack: mandatory guardrails for what the program deploys (rules in ``rules.py``)."""
