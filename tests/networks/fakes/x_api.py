"""A local fake of the X API v2, written from the public API reference: create, delete and look up
posts, a user's posts and mentions timelines (newest first, `since_id`, `max_results`,
`pagination_token`, `meta.next_token`), users/me and by username; Bearer user tokens;
problem-JSON errors; per-user 15-minute windows with `x-rate-limit-limit/-remaining/-reset`
headers and 429 when a window is spent; duplicate text refused with 403 as X does.

Every JSON body it sends is validated against the pydantic models in X's own SDK (`xdk`,
generated from X's OpenAPI spec), and fields those models do not declare are refused too
(`invalid` lists any response that did not pass; tests assert it stays empty).
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from tests.networks.fakes.base import FakeServer, Request, Response

# The per-user limits X publishes for these endpoints (15-minute windows).
LIMITS = {
    "POST /2/tweets": 100,
    "DELETE /2/tweets": 50,
    "GET /2/tweets": 900,
    "GET mentions": 180,
    "GET tweets": 900,
    "GET me": 75,
    "GET users": 900,
}
WINDOW = 15 * 60


def xdk_models() -> dict[str, type[BaseModel]]:
    from xdk import schemas

    return {
        "create": schemas.CreatePostsResponse,
        "delete": schemas.DeletePostsResponse,
        "get": schemas.GetPostsByIdResponse,
        "mentions": schemas.GetUsersMentionsResponse,
        "timeline": schemas.GetUsersPostsResponse,
        "me": schemas.GetUsersMeResponse,
        "user": schemas.GetUsersByUsernameResponse,
        "create_request": schemas.CreatePostsRequest,
    }


def undeclared(model: BaseModel, path: str = "") -> list[str]:
    """Fields present in the data that the model does not declare (xdk models allow extras)."""
    out = [f"{path}{name}" for name in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for n, item in enumerate(items):
            if isinstance(item, BaseModel):
                out += undeclared(item, f"{path}{name}{f'[{n}]' if isinstance(value, list) else ''}.")
    return out


def check(model: type[BaseModel], body: Any) -> list[str]:
    """Problems of `body` against an xdk model: validation errors and undeclared fields."""
    from pydantic import ValidationError

    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return [f"{name}: not declared by {model.__name__}" for name in undeclared(parsed)]


class FakeX(FakeServer):
    def __init__(self, *, users: dict[str, str] | None = None, enforce_limits: bool = True) -> None:
        """`users`: token -> username; each token logs in as that user."""
        super().__init__()
        self.models = xdk_models()
        self.tokens = dict(users or {"x-user-token": "brand"})
        self.users: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, str] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.invalid: list[str] = []
        self.enforce_limits = enforce_limits
        self.page_cap: int | None = None  # serve fewer than max_results per page (X does when it filters)
        self.windows: dict[tuple[str, str], list[float]] = {}  # (user, endpoint) -> [window start, used]
        self.next_id = itertools.count(1_800_000_000_000_000_000)
        self.id_lock = threading.Lock()
        for name in self.tokens.values():
            self.add_user(name)
        self.route("POST", r"/2/tweets", self._create)
        self.route("DELETE", r"/2/tweets/(?P<id>\d+)", self._delete)
        self.route("GET", r"/2/tweets/(?P<id>\d+)", self._get)
        self.route("GET", r"/2/users/me", self._me)
        self.route("GET", r"/2/users/by/username/(?P<name>\w+)", self._by_name)
        self.route("GET", r"/2/users/(?P<uid>\d+)/mentions", self._mentions)
        self.route("GET", r"/2/users/(?P<uid>\d+)/tweets", self._timeline)

    # -- set-up -----------------------------------------------------------------------------------
    def _id(self) -> str:
        with self.id_lock:
            return str(next(self.next_id))

    def add_user(self, username: str, followers: int = 10) -> str:
        uid = str(1000 + len(self.users))
        self.users[uid] = {
            "id": uid,
            "name": username.title(),
            "username": username,
            "public_metrics": {"followers_count": followers, "following_count": 1, "listed_count": 0, "post_count": 0},
        }
        self.by_name[username.lower()] = uid
        return uid

    def add_post(self, username: str, text: str, *, reply_to: str | None = None) -> str:
        """A post written by someone on the network (a mention of the brand, a reply)."""
        with self.lock:
            return self._store(self.by_name[username.lower()], text, reply_to)["id"]

    def _store(
        self,
        uid: str,
        text: str,
        reply_to: str | None,
        media: list[str] | None = None,
        reply_settings: str | None = None,
    ) -> dict[str, Any]:
        pid = self._id()
        post = {
            "id": pid,
            "text": text,
            "author_id": uid,
            "edit_history_post_ids": [pid],
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "conversation_id": pid,
        }
        if reply_to is not None and reply_to in self.posts:
            parent = self.posts[reply_to]
            post.update(
                conversation_id=parent["conversation_id"],
                in_reply_to_user_id=parent["author_id"],
                referenced_posts=[{"type": "replied_to", "id": reply_to}],
            )
        if media:
            post["attachments"] = {"media_keys": [f"3_{m}" for m in media]}
        if reply_settings:
            post["reply_settings"] = reply_settings
        self.posts[pid] = post
        self.users[uid]["public_metrics"]["post_count"] += 1
        return post

    # -- plumbing -------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        token = request.headers.get("authorization", "")
        username = self.tokens.get(token.removeprefix("Bearer ")) if token.startswith("Bearer ") else None
        if username is None:
            return _problem(401, "Unauthorized", "Unauthorized")
        request.params["me"] = self.by_name[username.lower()]
        endpoint = self._endpoint(request)
        headers = self._spend(request.params["me"], endpoint)
        if headers.get("x-rate-limit-remaining") == "-1":
            headers["x-rate-limit-remaining"] = "0"
            return Response(429, _problem(429, "Too Many Requests", "Too Many Requests").body, headers)
        response = super().dispatch(request)
        response.headers.update(headers)
        return response

    def _endpoint(self, request: Request) -> str:
        path = request.path
        if path.endswith("/mentions"):
            return "GET mentions"
        if path.endswith("/tweets") and path.startswith("/2/users/"):
            return "GET tweets"
        if path == "/2/users/me":
            return "GET me"
        if path.startswith("/2/users/"):
            return "GET users"
        return f"{request.method} /2/tweets"

    def _spend(self, uid: str, endpoint: str) -> dict[str, str]:
        limit = LIMITS.get(endpoint, 900)
        now = time.time()
        with self.lock:
            window = self.windows.setdefault((uid, endpoint), [now, 0])
            if now >= int(window[0] + WINDOW):  # X resets on the whole second it announced
                window[:] = [now, 0]
            window[1] += 1
            remaining = limit - window[1]
            reset = int(window[0] + WINDOW)
        if not self.enforce_limits:
            remaining = max(remaining, 0)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(remaining, -1)),
            "x-rate-limit-reset": str(reset),
        }

    def _ok(self, kind: str, body: dict[str, Any], status: int = 200) -> Response:
        problems = check(self.models[kind], body)
        if problems:
            with self.lock:
                self.invalid.append(f"{kind}: {problems}")
            return Response(500, {"title": "fake sent an invalid body", "detail": "; ".join(problems)})
        return Response(status, body)

    def _view(self, post: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        base = {"id", "text", "edit_history_post_ids"}
        out = {k: v for k, v in post.items() if k in base or k in fields}
        if "referenced_tweets" in fields and "referenced_posts" in post:
            out["referenced_posts"] = post["referenced_posts"]
        return out

    # -- endpoints ------------------------------------------------------------------------------
    def _create(self, request: Request) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        problems = check(self.models["create_request"], body)
        if problems:
            return _problem(
                400,
                "Invalid Request",
                f"One or more parameters to your request was invalid: {problems}",
                kind="invalid-request",
            )
        text = body.get("text") or ""
        media = (body.get("media") or {}).get("media_ids") or []
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        uid = request.params["me"]
        if not text and not media:
            return _problem(400, "Invalid Request", "text or media is required", kind="invalid-request")
        if weighted_length(text) > 280:
            return _problem(403, "Forbidden", "Your Tweet text is too long.")
        if len(media) > 4:
            return _problem(400, "Invalid Request", "Too many media ids (at most 4)", kind="invalid-request")
        with self.lock:
            if reply_to is not None and (reply_to not in self.posts or reply_to in self.deleted):
                return _problem(
                    400,
                    "Invalid Request",
                    "The Tweet you are replying to has been deleted or is not visible to you.",
                    kind="invalid-request",
                )
            if any(
                p["author_id"] == uid and p["text"] == text and p["id"] not in self.deleted for p in self.posts.values()
            ):
                return _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
            post = self._store(uid, text, reply_to, media, body.get("reply_settings"))
        return self._ok(
            "create",
            {"data": {"id": post["id"], "text": post["text"], "edit_history_post_ids": post["edit_history_post_ids"]}},
            201,
        )

    def _delete(self, request: Request) -> Response:
        pid = request.params["id"]
        with self.lock:
            post = self.posts.get(pid)
            if post is None:
                return self._not_found(pid)
            if post["author_id"] != request.params["me"]:
                return _problem(403, "Forbidden", "You are not authorized to delete this Tweet.")
            if pid in self.deleted:
                return self._ok("delete", {"data": {"deleted": False}})
            self.deleted.add(pid)
        return self._ok("delete", {"data": {"deleted": True}})

    def _not_found(self, pid: str) -> Response:
        return self._ok(
            "get",
            {
                "errors": [
                    {
                        "value": pid,
                        "detail": f"Could not find tweet with id: [{pid}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "id",
                        "resource_id": pid,
                        "type": "https://api.x.com/2/problems/resource-not-found",
                    }
                ]
            },
        )

    def _fields(self, request: Request) -> set[str]:
        return set((request.arg("tweet.fields") or "").split(",")) - {""}

    def _get(self, request: Request) -> Response:
        pid = request.params["id"]
        with self.lock:
            post = self.posts.get(pid)
            if post is None or pid in self.deleted:
                return self._not_found(pid)
            return self._ok("get", {"data": self._view(post, self._fields(request))})

    def _user_view(self, uid: str, request: Request) -> dict[str, Any]:
        user = self.users[uid]
        fields = set((request.arg("user.fields") or "").split(","))
        return {k: v for k, v in user.items() if k in {"id", "name", "username"} or k in fields}

    def _me(self, request: Request) -> Response:
        return self._ok("me", {"data": self._user_view(request.params["me"], request)})

    def _by_name(self, request: Request) -> Response:
        uid = self.by_name.get(request.params["name"].lower())
        if uid is None:
            return self._ok(
                "user",
                {
                    "errors": [
                        {
                            "value": request.params["name"],
                            "detail": f"Could not find user with username: [{request.params['name']}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "username",
                            "resource_id": request.params["name"],
                            "type": "https://api.x.com/2/problems/resource-not-found",
                        }
                    ]
                },
            )
        return self._ok("user", {"data": self._user_view(uid, request)})

    def _page(self, request: Request, kind: str, found: list[dict[str, Any]]) -> Response:
        try:
            size = int(request.arg("max_results", "10"))
        except ValueError:
            size = 0
        if not 5 <= size <= 100:
            return _problem(
                400,
                "Invalid Request",
                "The `max_results` query parameter value [{}] is not between 5 and 100".format(
                    request.arg("max_results")
                ),
                kind="invalid-request",
            )
        since = request.arg("since_id")
        if since:
            found = [p for p in found if int(p["id"]) > int(since)]
        found.sort(key=lambda p: int(p["id"]), reverse=True)  # newest first, as X returns them
        token = request.arg("pagination_token")
        start = int(token, 16) if token else 0
        page = found[start : start + min(size, self.page_cap or size)]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + len(page) < len(found):
            meta["next_token"] = f"{start + len(page):x}"
        body: dict[str, Any] = {"meta": meta}
        if page:
            fields = self._fields(request)
            body["data"] = [self._view(p, fields) for p in page]
            if "author_id" in (request.arg("expansions") or ""):
                authors = {p["author_id"] for p in page}
                body["includes"] = {"users": [self._user_view(a, request) for a in sorted(authors)]}
        return self._ok(kind, body)

    def _mentions(self, request: Request) -> Response:
        user = self.users.get(request.params["uid"])
        if user is None:
            return _problem(404, "Not Found Error", "user not found")
        needle = f"@{user['username'].lower()}"
        with self.lock:
            found = [
                p
                for p in self.posts.values()
                if p["id"] not in self.deleted and p["author_id"] != user["id"] and needle in p["text"].lower()
            ]
        return self._page(request, "mentions", found)

    def _timeline(self, request: Request) -> Response:
        with self.lock:
            found = [
                p
                for p in self.posts.values()
                if p["author_id"] == request.params["uid"] and p["id"] not in self.deleted
            ]
        return self._page(request, "timeline", found)


def weighted_length(text: str) -> int:
    """X's weighted count, the fake's own copy (twitter-text v3 ranges; URLs count 23)."""
    import re

    text = re.sub(r"https?://\S+", "x" * 23, text)
    light = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
    return sum(1 if any(a <= ord(c) <= b for a, b in light) else 2 for c in text)


def _problem(status: int, title: str, detail: str, *, kind: str | None = None) -> Response:
    body: dict[str, Any] = {
        "title": title,
        "detail": detail,
        "status": status,
        "type": f"https://api.x.com/2/problems/{kind}" if kind else "about:blank",
    }
    return Response(status, body)
