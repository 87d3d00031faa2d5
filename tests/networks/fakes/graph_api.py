"""A local fake of Meta's Graph API for one Facebook Page and one Instagram professional account,
written from the Pages API and Instagram Platform references: Page posts (published, or
`published=false` with `scheduled_publish_time` 10 minutes to 30 days ahead), `scheduled_posts`,
post lookup and delete, comments and replies to comments; Instagram media containers, publish,
comments and replies. Cursor paging (`paging.cursors.after`, `paging.next`).

Errors use Graph's shape `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`
with HTTP 400 for throttling too (codes 4, 17, 32, 613: the code, not the status, says
"throttled"); every answer carries `x-app-usage` and `x-business-use-case-usage`.
Like Meta, it publishes scheduled posts on its own clock (`published` is the ground truth).
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime
from typing import Any

from tests.networks.fakes.base import FakeServer, Request, Response

VERSION = "v25.0"
MIN_LEAD, MAX_LEAD = 10 * 60, 30 * 24 * 3600  # scheduled_publish_time window the Pages API documents


class FakeGraph(FakeServer):
    def __init__(
        self, *, page_token: str = "page-token", page_id: str = "101", ig_id: str = "178414", page_name: str = "acme"
    ) -> None:
        super().__init__()
        self.page_token, self.page_id, self.ig_id, self.page_name = page_token, page_id, ig_id, page_name
        self.objects: dict[str, dict[str, Any]] = {  # the Page, the IG user, posts, comments, media, containers
            page_id: {"kind": "page", "id": page_id, "name": page_name, "followers_count": 1200},
            ig_id: {"kind": "ig_user", "id": ig_id, "username": page_name, "followers_count": 800},
        }
        self.published: list[dict[str, Any]] = []  # scheduled posts the clock published: {id, message, due, at}
        self.deleted: list[str] = []
        self.calls_in_hour = 0
        self.throttle_code: int | None = None  # set: every call answers this throttling error
        self.ids = itertools.count(5_000_001)
        v = VERSION.replace(".", r"\.")
        self.route("GET", rf"/{v}/me", self._me)
        self.route("GET", rf"/{v}/(?P<pid>{page_id})/scheduled_posts", self._scheduled)
        self.route("GET", rf"/{v}/(?P<pid>{page_id})/(?:published_posts|feed)", self._published_posts)
        self.route("POST", rf"/{v}/(?P<pid>{page_id})/feed", self._create_post)
        self.route("POST", rf"/{v}/(?P<ig>{ig_id})/media", self._ig_container)
        self.route("POST", rf"/{v}/(?P<ig>{ig_id})/media_publish", self._ig_publish)
        self.route("GET", rf"/{v}/(?P<ig>{ig_id})/media", self._ig_media)
        self.route("GET", rf"/{v}/(?P<oid>[\w]+)/(?P<edge>comments|replies)", self._comments)
        self.route("POST", rf"/{v}/(?P<oid>[\w]+)/(?P<edge>comments|replies)", self._comment)
        self.route("GET", rf"/{v}/(?P<oid>[\w]+)", self._get)
        self.route("DELETE", rf"/{v}/(?P<oid>[\w]+)", self._delete)

    # -- set-up -----------------------------------------------------------------------------------
    def _id(self) -> str:
        return str(next(self.ids))

    def add_scheduled(self, message: str, due: float) -> str:
        with self.lock:
            return self._post(message, published=False, due=int(due))["id"]

    def add_published(self, message: str) -> str:
        with self.lock:
            return self._post(message, published=True, due=None)["id"]

    def add_comment(self, on: str, name: str, message: str) -> str:
        """Someone comments on a Page post or Instagram media (or replies to a comment)."""
        with self.lock:
            who = {"id": str(900_000 + sum(map(ord, name))), "name": name, "username": name}
            if not self.objects[on].get("kind", "").startswith("ig"):
                who.pop("username")
            return self._new_comment(on, who, message)["id"]

    def scheduled(self) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(
                (o for o in self.objects.values() if o.get("kind") == "post" and not o["is_published"]),
                key=lambda o: o["scheduled_publish_time"],
            )

    def _post(self, message: str, *, published: bool, due: int | None) -> dict[str, Any]:
        pid = f"{self.page_id}_{self._id()}"
        now = time.time()
        post = {
            "kind": "post",
            "id": pid,
            "message": message,
            "created_time": _iso(now),
            "is_published": published,
            "scheduled_publish_time": due,
            "from": {"id": self.page_id, "name": self.page_name},
        }
        self.objects[pid] = post
        return post

    def _new_comment(self, on: str, who: dict[str, str], message: str) -> dict[str, Any]:
        parent = self.objects.get(on, {})
        if parent.get("kind", "").startswith("ig"):  # Instagram's comment shape
            cid, now = self._id(), _iso(time.time())
            comment = {
                "kind": "ig_comment",
                "id": cid,
                "text": message,
                "username": who.get("username") or who["name"],
                "timestamp": now,
                "created_time": now,
                "on": on,
            }
            self.objects[cid] = comment
            return comment
        cid = f"{on.split('_')[-1]}_{self._id()}"
        comment = {
            "kind": "comment",
            "id": cid,
            "message": message,
            "from": who,
            "created_time": _iso(time.time()),
            "on": on,
            "parent": {"id": on} if parent.get("kind") == "comment" else None,
        }
        self.objects[cid] = comment
        return comment

    # -- the Page's own clock ---------------------------------------------------------------------
    def tick(self, now: float) -> None:
        for post in self.objects.values():
            if post.get("kind") == "post" and not post["is_published"] and post["scheduled_publish_time"] <= now:
                post.update(is_published=True, created_time=_iso(now))
                self.published.append(
                    {"id": post["id"], "message": post["message"], "due": post["scheduled_publish_time"], "at": now}
                )

    # -- plumbing -------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        token = request.arg("access_token") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if token != self.page_token:
            return _error(400, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190)
        with self.lock:
            self.calls_in_hour += 1
            usage = min(100, self.calls_in_hour // 10)
        headers = {
            "x-app-usage": json.dumps({"call_count": usage, "total_cputime": usage // 2, "total_time": usage // 2}),
            "x-business-use-case-usage": json.dumps(
                {
                    self.page_id: [
                        {
                            "type": "pages",
                            "call_count": usage,
                            "total_cputime": usage // 2,
                            "total_time": usage // 2,
                            "estimated_time_to_regain_access": 0 if self.throttle_code is None else 1,
                        }
                    ]
                }
            ),
        }
        if self.throttle_code is not None:
            messages = {
                4: "(#4) Application request limit reached",
                17: "(#17) User request limit reached",
                32: "(#32) Page request limit reached",
                613: "(#613) Calls to this api have exceeded the rate limit.",
            }
            response = _error(400, messages[self.throttle_code], "OAuthException", self.throttle_code)
        else:
            response = super().dispatch(request)
        response.headers.update(headers)
        return response

    def _missing(self, oid: str) -> Response:
        return _error(
            400,
            f"Unsupported get request. Object with ID '{oid}' does not exist, cannot be loaded due to "
            "missing permissions, or does not support this operation.",
            "GraphMethodException",
            100,
            33,
        )

    def _fields(self, request: Request, default: str) -> list[str]:
        return (request.arg("fields") or default).split(",")

    def _view(self, obj: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out = {"id": obj["id"]}
        for name in fields:
            if name == "permalink_url" and obj.get("kind") == "post":
                out[name] = f"https://www.facebook.com/{obj['id'].replace('_', '/posts/')}"
            elif name in obj and obj[name] is not None and name != "kind":
                out[name] = obj[name]
        return out

    def _paged(self, request: Request, items: list[dict[str, Any]], fields: list[str]) -> Response:
        limit = int(request.arg("limit", "25"))
        after = request.arg("after")
        start = int(after, 16) if after else 0
        page = items[start : start + limit]
        body: dict[str, Any] = {"data": [self._view(o, fields) for o in page]}
        if page:
            body["paging"] = {"cursors": {"before": f"{start:x}", "after": f"{start + len(page):x}"}}
            if start + len(page) < len(items):
                body["paging"]["next"] = f"{self.url}{request.path}?after={start + len(page):x}&limit={limit}"
        return Response(200, body)

    # -- Page endpoints ---------------------------------------------------------------------------
    def _me(self, request: Request) -> Response:
        return Response(200, {"id": self.page_id, "name": self.page_name})

    def _scheduled(self, request: Request) -> Response:
        return self._paged(request, self.scheduled(), self._fields(request, "id,message,scheduled_publish_time"))

    def _published_posts(self, request: Request) -> Response:
        with self.lock:
            posts = [o for o in self.objects.values() if o.get("kind") == "post" and o["is_published"]]
        posts.sort(key=lambda o: int(o["id"].split("_")[1]), reverse=True)
        return self._paged(request, posts, self._fields(request, "id,message,created_time"))

    def _create_post(self, request: Request) -> Response:
        message = request.arg("message")
        if not message and not request.arg("link"):
            return _error(400, "(#100) Missing message or attachment", "OAuthException", 100)
        published = (request.arg("published") or "true").lower() != "false"
        due = request.arg("scheduled_publish_time")
        if not published:
            if due is None:
                return _error(
                    400,
                    "(#100) Unpublished posts must be scheduled: pass scheduled_publish_time",
                    "OAuthException",
                    100,
                )
            when = _when(due)
            if when is None or not time.time() + MIN_LEAD <= when <= time.time() + MAX_LEAD:
                return _error(400, "(#100) The specified scheduled publish time is invalid.", "OAuthException", 100)
            with self.lock:
                post = self._post(message or "", published=False, due=int(when))
        else:
            with self.lock:
                post = self._post(message or "", published=True, due=None)
        return Response(200, {"id": post["id"]})

    def _get(self, request: Request) -> Response:
        with self.lock:
            obj = self.objects.get(request.params["oid"])
            if obj is None:
                return self._missing(request.params["oid"])
            return Response(200, self._view(obj, self._fields(request, "id,message,created_time")))

    def _delete(self, request: Request) -> Response:
        with self.lock:
            obj = self.objects.pop(request.params["oid"], None)
            if obj is None:
                return self._missing(request.params["oid"])
            self.deleted.append(obj["id"])
        return Response(200, {"success": True})

    def _comments(self, request: Request) -> Response:
        oid = request.params["oid"]
        with self.lock:
            if oid not in self.objects:
                return self._missing(oid)
            since = _when(request.arg("since") or "0") or 0
            found = [
                o
                for o in self.objects.values()
                if o.get("kind") in ("comment", "ig_comment")
                and o["on"] == oid
                and _epoch(o["created_time"]) >= int(since)
            ]
        if (request.arg("filter") or "toplevel") == "stream" and request.params["edge"] == "comments":
            with self.lock:
                found += [
                    o
                    for o in self.objects.values()
                    if o.get("kind") == "comment"
                    and o.get("parent")
                    and self.objects.get(o["on"], {}).get("on") == oid
                    and _epoch(o["created_time"]) >= int(since)
                ]
        found.sort(key=lambda o: int(o["id"].split("_")[-1]))
        if (request.arg("order") or "chronological") == "reverse_chronological":
            found.reverse()
        return self._paged(request, found, self._fields(request, "id,message,from,created_time"))

    def _comment(self, request: Request) -> Response:
        oid = request.params["oid"]
        message = request.arg("message")
        with self.lock:
            if oid not in self.objects:
                return self._missing(oid)
            if not message:
                return _error(400, "(#100) Missing message", "OAuthException", 100)
            if self.objects[oid].get("kind", "").startswith("ig"):
                made = self._new_comment(oid, {"id": self.ig_id, "username": self.page_name}, message)
            else:
                made = self._new_comment(oid, {"id": self.page_id, "name": self.page_name}, message)
        return Response(200, {"id": made["id"]})

    # -- Instagram --------------------------------------------------------------------------------
    def _ig_container(self, request: Request) -> Response:
        if not request.arg("image_url"):
            return _error(400, "(#100) The parameter image_url is required", "OAuthException", 100)
        with self.lock:
            cid = self._id()
            self.objects[cid] = {
                "kind": "ig_container",
                "id": cid,
                "caption": request.arg("caption") or "",
                "media_url": request.arg("image_url"),
                "status_code": "FINISHED",
            }
        return Response(200, {"id": cid})

    def _ig_publish(self, request: Request) -> Response:
        with self.lock:
            container = self.objects.get(request.arg("creation_id") or "")
            if container is None or container["kind"] != "ig_container":
                return _error(400, "(#100) Invalid creation_id", "OAuthException", 100)
            mid = self._id()
            self.objects[mid] = {
                "kind": "ig_media",
                "id": mid,
                "caption": container["caption"],
                "media_url": container["media_url"],
                "timestamp": _iso(time.time()),
                "username": self.page_name,
                "permalink": f"https://www.instagram.com/p/{mid}/",
            }
        return Response(200, {"id": mid})

    def _ig_media(self, request: Request) -> Response:
        with self.lock:
            media = sorted(
                (o for o in self.objects.values() if o.get("kind") == "ig_media"),
                key=lambda o: int(o["id"]),
                reverse=True,
            )
        return self._paged(request, media, self._fields(request, "id,caption,timestamp"))


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(epoch))


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp()


def _when(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None


def _error(status: int, message: str, kind: str, code: int, subcode: int | None = None) -> Response:
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": f"A{abs(hash(message)) % 10**10:010d}",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return Response(status, {"error": error})
