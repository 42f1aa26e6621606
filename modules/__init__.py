"""CDKTF constructs, one per concern. Each takes a small typed config and exposes a few attributes.

Never imports ``stacks`` or ``main``; never branches on an environment's name.
"""
