"""Pipeline steps. Each module has ``run(ctx) -> dict`` and is safe to rerun."""
