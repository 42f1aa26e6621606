"""Stacks: composition of constructs only. Provider, backend and tags are set here from configuration."""
