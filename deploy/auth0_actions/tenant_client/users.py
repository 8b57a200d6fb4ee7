"""Users, for the consent operations: get, find by email, search, update user_metadata.

Users come back as plain dicts holding only the fields the tenant sent
(``fields`` narrows them): user_metadata is free-form JSON, and a typed copy
of it would lose exactly what the consent commands must keep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic

from auth0_actions.errors import TenantError
from auth0_actions.tenant_client.transport import Transport


@dataclass(frozen=True)
class UserPage:
    """One page of a user search: the users, and the total when it was asked for."""

    users: list[dict[str, Any]]
    total: int | None


class UsersApi(Transport):
    """The users of one tenant."""

    SEARCH_WINDOW = 1000  # offset paging stops at the first 1000 results (§3)
    USERS_PER_PAGE = 100  # Auth0's maximum per_page
    SEARCH_WINDOW_EXCEEDED = "search_window_exceeded"  # TenantError.error_code

    def get_user(
        self, user_id: str, *, fields: Sequence[str] = (), include_fields: bool = True
    ) -> dict[str, Any]:
        """One user (only ``fields``, or all but them with ``include_fields=False``)."""
        narrow: dict[str, Any] = (
            {"fields": ",".join(fields), "include_fields": include_fields} if fields else {}
        )
        got = self._call(
            f"get user {user_id}",
            lambda: self._sdk.users.get(user_id, **narrow),
            idempotent=True,
            not_found=f"no such user: {user_id}",
        )
        return _user_dict(got)

    def users_by_email(
        self, email: str, *, fields: Sequence[str] = ("user_id", "email", "user_metadata")
    ) -> list[dict[str, Any]]:
        """Every user with this email (one per connection); Auth0 matches it exactly."""
        found = self._call(
            "find users by email",
            lambda: self._sdk.users.list_users_by_email(
                email=email, fields=",".join(fields), include_fields=True
            ),
            idempotent=True,
        )
        return [_user_dict(user) for user in found]

    def search_users_page(
        self,
        q: str,
        *,
        page: int = 0,
        per_page: int = USERS_PER_PAGE,
        include_totals: bool = True,
        fields: Sequence[str] = (),
    ) -> UserPage:
        """One page of a search v3 query, in a stable order (by user_id)."""
        narrow: dict[str, Any] = (
            {"fields": ",".join(fields), "include_fields": True} if fields else {}
        )
        pager = self._call(
            "search users",
            lambda: self._sdk.users.list(
                q=q,
                search_engine="v3",
                page=page,
                per_page=per_page,
                include_totals=include_totals,
                sort="user_id:1",
                **narrow,
            ),
            idempotent=True,
        )
        total = getattr(pager.response, "total", None) if include_totals else None
        return UserPage(
            users=[_user_dict(user) for user in pager.items or []],
            total=int(total) if isinstance(total, (int, float)) else None,
        )

    def search_users(self, q: str, *, fields: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every user matching q, all pages, when they fit in the search window.

        Past the window (more than SEARCH_WINDOW results) nothing beyond the
        first page is fetched: a TenantError with error_code
        SEARCH_WINDOW_EXCEEDED says so, and the caller turns to an export job.
        """
        current = self.search_users_page(q, fields=fields)
        total = current.total
        if total is not None and total > self.SEARCH_WINDOW:
            raise TenantError(
                f"search users: {total} users match, more than the "
                f"{self.SEARCH_WINDOW} a search can page through",
                error_code=self.SEARCH_WINDOW_EXCEEDED,
            )
        found = list(current.users)
        page = 0
        while len(current.users) == self.USERS_PER_PAGE and (total is None or len(found) < total):
            page += 1
            if (page + 1) * self.USERS_PER_PAGE > self.SEARCH_WINDOW:
                raise TenantError(
                    f"search users: more than the {self.SEARCH_WINDOW} results a search "
                    "can page through",
                    error_code=self.SEARCH_WINDOW_EXCEEDED,
                )
            current = self.search_users_page(q, page=page, fields=fields)
            found.extend(current.users)
        return found

    def update_user_metadata(self, user_id: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH user_metadata: Auth0 merges top-level keys, replaces nested objects,
        and deletes a key sent as null. Returns the updated user."""
        if not patch:
            # An empty object would wipe the whole of user_metadata.
            raise ValueError("refusing an empty user_metadata patch: it would wipe the metadata")
        updated = self._call(
            f"update user {user_id}",
            lambda: self._sdk.users.update(user_id, user_metadata=dict(patch)),
            idempotent=True,
            not_found=f"no such user: {user_id}",
        )
        return _user_dict(updated)

    def update_user_consent(
        self,
        user_id: str,
        app_metadata: Mapping[str, Any],
        user_metadata: Mapping[str, Any],
    ) -> dict[str, Any]:
        """One PATCH of both metadata objects: the consent ledger and its mirror.

        Both merge at the top level, so only the keys given change; neither
        may be empty (an empty object wipes that metadata).
        """
        if not app_metadata or not user_metadata:
            raise ValueError("refusing an empty metadata patch: it would wipe the metadata")
        updated = self._call(
            f"update user {user_id}",
            lambda: self._sdk.users.update(
                user_id, app_metadata=dict(app_metadata), user_metadata=dict(user_metadata)
            ),
            idempotent=True,
            not_found=f"no such user: {user_id}",
        )
        return _user_dict(updated)


def _user_dict(user: pydantic.BaseModel) -> dict[str, Any]:
    """A user as plain JSON: only the keys the tenant sent (nulls inside metadata kept)."""
    return dict(user.model_dump(mode="json", by_alias=True, exclude_unset=True))
