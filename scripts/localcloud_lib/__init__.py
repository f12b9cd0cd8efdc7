"""The local cloud: an EC2-, S3-, STS- and IMDS-compatible endpoint whose
instances boot as Linux namespaces. scripts/localcloud is its command line;
each module here has one job (see the module docstrings)."""
