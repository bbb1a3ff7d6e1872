"""``{% needs_action %}``: the signed-in person's unread hand-offs, on every role's dashboard."""

from __future__ import annotations

from django import template

from intake.notifications import notifications_shown, notifications_unread

register = template.Library()

SHOWN = 20


@register.inclusion_tag("intake/_needs_action.html", takes_context=True)
def needs_action(context) -> dict:  # noqa: ANN001
    request = context["request"]
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"anonymous": True}
    unread = notifications_shown(user, notifications_unread(user)[:200])
    items, more = unread[:SHOWN], max(0, len(unread) - SHOWN)
    return {"items": items, "more": more, "csrf_token": context.get("csrf_token"),
            # after marking, come back here (the htmx fragment is rendered by the mark view, which passes it on)
            "next_path": context.get("next_path") or request.get_full_path()}
