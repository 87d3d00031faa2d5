"""Link checks with real HTTP requests: does each link answer, and does it land where it says?

Redirects are followed by hand (at most 5) so the landing page is known; results are cached
per prober, so a thaw re-checking 10,000 posts with the same link asks once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

USER_AGENT = "runbook-link-check/1.0"
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class LinkStatus:
    url: str
    ok: bool  # answered with a non-error status in the end
    status: int | None
    final_url: str
    error: str | None = None
    elsewhere: str | None = None  # why the landing page is not the page linked to

    @property
    def detail(self) -> str:
        if self.error:
            return self.error
        return f"HTTP {self.status}" if not self.ok else (self.elsewhere or "ok")


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


class LinkProber:
    def __init__(self, *, timeout: float = 3.0, shorteners: tuple[str, ...] | list[str] = ()) -> None:
        self.timeout = timeout
        self.shorteners = {s.lower() for s in shorteners}
        self._cache: dict[str, LinkStatus] = {}
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def probe(self, url: str) -> LinkStatus:
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None:
            return cached
        status = self._probe(url)
        with self._lock:
            self._cache[url] = status
        return status

    def _request(self, url: str) -> httpx.Response:
        response = self._client.head(url)
        if response.status_code in (403, 405, 501):  # some servers refuse HEAD; ask properly
            with self._client.stream("GET", url) as streamed:
                return streamed
        return response

    def _probe(self, url: str) -> LinkStatus:
        current = url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                response = self._request(current)
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                ok = response.status_code < 400
                return LinkStatus(
                    url=url,
                    ok=ok,
                    status=response.status_code,
                    final_url=current,
                    elsewhere=self._elsewhere(url, current) if ok else None,
                )
            return LinkStatus(
                url=url, ok=False, status=None, final_url=current, error=f"more than {MAX_REDIRECTS} redirects"
            )
        except httpx.TimeoutException:
            return LinkStatus(
                url=url, ok=False, status=None, final_url=current, error=f"no answer within {self.timeout:g} s"
            )
        except httpx.HTTPError as exc:
            return LinkStatus(
                url=url,
                ok=False,
                status=None,
                final_url=current,
                error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
            )

    def _elsewhere(self, url: str, final: str) -> str | None:
        if final == url:
            return None
        start, end = _host(url), _host(final)
        if start != end and start not in self.shorteners:
            return f"redirects to another site ({end})"
        start_path, end_path = urlsplit(url).path.rstrip("/"), urlsplit(final).path.rstrip("/")
        if start_path and not end_path and start not in self.shorteners:
            return f"redirects to the home page ({final})"
        return None
