"""Page: the interactive HTML page (``html``, with ``page.js`` and ``page.css`` beside it)."""
