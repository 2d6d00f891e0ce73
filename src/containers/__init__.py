"""The per-area containers the root (``src/container.py``) composes.

Each area builds its own repositories, services and command handlers, and declares what it
reads from an upstream area as a ``DependenciesContainer``; the root passes those areas in.
Areas depend on each other in one direction only (users, catalog -> billing -> tokens ->
payments), so no area needs a forward reference and each module reads on its own.
"""
