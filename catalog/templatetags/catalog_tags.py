"""How people and times read on every page."""

from django import template

register = template.Library()


@register.filter
def person_label(person) -> str:
    """The person's name, or "Unknown #N" for a person nobody named yet."""
    if person is None:
        return "No person"
    return person.name or f"Unknown #{person.pk}"


@register.filter
def clock(seconds) -> str:
    """Seconds as m:ss (h:mm:ss past an hour)."""
    if seconds in (None, ""):
        return ""
    total = int(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def seek_s(seconds) -> str:
    """Seconds for a link's `?t=` (to the hundredth): a plain format, as pages link hundreds of
    moments and `floatformat` localises each one."""
    try:
        return f"{float(seconds):.2f}"
    except (TypeError, ValueError):
        return ""


@register.filter
def percent_of(value, whole) -> float:
    """value as a percentage of whole, for positioning on a timeline."""
    try:
        return round(100.0 * float(value) / float(whole), 3) if float(whole) > 0 else 0.0
    except (TypeError, ValueError):
        return 0.0


@register.filter
def get_item(mapping, key):
    return mapping.get(key)
