"""The README's event table is generated from the catalogue and must stay in step."""

from pathlib import Path

import websocket_events

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_event_table_matches_the_catalogue():
    text = README.read_text()
    start = text.index("<!-- catalogue:start -->") + len("<!-- catalogue:start -->")
    end = text.index("<!-- catalogue:end -->")
    assert text[start:end].strip() == websocket_events.markdown_table().strip(), \
        "regenerate the table with: python websocket_events.py"
