"""The only way WeasyPrint reads anything while cpdgen renders a PDF (docs/developers/security.md).

WeasyPrint fetches every URL a document names: images, stylesheets, fonts, ``<link
rel=attachment>``, SVG ``<image>``. :class:`RestrictedFetcher` serves a few named folders
(the portfolio's ``content/``, the theme) under virtual ``file:///_cpdgen/<name>/`` URLs,
so no machine path reaches the PDF, and refuses everything else: other files, the
network, ``data:``, other hosts, redirects. Each file is checked (inside its folder once
symlinks are resolved, an allowed type, bounded in size and pixels) before WeasyPrint
sees a byte. Every refusal is recorded so the caller can report it: a missing or refused
image is a problem, never a silent gap. This module imports WeasyPrint.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from cpdgen.pdf.resources import THEME_TYPES, VIRTUAL, Refused, read_checked


class RestrictedFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves checked files of ``roots`` ({name: folder}) and nothing else.

    With ``only``, the files of ``content/`` it serves are those URLs alone (the images the
    public record's own activities show): a theme cannot pull in a private activity's files.
    """

    def __init__(self, roots: dict[str, Path], types: dict[str, str] = THEME_TYPES, only: frozenset[str] | None = None):
        super().__init__(timeout=1, allowed_protocols={"file"}, allow_redirects=False, fail_on_errors=False)
        self.roots = {name: Path(folder).resolve() for name, folder in roots.items()}
        self.only = only
        self.types = dict(types)
        self.refused: list[tuple[str, str, str]] = []  # (url, code, message)
        self.read: list[str] = []

    def refuse(self, url: str, code: str, message: str) -> ValueError:
        """Record a refusal; the caller raises the returned error, which WeasyPrint logs and survives."""
        self.refused.append((url, code, message))
        return ValueError(message)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        shown = url if len(url) < 120 else url[:117] + "..."
        scheme = parts.scheme.lower()
        if scheme != "file":
            what = "web address" if scheme in ("http", "https") else f"'{scheme}:' address"
            raise self.refuse(url, "pdf-fetch-refused", f"the PDF reads no {what} ({shown})")
        if parts.netloc not in ("", "localhost"):
            raise self.refuse(url, "pdf-fetch-refused", f"the PDF reads no file on another computer ({shown})")
        path = unquote(parts.path)
        name, _, relative = path[len(VIRTUAL) :].partition("/") if path.startswith(VIRTUAL) else ("", "", "")
        folder = self.roots.get(name)
        if folder is None or not relative:
            raise self.refuse(url, "pdf-fetch-refused", f"the PDF reads only files inside content/ ({shown})")
        shown = f"{name}/{relative}"
        if name == "content" and self.only is not None and url not in self.only:
            raise self.refuse(
                url, "pdf-fetch-refused", f"the public PDF reads only the files its own activities show ({shown})"
            )
        try:
            data, media_type = read_checked(folder / relative, [folder], shown, self.types)
        except Refused as exc:
            raise self.refuse(url, exc.code, exc.message) from None
        except OSError as exc:
            raise self.refuse(url, "pdf-image-missing", f"'{shown}' cannot be read ({exc.strerror or exc})") from None
        self.read.append(url)
        return URLFetcherResponse(url, body=data, headers={"Content-Type": media_type})
