"""`SandboxChannel`: the embedded social network, stored in our database, behind the Channel port.

Each write is one INSERT under a unique idempotency key; a repeated key returns the first
receipt, so retries and restarts never write twice (also when two processes race: the unique
index decides).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from runbook.audit.models import as_utc
from runbook.db import inserted_id, write_transaction
from runbook.ports.channel import AccountInfo, ChannelError, Limits, Mention, MentionPage, Post, Receipt
from runbook.sandbox.tables import accounts, mentions, posts

__all__ = ["SandboxChannel", "ensure_account"]


# One keyword per sandbox_account column: a signature shaped like others', with no logic to share.
def ensure_account(
    engine: Engine,
    *,
    handle: str,
    platform: str,
    kind: str = "brand",
    display_name: str | None = None,
    followers: int = 0,
) -> None:
    """Create the account if it does not exist (idempotent)."""
    if kind not in ("brand", "personal"):
        raise ValueError(f"kind must be brand or personal, got {kind!r}")

    def work(connection: Connection) -> None:
        found = connection.execute(
            sa.select(accounts.c.handle).where(accounts.c.platform == platform, accounts.c.handle == handle)
        ).first()
        if found is None:
            connection.execute(
                # Every sandbox_account column named, as the table declares them.
                accounts.insert().values(
                    platform=platform,
                    handle=handle,
                    kind=kind,
                    display_name=display_name or handle,
                    followers=followers,
                    created_at=as_utc(None),
                )
            )

    try:
        write_transaction(engine, work)
    except IntegrityError:  # a concurrent creator won; the account exists
        pass


class SandboxChannel:
    """The sandbox network. `strict_accounts`: refuse writes to accounts it does not know."""

    name = "sandbox"

    def __init__(self, engine: Engine, *, strict_accounts: bool = False) -> None:
        self.engine = engine
        self.strict_accounts = strict_accounts

    # -- writes ---------------------------------------------------------------------------
    # The Channel port's publish() keywords (runbook.ports.channel), alike in every adapter.
    def publish(
        self,
        *,
        account: str,
        platform: str,
        text: str,
        media: list[dict[str, Any]] | None = None,
        key: str,
        now: datetime | None = None,
    ) -> Receipt:
        return self._write(
            key=key, account=account, platform=platform, text=text, media=media or [], in_reply_to=None, now=now
        )

    def reply(
        self, *, account: str, platform: str, to_ref: str, text: str, key: str, now: datetime | None = None
    ) -> Receipt:
        return self._write(
            key=key, account=account, platform=platform, text=text, media=[], in_reply_to=to_ref, now=now
        )

    def delete(self, ref: str, *, key: str) -> bool:
        post_id = _post_id(ref)

        def work(connection: Connection) -> bool:
            row = connection.execute(sa.select(posts.c.deleted_at).where(posts.c.id == post_id)).first()
            if row is None:
                raise ChannelError(f"sandbox: no post {ref}")
            if row.deleted_at is not None:
                return False
            connection.execute(
                posts.update()
                .where(posts.c.id == post_id, posts.c.deleted_at.is_(None))
                .values(deleted_at=as_utc(None), delete_key=key)
            )
            return True

        return write_transaction(self.engine, work)

    def _write(
        self,
        *,
        key: str,
        account: str,
        platform: str,
        text: str,
        media: list[dict[str, Any]],
        in_reply_to: str | None,
        now: datetime | None,
    ) -> Receipt:
        if not key:
            raise ValueError("an idempotency key is required")
        existing = self.find(key)
        if existing is not None:
            return existing
        if self.strict_accounts and self.account(account, platform=platform) is None:
            raise ChannelError(f"sandbox: unknown account {account} on {platform}")
        at = as_utc(now)
        row = {
            "key": key,
            "platform": platform,
            "account": account,
            "text": text,
            "media": media,
            "in_reply_to": in_reply_to,
            "created_at": at,
        }
        try:
            new_id = write_transaction(self.engine, lambda c: inserted_id(c.execute(posts.insert().values(**row))))
        except IntegrityError:
            # Another process wrote under the same key between our look-up and insert.
            existing = self.find(key)
            if existing is None:
                raise
            return existing
        return Receipt(ref=_ref(new_id), key=key, created=True, at=at)

    # -- reads ----------------------------------------------------------------------------
    def find(self, key: str) -> Receipt | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(posts.c.id, posts.c.created_at).where(posts.c.key == key)).first()
        return None if row is None else Receipt(ref=_ref(row.id), key=key, created=False, at=row.created_at)

    def account(self, handle: str, *, platform: str | None = None) -> AccountInfo | None:
        query = sa.select(accounts).where(accounts.c.handle == handle)
        if platform is not None:
            query = query.where(accounts.c.platform == platform)
        with self.engine.connect() as connection:
            row = connection.execute(query.limit(1)).first()
        if row is None:
            return None
        # Named field by field: the port's AccountInfo leaves out the row's created_at.
        return AccountInfo(
            handle=row.handle,
            platform=row.platform,
            kind=row.kind,
            display_name=row.display_name,
            followers=row.followers,
        )

    def mentions(
        self, account: str, *, platform: str | None = None, since: str | None = None, limit: int = 100
    ) -> MentionPage:
        query = sa.select(mentions).where(mentions.c.account == account).order_by(mentions.c.id).limit(limit)
        if platform is not None:
            query = query.where(mentions.c.platform == platform)
        if since:
            query = query.where(mentions.c.id > _cursor(since))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        items = [
            Mention(
                ref=f"m{r.id}",
                account=r.account,
                platform=r.platform,
                author=r.author,
                author_followers=r.author_followers,
                text=r.text,
                created_at=r.created_at,
                in_reply_to=r.in_reply_to,
                meta=dict(r.meta or {}),
            )
            for r in rows
        ]
        return MentionPage(items=items, cursor=str(rows[-1].id) if rows else since)

    def posts(self, *, account: str | None = None, include_deleted: bool = True) -> list[dict[str, Any]]:
        """Our writes, oldest first (for `runbook sandbox feed` and tests)."""
        query = sa.select(posts).order_by(posts.c.id)
        if account is not None:
            query = query.where(posts.c.account == account)
        if not include_deleted:
            query = query.where(posts.c.deleted_at.is_(None))
        with self.engine.connect() as connection:
            return [{**r._mapping, "ref": _ref(r.id)} for r in connection.execute(query)]

    # -- the port's reads of live state (ChannelReads) -------------------------------------------
    def get_post(self, ref: str) -> dict[str, Any] | None:
        try:
            post_id = _post_id(ref)
        except ChannelError:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(posts).where(posts.c.id == post_id)).first()
        return None if row is None else _as_post(row).to_dict() | {"deleted_at": row.deleted_at}

    def recent_posts(self, account: str, *, platform: str | None = None, limit: int = 50) -> list[Post]:
        query = sa.select(posts).where(posts.c.account == account).order_by(posts.c.id.desc()).limit(limit)
        if platform is not None:
            query = query.where(posts.c.platform == platform)
        with self.engine.connect() as connection:
            return [_as_post(r) for r in connection.execute(query)]

    def limits(self, account: str, *, platform: str | None = None) -> Limits:
        from runbook.checks.platforms import load_platforms

        if platform:
            name = platform
        else:
            known = self.account(account)
            name = known.platform if known else "x"
        spec = load_platforms()[name]
        return Limits(
            platform=name,
            max_chars=spec.max_chars,
            max_media=spec.max_media,
            count=spec.count,
            url_length=spec.url_length,
        )


def _as_post(row: Any) -> Post:
    return Post(
        ref=_ref(row.id),
        account=row.account,
        platform=row.platform,
        text=row.text,
        created_at=row.created_at,
        live=row.deleted_at is None,
        in_reply_to=row.in_reply_to,
        meta={"media": list(row.media or [])},
    )


def _ref(post_id: int) -> str:
    return f"s{post_id}"


def _post_id(ref: str) -> int:
    if not ref.startswith("s") or not ref[1:].isdigit():
        raise ChannelError(f"sandbox: {ref!r} is not a sandbox post reference (s<number>)")
    return int(ref[1:])


def _cursor(since: str) -> int:
    text = since[1:] if since.startswith("m") else since
    if not text.isdigit():
        raise ValueError(f"not a mention cursor: {since!r}")
    return int(text)
