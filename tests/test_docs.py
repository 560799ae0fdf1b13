"""The README's generated parts and commands must stay in step with the code and CI."""

import re
from pathlib import Path

import websocket_events

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_readme_event_table_matches_the_catalogue():
    text = README.read_text()
    start = text.index("<!-- catalogue:start -->") + len("<!-- catalogue:start -->")
    end = text.index("<!-- catalogue:end -->")
    assert text[start:end].strip() == websocket_events.markdown_table().strip(), \
        "regenerate the table with: python websocket_events.py"


def test_ci_runs_the_readmes_test_command():
    """The README says ``.ci/run`` runs exactly its test command: each step of it."""
    text = README.read_text()
    intro = text.index("Run the tests")
    command = re.search(r"```bash\n(.+?)\n```", text[intro:], re.S).group(1).strip()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for step in (part.strip() for part in command.split("&&")):
        assert any(step in line for line in ci if not line.startswith("#")), step
