"""``darkroom import PATH...``: import photos into a session and follow each until it is developed.

- A session: ``--session NAME`` (found by name, created if missing, its folder the
  first folder given, else the first file's folder). Without it, each folder goes to
  the session whose folder it is (else one named after it, created if missing) and
  files go to the Inbox.
- A folder that is its session's folder is imported with the session's folder import
  (``POST /api/sessions/<id>/import``, in the background); any other folder's
  supported files, and every file given, through ``POST /import/file``.
- Then the stream (subscribed before the first import, so nothing is missed) tells
  each photo's story: ``photo_imported`` or ``error_occurred`` (``import_rejected``)
  for a background import, then its develop job's ``job_progress`` and
  ``job_completed`` / ``job_failed``; the photo's status over HTTP is the last word.
  A file the background import skipped as a duplicate says nothing: it is asked
  for with ``POST /import/file`` (which answers ``duplicate`` with the photo's id)
  once a later file of the same folder was imported (the import queue is in order)
  or the stream was quiet for a few seconds.

Exit 0 when every photo is developed, 1 if any failed or was refused, 2 on bad
arguments or no server.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from darkroom.client import ApiError, Client, Event
from darkroom.commands import common
from darkroom.pipeline.media.formats import file_format
from darkroom.pipeline.status import JobKind, JobStatus, PhotoStatus

PROG = "darkroom import"
QUIET = 2.0  # seconds without a relevant event before asking the server what became of the rest
# A develop job still under way ("processing" is the API's other name for running).
ACTIVE_JOBS = (JobStatus.PENDING, JobStatus.RUNNING, "processing")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, parents=[common.server_options()],
        description="Import photo files or folders into a session (created if missing) and "
                    "show each photo's progress until it is developed or failed. Paths must lie "
                    "in the server's import roots (--import-root of 'darkroom serve'). Exit 0 when "
                    "every photo was developed, 1 if any failed or was refused, 2 on bad arguments "
                    "or no server.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photo files or folders")
    p.add_argument("--session", default=None, metavar="NAME",
                   help="the session to import into (created if missing); default: a folder's own "
                        "session (named after it), the Inbox for files")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="give up (exit 1) if not every photo is done after S seconds")
    p.add_argument("--plain", action="store_true", help="one line per photo, no progress bars")
    return p


def _supported(path: Path) -> bool:
    return file_format(path) is not None


def folder_files(folder: Path) -> list[Path]:
    """What a folder import takes: supported, non-hidden files directly in the folder, by name."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.startswith(".") and entry.is_file() and _supported(Path(entry.name)):
                found.append(Path(entry.path))
    return sorted(found, key=lambda p: p.name)


@dataclass
class Item:
    """One photo being followed."""

    name: str
    path: str
    session_id: Optional[int]
    batch: Optional[int] = None  # folder import batch, in queue order
    order: int = 0
    photo_id: Optional[int] = None
    job_id: Any = None
    outcome: Optional[str] = None  # "developed" | "failed"
    message: str = ""
    progress: float = 0.0
    stage: str = "waiting"
    task: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.outcome is not None


class View:
    """Progress bars (rich, on a terminal) or one line per finished photo."""

    def __init__(self, plain: bool):
        self.progress = None
        if not plain and sys.stdout.isatty():
            try:
                from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
            except ImportError:
                pass
            else:
                self.progress = Progress(TextColumn("{task.description:<28}"), BarColumn(),
                                         TaskProgressColumn(), TextColumn("{task.fields[stage]}"))
                self.progress.start()

    def add(self, item: Item) -> None:
        if self.progress is not None:
            item.task = self.progress.add_task(item.name[:28], total=100, stage=item.stage)

    def update(self, item: Item) -> None:
        if self.progress is not None and item.task is not None:
            self.progress.update(item.task, completed=item.progress, stage=item.stage[:60])

    def finish(self, item: Item) -> None:
        if self.progress is not None and item.task is not None:
            self.update(item)
        else:
            what = f"photo {item.photo_id}" if item.photo_id else "not imported"
            detail = f": {item.message}" if item.message else ""
            print(f"{item.name}  {item.outcome} ({what}){detail}", flush=True)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


class Import:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        url, token = common.connection(args)
        self.api = common.Api(url, token)
        self.items: list[Item] = []
        self.by_photo: dict[int, Item] = {}
        self.by_job: dict[Any, Item] = {}
        self.finished: dict[int, tuple[str, str]] = {}  # develop outcomes seen for any photo
        self.job_photo: dict[Any, int] = {}
        self.events: "queue.Queue[Any]" = queue.Queue()
        self.view = View(args.plain)
        self.batches = 0
        self.client: Optional[Client] = None

    # --- arguments and sessions ----------------------------------------------------------

    def check_paths(self) -> list[Path]:
        paths = []
        for raw in self.args.paths:
            path = Path(os.path.abspath(os.path.expanduser(str(raw))))
            if not path.exists():
                raise common.Failure(f"no such file or folder: {raw}", common.USAGE)
            if not (path.is_dir() or path.is_file()):
                raise common.Failure(f"not a file or folder: {raw}", common.USAGE)
            paths.append(path)
        return paths

    def sessions(self) -> list[dict]:
        return self.api.get("/api/sessions").get("sessions", [])

    def session_for(self, name: str, folder: Path) -> dict:
        for s in self.sessions():
            if s["name"] == name:
                return s
        answer = self.api.post("/api/sessions", {"name": name, "import_folder": str(folder)})
        print(f"{PROG}: created session #{answer['session_id']} {name!r} ({folder})",
              file=sys.stderr, flush=True)
        return answer["session"]

    def folder_session(self, folder: Path) -> dict:
        real = os.path.realpath(folder)
        for s in self.sessions():
            if os.path.realpath(s.get("import_folder") or "") == real:
                return s
        return self.session_for(folder.name or str(folder), folder)

    # --- imports -------------------------------------------------------------------------

    def add(self, item: Item) -> Item:
        self.items.append(item)
        self.view.add(item)
        return item

    def import_file(self, item: Item) -> None:
        body: dict = {"file_path": item.path}
        if item.session_id is not None:
            body["session_id"] = item.session_id
        try:
            answer = self.api.post("/import/file", body)
        except ApiError as exc:
            if exc.status == 401:
                raise
            if exc.code == "duplicate" and exc.body.get("photo_id"):
                self.learn(item, int(exc.body["photo_id"]), check=True)
                item.stage = "already imported"
                self.view.update(item)
                return
            self.settle(item, "failed", exc.message)
            return
        self.learn(item, int(answer["photo_id"]))
        if answer.get("job_id") is not None:
            self.track_job(answer["job_id"], item.photo_id)
        if answer.get("status") == "failed":
            self.settle(item, "failed", "analysis failed")
        else:
            item.stage = "queued"
            self.view.update(item)

    def import_folder(self, folder: Path, session: dict) -> None:
        answer = self.api.post(f"/api/sessions/{session['id']}/import")
        self.batches += 1
        base = session.get("import_folder") or str(folder)
        for order, name in enumerate(answer.get("files", [])):
            self.add(Item(name=name, path=os.path.join(base, name), session_id=session["id"],
                          batch=self.batches, order=order, stage="importing"))

    def start(self, paths: list[Path]) -> None:
        explicit = None
        if self.args.session is not None:
            folders = [p for p in paths if p.is_dir()]
            explicit = self.session_for(self.args.session, folders[0] if folders else paths[0].parent)
        for path in paths:
            if path.is_dir():
                session = explicit or self.folder_session(path)
                if os.path.realpath(session.get("import_folder") or "") == os.path.realpath(path):
                    self.import_folder(path, session)
                else:
                    for file in folder_files(path):
                        self.import_file(self.add(Item(name=file.name, path=str(file),
                                                       session_id=session["id"])))
            else:
                session_id = explicit["id"] if explicit else None
                self.import_file(self.add(Item(name=path.name, path=str(path),
                                               session_id=session_id)))

    # --- what became of each photo ---------------------------------------------------------

    def learn(self, item: Item, photo_id: int, check: bool = False) -> None:
        item.photo_id = photo_id
        self.by_photo[photo_id] = item
        if photo_id in self.finished:
            outcome, message = self.finished[photo_id]
            self.settle(item, outcome, message)
        elif check:
            self.check(item)

    def track_job(self, job_id: Any, photo_id: Optional[int]) -> None:
        if photo_id is None:
            return
        self.job_photo[job_id] = photo_id
        item = self.by_photo.get(photo_id)
        if item is not None:
            item.job_id = job_id
            self.by_job[job_id] = item

    def settle(self, item: Item, outcome: str, message: str = "") -> None:
        if item.done:
            return
        item.outcome, item.message = outcome, message
        if outcome == "developed":
            item.progress, item.stage = 100.0, "developed"
        else:
            item.stage = f"failed: {message}" if message else "failed"
        self.view.finish(item)

    def check(self, item: Item, strict: bool = False) -> None:
        """Ask the server for the photo's status; ``strict``: a photo no job develops has failed."""
        if item.done or item.photo_id is None:
            return
        try:
            photo = self.api.get(f"/api/photos/{item.photo_id}").get("photo", {})
        except ApiError as exc:
            if exc.status == 401:
                raise
            self.settle(item, "failed", exc.message)
            return
        status = photo.get("status")
        if status == PhotoStatus.DEVELOPED:
            self.settle(item, "developed")
        elif status == PhotoStatus.FAILED:
            self.settle(item, "failed", photo.get("error") or "failed")
        elif strict and status != PhotoStatus.IMPORTED:
            jobs = [j for j in photo.get("jobs") or []
                    if j.get("kind", JobKind.DEVELOP) == JobKind.DEVELOP
                    and j.get("status") in ACTIVE_JOBS]
            if not jobs:
                self.settle(item, "failed", f"not being developed (status {status})")

    def probe(self, item: Item) -> None:
        """A background import said nothing about this file: ask with a direct import."""
        if item.photo_id is None and not item.done:
            self.import_file(item)

    def unknown_before(self, item: Item) -> list[Item]:
        return [i for i in self.items if i.batch == item.batch and i.order < item.order
                and i.photo_id is None and not i.done]

    def background_item(self, session_id: Any, name: Any, path: Any = None) -> Optional[Item]:
        """The open folder-import item an event is about: by path (the server's is resolved),
        else by file name (a folder import may list ``sub/IMG_1.jpg``; events name ``IMG_1.jpg``)."""
        open_items = [i for i in self.items if i.batch is not None and i.session_id == session_id
                      and i.photo_id is None and not i.done]
        if path:
            real = os.path.realpath(str(path))
            for item in open_items:
                if item.path == path or os.path.realpath(item.path) == real:
                    return item
        for item in open_items:
            if item.name == name or os.path.basename(item.name) == name:
                return item
        return None

    def handle(self, event: Event) -> bool:
        """Take one event; True when it was about one of our photos."""
        kind = event.get("type")
        photo_id = event.get("photo_id")
        if kind == "photo_imported":
            item = self.background_item(event.get("session_id"), event.get("file_name"),
                                        event.get("file_path"))
            if item is None:
                return False
            for earlier in self.unknown_before(item):
                self.probe(earlier)  # skipped by the queue: a duplicate
            self.learn(item, int(photo_id))
            item.stage = "imported"
            self.view.update(item)
            return True
        if kind == "error_occurred":
            details = event.get("error_details") or {}
            if event.get("error_type") == "import_rejected":
                item = self.background_item(details.get("session_id"), details.get("file_name"),
                                            details.get("file_path"))
                if item is None:
                    return False
                for earlier in self.unknown_before(item):
                    self.probe(earlier)
                self.settle(item, "failed", str(event.get("error_message") or "import refused"))
                return True
            item = self.by_photo.get(photo_id) if photo_id is not None else None
            if item is not None:
                self.check(item)
                return True
            return False
        if kind in ("job_created", "job_started"):
            self.track_job(event.get("job_id"), photo_id)
            item = self.by_photo.get(photo_id)
            if item is not None and not item.done:
                item.stage = "queued" if kind == "job_created" else "started"
                self.view.update(item)
            return item is not None
        if kind == "job_progress":
            job_id = event.get("job_id")
            if photo_id is not None and job_id not in self.job_photo:
                self.track_job(job_id, photo_id)
            item = self.by_job.get(job_id)
            if item is None or item.done:
                return False
            item.progress = float(event.get("progress") or 0.0)
            item.stage = str(event.get("stage") or "")
            if event.get("message"):
                item.stage += f" {event.get('message')}"
            self.view.update(item)
            return True
        if kind in ("job_completed", "job_failed"):
            job_id = event.get("job_id")
            photo_id = photo_id if photo_id is not None else self.job_photo.get(job_id)
            details = event.get("error_details") or {}
            result = event.get("result") or {}
            develop = kind == "job_failed" and details.get("kind", "develop") == "develop" \
                or kind == "job_completed" and "developed_path" in result
            if develop and photo_id is not None:
                self.finished[photo_id] = (
                    ("developed", "") if kind == "job_completed"
                    else ("failed", str(event.get("error_message") or "develop failed")))
            item = self.by_photo.get(photo_id) if photo_id is not None else None
            if item is None or item.done:
                return False
            if kind == "job_completed":
                self.check(item)
            else:
                self.check(item)
                if not item.done and develop:
                    self.settle(item, "failed", str(event.get("error_message") or "develop failed"))
            return True
        return False

    def reconcile(self) -> None:
        """The stream was quiet (or could not be replayed): ask about everything still open."""
        for item in self.items:
            if item.done:
                continue
            if item.photo_id is None:
                if item.batch is not None:
                    self.probe(item)
            else:
                self.check(item, strict=True)

    # --- the whole run -------------------------------------------------------------------

    def run(self) -> int:
        paths = self.check_paths()
        url = self.api.url
        client = Client(url, token=self.api.token, client_type="unknown",
                        client_name="darkroom import", channels=["jobs", "photos", "system"])
        client.on("*", self.events.put)
        client.on("resync", lambda info: self.events.put("resync"))
        client.on("closed", lambda info: self.events.put("closed"))
        client.connect()
        self.client = client
        try:
            self.start(paths)
            if not self.items:
                raise common.Failure("nothing to import (no supported photo files)", common.FAILED)
            deadline = time.monotonic() + self.args.timeout if self.args.timeout else None
            # Quiet means nothing about *our* photos (other work's events keep coming).
            last_news = time.monotonic()
            while not all(item.done for item in self.items):
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    for item in self.items:
                        self.settle(item, "failed", f"not done after {self.args.timeout:g} s")
                    break
                if now - last_news >= QUIET:
                    self.reconcile()
                    last_news = time.monotonic()
                    continue
                wait = QUIET - (now - last_news)
                if deadline is not None:
                    wait = min(wait, deadline - now)
                try:
                    got = self.events.get(timeout=max(0.0, wait))
                except queue.Empty:
                    continue
                if got == "closed":
                    if client.error is not None:
                        raise client.error
                    break
                if got == "resync":
                    self.reconcile()
                    continue
                if self.handle(got):
                    last_news = time.monotonic()
        finally:
            self.view.stop()
            client.close()
        developed = sum(1 for i in self.items if i.outcome == "developed")
        failed = [i for i in self.items if i.outcome != "developed"]
        for item in failed:
            if self.view.progress is not None:
                print(f"{item.name}: {item.message or 'failed'}", file=sys.stderr)
        print(f"{PROG}: {developed} developed, {len(failed)} failed", file=sys.stderr, flush=True)
        return common.FAILED if failed else common.OK


def body(args: argparse.Namespace) -> int:
    return Import(args).run()


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return common.run(PROG, body, args)
