"""Tools that measure and demonstrate the product (bench, chaos, demo, realtext); not the product.

Nothing under ``services.core``, ``intake``, ``router``, ``tracker``, ``platform`` or ``modelstore``
imports this package (an import-linter contract, ``lint-imports``); ``services.cli`` and
``services.corecli`` import its modules lazily to register their subcommands.
"""
