"""Public pooling API (being built; see the issue tracker)."""

__all__: list[str] = []
__grad_all__: list[str] = []
